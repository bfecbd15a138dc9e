//! Which packs apply to a repository: file globs (`detect.files`) matched against the
//! repository's files and package names (`detect.dependencies`) looked up in its manifests
//! (package.json, Cargo.toml, requirements*.txt, pyproject.toml, go.mod).

use super::PackMatch;
use std::collections::BTreeSet;
use std::path::Path;

use crate::contracts::glob::Scope;

use super::{Pack, PackError, bundled, find};

/// Walking stops after this many entries: detection must stay fast on huge monorepos.
const MAX_FILES: usize = 50_000;
/// Manifests larger than this are not read.
const MAX_MANIFEST: u64 = 2 * 1024 * 1024;

/// What the walk found: relative paths (with `/`) and the dependency names per manifest.
#[derive(Debug, Default)]
pub struct RepoFacts {
    pub files: Vec<String>,
    pub dependencies: Vec<(String, BTreeSet<String>)>,
}

/// Walk the repository (honouring .gitignore, skipping `.git` and `.factory`).
pub fn scan(repo: &Path) -> RepoFacts {
    let mut facts = RepoFacts::default();
    let walker = ignore::WalkBuilder::new(repo)
        .hidden(false)
        .max_depth(Some(8))
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !matches!(
                name.as_ref(),
                ".git" | ".factory" | "node_modules" | "target"
            )
        })
        .build();
    for entry in walker.flatten().take(MAX_FILES) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(repo) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let name = entry.file_name().to_string_lossy().to_string();
        let is_manifest = matches!(
            name.as_str(),
            "package.json" | "Cargo.toml" | "pyproject.toml" | "go.mod"
        ) || (name.starts_with("requirements") && name.ends_with(".txt"));
        if is_manifest
            && entry.metadata().is_ok_and(|m| m.len() <= MAX_MANIFEST)
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            let deps = manifest_dependencies(&name, &text);
            if !deps.is_empty() {
                facts.dependencies.push((rel.clone(), deps));
            }
        }
        facts.files.push(rel);
    }
    facts.files.sort();
    facts.dependencies.sort();
    facts
}

/// Package names a manifest declares. Parsing is deliberately shallow: names are all we need.
pub fn manifest_dependencies(file_name: &str, text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match file_name {
        "package.json" => {
            if let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) {
                for key in ["dependencies", "devDependencies", "peerDependencies"] {
                    if let Some(map) = doc[key].as_object() {
                        out.extend(map.keys().cloned());
                    }
                }
            }
        }
        "Cargo.toml" => {
            let mut in_deps = false;
            for line in text.lines().map(str::trim) {
                if let Some(header) = line.strip_prefix('[') {
                    let header = header.trim_end_matches(']');
                    in_deps = header.ends_with("dependencies");
                    if let Some((section, name)) = header.rsplit_once('.')
                        && section.ends_with("dependencies")
                    {
                        out.insert(name.trim_matches('"').to_string());
                    }
                    continue;
                }
                if in_deps && let Some((name, _)) = line.split_once('=') {
                    let name = name.trim().trim_matches('"');
                    if !name.is_empty() && !name.starts_with('#') {
                        out.insert(name.to_string());
                    }
                }
            }
        }
        "go.mod" => {
            for line in text.lines().map(str::trim) {
                let line = line.strip_prefix("require").unwrap_or(line).trim();
                if let Some(module) = line.split_whitespace().next()
                    && module.contains('/')
                {
                    out.insert(module.to_string());
                }
            }
        }
        _ => {
            // requirements*.txt and pyproject.toml: a name at the start of a line or of a
            // quoted string, up to the first version or extras character.
            for line in text.lines() {
                let line = line.trim().trim_start_matches(['"', '\'']);
                if line.starts_with('#') || line.starts_with('[') || line.contains(" = ") {
                    continue;
                }
                let name: String = line
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if !name.is_empty() {
                    out.insert(name.to_lowercase());
                }
            }
        }
    }
    out
}

/// Why `pack` applies to the repository described by `facts`, if it does.
pub fn matches(pack: &Pack, facts: &RepoFacts) -> Option<String> {
    let detect = &pack.doc["detect"];
    let mut reasons = Vec::new();
    for glob in detect["files"].as_array().into_iter().flatten() {
        let Some(glob) = glob.as_str() else { continue };
        let Ok(scope) = Scope::new(&[glob]) else {
            continue;
        };
        if let Some(file) = facts.files.iter().find(|f| scope.matches(f)) {
            reasons.push(format!("found {file}"));
            break;
        }
    }
    'deps: for dep in detect["dependencies"].as_array().into_iter().flatten() {
        let Some(dep) = dep.as_str() else { continue };
        for (manifest, names) in &facts.dependencies {
            if names.contains(dep) || names.contains(&dep.to_lowercase()) {
                reasons.push(format!("{manifest} depends on {dep}"));
                break 'deps;
            }
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Every bundled pack that applies to `repo`, with the reason.
pub fn detect(repo: &Path) -> Vec<PackMatch> {
    let facts = scan(repo);
    bundled()
        .iter()
        .filter_map(|p| {
            matches(p, &facts).map(|reason| PackMatch {
                name: p.name.clone(),
                reason,
            })
        })
        .collect()
}

/// The packs of an intake record: the ones forced with `--pack` (reason "forced with
/// --pack"), then the detected ones not already forced.
pub fn for_intake(repo: &Path, forced: &[String]) -> Result<Vec<PackMatch>, PackError> {
    let mut out: Vec<PackMatch> = Vec::new();
    for name in forced {
        let pack = find(name)?;
        if !out.iter().any(|m| m.name == pack.name) {
            out.push(PackMatch {
                name: pack.name,
                reason: "forced with --pack".into(),
            });
        }
    }
    for m in detect(repo) {
        if !out.iter().any(|o| o.name == m.name) {
            out.push(m);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn names(m: &[PackMatch]) -> Vec<&str> {
        m.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn detects_each_bundled_pack_from_its_signals() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Cargo.toml",
            "[package]\nname = \"x\"\n\n[dependencies]\nclap = { version = \"4\" }\n",
        );
        write(
            d,
            "web/package.json",
            r#"{"dependencies": {"react": "18", "express": "4"}}"#,
        );
        write(d, "infra/main.tf", "resource \"x\" \"y\" {}\n");
        write(d, ".github/workflows/ci.yml", "on: push\n");
        let found = detect(d);
        assert_eq!(
            names(&found),
            [
                "pack-saas-api",
                "pack-rust-cli",
                "pack-web-frontend",
                "pack-terraform-infra",
                "pack-github-actions"
            ]
        );
        let rust = &found[1];
        assert!(rust.reason.contains("found Cargo.toml"), "{}", rust.reason);
        assert!(
            rust.reason.contains("Cargo.toml depends on clap"),
            "{}",
            rust.reason
        );
        assert_eq!(found[0].reason, "web/package.json depends on express");
        assert_eq!(found[3].reason, "found infra/main.tf");
    }

    #[test]
    fn an_empty_repository_matches_nothing_and_forced_packs_come_first() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "README.md", "hello\n");
        assert!(detect(dir.path()).is_empty());
        let m = for_intake(dir.path(), &["terraform-infra".into()]).unwrap();
        assert_eq!(names(&m), ["pack-terraform-infra"]);
        assert_eq!(m[0].reason, "forced with --pack");
        assert!(for_intake(dir.path(), &["nope".into()]).is_err());
    }

    #[test]
    fn manifests_yield_package_names() {
        let cargo = "[dependencies]\nserde = \"1\"\n[dev-dependencies.insta]\nversion = \"1\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n";
        let deps = manifest_dependencies("Cargo.toml", cargo);
        assert!(deps.contains("serde") && deps.contains("insta") && deps.contains("libc"));
        assert!(!deps.contains("version"));
        let req = manifest_dependencies(
            "requirements.txt",
            "Django>=4\n# comment\nflask[async]==2\n",
        );
        assert_eq!(req.into_iter().collect::<Vec<_>>(), ["django", "flask"]);
        let go = manifest_dependencies(
            "go.mod",
            "module x\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n)\n",
        );
        assert!(go.contains("github.com/gin-gonic/gin"));
    }
}
