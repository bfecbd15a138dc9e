//! `factory evals` through the binary: the bundled suites pass, every format renders, broken
//! fixtures exit 2 with the file named, and users can point it at their own directory.
mod support;

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;
use support::{copy_dir, factory};

/// A copy of the bundled evals the test may edit.
pub fn copy_evals() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("evals"), &dir.path().join("evals"));
    dir
}

#[test]
fn bundled_suites_pass_with_enough_cases() {
    let out = factory()
        .args(["evals", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["skipped"], 0);
    assert!(report["total"].as_u64().unwrap() >= 60);
    let suites: Vec<&str> = report["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suite"].as_str().unwrap())
        .collect();
    assert_eq!(
        suites,
        [
            "plans",
            "diffs",
            "packs",
            "rules",
            "templates",
            "reviews",
            "intake",
            "idioms"
        ]
    );
    for s in report["suites"].as_array().unwrap() {
        assert!(
            !s["cases"].as_array().unwrap().is_empty(),
            "suite {} is empty",
            s["suite"]
        );
    }
}

#[test]
fn text_table_lists_cases_and_a_summary() {
    factory()
        .args(["evals", "--suite", "plans"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("valid-strategic-plan.json"))
        .stdout(predicate::str::contains("pass"))
        .stdout(predicate::str::contains("passed, 0 failed"));
}

#[test]
fn junit_is_well_formed_with_one_testsuite_per_suite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evals.xml");
    factory()
        .args(["evals", "--format", "junit", "--output"])
        .arg(&file)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("report written to"));
    let xml = std::fs::read_to_string(&file).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 8);
    let cases: usize = suites
        .iter()
        .map(|s| s.children().filter(|n| n.has_tag_name("testcase")).count())
        .sum();
    assert_eq!(root.attribute("tests").unwrap(), cases.to_string());
    assert_eq!(root.attribute("failures"), Some("0"));
}

#[test]
fn junit_failure_carries_expected_and_actual() {
    let out = factory()
        .args([
            "evals",
            "--suite",
            "diffs",
            "--format",
            "junit",
            "--without-rule",
            "actions-script-injection",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure element");
    let case = failure.parent().unwrap();
    assert_eq!(case.attribute("name"), Some("actions-script-injection"));
    assert!(
        failure.attribute("message").unwrap().contains(
            "expected [actions-script-injection .github/workflows/triage.yml:12 critical"
        )
    );
    assert!(failure.text().unwrap().contains("| actual"));
}

#[test]
fn broken_fixtures_exit_2_naming_the_file() {
    let dir = copy_evals();
    let evals = dir.path().join("evals");
    std::fs::remove_file(evals.join("diffs/sql-injection.diff")).unwrap();
    factory()
        .args(["evals", "--dir"])
        .arg(&evals)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken fixture"))
        .stderr(predicate::str::contains("sql-injection.diff"));

    let dir = copy_evals();
    let evals = dir.path().join("evals");
    let manifest = evals.join("plans/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replacen("\"codes\"", "\"kodes\"", 1)).unwrap();
    factory()
        .args(["evals", "--suite", "plans", "--dir"])
        .arg(&evals)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("plans/manifest.json"))
        .stderr(predicate::str::contains("kodes"));

    let dir = copy_evals();
    let evals = dir.path().join("evals");
    std::fs::write(evals.join("diffs/scope-violation.scope.json"), "{not json").unwrap();
    factory()
        .args(["evals", "--suite", "diffs", "--dir"])
        .arg(&evals)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("scope-violation.scope.json"));

    // The new suites: a missing context file and an unreadable recorded answer name the file.
    let dir = copy_evals();
    let evals = dir.path().join("evals");
    std::fs::remove_file(evals.join("templates/plan.context.json")).unwrap();
    factory()
        .args(["evals", "--suite", "templates", "--dir"])
        .arg(&evals)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken fixture"))
        .stderr(predicate::str::contains("plan.context.json"));

    let dir = copy_evals();
    let evals = dir.path().join("evals");
    std::fs::remove_file(evals.join("reviews/approve-clean.txt")).unwrap();
    factory()
        .args(["evals", "--suite", "reviews", "--dir"])
        .arg(&evals)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("approve-clean.txt"));
}

#[test]
fn usage_errors_exit_2() {
    factory()
        .args(["evals", "--dir", "does/not/exist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does/not/exist"))
        .stderr(predicate::str::contains("--dir"));
    factory()
        .args(["evals", "--suite", "nosuch"])
        .assert()
        .code(2);
    factory()
        .args(["evals", "--without-rule", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-rule"));
}

#[test]
fn a_users_own_fixture_directory() {
    let dir = tempfile::tempdir().unwrap();
    let evals = dir.path().join("my-evals");
    std::fs::create_dir_all(evals.join("diffs")).unwrap();
    std::fs::copy(
        "evals/diffs/sql-injection.diff",
        evals.join("diffs/query.diff"),
    )
    .unwrap();
    std::fs::write(
        evals.join("diffs/manifest.json"),
        r#"{"version": 1, "cases": [{"name": "my-query", "diff": "query.diff", "expected": [
            {"rule_id": "sql-injection", "path": "app/repository.py", "line": 18, "severity": "critical"}]}]}"#,
    )
    .unwrap();
    let out = factory()
        .args(["evals", "--format", "json", "--dir"])
        .arg(&evals)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    // Only the diffs case, and the rule examples (which need no fixtures but the OSV database
    // for the dependency rule: skipped without osv/).
    assert_eq!(report["suites"][1]["cases"][0]["name"], "my-query");
    assert_eq!(report["suites"][0]["cases"].as_array().unwrap().len(), 0);
    assert_eq!(report["skipped"], 2);
}

#[test]
fn without_a_local_evals_directory_the_built_in_fixtures_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = factory()
        .current_dir(dir.path())
        .args(["evals", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built into factory"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = factory()
        .args(["evals", "--format", "json"])
        .output()
        .unwrap();
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();
    // Everything but the labelled intake requests and the idioms corpus, which stay out of
    // the binary.
    let intake_cases = local["suites"][6]["cases"].as_array().unwrap().len() as u64;
    assert_eq!(local["suites"][6]["suite"], "intake");
    assert!(intake_cases >= 4, "{local:#}");
    let idioms_cases = local["suites"][7]["cases"].as_array().unwrap().len() as u64;
    assert_eq!(local["suites"][7]["suite"], "idioms");
    assert!(idioms_cases >= 10, "{local:#}");
    assert_eq!(
        report["total"].as_u64().unwrap(),
        local["total"].as_u64().unwrap() - intake_cases - idioms_cases
    );
    assert_eq!(
        report["suites"][2]["cases"][0]["name"],
        "packs/pack-infra-iac.json"
    );
}
