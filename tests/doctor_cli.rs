//! `factory doctor` through the binary, with fake `claude`/`codex` executables on a PATH that
//! holds nothing else but git.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;

fn real_git() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH for tests")
}

/// A directory for PATH with git linked in and, optionally, fake agent CLIs.
fn bin_dir(tools: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(real_git(), dir.path().join("git")).unwrap();
    for (name, script) in tools {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn git(dir: &Path, args: &[&str]) {
    let ok = StdCommand::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["config", "user.name", "Test"]);
    git(d, &["config", "user.email", "test@example.com"]);
    std::fs::write(d.join("README.md"), "hello\n").unwrap();
    git(d, &["add", "README.md"]);
    git(d, &["commit", "-q", "-m", "first"]);
    dir
}

/// The variables that carry agent credentials or describe the runner: removed, so the
/// developer's own login or a CI runner's environment cannot change what a test sees.
const AMBIENT: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_ACTIONS",
    "FACTORY_WRITE_IDENTITY",
    "FACTORY_REVIEW_TOKEN",
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "CODEX_HOME",
];

fn doctor(path_dir: &Path, repo: &Path) -> Command {
    let mut cmd = Command::cargo_bin("factory").unwrap();
    cmd.arg("doctor")
        .arg("--repo")
        .arg(repo)
        .env("PATH", path_dir)
        // No login files: HOME is the directory of fake tools.
        .env("HOME", path_dir);
    for var in AMBIENT {
        cmd.env_remove(var);
    }
    cmd
}

fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| l[l.char_indices().nth(2).unwrap().0..].starts_with(check))
        .unwrap_or_else(|| panic!("no {check} line in\n{out}"))
}

#[test]
fn everything_present_passes_with_versions() {
    let repo = repo();
    let bin = bin_dir(&[
        ("claude", "echo '2.0.14 (Claude Code)'"),
        ("codex", "echo 'codex-cli 0.46.0'"),
    ]);
    let out = doctor(bin.path(), repo.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(line(&out, "git repository").starts_with("✓"), "{out}");
    assert!(line(&out, "working tree").ends_with("clean"), "{out}");
    assert!(line(&out, "default branch").contains("main"), "{out}");
    assert!(
        line(&out, "claude").starts_with("✓")
            && line(&out, "claude").ends_with("2.0.14 (Claude Code)"),
        "{out}"
    );
    assert!(line(&out, "codex").ends_with("codex-cli 0.46.0"), "{out}");
    assert!(
        line(&out, "forge").starts_with("!") && out.contains("local forge will be used"),
        "{out}"
    );
    assert!(line(&out, "schemas").starts_with("✓"), "{out}");
    assert!(
        line(&out, "claude credentials").starts_with("!")
            && line(&out, "claude credentials").contains("ANTHROPIC_API_KEY is not set"),
        "{out}"
    );
    assert!(out.contains("6 passed, 3 warnings, 0 failed"), "{out}");
}

#[test]
fn absent_or_failing_tools_are_warnings_not_failures() {
    let repo = repo();
    std::fs::write(repo.path().join("new.txt"), "x").unwrap();
    let bin = bin_dir(&[("codex", "echo 'not logged in' >&2; exit 3")]);
    let out = doctor(bin.path(), repo.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        line(&out, "claude").starts_with("! claude") && out.contains("not found on PATH"),
        "{out}"
    );
    assert!(
        line(&out, "codex").contains("`--version` exited with"),
        "{out}"
    );
    assert!(
        line(&out, "working tree").contains("1 changed file:"),
        "{out}"
    );
}

#[test]
fn outside_a_repository_exits_1_and_reports_everything() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bin_dir(&[]);
    doctor(bin.path(), dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗ git repository"))
        .stdout(predicate::str::contains("git init"))
        .stdout(predicate::str::contains("! claude"))
        .stdout(predicate::str::contains("✓ schemas"))
        .stdout(predicate::str::contains("1 failed: fix the ✗ lines"));
}

#[test]
fn missing_repo_directory_exits_1() {
    let bin = bin_dir(&[]);
    doctor(bin.path(), Path::new("/nonexistent/factory-doctor-test"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "is not a directory: pass --repo DIR",
        ));
}

#[test]
fn json_report_never_contains_the_token() {
    let repo = repo();
    let bin = bin_dir(&[("claude", "echo 2.0.14"), ("codex", "echo 0.46.0")]);
    let secret = "ghp_doctorTestValue0123456789abcdefABCDEF";
    let out = doctor(bin.path(), repo.path())
        .arg("--json")
        .env("GITHUB_TOKEN", secret)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(secret));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["ok"], true);
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 10);
    let forge = checks.iter().find(|c| c["check"] == "forge").unwrap();
    assert_eq!(forge["ok"], true);
    assert_eq!(
        forge["detail"],
        "GitHub acme/shop (repository from GITHUB_REPOSITORY, token from GITHUB_TOKEN)"
    );
    // One token: approvals on factory's own pull requests are impossible, and doctor says so.
    let identity = checks
        .iter()
        .find(|c| c["check"] == "review identity")
        .unwrap();
    assert_eq!(identity["ok"], false);
    assert_eq!(identity["required"], false);
    let detail = identity["detail"].as_str().unwrap();
    assert!(
        detail.contains("requires approvals needs a second identity: set FACTORY_REVIEW_TOKEN"),
        "{detail}"
    );
    for c in checks {
        assert!(c["required"].is_boolean() && c["detail"].is_string());
    }
}

#[test]
fn a_review_token_is_a_second_identity_and_never_shown() {
    let repo = repo();
    let bin = bin_dir(&[]);
    let secret = "ghs_reviewerTokenValue0123456789abcdef";
    let out = doctor(bin.path(), repo.path())
        .env("GITHUB_TOKEN", "x")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("FACTORY_REVIEW_TOKEN", secret)
        .assert()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(secret));
    assert!(
        text.contains("reviews are posted by a second identity (FACTORY_REVIEW_TOKEN)"),
        "{text}"
    );
}

#[test]
fn forge_repository_can_come_from_the_origin_remote() {
    let repo = repo();
    git(
        repo.path(),
        &["remote", "add", "origin", "git@github.com:acme/shop.git"],
    );
    let bin = bin_dir(&[]);
    doctor(bin.path(), repo.path())
        .env("GH_TOKEN", "x")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "GitHub acme/shop (repository from the origin remote, token from GH_TOKEN)",
        ));
}

#[test]
fn help_lists_the_flags() {
    Command::cargo_bin("factory")
        .unwrap()
        .args(["doctor", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--repo <DIR>"))
        .stdout(predicate::str::contains("--json"));
}

fn stdout(cmd: &mut Command, code: i32) -> String {
    String::from_utf8(cmd.assert().code(code).get_output().stdout.clone()).unwrap()
}

#[test]
fn a_needed_agent_without_credentials_fails_and_names_the_secret() {
    let repo = repo();
    let bin = bin_dir(&[("claude", "echo '2.1.332 (Claude Code)'")]);
    let out = stdout(
        doctor(bin.path(), repo.path()).args(["--need", "claude"]),
        1,
    );
    assert!(
        line(&out, "claude credentials").starts_with("✗")
            && line(&out, "claude credentials").contains("required")
            && line(&out, "claude credentials").contains("CLAUDE_CODE_OAUTH_TOKEN"),
        "{out}"
    );
    // Codex is not needed: its absence stays a warning.
    assert!(line(&out, "codex").starts_with("!"), "{out}");

    // In GitHub Actions the advice is where to set the secret and how to pass it.
    let out = stdout(
        doctor(bin.path(), repo.path())
            .args(["--need", "codex"])
            .env("GITHUB_ACTIONS", "true"),
        1,
    );
    assert!(line(&out, "codex").starts_with("✗"), "{out}");
    let creds = line(&out, "codex credentials");
    assert!(
        creds.starts_with("✗")
            && creds.contains("CODEX_API_KEY is not set in this step")
            && creds.contains("Settings → Secrets and variables → Actions")
            && creds.contains("secrets: CODEX_API_KEY: ${{ secrets.CODEX_API_KEY }}"),
        "{out}"
    );
}

#[test]
fn a_needed_agent_with_its_key_passes_and_the_key_is_never_shown() {
    let repo = repo();
    let bin = bin_dir(&[("claude", "echo '2.1.332 (Claude Code)'")]);
    let key = "sk-ant-api03-doctor-test-value-never-printed";
    let mut cmd = doctor(bin.path(), repo.path());
    cmd.args(["--need", "claude", "--json"])
        .env("GITHUB_ACTIONS", "true")
        .env("ANTHROPIC_API_KEY", key);
    let out = stdout(&mut cmd, 0);
    assert!(!out.contains(key), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let creds = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "claude credentials")
        .unwrap();
    assert_eq!(creds["ok"], true);
    assert_eq!(creds["required"], true);
    assert_eq!(creds["detail"], "from ANTHROPIC_API_KEY");
    // An empty variable is not a credential.
    let mut cmd = doctor(bin.path(), repo.path());
    cmd.args(["--need", "claude"]).env("ANTHROPIC_API_KEY", "");
    stdout(&mut cmd, 1);
}

#[test]
fn the_workflow_token_as_write_identity_warns_that_prs_run_no_ci() {
    let repo = repo();
    let bin = bin_dir(&[]);
    let in_actions = |cmd: &mut Command| {
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_TOKEN", "ghs_workflowtokenvalue")
            .env("GITHUB_REPOSITORY", "acme/shop");
    };
    let mut cmd = doctor(bin.path(), repo.path());
    in_actions(&mut cmd);
    let out = stdout(&mut cmd, 0);
    let identity = line(&out, "write identity");
    assert!(
        identity.starts_with("!")
            && identity.contains("run no CI")
            && identity.contains("docs/actions.md#write-identity"),
        "{out}"
    );
    assert!(!out.contains("ghs_workflowtokenvalue"), "{out}");

    let mut cmd = doctor(bin.path(), repo.path());
    in_actions(&mut cmd);
    cmd.env("FACTORY_WRITE_IDENTITY", "app");
    let out = stdout(&mut cmd, 0);
    assert!(line(&out, "write identity").starts_with("✓"), "{out}");

    // Outside Actions the check does not apply.
    let mut cmd = doctor(bin.path(), repo.path());
    cmd.env("GITHUB_TOKEN", "t")
        .env("GITHUB_REPOSITORY", "acme/shop");
    assert!(!stdout(&mut cmd, 0).contains("write identity"));
}
