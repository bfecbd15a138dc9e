//! Snapshots of the machine-readable formats: their shape is an interface (CI scripts and code
//! scanning read them), so any change must show up in review.

use assert_cmd::Command;

fn run(format: &str) -> String {
    let out = Command::cargo_bin("factory")
        .unwrap()
        .env_remove("GITHUB_STEP_SUMMARY")
        .args([
            "preflight",
            "--diff",
            "tests/fixtures/preflight/scope-target.diff",
        ])
        .args(["--scope", "tests/fixtures/preflight/scope.json"])
        .args([
            "--pack",
            "tests/fixtures/preflight/pack.json",
            "--format",
            format,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn json_report_shape() {
    insta::assert_snapshot!(run("json"));
}

#[test]
fn github_annotations() {
    insta::assert_snapshot!(run("github"));
}

#[test]
fn text_report() {
    insta::assert_snapshot!(run("text"));
}

#[test]
fn sarif_report() {
    insta::assert_snapshot!(run("sarif"));
}

#[test]
fn markdown_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    Command::cargo_bin("factory")
        .unwrap()
        .env_remove("GITHUB_STEP_SUMMARY")
        .args([
            "preflight",
            "--diff",
            "tests/fixtures/preflight/scope-target.diff",
        ])
        .args(["--scope", "tests/fixtures/preflight/scope.json"])
        .args(["--pack", "tests/fixtures/preflight/pack.json", "--summary"])
        .arg(&summary)
        .assert()
        .code(1);
    insta::assert_snapshot!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .replace(env!("CARGO_PKG_VERSION"), "[version]")
    );
}
