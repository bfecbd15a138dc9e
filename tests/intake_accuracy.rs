//! The change-class goals through the real binary: `factory evals --suite intake` over the
//! labelled requests of evals/intake/, its figures and confusion matrix written to the
//! "Change class" section of docs/accuracy.md (regenerated on every run, like the corpus
//! sections).

mod support;

use serde_json::Value;
use support::corpus::update_accuracy_doc;
use support::factory;

#[test]
fn natural_requests_meet_the_change_class_goals_and_the_figures_are_documented() {
    let out = factory()
        .args(["evals", "--suite", "intake", "--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let cases = report["suites"][0]["cases"].as_array().unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(cases.len(), 4, "{names:?}");
    for c in cases {
        assert_eq!(c["status"], "pass", "{c:#}");
    }
    let detail: Vec<&str> = cases[0]["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let matrix: Vec<&str> = detail.iter().take(5).copied().collect();
    assert!(matrix[0].starts_with("expected"), "{detail:?}");
    let per_class: Vec<&str> = detail
        .iter()
        .filter(|l| l.contains(" recall "))
        .copied()
        .collect();
    assert_eq!(per_class.len(), 4, "{detail:?}");
    let misses: Vec<&str> = detail
        .iter()
        .filter(|l| l.starts_with("miss "))
        .copied()
        .collect();

    let mut section = String::from(
        "## Change class\n\nThe class intake picks for natural requests (`factory evals --suite intake`): \
         the labelled requests of `evals/intake/requests.jsonl`, written the way people write \
         issues, tickets and chat, Sentry, PagerDuty and drift payloads among them, through the \
         real intake. Goals: accuracy ≥ 0.95, risky-infra recall ≥ 0.97, hotfix recall ≥ 0.95. \
         How the classifier decides: [intake.md](intake.md#classification).\n\n",
    );
    for name in &names[..3] {
        section.push_str(&format!("- {name}\n"));
    }
    section
        .push_str("\nConfusion matrix (rows: the label, columns: the class chosen):\n\n```text\n");
    for line in &matrix {
        section.push_str(line.trim_end());
        section.push('\n');
    }
    section.push_str("```\n\n| class | recall | precision |\n|---|---|---|\n");
    for line in &per_class {
        let class = line.split_whitespace().next().unwrap();
        let recall = line
            .split("recall ")
            .nth(1)
            .unwrap()
            .split(", precision")
            .next()
            .unwrap();
        let precision = line.split("precision ").nth(1).unwrap();
        section.push_str(&format!("| {class} | {recall} | {precision} |\n"));
    }
    section.push_str(
        "\nKnown misses (`evals/intake/known-misses.json`; any other miss fails the suite):\n\n",
    );
    if misses.is_empty() {
        section.push_str("- none\n");
    }
    for m in &misses {
        section.push_str(&format!("- {}\n", m.trim_start_matches("miss ")));
    }
    section.push('\n');
    update_accuracy_doc("Change class", &section, None);
}
