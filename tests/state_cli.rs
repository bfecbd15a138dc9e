//! `factory status` and `factory log` through the binary, on fixture state directories.
mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use support::factory;

const FIXTURES: &str = "tests/fixtures/state";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn status_of_a_session_in_progress() {
    let text = stdout(factory().args(["status", "--state-dir", &fixture("active")]));
    insta::assert_snapshot!(text);
}

#[test]
fn status_of_an_escalated_session_says_a_human_is_needed() {
    factory()
        .args(["status", "--state-dir", &fixture("escalated")])
        .assert()
        .success()
        .stdout(contains("escalation critical-finding in code_review"))
        .stdout(contains(
            "next: needs a human: a critical finding blocks the change (critical-finding) in phase code_review",
        ))
        .stdout(contains("PRs        #78"));
}

#[test]
fn status_json_carries_the_session_and_the_next_step() {
    let text = stdout(factory().args(["status", "--json", "--state-dir", &fixture("active")]));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["session"]["id"], "20261129T090000Z-3f9a1c");
    assert_eq!(doc["session"]["counters"]["planning_retries"], 1);
    assert_eq!(doc["next_phase"], "tactical_plan");
    assert_eq!(
        doc["next_step"],
        "run `factory run --resume` to retry phase 4 tactical_plan"
    );
}

#[test]
fn status_json_gives_ci_the_matrix_the_verdict_and_the_cost() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".factory");
    std::fs::create_dir_all(state.join("artifacts/reviews")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut session: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/fixtures/state/active/session.json")).unwrap(),
    )
    .unwrap();
    session["issues"] = serde_json::json!([
        {"number": 41, "task_id": "task-001"},
        {"number": 42, "task_id": "task-003"}
    ]);
    session["pull_requests"] = serde_json::json!([
        {"number": 43, "issue": 41},
        {"number": 44, "issue": 42},
        {"number": 40, "issue": 39, "merged": true}
    ]);
    session["usage"] = serde_json::json!([
        {"phase": "strategic_plan", "agent": "claude", "input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 500, "cost_usd": 0.5},
        {"phase": "code_review", "agent": "claude", "input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 50, "cost_usd": 0.25}
    ]);
    std::fs::write(state.join("session.json"), session.to_string()).unwrap();
    std::fs::copy(
        root.join("evals/plans/valid-strategic-plan.json"),
        state.join("artifacts/strategic-plan.json"),
    )
    .unwrap();
    let review = |verdict: &str, findings: usize| {
        serde_json::json!({"verdict": verdict, "findings": vec![serde_json::json!({}); findings]})
            .to_string()
    };
    std::fs::write(
        state.join("artifacts/reviews/43-1.json"),
        review("REQUEST_CHANGES", 3),
    )
    .unwrap();
    std::fs::write(
        state.join("artifacts/reviews/43-2.json"),
        review("APPROVE", 0),
    )
    .unwrap();
    std::fs::write(
        state.join("artifacts/reviews/44-2.json"),
        review("REQUEST_CHANGES", 2),
    )
    .unwrap();

    let text = stdout(
        factory()
            .args(["status", "--json", "--state-dir"])
            .arg(&state),
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let out = &doc["outputs"];
    assert_eq!(out["issues"], serde_json::json!([41, 42]));
    assert_eq!(out["pull_requests"], serde_json::json!([43, 44, 40]));
    assert_eq!(out["merged"], serde_json::json!([40]));
    assert_eq!(
        out["matrix"],
        serde_json::json!({"include": [
            {"issue": 41, "task": "task-001", "wave": 1},
            {"issue": 42, "task": "task-003", "wave": 2}
        ]})
    );
    assert_eq!(
        out["reviews"]["43"]["verdict"], "APPROVE",
        "the latest cycle counts"
    );
    assert_eq!(out["reviews"]["44"]["findings"], 2);
    assert_eq!(
        out["verdict"], "REQUEST_CHANGES",
        "one open pull request still needs changes"
    );
    assert_eq!(out["findings"], 2);
    assert_eq!(
        out["max_parallel"], 3,
        "limits.max_concurrent_issues, the width of a job matrix"
    );
    assert_eq!(doc["cost"]["usd"], 0.75);
    assert_eq!(doc["cost"]["tokens"], 1650);
    assert_eq!(doc["cost"]["by_phase"]["code_review"]["calls"], 1);

    let text = stdout(factory().args(["status", "--state-dir"]).arg(&state));
    assert!(
        text.contains("cost       $0.7500, 1650 tokens in 2 agent call(s): code_review $0.2500, strategic_plan $0.5000"),
        "{text}"
    );
}

#[test]
fn status_finds_the_state_directory_from_the_environment() {
    factory()
        .env("FACTORY_STATE_DIR", fixture("escalated"))
        .arg("status")
        .assert()
        .success()
        .stdout(contains("20261129T110000Z-b71e02"));
}

#[test]
fn status_without_a_session_exits_2() {
    factory()
        .args(["status", "--state-dir", &fixture("empty")])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("no session in tests/fixtures/state/empty"))
        .stderr(contains("factory run"));
}

#[test]
fn status_on_a_malformed_session_names_file_and_position() {
    factory()
        .args(["status", "--state-dir", &fixture("malformed-session")])
        .assert()
        .code(2)
        .stderr(contains(
            "malformed-session/session.json:9:11: not valid JSON",
        ));
}

#[test]
fn status_on_a_session_that_breaks_its_contract_names_the_field() {
    factory()
        .args(["status", "--state-dir", &fixture("invalid-session")])
        .assert()
        .code(2)
        .stderr(contains("invalid-session/session.json"))
        .stderr(contains("/phases/intake/status"));
}

#[test]
fn log_prints_one_aligned_line_per_event() {
    let text = stdout(factory().args(["log", "--state-dir", &fixture("active")]));
    insta::assert_snapshot!(text);
}

#[test]
fn log_json_prints_the_stored_lines() {
    let text = stdout(factory().args(["log", "--json", "--state-dir", &fixture("active")]));
    let stored = std::fs::read_to_string(fixture("active/workflow.log")).unwrap();
    assert_eq!(text, stored);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["ts"].is_string() && v["action"].is_string());
    }
}

#[test]
fn log_filters_by_phase_and_time() {
    let by_phase = stdout(factory().args([
        "log",
        "--json",
        "--phase",
        "tactical-plan",
        "--state-dir",
        &fixture("active"),
    ]));
    assert_eq!(by_phase.lines().count(), 1);
    assert!(by_phase.contains("\"phase\":\"tactical_plan\""));

    let since = stdout(factory().args([
        "log",
        "--json",
        "--since",
        "2026-11-29T09:04:10Z",
        "--state-dir",
        &fixture("active"),
    ]));
    assert_eq!(since.lines().count(), 3);

    let everything = stdout(factory().args([
        "log",
        "--since",
        "100000d",
        "--state-dir",
        &fixture("active"),
    ]));
    assert_eq!(everything.lines().count(), 5);
}

#[test]
fn log_since_a_duration_counts_back_from_now() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("workflow.log"),
        concat!(
            r#"{"ts":"2000-01-01T00:00:00Z","action":"old","status":"ok"}"#,
            "\n",
            r#"{"ts":"2999-01-01T00:00:00Z","action":"future","status":"ok"}"#,
            "\n"
        ),
    )
    .unwrap();
    let text = stdout(
        factory()
            .args(["log", "--since", "1d", "--state-dir"])
            .arg(tmp.path()),
    );
    assert!(text.contains("future") && !text.contains("old"), "{text}");
}

#[test]
fn log_rejects_an_unknown_phase_with_the_valid_names() {
    factory()
        .args(["log", "--phase", "deploy", "--state-dir", &fixture("active")])
        .assert()
        .code(2)
        .stderr(contains("unknown phase 'deploy'"))
        .stderr(contains(
            "intake, strategic_plan, issue_creation, tactical_plan, implementation, code_review, merge, completion",
        ));
}

#[test]
fn log_rejects_a_bad_since() {
    for bad in ["3x", "yesterday", "2026-13-01T00:00:00Z"] {
        factory()
            .args(["log", "--since", bad, "--state-dir", &fixture("active")])
            .assert()
            .code(2)
            .stderr(contains(format!("invalid --since `{bad}`")));
    }
}

#[test]
fn log_with_a_malformed_line_names_file_and_line() {
    factory()
        .args(["log", "--state-dir", &fixture("malformed-log")])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("malformed-log/workflow.log:3: malformed log line"));
}

#[test]
fn log_without_a_log_file_exits_2() {
    factory()
        .args(["log", "--state-dir", &fixture("escalated")])
        .assert()
        .code(2)
        .stderr(contains("no log at").and(contains("escalated/workflow.log")));
}

#[test]
fn terminal_output_escapes_control_characters() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("workflow.log"),
        "{\"ts\":\"2026-01-01T00:00:00Z\",\"action\":\"a\",\"status\":\"ok\",\"detail\":\"\\u001b[31mred\"}\n",
    )
    .unwrap();
    let text = stdout(factory().args(["log", "--state-dir"]).arg(tmp.path()));
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("\\u{1b}[31mred"), "{text:?}");
}

#[test]
fn status_finds_dot_factory_at_the_git_top_level() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(".git")).unwrap();
    std::fs::create_dir_all(tmp.path().join(".factory")).unwrap();
    std::fs::create_dir_all(tmp.path().join("src/deep")).unwrap();
    std::fs::copy(
        fixture("active/session.json"),
        tmp.path().join(".factory/session.json"),
    )
    .unwrap();
    factory()
        .current_dir(tmp.path().join("src/deep"))
        .arg("status")
        .assert()
        .success()
        .stdout(contains("20261129T090000Z-3f9a1c"));
}

#[test]
fn log_text_masks_a_token_a_foreign_writer_left() {
    let tmp = tempfile::tempdir().unwrap();
    let token = "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";
    std::fs::write(
        tmp.path().join("workflow.log"),
        format!(
            "{{\"ts\":\"2026-01-01T00:00:00Z\",\"action\":\"push\",\"status\":\"ok\",\"detail\":\"with {token}\"}}\n"
        ),
    )
    .unwrap();
    let text = stdout(factory().args(["log", "--state-dir"]).arg(tmp.path()));
    assert!(!text.contains(token), "{text}");
    assert!(text.contains("with ghp_********"), "{text}");
}
