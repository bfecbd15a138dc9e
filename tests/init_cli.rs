//! `factory init` through the real binary: what it writes, idempotence, edits kept without
//! --force, --check drift (exit 1), detected packs, and that what it writes is valid.
mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::factory_in as factory;

const FILES: &[&str] = &[
    "AGENTS.md",
    ".factory/workflow.yaml",
    ".factory/templates/CLAUDE_PLAN.md",
    ".factory/templates/PULL_REQUEST_TEMPLATE.md",
    ".github/pull_request_template.md",
    ".github/ISSUE_TEMPLATE/implementation_task.yml",
    ".github/workflows/factory-code-review.yml",
    ".github/workflows/factory-feature.yml",
    "skills/software-factory/SKILL.md",
    ".factory/init.json",
];

#[test]
fn init_writes_everything_once_and_check_is_clean() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    factory(r)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("created     AGENTS.md"));
    for f in FILES {
        assert!(r.join(f).is_file(), "{f} written");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(r.join(".factory/init.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        manifest["files"]["AGENTS.md"].as_str().unwrap().len(),
        64,
        "a SHA-256 per file"
    );
    factory(r)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged   AGENTS.md"))
        .stdout(predicate::str::contains("created").not());
    factory(r)
        .args(["init", "--check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("up to date"));
}

#[test]
fn what_init_writes_is_valid() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    factory(r).arg("init").assert().success();
    // The workflow override is accepted by factory itself.
    factory(r)
        .args(["workflow", "check", "--state-dir", ".factory"])
        .assert()
        .success();
    let skill = std::fs::read_to_string(r.join("skills/software-factory/SKILL.md")).unwrap();
    assert!(skill.starts_with("---\nname: software-factory\ndescription: "));
    assert!(skill.contains("factory run"));
    let wf = std::fs::read_to_string(r.join(".github/workflows/factory-code-review.yml")).unwrap();
    assert!(wf.contains(&format!(
        "/actions/preflight@v{}",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(wf.contains("persist-credentials: false"));
    assert!(wf.contains(&format!("/actions/review@v{}", env!("CARGO_PKG_VERSION"))));
    let feature = std::fs::read_to_string(r.join(".github/workflows/factory-feature.yml")).unwrap();
    assert!(feature.contains(&format!(
        "/.github/workflows/factory.yml@v{}",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(feature.contains("session-key: feature-${{ github.run_id }}"));
    let form =
        std::fs::read_to_string(r.join(".github/ISSUE_TEMPLATE/implementation_task.yml")).unwrap();
    for field in [
        "files_in_scope",
        "validation_commands",
        "security",
        "rollback",
    ] {
        assert!(form.contains(&format!("id: {field}")), "{field}");
    }
    let pr = std::fs::read_to_string(r.join(".github/pull_request_template.md")).unwrap();
    assert_eq!(pr.matches("\n## ").count(), 12, "twelve sections");
}

#[test]
fn edits_are_kept_without_force_and_check_reports_drift() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    factory(r).arg("init").assert().success();

    // Edited by the user on top of this version: kept, not drift.
    std::fs::write(r.join("AGENTS.md"), "# our own rules\n").unwrap();
    factory(r)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("kept        AGENTS.md"));
    assert_eq!(
        std::fs::read_to_string(r.join("AGENTS.md")).unwrap(),
        "# our own rules\n"
    );
    factory(r)
        .args(["init", "--check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("edited      AGENTS.md"));

    // A file deleted, and one written by an older version (its recorded hash is what is on
    // disk, and differs from what this version writes): drift.
    std::fs::remove_file(r.join(".github/pull_request_template.md")).unwrap();
    let old = "old template\n";
    std::fs::write(r.join(".factory/templates/ISSUE_BODY.md"), old).unwrap();
    let path = r.join(".factory/init.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["files"][".factory/templates/ISSUE_BODY.md"] =
        Value::String(factory::init::sha256(old.as_bytes()));
    // AGENTS.md as recorded by an older version: the user's edit now hides an update.
    manifest["files"]["AGENTS.md"] = Value::String(factory::init::sha256(b"older text\n"));
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    factory(r)
        .args(["init", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "missing     .github/pull_request_template.md",
        ))
        .stdout(predicate::str::contains(
            "outdated    .factory/templates/ISSUE_BODY.md",
        ))
        .stdout(predicate::str::contains("conflict    AGENTS.md"))
        .stdout(predicate::str::contains("3 of"));
    // --check wrote nothing.
    assert!(!r.join(".github/pull_request_template.md").exists());

    factory(r)
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "created     .github/pull_request_template.md",
        ))
        .stdout(predicate::str::contains(
            "updated     .factory/templates/ISSUE_BODY.md",
        ))
        .stdout(predicate::str::contains("kept        AGENTS.md"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(r.join("AGENTS.md")).unwrap(),
        "# our own rules\n"
    );
    factory(r).args(["init", "--check"]).assert().code(1);

    factory(r)
        .args(["init", "--force"])
        .assert()
        .success()
        .stdout(predicate::str::contains("overwritten AGENTS.md"));
    assert!(
        std::fs::read_to_string(r.join("AGENTS.md"))
            .unwrap()
            .contains("Issue first")
    );
    factory(r).args(["init", "--check"]).assert().code(0);
}

#[test]
fn detected_packs_are_installed() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    std::fs::write(
        r.join("Cargo.toml"),
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n\n[dependencies]\nclap = \"4\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(r.join("src")).unwrap();
    std::fs::write(r.join("src/main.rs"), "fn main() {}\n").unwrap();
    let out = factory(r).arg("init").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let packs: Vec<_> = std::fs::read_dir(r.join(".factory/packs"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(!packs.is_empty(), "a Rust CLI gets a pack: {stdout}");
    assert!(stdout.contains("heuristics pack ("), "{stdout}");
}

#[test]
fn a_broken_record_or_repo_is_an_error_naming_it() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    std::fs::create_dir_all(r.join(".factory")).unwrap();
    std::fs::write(r.join(".factory/init.json"), "not json").unwrap();
    factory(r)
        .args(["init", "--check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".factory/init.json"));
    factory(r)
        .args(["init", "--repo", "does-not-exist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
    factory(r)
        .args(["init", "--check", "--force"])
        .assert()
        .code(2);
}
