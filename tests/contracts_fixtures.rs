//! Every fixture in evals/plans/manifest.json, through the built binary: exit code and the
//! exact set of violation codes.
mod support;

use std::collections::BTreeSet;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;
use support::factory;

#[test]
fn every_plan_fixture_gives_its_expected_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("evals/plans");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "the fixture set shrank to {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let contract = case["contract"].as_str().unwrap();
        let mut cmd = factory();
        cmd.args(["validate", contract])
            .arg(dir.join(file))
            .args(["--format", "json"]);
        if let Some(plan) = case["plan"].as_str() {
            cmd.arg("--plan").arg(dir.join(plan));
        }
        let out = cmd.output().unwrap();
        let want_valid = case["valid"].as_bool().unwrap();
        let want_code = if want_valid { 0 } else { 1 };
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let got: BTreeSet<String> = report["files"][0]["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v["code"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = case["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        if out.status.code() != Some(want_code) || got != want {
            failures.push(format!(
                "{file}: exit {:?} codes {got:?}, expected exit {want_code} codes {want:?}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_semantic_code_has_a_fixture_and_documentation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("evals/plans/manifest.json")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/contracts.md")).unwrap();
    for (code, _) in factory::contracts::semantic::CODES {
        assert!(
            manifest.contains(&format!("\"{code}\"")),
            "{code} has no fixture in evals/plans"
        );
        assert!(
            docs.contains(&format!("`{code}`")),
            "{code} is not documented in docs/contracts.md"
        );
    }
}

#[test]
fn auto_detection_reads_schema_uri_and_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("evals/plans");
    let mut plan: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("valid-strategic-plan.json")).unwrap(),
    )
    .unwrap();
    plan["$schema"] =
        Value::from("https://software-factory.dev/schemas/strategic-plan.schema.json");
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    std::fs::create_dir(dir.path().join("reviews")).unwrap();
    std::fs::copy(
        fixtures.join("valid-review-output.json"),
        dir.path().join("reviews/57-1.json"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("invalid-overlapping-scope.json"),
        dir.path().join("overlap.strategic-plan.json"),
    )
    .unwrap();
    factory()
        .args(["validate", "--auto"])
        .arg(dir.path().join("plan.json"))
        .arg(dir.path().join("reviews/57-1.json"))
        .arg(dir.path().join("overlap.strategic-plan.json"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("(review-output)").and(predicate::str::contains("SP005")));
}

#[test]
fn stdin_is_accepted() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("evals/plans/valid-scorecard.json"),
    )
    .unwrap();
    factory()
        .args(["validate", "scorecard", "-"])
        .write_stdin(text)
        .assert()
        .success();
}

#[test]
fn schema_list_and_print() {
    let out = factory()
        .args(["schema", "list", "--format", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 11);
    let out = factory()
        .args(["schema", "print", "strategic-plan"])
        .output()
        .unwrap();
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$id"],
        "https://software-factory.dev/schemas/strategic-plan.schema.json"
    );
    factory().args(["schema", "print", "nope"]).assert().code(2);
}
