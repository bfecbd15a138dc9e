//! Snapshots of the machine-readable formats: their shape is an interface (CI scripts and code
//! scanning read them), so any change must show up in review.

use assert_cmd::Command;

/// `factory preflight` on the scope fixture with a pack, `extra` arguments after; exits 1.
fn preflight(extra: &[&str]) -> std::process::Output {
    let out = Command::cargo_bin("factory")
        .unwrap()
        .env_remove("GITHUB_STEP_SUMMARY")
        .args([
            "preflight",
            "--diff",
            "tests/fixtures/preflight/scope-target.diff",
        ])
        .args(["--scope", "tests/fixtures/preflight/scope.json"])
        .args(["--pack", "tests/fixtures/preflight/pack.json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    out
}

fn versionless(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

fn run(format: &str) -> String {
    versionless(&String::from_utf8(preflight(&["--format", format]).stdout).unwrap())
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
    preflight(&["--summary", summary.to_str().unwrap()]);
    insta::assert_snapshot!(versionless(&std::fs::read_to_string(&summary).unwrap()));
}
