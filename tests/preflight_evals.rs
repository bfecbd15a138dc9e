//! The adversarial diffs in evals/diffs/ through `factory evals`, plus a cross-check: every
//! case that needs no pack or OSV database also goes through `factory preflight` itself, so
//! the evals (which call the library) and the command users run cannot drift apart.
mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::factory;

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string("evals/diffs/manifest.json").unwrap()).unwrap()
}

fn key(f: &Value) -> String {
    format!(
        "{} {}:{} {}",
        f["rule_id"].as_str().unwrap(),
        f["path"].as_str().unwrap(),
        f["line"].as_u64().unwrap(),
        f["severity"].as_str().unwrap()
    )
}

#[test]
fn every_diff_case_passes_through_factory_evals() {
    let out = factory()
        .args(["evals", "--suite", "diffs", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let cases = report["suites"][0]["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "only {} diff cases", cases.len());
    // No report ever carries a secret value: only rule, path, line and severity.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("AKIAZ3MHQ5R7TXW4PL2N"));
}

#[test]
fn factory_preflight_agrees_with_the_evals() {
    let mut ran = 0;
    for case in manifest()["cases"].as_array().unwrap() {
        if case.get("packs").is_some() || case.get("osv").is_some() {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let mut cmd = factory();
        cmd.args([
            "preflight",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--diff",
        ])
        .arg(format!("evals/diffs/{}", case["diff"].as_str().unwrap()));
        if let Some(scope) = case["scope"].as_str() {
            cmd.arg("--scope").arg(format!("evals/diffs/{scope}"));
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: BTreeSet<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        let want: BTreeSet<String> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(got, want, "eval case `{name}`");
        ran += 1;
    }
    assert!(ran >= 30, "only {ran} cases ran");
}

#[test]
fn every_rule_is_expected_somewhere_in_the_diffs() {
    let out = factory()
        .args(["rules", "list", "--format", "json"])
        .output()
        .unwrap();
    let rules: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: BTreeSet<String> = manifest()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["expected"].as_array().unwrap().clone())
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    for rule in rules.as_array().unwrap() {
        let id = rule["id"].as_str().unwrap();
        assert!(
            expected.contains(id),
            "rule `{id}` fires in no diff case: add a case to evals/diffs/manifest.json"
        );
    }
}
