//! `factory init`: scaffold a repository for the framework, idempotently.
//!
//! [`plan`] lists the files this version writes (AGENTS.md, the workflow override example,
//! templates, the GitHub templates, a caller workflow pinned to this version, the OpenClaw
//! skill, the detected heuristics packs). `.factory/init.json` records the SHA-256 of each
//! file as written, which tells "unchanged since init wrote it" (safe to update) from "edited
//! by someone" (kept unless `--force`). [`inspect`] compares the repository with the plan;
//! `--check` reports the drift without writing, like `cargo dist generate --check`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::write_atomic;

/// Where the record of written files lives, relative to the repository.
pub const MANIFEST: &str = ".factory/init.json";

/// The OpenClaw skill: lets OpenClaw drive the pipeline through `factory` commands.
pub const SKILL_MD: &str = include_str!("../../skills/software-factory/SKILL.md");
/// Where init installs the skill (OpenClaw loads `<workspace>/skills/<name>/SKILL.md`).
pub const SKILL_PATH: &str = "skills/software-factory/SKILL.md";

const AGENTS_MD: &str = include_str!("../../templates/init/AGENTS.md");
const WORKFLOW_OVERRIDE: &str = include_str!("../../templates/init/workflow.override.yaml");
const PR_TEMPLATE: &str = include_str!("../../templates/init/pull_request_template.md");
const ISSUE_FORM: &str = include_str!("../../templates/init/implementation_task.yml");
const CODE_REVIEW: &str = include_str!("../../templates/init/code-review.yml");
const FEATURE: &str = include_str!("../../templates/init/feature.yml");
const EVALS: &str = include_str!("../../templates/init/evals.yml");
const GITHUB_ACTIONS_PACK: &str = "pack-github-actions";

/// Errors of `factory init`.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot {action} {path}: {message}")]
    Io {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error(
        "{path} is not the record `factory init` writes ({message}); fix or delete it, then run `factory init` again"
    )]
    Manifest { path: PathBuf, message: String },
}

/// One file init writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Relative to the repository root, with `/`.
    pub path: String,
    pub content: String,
    /// What the file is for, shown to the user.
    pub what: String,
}

/// The record in `.factory/init.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The factory version that last wrote files.
    pub version: String,
    /// Path → SHA-256 (hex) of the content as written.
    pub files: BTreeMap<String, String>,
}

/// How a file on disk compares with what this version writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not there yet: init creates it.
    Missing,
    /// Exactly what this version writes.
    UpToDate,
    /// Written by an earlier init and not edited since: init updates it.
    Outdated,
    /// Edited since init wrote it; this version writes the same as before, so the edit is all
    /// that differs. Kept; not drift.
    Edited,
    /// Edited (or there before init), and this version would write something else. Kept
    /// unless `--force`; drift.
    Conflict,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Missing => "missing",
            Status::UpToDate => "up to date",
            Status::Outdated => "outdated",
            Status::Edited => "edited",
            Status::Conflict => "conflict",
        }
    }

    /// Whether `--check` fails on it.
    pub fn is_drift(self) -> bool {
        matches!(self, Status::Missing | Status::Outdated | Status::Conflict)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What init did (or would do) with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    /// Replaced an edited file because of `--force`.
    Overwritten,
    Unchanged,
    /// Left alone: edited by someone.
    Kept,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Overwritten => "overwritten",
            Action::Unchanged => "unchanged",
            Action::Kept => "kept",
        }
    }
}

/// One file's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub path: String,
    pub what: String,
    pub status: Status,
}

pub fn sha256(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The tag of this version's release, e.g. `v0.1.0`.
pub fn release_tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// `owner/name` of this project on GitHub, from the package's repository URL.
pub fn repository() -> &'static str {
    env!("CARGO_PKG_REPOSITORY")
        .trim_start_matches("https://github.com/")
        .trim_end_matches('/')
        .trim_end_matches(".git")
}

/// The files this version writes into `repo`.
pub fn plan(repo: &Path) -> Vec<Planned> {
    let file = |path: &str, content: String, what: &str| Planned {
        path: path.to_string(),
        content,
        what: what.to_string(),
    };
    let mut out = vec![
        file(
            "AGENTS.md",
            AGENTS_MD.to_string(),
            "the methodology, for agents and people",
        ),
        file(
            ".factory/workflow.yaml",
            WORKFLOW_OVERRIDE.to_string(),
            "pipeline settings merged over the built-in workflow",
        ),
    ];
    for (name, text) in crate::templates::BUILTIN {
        out.push(file(
            &format!(".factory/templates/{name}"),
            text.to_string(),
            "prompt/document template (an override of the built-in one)",
        ));
    }
    out.push(file(
        ".github/pull_request_template.md",
        PR_TEMPLATE.to_string(),
        "the 12-section pull request template",
    ));
    out.push(file(
        ".github/ISSUE_TEMPLATE/implementation_task.yml",
        ISSUE_FORM.to_string(),
        "the implementation-task issue form",
    ));
    let pinned = |text: &str| {
        text.replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
            .replace("{{REPOSITORY}}", repository())
            .replace("{{TAG}}", &release_tag())
    };
    out.push(file(
        ".github/workflows/factory-code-review.yml",
        pinned(CODE_REVIEW),
        "preflight and the optional agent review on every pull request, pinned to this release",
    ));
    out.push(file(
        ".github/workflows/factory-feature.yml",
        pinned(FEATURE),
        "the whole pipeline for a feature request (workflow_dispatch), pinned to this release",
    ));
    out.push(file(
        ".github/workflows/factory-evals.yml",
        pinned(EVALS),
        "the self-evals, weekly and on changes to .factory/, pinned to this release",
    ));
    out.push(file(SKILL_PATH, SKILL_MD.to_string(), "the OpenClaw skill"));
    let bundled = crate::packs::BUNDLED;
    let mut matches = crate::packs::detect(repo);
    // The workflow written above makes the repository a GitHub Actions one: the second run
    // would detect that pack, so the first one installs it too (init stays idempotent).
    if !matches.iter().any(|m| m.name == GITHUB_ACTIONS_PACK) {
        matches.push(crate::intake::PackMatch {
            name: GITHUB_ACTIONS_PACK.to_string(),
            reason: "factory init writes .github/workflows/factory-code-review.yml".to_string(),
        });
    }
    for m in matches {
        let want = format!("{}.json", m.name);
        if let Some((name, text)) = bundled.iter().find(|(f, _)| f.ends_with(&want)) {
            let name = Path::new(name)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(&want)
                .to_string();
            out.push(file(
                &format!(".factory/packs/{name}"),
                text.to_string(),
                &format!("heuristics pack ({})", m.reason),
            ));
        }
    }
    out
}

/// Read `.factory/init.json` (an empty record when there is none).
pub fn load_manifest(repo: &Path) -> Result<Manifest, InitError> {
    let path = repo.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| InitError::Manifest {
            path,
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(InitError::Io {
            action: "read",
            path,
            message: e.to_string(),
        }),
    }
}

/// Compare one planned file with the disk and the record.
fn status_of(repo: &Path, p: &Planned, manifest: &Manifest) -> Result<Status, InitError> {
    let path = repo.join(&p.path);
    let on_disk = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Status::Missing),
        Err(e) => {
            return Err(InitError::Io {
                action: "read",
                path,
                message: e.to_string(),
            });
        }
    };
    let disk = sha256(&on_disk);
    let new = sha256(p.content.as_bytes());
    let recorded = manifest.files.get(&p.path);
    Ok(if disk == new {
        Status::UpToDate
    } else if recorded == Some(&disk) {
        Status::Outdated
    } else if recorded == Some(&new) {
        Status::Edited
    } else {
        Status::Conflict
    })
}

/// How every planned file compares with the repository.
pub fn inspect(repo: &Path, planned: &[Planned]) -> Result<Vec<Item>, InitError> {
    let manifest = load_manifest(repo)?;
    planned
        .iter()
        .map(|p| {
            Ok(Item {
                path: p.path.clone(),
                what: p.what.clone(),
                status: status_of(repo, p, &manifest)?,
            })
        })
        .collect()
}

/// Write what is missing or outdated (and, with `force`, what was edited), then record the
/// hashes. Returns each file with what was done.
pub fn apply(
    repo: &Path,
    planned: &[Planned],
    force: bool,
) -> Result<Vec<(Item, Action)>, InitError> {
    let mut manifest = load_manifest(repo)?;
    let items = inspect(repo, planned)?;
    let mut out = Vec::new();
    for (p, item) in planned.iter().zip(items) {
        let action = match (item.status, force) {
            (Status::Missing, _) => Action::Created,
            (Status::Outdated, _) => Action::Updated,
            (Status::Edited | Status::Conflict, true) => Action::Overwritten,
            (Status::UpToDate, _) => Action::Unchanged,
            (Status::Edited | Status::Conflict, false) => Action::Kept,
        };
        if matches!(
            action,
            Action::Created | Action::Updated | Action::Overwritten
        ) {
            let path = repo.join(&p.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| InitError::Io {
                    action: "create",
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                })?;
            }
            write_atomic(&path, p.content.as_bytes()).map_err(|e| InitError::Io {
                action: "write",
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
        // Record what this version writes; an edit kept is recognised by differing from it.
        if action != Action::Kept || item.status == Status::Edited {
            manifest
                .files
                .insert(p.path.clone(), sha256(p.content.as_bytes()));
        }
        out.push((item, action));
    }
    manifest.version = env!("CARGO_PKG_VERSION").to_string();
    let path = repo.join(MANIFEST);
    let mut text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    text.push('\n');
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| InitError::Io {
            action: "create",
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    write_atomic(&path, text.as_bytes()).map_err(|e| InitError::Io {
        action: "write",
        path,
        message: e.to_string(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(content: &str) -> Vec<Planned> {
        vec![Planned {
            path: "dir/file.md".into(),
            content: content.into(),
            what: "a file".into(),
        }]
    }

    #[test]
    fn an_untouched_file_is_updated_and_an_edited_one_kept() {
        let repo = tempfile::tempdir().unwrap();
        let r = repo.path();
        let v1 = planned("one\n");
        assert_eq!(apply(r, &v1, false).unwrap()[0].1, Action::Created);
        assert_eq!(apply(r, &v1, false).unwrap()[0].1, Action::Unchanged);
        // A new version of the file: untouched, so it is updated.
        let v2 = planned("two\n");
        assert_eq!(inspect(r, &v2).unwrap()[0].status, Status::Outdated);
        assert_eq!(apply(r, &v2, false).unwrap()[0].1, Action::Updated);
        assert_eq!(
            std::fs::read_to_string(r.join("dir/file.md")).unwrap(),
            "two\n"
        );
        // Edited by the user: kept, and not drift while the version writes the same.
        std::fs::write(r.join("dir/file.md"), "mine\n").unwrap();
        assert_eq!(inspect(r, &v2).unwrap()[0].status, Status::Edited);
        assert_eq!(apply(r, &v2, false).unwrap()[0].1, Action::Kept);
        assert_eq!(
            std::fs::read_to_string(r.join("dir/file.md")).unwrap(),
            "mine\n"
        );
        // A newer version on top of the edit: a conflict, kept without --force.
        let v3 = planned("three\n");
        assert_eq!(inspect(r, &v3).unwrap()[0].status, Status::Conflict);
        assert_eq!(apply(r, &v3, false).unwrap()[0].1, Action::Kept);
        assert_eq!(inspect(r, &v3).unwrap()[0].status, Status::Conflict);
        assert_eq!(apply(r, &v3, true).unwrap()[0].1, Action::Overwritten);
        assert_eq!(
            std::fs::read_to_string(r.join("dir/file.md")).unwrap(),
            "three\n"
        );
        assert_eq!(inspect(r, &v3).unwrap()[0].status, Status::UpToDate);
    }

    #[test]
    fn a_file_that_was_there_before_init_is_a_conflict() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("dir")).unwrap();
        std::fs::write(repo.path().join("dir/file.md"), "theirs\n").unwrap();
        let items = apply(repo.path(), &planned("ours\n"), false).unwrap();
        assert_eq!(items[0].0.status, Status::Conflict);
        assert_eq!(items[0].1, Action::Kept);
        assert_eq!(
            std::fs::read_to_string(repo.path().join("dir/file.md")).unwrap(),
            "theirs\n"
        );
    }

    #[test]
    fn a_broken_record_names_the_file() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".factory")).unwrap();
        std::fs::write(repo.path().join(MANIFEST), "{").unwrap();
        let err = inspect(repo.path(), &planned("x")).unwrap_err().to_string();
        assert!(err.contains("init.json") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn the_caller_workflow_is_pinned_to_this_release() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path());
        let wf = plan
            .iter()
            .find(|p| p.path == ".github/workflows/factory-code-review.yml")
            .unwrap();
        assert!(wf.content.contains(&format!(
            "{}/actions/preflight@{}",
            repository(),
            release_tag()
        )));
        // Every placeholder is filled (`${{ ... }}` expressions are the workflow's own).
        let unfilled = |t: &str| {
            ["{{VERSION}}", "{{REPOSITORY}}", "{{TAG}}"]
                .iter()
                .any(|p| t.contains(p))
        };
        assert!(!unfilled(&wf.content));
        let feature = plan
            .iter()
            .find(|p| p.path == ".github/workflows/factory-feature.yml")
            .unwrap();
        assert!(feature.content.contains(&format!(
            "uses: {}/.github/workflows/factory.yml@{}",
            repository(),
            release_tag()
        )));
        assert!(
            feature
                .content
                .contains(&format!("factory-version: {}", release_tag()))
        );
        assert!(!unfilled(&feature.content));
        let evals = plan
            .iter()
            .find(|p| p.path == ".github/workflows/factory-evals.yml")
            .unwrap();
        assert!(evals.content.contains(&format!(
            "{}/actions/evals@{}",
            repository(),
            release_tag()
        )));
        assert!(evals.content.contains("cron:") && !unfilled(&evals.content));
        assert!(wf.content.contains("github/codeql-action/upload-sarif@"));
        assert!(plan.iter().any(|p| p.path == SKILL_PATH));
    }
}
