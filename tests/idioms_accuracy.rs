//! The detection goals on the idioms real repositories use, through the real binary:
//! `factory evals --suite idioms` over evals/idioms/, its figures per kind and per family
//! written to the "Idioms" section of docs/accuracy.md (regenerated on every run, like the
//! corpus sections), and proof that the suite fails when a rule it relies on is gone.

mod support;

use serde_json::Value;
use support::corpus::update_accuracy_doc;
use support::factory;

fn run(extra: &[&str]) -> (Option<i32>, Value) {
    let out = factory()
        .args(["evals", "--suite", "idioms", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

fn cases(report: &Value) -> &Vec<Value> {
    report["suites"][0]["cases"].as_array().unwrap()
}

#[test]
fn the_idioms_corpus_meets_the_goals_and_the_figures_are_documented() {
    let (code, report) = run(&[]);
    let cases = cases(&report);
    let failed: Vec<&Value> = cases.iter().filter(|c| c["status"] != "pass").collect();
    assert!(failed.is_empty(), "{failed:#?}\n{:#}", cases[0]["detail"]);
    assert_eq!(code, Some(0));
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 10, "{names:?}");
    let detail: Vec<&str> = cases[0]["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();

    let mut section = String::from(
        "## Idioms\n\nThe gate on code written the way real repositories write it \
         (`factory evals --suite idioms`): the labelled cases of `evals/idioms/*.jsonl`, written \
         for this project, each the added lines of one file through every built-in rule. \
         Credentials in every encoding (Kubernetes `Secret` data, JSON escapes, URLs of every \
         scheme, strings joined on one line, .NET, PHP, Rails, compose and Dockerfile \
         environments, private JWKs) beside vendor- and spec-published example values; SQL and \
         shell execution in Python, JS/TS, Go, Java, PHP, Ruby, C# and Rust beside the APIs that \
         parameterise or quote safely; workflow expressions; and ordinary code (payloads in \
         tests, calls named in strings) that must stay quiet. Goals: recall and precision ≥ 0.97 \
         per kind, no important-or-worse finding on ordinary code, one finding per secret \
         value. Like the corpora above it is written alongside the rules, so these figures say \
         the idioms listed are handled, not how the gate does on code nobody has looked at; \
         `bench/history.sh` runs the gate over real repositories' recent commits for that, and \
         a miss or false alarm found there becomes a case here first.\n\n| kind | recall | precision |\n|---|---|---|\n",
    );
    let figure = |kind: &str, measure: &str| {
        names
            .iter()
            .find_map(|n| n.strip_prefix(&format!("{kind} {measure} ")))
            .unwrap_or_else(|| panic!("no {kind} {measure} in {names:?}"))
            .to_string()
    };
    for kind in [
        "secret",
        "sql-injection",
        "command-injection",
        "actions-injection",
    ] {
        section.push_str(&format!(
            "| {kind} | {} | {} |\n",
            figure(kind, "recall"),
            figure(kind, "precision")
        ));
    }
    section.push('\n');
    for name in names.iter().skip(8) {
        section.push_str(&format!("- {name}: pass\n"));
    }
    section.push_str(
        "\nPer idiom family (positives found, traps, false alarms on the traps):\n\n| kind | family | result |\n|---|---|---|\n",
    );
    for line in detail.iter().filter(|l| l.starts_with("family ")) {
        let rest = line.trim_start_matches("family ");
        let (kind, rest) = rest.split_once(" / ").unwrap();
        let (family, figures) = rest.split_once(": ").unwrap();
        section.push_str(&format!("| {kind} | {family} | {figures} |\n"));
    }
    let misses: Vec<&&str> = detail
        .iter()
        .filter(|l| l.starts_with("miss ") || l.starts_with("false alarm "))
        .collect();
    section.push_str("\nMisses and false alarms:\n\n");
    if misses.is_empty() {
        section.push_str("- none\n");
    }
    for m in misses {
        section.push_str(&format!("- {m}\n"));
    }
    section.push('\n');
    update_accuracy_doc("Idioms", &section, Some("Change class"));
}

#[test]
fn without_the_rule_a_kind_relies_on_its_recall_goal_fails() {
    for (rule, kind) in [
        ("sql-injection", "sql-injection recall"),
        ("shell-injection", "command-injection recall"),
        ("actions-script-injection", "actions-injection recall"),
    ] {
        let (code, report) = run(&["--without-rule", rule]);
        assert_eq!(code, Some(1), "{rule}");
        let case = cases(&report)
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(kind))
            .unwrap_or_else(|| panic!("no `{kind}` case"));
        assert_eq!(case["status"], "fail", "{rule}: {case:#}");
    }
}
