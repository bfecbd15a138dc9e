//! Incident fingerprints against the local forge, through the binary: an incident already
//! tracked by an open issue gets a comment instead of a new pipeline; one whose issue was
//! closed reopens it as a recurrence, and past the limit stops for a human.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use support::repo::{Repo, manifest, plan};

const PAYLOAD: &str = "tests/fixtures/intake/sentry-event.json";
const FINGERPRINT: &str = "sentry:issue:4821337905";

fn incident(repo: &Repo, replace: bool) -> assert_cmd::assert::Assert {
    let mut cmd = repo.factory();
    cmd.args([
        "intake",
        "--trigger",
        "incident",
        "--class",
        "feature",
        "--payload",
    ])
    .arg(manifest(PAYLOAD));
    if replace {
        cmd.arg("--replace");
    }
    cmd.assert()
}

fn close(repo: &Repo, n: u64) {
    let path = repo.path().join(format!(".factory/forge/issues/{n}.json"));
    let mut issue = repo.issue(n);
    issue["state"] = "closed".into();
    std::fs::write(path, issue.to_string()).unwrap();
}

#[test]
fn an_incident_session_marks_its_parent_issue_with_the_fingerprint() {
    let repo = Repo::new();
    incident(&repo, false).success();
    repo.write_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    let body = repo.issue(1)["body"].as_str().unwrap().to_string();
    assert!(
        body.contains(&format!("<!-- factory:fingerprint={FINGERPRINT} -->")),
        "{body}"
    );
    assert!(repo.labels(1).contains(&"incident".to_string()));
}

#[test]
fn the_same_incident_on_an_open_issue_is_a_comment_not_a_new_pipeline() {
    let repo = Repo::new();
    incident(&repo, false).success();
    repo.write_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    let sid = repo.session()["id"].clone();

    incident(&repo, false)
        .success()
        .stdout(predicate::str::contains(
            "already tracked by open issue #1: commented there, no new pipeline started",
        ));
    assert_eq!(repo.session()["id"], sid, "no new session");
    assert!(repo.last_comment(1).contains(FINGERPRINT));
    assert_eq!(repo.issue(1)["state"], "open");
}

#[test]
fn the_same_incident_on_a_closed_issue_reopens_it_and_escalates_past_the_limit() {
    let repo = Repo::new();
    incident(&repo, false).success();
    repo.write_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    let first = repo.session()["id"].clone();

    for count in 1..=2u64 {
        close(&repo, 1);
        incident(&repo, true)
            .success()
            .stdout(predicate::str::contains(format!(
                "issue #1 reopened (recurrence {count})"
            )));
        let issue = repo.issue(1);
        assert_eq!(issue["state"], "open");
        assert!(repo.labels(1).contains(&"regression".to_string()));
        let comment = repo.last_comment(1);
        assert!(
            comment.contains(&format!("<!-- factory:recurrence {{\"count\":{count},")),
            "{comment}"
        );
        assert!(
            comment.contains(&format!("incident {FINGERPRINT}")),
            "{comment}"
        );
        let session = repo.session();
        assert_ne!(session["id"], first, "a new session works on it again");
        assert_eq!(session["counters"]["recurrence"], count);
        assert!(
            session["issues"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"number": 1})),
            "{session}"
        );
    }

    close(&repo, 1);
    let sid = repo.session()["id"].clone();
    incident(&repo, true)
        .code(1)
        .stderr(predicate::str::contains("recurred 3 times"))
        .stderr(predicate::str::contains("needs-human"));
    assert!(repo.labels(1).contains(&"needs-human".to_string()));
    assert_eq!(repo.session()["id"], sid, "no new pipeline past the limit");
}

#[test]
fn an_incident_nobody_tracks_starts_a_pipeline() {
    let repo = Repo::new();
    incident(&repo, false)
        .success()
        .stdout(predicate::str::contains("session"))
        .stdout(predicate::str::contains("reopened").not());
    assert_eq!(repo.session()["trigger"], "incident");
}

#[test]
fn a_hotfix_without_a_plan_gets_one_inline_issue_that_recurrences_find() {
    let repo = Repo::new();
    let mut cmd = repo.factory();
    cmd.args([
        "intake",
        "--trigger",
        "incident",
        "--class",
        "hotfix",
        "--payload",
    ])
    .arg(manifest(PAYLOAD))
    .assert()
    .success();
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inline issue (no strategic plan"))
        .stdout(predicate::str::contains("fix/#1-"));
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged"));
    assert_eq!(repo.issue_files(), ["1.json"]);
    let issue = repo.issue(1);
    assert!(
        issue["title"].as_str().unwrap().starts_with("[HOTFIX] "),
        "{issue}"
    );
    let body = issue["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("<!-- factory:fingerprint={FINGERPRINT} -->")),
        "{body}"
    );
    assert!(body.contains("## Incident"), "{body}");
    assert_eq!(repo.labels(1), ["task", "class:hotfix", "incident"]);
    let session = repo.session();
    assert_eq!(session["issues"][0]["task_id"], "inline");

    close(&repo, 1);
    let mut cmd = repo.factory();
    cmd.args([
        "intake",
        "--trigger",
        "incident",
        "--class",
        "hotfix",
        "--replace",
        "--payload",
    ])
    .arg(manifest(PAYLOAD))
    .assert()
    .success()
    .stdout(predicate::str::contains("issue #1 reopened (recurrence 1)"));
}
