//! Validation commands found in the repository itself, for an issue no plan and no workflow
//! setting gives any (a hotfix in a repository factory was just set up in). The project's own
//! entry point wins: a Makefile `test` target; otherwise each ecosystem's test runner that its
//! manifest names. What was chosen, and from which file, is said in the log.

use std::path::Path;

use crate::forge::verify::Check;

/// The commands found and the files that gave them.
#[derive(Debug, Clone)]
pub struct Detected {
    pub checks: Vec<Check>,
    /// Each command with the file it was read from, for the log and the prompt.
    pub why: String,
}

/// The validation commands `repo` declares, if any.
pub fn validation(repo: &Path) -> Option<Detected> {
    let read = |name: &str| std::fs::read_to_string(repo.join(name)).ok();
    let exists = |name: &str| repo.join(name).exists();
    let mut found: Vec<(&str, String, &str)> = Vec::new();
    if let Some(makefile) = read("Makefile").or_else(|| read("makefile"))
        && makefile
            .lines()
            .any(|l| l.starts_with("test:") || l.starts_with("test :"))
    {
        found.push(("make-test", "make test".into(), "Makefile (target `test`)"));
    } else {
        if exists("Cargo.toml") {
            found.push(("cargo-test", "cargo test".into(), "Cargo.toml"));
        }
        if exists("go.mod") {
            found.push(("go-test", "go test ./...".into(), "go.mod"));
        }
        if let Some(pkg) = read("package.json")
            && has_test_script(&pkg)
        {
            let runner = if exists("pnpm-lock.yaml") {
                (
                    "pnpm-test",
                    "pnpm test",
                    "package.json (scripts.test, pnpm-lock.yaml)",
                )
            } else if exists("yarn.lock") {
                (
                    "yarn-test",
                    "yarn test",
                    "package.json (scripts.test, yarn.lock)",
                )
            } else {
                ("npm-test", "npm test", "package.json (scripts.test)")
            };
            found.push((runner.0, runner.1.into(), runner.2));
        }
        if exists("tox.ini") {
            found.push(("tox", "tox".into(), "tox.ini"));
        } else if let Some(why) = pytest_config(repo) {
            found.push(("pytest", "python3 -m pytest".into(), why));
        }
    }
    if found.is_empty() {
        return None;
    }
    Some(Detected {
        why: found
            .iter()
            .map(|(_, command, file)| format!("`{command}` from {file}"))
            .collect::<Vec<_>>()
            .join(", "),
        checks: found
            .into_iter()
            .map(|(name, command, _)| Check {
                name: name.into(),
                command,
            })
            .collect(),
    })
}

/// Whether `package.json` has a test script other than the one `npm init` writes.
fn has_test_script(package_json: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(package_json) else {
        return false;
    };
    v.pointer("/scripts/test")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|t| !t.trim().is_empty() && !t.contains("no test specified"))
}

/// The file that configures pytest, if one does.
fn pytest_config(repo: &Path) -> Option<&'static str> {
    let has = |name: &str, needle: &str| {
        std::fs::read_to_string(repo.join(name)).is_ok_and(|t| t.contains(needle))
    };
    if repo.join("pytest.ini").is_file() {
        Some("pytest.ini")
    } else if has("pyproject.toml", "[tool.pytest") {
        Some("pyproject.toml ([tool.pytest])")
    } else if has("setup.cfg", "[tool:pytest]") {
        Some("setup.cfg ([tool:pytest])")
    } else if repo.join("conftest.py").is_file() {
        Some("conftest.py")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn commands(files: &[(&str, &str)]) -> Vec<String> {
        validation(repo(files).path())
            .map(|d| d.checks.into_iter().map(|c| c.command).collect())
            .unwrap_or_default()
    }

    #[test]
    fn each_ecosystem_gives_its_test_runner() {
        assert_eq!(commands(&[("Cargo.toml", "[package]")]), ["cargo test"]);
        assert_eq!(commands(&[("go.mod", "module x")]), ["go test ./..."]);
        assert_eq!(
            commands(&[("package.json", r#"{"scripts":{"test":"vitest run"}}"#)]),
            ["npm test"]
        );
        assert_eq!(
            commands(&[
                ("package.json", r#"{"scripts":{"test":"jest"}}"#),
                ("pnpm-lock.yaml", "")
            ]),
            ["pnpm test"]
        );
        assert_eq!(
            commands(&[
                ("package.json", r#"{"scripts":{"test":"jest"}}"#),
                ("yarn.lock", "")
            ]),
            ["yarn test"]
        );
        assert_eq!(commands(&[("tox.ini", "[tox]")]), ["tox"]);
        assert_eq!(
            commands(&[("pyproject.toml", "[tool.pytest.ini_options]\n")]),
            ["python3 -m pytest"]
        );
        assert_eq!(
            commands(&[("setup.cfg", "[tool:pytest]\n")]),
            ["python3 -m pytest"]
        );
    }

    #[test]
    fn the_makefile_test_target_wins_and_a_monorepo_gets_every_runner() {
        assert_eq!(
            commands(&[
                ("Makefile", "build:\n\tcc x.c\ntest: build\n\t./x\n"),
                ("Cargo.toml", "")
            ]),
            ["make test"]
        );
        let d = validation(
            repo(&[
                ("Makefile", "build:\n\tcc x.c\n"),
                ("Cargo.toml", ""),
                ("package.json", r#"{"scripts":{"test":"jest"}}"#),
            ])
            .path(),
        )
        .unwrap();
        assert_eq!(
            d.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["cargo-test", "npm-test"]
        );
        assert_eq!(
            d.why,
            "`cargo test` from Cargo.toml, `npm test` from package.json (scripts.test)"
        );
    }

    #[test]
    fn nothing_declared_is_nothing_found() {
        assert!(commands(&[("README.md", "# x")]).is_empty());
        // The placeholder `npm init` writes is not a test suite.
        assert!(
            commands(&[(
                "package.json",
                r#"{"scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}"#
            )])
            .is_empty()
        );
        assert!(commands(&[("pyproject.toml", "[project]\nname = \"x\"\n")]).is_empty());
    }
}
