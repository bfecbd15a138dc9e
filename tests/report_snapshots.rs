//! Snapshots of REPORT.md: what a person reads at the end of a run, rendered from a recorded
//! session (tests/fixtures/completion/feature-rework: two pull requests, a review round that
//! requested changes, a verification, agent costs). Any change to the report shows up here.

mod support;

use std::path::Path;

use support::{copy_dir, factory, manifest};

/// The recorded session in a scratch state directory, `extra` written into it first.
fn report_of(extra: &[(&str, &str)]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".factory");
    copy_dir(
        &manifest("tests/fixtures/completion/feature-rework"),
        &state,
    );
    for (rel, text) in extra {
        let path = state.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    factory()
        .args(["report", "--state-dir"])
        .arg(&state)
        .assert()
        .success();
    read(&state.join("REPORT.md"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn report_of_a_session_before_completion() {
    insta::assert_snapshot!(report_of(&[]));
}

#[test]
fn report_with_the_scorecard_of_the_session() {
    let card = r#"{
  "schema_version": "1.0",
  "session_id": "20261120T100000Z-aa0001",
  "feature_title": "Add a user search endpoint",
  "change_class": "feature",
  "completed_at": "2026-11-20T11:05:00Z",
  "timing": {"total_duration_ms": 3900000},
  "tasks": {"total": 2, "completed": 2, "failed": 0},
  "quality": {
    "review_cycles_total": 3,
    "review_cycles_avg": 1.5,
    "retries_total": 1,
    "security_findings": {"critical": 1, "important": 1, "advisory": 1},
    "scope_violations": 0,
    "escaped_defects": 0,
    "post_merge_regressions": 0
  },
  "lessons_generated": 2,
  "score": 46,
  "band": "poor"
}
"#;
    let report = report_of(&[("scorecards/20261120T100000Z-aa0001.json", card)]);
    assert!(
        report.contains("**46 / 100 (poor)**"),
        "the scorecard section is rendered from the stored scorecard:\n{report}"
    );
    insta::assert_snapshot!(report);
}
