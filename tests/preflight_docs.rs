//! `factory rules list|doc`: the committed docs/rules must match what the rules generate.
mod support;

use predicates::prelude::*;
use support::factory;

#[test]
fn committed_rule_docs_are_up_to_date() {
    factory()
        .args(["rules", "doc", "--output", "docs/rules", "--check"])
        .assert()
        .code(0);
}

#[test]
fn check_detects_drift_and_stale_pages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules");
    let out_s = out.to_str().unwrap();
    factory()
        .args(["rules", "doc", "--out", out_s, "--check"])
        .assert()
        .code(1);
    factory()
        .args(["rules", "doc", "--out", out_s])
        .assert()
        .code(0);
    factory()
        .args(["rules", "doc", "--out", out_s, "--check"])
        .assert()
        .code(0);
    let page = out.join("scope-excluded.md");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("## Example that fails"));
    assert!(text.contains("critical"));
    std::fs::write(&page, text.replace("critical", "advisory")).unwrap();
    std::fs::write(out.join("removed-rule.md"), "old").unwrap();
    factory()
        .args(["rules", "doc", "--out", out_s, "--check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("scope-excluded.md: differs"))
        .stderr(predicate::str::contains("removed-rule.md: not generated"));
    // Regenerating fixes both.
    factory()
        .args(["rules", "doc", "--out", out_s])
        .assert()
        .code(0);
    assert!(!out.join("removed-rule.md").exists());
    factory()
        .args(["rules", "doc", "--out", out_s, "--check"])
        .assert()
        .code(0);
}

#[test]
fn list_includes_scope_rules_in_both_formats() {
    factory()
        .args(["rules", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("scope-protected-path"));
    let out = factory()
        .args(["rules", "list", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "scope-outside",
        "scope-excluded",
        "scope-protected-path",
        "suppression-missing-reason",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let index = std::fs::read_to_string("docs/rules/README.md").unwrap();
    for id in ids {
        assert!(
            index.contains(&format!("({id}.md)")),
            "{id} missing from the index"
        );
    }
}
