//! Scope checks: does the diff stay inside the files the plan allowed?
//!
//! A scope comes from a `--scope` JSON file (`files_in_scope`, `files_out_of_scope`,
//! `change_class`) or from a tactical plan (same field names). Every touched path is judged:
//! added, modified, deleted, and both sides of a rename or copy.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::findings::{Category, Finding, Severity, fingerprint};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::RuleMeta;

/// Paths that only a `risky-infra` change may touch.
pub const PROTECTED_PATHS: &[&str] = &[
    ".github/workflows/**",
    "**/*.tf",
    "terraform/**",
    "k8s/**",
    "helm/**",
    "**/Dockerfile*",
    "**/docker-compose*.yml",
    "**/docker-compose*.yaml",
    "**/migrations/**",
];

pub const SCOPE_OUTSIDE: RuleMeta = RuleMeta {
    id: "scope-outside",
    title: "Change outside the planned scope",
    category: Category::Scope,
    severity: Severity::Important,
    description: "The diff changes a file that matches none of the plan's `files_in_scope` globs. \
Agents that wander outside the plan make changes nobody reviewed the intent of. Either add the \
file to the plan's scope or revert the change. Only reported when a scope (`--scope` or \
`--plan`) lists at least one in-scope glob.",
    fails: "files_in_scope: [\"src/api/**\"]; the diff modifies src/billing/invoice.rs",
    passes: "files_in_scope: [\"src/api/**\"]; the diff modifies src/api/handler.rs",
    example_path: "src/billing/invoice.rs",
};

pub const SCOPE_EXCLUDED: RuleMeta = RuleMeta {
    id: "scope-excluded",
    title: "Change to a file the plan excludes",
    category: Category::Scope,
    severity: Severity::Critical,
    description: "The diff changes a file that matches one of the plan's `files_out_of_scope` \
globs: the plan explicitly said not to touch it. Revert the change, or amend the plan (and get \
it re-approved) first.",
    fails: "files_out_of_scope: [\"src/auth/**\"]; the diff modifies src/auth/session.rs",
    passes: "files_out_of_scope: [\"src/auth/**\"]; the diff modifies src/api/session.rs",
    example_path: "src/auth/session.rs",
};

pub const SCOPE_PROTECTED_PATH: RuleMeta = RuleMeta {
    id: "scope-protected-path",
    title: "Protected path changed outside a risky-infra change",
    category: Category::Scope,
    severity: Severity::Critical,
    description: "The diff changes CI workflows (`.github/workflows/**`), infrastructure \
(`*.tf`, `terraform/**`, `k8s/**`, `helm/**`), container definitions (`Dockerfile*`, \
`docker-compose*.yml`) or database migrations (`**/migrations/**`) while the change class is \
not `risky-infra`. These paths change what runs with production credentials; route the change \
through the risky-infra class (ADR, thorough review, post-merge verification).",
    fails: "change_class: \"feature\"; the diff modifies .github/workflows/ci.yml",
    passes: "change_class: \"risky-infra\"; the diff modifies .github/workflows/ci.yml",
    example_path: ".github/workflows/ci.yml",
};

/// Documentation of every scope check, for `rules list` and `rules doc`.
pub fn metas() -> Vec<&'static RuleMeta> {
    vec![&SCOPE_OUTSIDE, &SCOPE_EXCLUDED, &SCOPE_PROTECTED_PATH]
}

/// What a scope file looks like, for error messages.
const EXPECTED: &str = "{\"files_in_scope\": [..], \"files_out_of_scope\": [..], \"change_class\": \"feature\"}, or a tactical plan with handoff.in_scope_files";

/// The keys a scope file may have (besides a tactical plan's, recognised by its `handoff`).
const SCOPE_KEYS: &[&str] = &[
    "files_in_scope",
    "files_out_of_scope",
    "change_class",
    "class",
];

/// How strictly a scope's file is read: a scope file has only the scope keys, a plan has its
/// own keys besides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strictness {
    ScopeFile,
    Plan,
}

/// A scope's file fails closed: one with none of the scope keys (or, for a scope file, a key
/// factory does not know: `in_scope` for `files_in_scope`) would otherwise mean "no scope" and
/// pass every path.
fn check_keys(
    value: &serde_json::Value,
    source: &str,
    strictness: Strictness,
) -> anyhow::Result<()> {
    let Some(object) = value.as_object() else {
        anyhow::bail!("{source}: a scope file is a JSON object; expected {EXPECTED}");
    };
    if let Some(handoff) = object.get("handoff") {
        let has_scope = handoff.as_object().is_some_and(|h| {
            h.contains_key("in_scope_files") || h.contains_key("out_of_scope_files")
        });
        if !has_scope {
            anyhow::bail!(
                "{source}: the tactical plan's handoff has neither in_scope_files nor out_of_scope_files; expected {EXPECTED}"
            );
        }
        return Ok(());
    }
    let unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !SCOPE_KEYS.contains(k) && *k != "schema_version")
        .collect();
    if strictness == Strictness::ScopeFile && !unknown.is_empty() {
        anyhow::bail!(
            "{source}: unknown key(s) {} in the scope file; the keys are {}; expected {EXPECTED}",
            unknown
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
            SCOPE_KEYS.join(", ")
        );
    }
    let lists = ["files_in_scope", "files_out_of_scope"];
    if strictness == Strictness::Plan && !lists.iter().any(|k| object.contains_key(*k)) {
        anyhow::bail!(
            "{source}: the plan has no scope: neither handoff.in_scope_files nor files_in_scope / files_out_of_scope; expected {EXPECTED}"
        );
    }
    if !SCOPE_KEYS.iter().any(|k| object.contains_key(*k)) {
        anyhow::bail!(
            "{source}: the scope file has none of the keys {}; expected {EXPECTED}",
            SCOPE_KEYS.join(", ")
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ScopeFile {
    #[serde(default)]
    files_in_scope: Vec<String>,
    #[serde(default)]
    files_out_of_scope: Vec<String>,
    #[serde(default)]
    change_class: Option<String>,
    #[serde(default)]
    class: Option<String>,
    /// A tactical plan in the seed's format keeps its scope in `handoff`.
    #[serde(default)]
    handoff: Option<Handoff>,
}

#[derive(Debug, Deserialize)]
struct Handoff {
    #[serde(default)]
    in_scope_files: Vec<String>,
    #[serde(default)]
    out_of_scope_files: Vec<String>,
}

/// Compiled scope globs.
#[derive(Debug)]
pub struct Scope {
    in_scope: GlobSet,
    in_count: usize,
    out_of_scope: GlobSet,
    protected: GlobSet,
    pub change_class: Option<String>,
}

fn add_glob(builder: &mut GlobSetBuilder, pattern: &str, source: &str) -> anyhow::Result<()> {
    let pattern = pattern.trim().trim_start_matches("./");
    // A trailing `/` names a directory and everything below it; a plain path names one file.
    let patterns = match pattern.strip_suffix('/') {
        Some(dir) => vec![format!("{dir}/**")],
        None => vec![pattern.to_string()],
    };
    for p in patterns {
        // `*` stays within one path segment, as in the contracts (docs/contracts.md).
        let glob = globset::GlobBuilder::new(&p)
            .literal_separator(true)
            .build()
            .map_err(|e| anyhow::anyhow!("{source}: invalid glob `{pattern}`: {e}"))?;
        builder.add(glob);
    }
    Ok(())
}

impl Scope {
    /// Build a scope from glob lists and a change class.
    pub fn new(
        in_scope: &[String],
        out_of_scope: &[String],
        change_class: Option<String>,
        source: &str,
    ) -> anyhow::Result<Scope> {
        let mut ib = GlobSetBuilder::new();
        for p in in_scope {
            add_glob(&mut ib, p, source)?;
        }
        let mut ob = GlobSetBuilder::new();
        for p in out_of_scope {
            add_glob(&mut ob, p, source)?;
        }
        let mut pb = GlobSetBuilder::new();
        for p in PROTECTED_PATHS {
            pb.add(Glob::new(p).expect("static glob"));
        }
        Ok(Scope {
            in_scope: ib.build()?,
            in_count: in_scope.len(),
            out_of_scope: ob.build()?,
            protected: pb.build()?,
            change_class,
        })
    }

    /// Load a `--scope` file: `files_in_scope` / `files_out_of_scope` and `change_class` (or
    /// `class`), nothing else, or a tactical plan (`handoff.in_scope_files` /
    /// `handoff.out_of_scope_files`).
    pub fn load(path: &Path) -> anyhow::Result<Scope> {
        Scope::read(path, Strictness::ScopeFile)
    }

    /// Load a plan's scope (`--plan`): a tactical plan's `handoff`, or a plan that lists
    /// `files_in_scope` / `files_out_of_scope` among its other keys.
    pub fn load_plan(path: &Path) -> anyhow::Result<Scope> {
        Scope::read(path, Strictness::Plan)
    }

    fn read(path: &Path, strictness: Strictness) -> anyhow::Result<Scope> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read scope file {source}: {e}"))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{source}: line {}, column {}: not a valid scope file ({e}); expected {EXPECTED}",
                e.line(),
                e.column()
            )
        })?;
        check_keys(&value, &source, strictness)?;
        // Read again as the typed file, so a wrong type is reported with its line.
        let file: ScopeFile = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{source}: line {}, column {}: not a valid scope file ({e}); expected {EXPECTED}",
                e.line(),
                e.column()
            )
        })?;
        let class = file.change_class.or(file.class);
        let (in_scope, out_of_scope) = match file.handoff {
            Some(h) if file.files_in_scope.is_empty() => (h.in_scope_files, h.out_of_scope_files),
            _ => (file.files_in_scope, file.files_out_of_scope),
        };
        Scope::new(&in_scope, &out_of_scope, class, &source)
    }

    fn is_risky_infra(&self) -> bool {
        matches!(
            self.change_class.as_deref(),
            Some("risky-infra" | "risky_infra" | "infra")
        )
    }

    /// Judge every path the file touches.
    pub fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        for path in file.touched_paths() {
            let make = |meta: &RuleMeta, message: String| Finding {
                rule_id: meta.id.to_string(),
                category: meta.category,
                severity: meta.severity,
                path: path.to_string(),
                line: 0,
                message,
                fingerprint: fingerprint(meta.id, path, ""),
                redacted: String::new(),
            };
            if self.out_of_scope.is_match(path) {
                out.push(make(
                    &SCOPE_EXCLUDED,
                    format!(
                        "`{path}` is listed in files_out_of_scope; revert it or amend the plan"
                    ),
                ));
            } else if self.in_count > 0 && !self.in_scope.is_match(path) {
                out.push(make(
                    &SCOPE_OUTSIDE,
                    format!("`{path}` is not in files_in_scope; add it to the plan or revert it"),
                ));
            }
            if !self.is_risky_infra() && self.protected.is_match(path) {
                let class = self.change_class.as_deref().unwrap_or("unspecified");
                out.push(make(
                    &SCOPE_PROTECTED_PATH,
                    format!(
                        "`{path}` is a protected path and the change class is `{class}`; \
                         only a risky-infra change may modify it"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::diff::parse_str;

    fn paths(scope: &Scope, diff: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for f in parse_str(diff).unwrap() {
            scope.check(&f, &mut out);
        }
        out.into_iter().map(|f| (f.rule_id, f.path)).collect()
    }

    #[test]
    fn judges_both_sides_of_a_rename() {
        let scope = Scope::new(
            &["src/api/**".into()],
            &["src/auth/**".into()],
            Some("feature".into()),
            "t",
        )
        .unwrap();
        let diff = "diff --git a/src/auth/x.rs b/src/api/x.rs\nsimilarity index 100%\nrename from src/auth/x.rs\nrename to src/api/x.rs\n";
        assert_eq!(
            paths(&scope, diff),
            vec![("scope-excluded".into(), "src/auth/x.rs".into())]
        );
    }

    #[test]
    fn protected_paths_need_risky_infra() {
        let diff = "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n@@ -1 +1 @@\n-a\n+b\n";
        let feature = Scope::new(&[], &[], Some("feature".into()), "t").unwrap();
        assert_eq!(
            paths(&feature, diff),
            vec![(
                "scope-protected-path".into(),
                ".github/workflows/ci.yml".into()
            )]
        );
        let infra = Scope::new(&[], &[], Some("risky-infra".into()), "t").unwrap();
        assert!(paths(&infra, diff).is_empty());
    }

    #[test]
    fn trailing_slash_directories_cover_their_contents_plain_paths_do_not() {
        let diff = "--- a/src/api/x.rs\n+++ b/src/api/x.rs\n@@ -1 +1 @@\n-a\n+b\n--- a/src/other.rs\n+++ b/src/other.rs\n@@ -1 +1 @@\n-a\n+b\n";
        let dir = Scope::new(&["src/api/".into()], &[], None, "t").unwrap();
        assert_eq!(
            paths(&dir, diff),
            vec![("scope-outside".into(), "src/other.rs".into())]
        );
        let plain = Scope::new(&["src/api".into()], &[], None, "t").unwrap();
        assert_eq!(paths(&plain, diff).len(), 2);
        let star = Scope::new(&["src/*.rs".into()], &[], None, "t").unwrap();
        assert_eq!(
            paths(&star, diff),
            vec![("scope-outside".into(), "src/api/x.rs".into())]
        );
    }
}
