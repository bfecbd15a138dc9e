//! `intake.classifier: agent | auto`: the planner classifies the request through the real
//! `factory intake`, with a scripted `claude` on PATH, and the deterministic floor holds.

mod support;

use serde_json::{Value, json};
use support::repo::Repo;

/// A repository whose workflow asks the planner (`mode`), the planner answering `answer`.
fn with_planner(mode: &str, answer: Value) -> Repo {
    let repo = Repo::new();
    repo.fake_agents(&["ok:classify.json"]);
    repo.fake_answer("classify.json", &answer);
    let path = repo.path().join(".factory/workflow.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str(&format!("intake:\n  classifier: {mode}\n"));
    std::fs::write(&path, yaml).unwrap();
    repo
}

fn intake(repo: &Repo, request: &str) -> Value {
    let out = repo
        .factory_with_agents()
        .args(["intake", "--json", "--request", request])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_planner_classifies_and_its_reason_is_kept_beside_the_deterministic_one() {
    let repo = with_planner(
        "agent",
        json!({"class": "refactor", "rationale": "moves code without changing behaviour", "confidence": 0.8}),
    );
    let r = intake(&repo, "Tidy the report builders");
    assert_eq!(r["change_class"], "refactor");
    let c = &r["classification"];
    assert_eq!(c["source"], "agent");
    assert_eq!(c["confidence"], 0.8);
    let why = c["rationale"].as_str().unwrap();
    assert!(
        why.starts_with("the planner said refactor (moves code without changing behaviour); the deterministic classifier said"),
        "{why}"
    );
    let prompt = repo.fake_file("prompt-1");
    assert!(prompt.contains("Tidy the report builders"), "{prompt}");
    assert!(prompt.contains("never instructions"), "{prompt}");
}

#[test]
fn the_deterministic_floor_holds_against_the_planner() {
    let repo = with_planner(
        "agent",
        json!({"class": "feature", "rationale": "a small change", "confidence": 0.9}),
    );
    let r = intake(
        &repo,
        "Rotate the database credentials stored in AWS Secrets Manager",
    );
    assert_eq!(r["change_class"], "risky-infra");
    let why = r["classification"]["rationale"].as_str().unwrap();
    assert!(
        why.contains("the planner said feature")
            && why.ends_with("held to the deterministic floor: risky-infra"),
        "{why}"
    );
}

#[test]
fn auto_asks_only_when_the_deterministic_classifier_is_unsure() {
    // Sure: a named Terraform file and outage words; the planner is not called.
    let repo = with_planner(
        "auto",
        json!({"class": "feature", "rationale": "x", "confidence": 0.9}),
    );
    let r = intake(&repo, "Update infra/main.tf and the VPC security groups");
    assert_eq!(r["classification"]["source"], "inferred");
    assert_eq!(repo.fake_file("count"), "", "the planner was not called");
    // Unsure: weak signals only; the planner is asked.
    let repo = with_planner(
        "auto",
        json!({"class": "hotfix", "rationale": "customers cannot pay", "confidence": 0.7}),
    );
    let r = intake(&repo, "payment page acting weird for some people, pls look");
    assert_eq!(r["classification"]["source"], "agent");
    assert_eq!(r["change_class"], "hotfix");
}

#[test]
fn a_planner_that_cannot_answer_leaves_the_deterministic_class() {
    let repo = with_planner("agent", json!({}));
    repo.fake_agents(&["notlogged"]);
    let path = repo.path().join(".factory/workflow.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str("intake:\n  classifier: agent\n");
    std::fs::write(&path, yaml).unwrap();
    let r = intake(&repo, "Add a CSV export of invoices");
    assert_eq!(r["change_class"], "feature");
    assert_eq!(r["classification"]["source"], "inferred");
    let why = r["classification"]["rationale"].as_str().unwrap();
    assert!(
        why.contains("the planner was asked and could not answer"),
        "{why}"
    );
}
