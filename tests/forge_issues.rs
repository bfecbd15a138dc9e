//! `factory issues create` through the binary on the local forge: one issue per task plus a
//! parent, idempotent re-runs, labels, markers, session and artifact records.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use support::repo::{Repo, plan};

#[test]
fn one_issue_per_task_and_a_parent_with_the_task_list() {
    let repo = Repo::with_plan(&plan());
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "parent #1 (created) in the local forge",
        ))
        .stdout(predicate::str::contains("feat/#2-reset-token-store"));
    assert_eq!(repo.issue_files(), ["1.json", "2.json", "3.json", "4.json"]);
    let sid = repo.session()["id"].as_str().unwrap().to_string();

    let parent = repo.issue(1);
    assert_eq!(parent["title"], "[FEATURE] Password reset by e-mail");
    assert_eq!(
        parent["sub_issues"],
        serde_json::json!([2, 3, 4]),
        "the tasks are sub-issues of the parent"
    );
    assert!(repo.log_has("sub_issue", "ok"));
    let body = parent["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("<!-- factory:parent sid={sid} -->")),
        "{body}"
    );
    for line in [
        "- [ ] #2 Reset token store (task-001)",
        "- [ ] #3 Reset e-mail template (task-002)",
        "- [ ] #4 Reset endpoints (task-003)",
    ] {
        assert!(body.contains(line), "{line} missing from\n{body}");
    }

    let task = repo.issue(4);
    assert_eq!(task["title"], "[TASK] Reset endpoints");
    assert_eq!(task["state"], "open");
    assert_eq!(repo.labels(4), ["task", "class:feature", "wave:2"]);
    let body = task["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("<!-- factory:task=task-003 sid={sid} -->")),
        "{body}"
    );
    for section in [
        "## Context",
        "## Task",
        "## Files in scope",
        "## Files out of scope",
        "## Acceptance criteria",
        "## Validation commands",
        "## Dependencies",
        "## Wave",
        "## Security",
        "## Rollback",
    ] {
        assert!(body.contains(section), "{section} missing");
    }
    assert!(body.contains("parent #1"), "{body}");
    assert!(body.contains("- #2 (task-001)\n- #3 (task-002)"), "{body}");
    assert!(body.contains("- `src/routes/password.ts`"), "{body}");
    assert!(body.contains("- test: `sh check.sh test`"), "{body}");
    assert!(body.contains("Branch: `feat/#4-reset-endpoints`"), "{body}");
    assert!(body.contains("Closes #4"), "{body}");

    let session = repo.session();
    let issues = session["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 4);
    assert_eq!(issues[0], serde_json::json!({"number": 1}));
    assert_eq!(
        issues[3],
        serde_json::json!({"number": 4, "task_id": "task-003", "branch": "feat/#4-reset-endpoints", "wave": 2})
    );
    let artifact = repo.json(".factory/artifacts/issues.json");
    assert_eq!(artifact["parent"]["number"], 1);
    assert_eq!(artifact["forge"], "local");
    assert_eq!(artifact["issues"][0]["action"], "created");
    assert_eq!(artifact["issues"][2]["branch"], "feat/#4-reset-endpoints");
    assert!(repo.log_has("issue_create", "ok"));
}

#[test]
fn a_rerun_finds_its_issues_by_marker_and_updates_them() {
    let mut p = plan();
    let repo = Repo::with_plan(&p);
    repo.factory().args(["issues", "create"]).assert().success();
    let before = repo.issue(2);

    repo.factory()
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #1 (unchanged)"));
    assert_eq!(repo.issue_files().len(), 4, "no duplicates");
    assert_eq!(repo.issue(1)["sub_issues"], serde_json::json!([2, 3, 4]));
    assert_eq!(
        repo.issue(2),
        before,
        "nothing rewritten when nothing changed"
    );

    p["tasks"][0]["description"] =
        "Table, model and service for hashed tokens, now with expiry.".into();
    repo.write_plan(&p);
    repo.factory()
        .args(["issues", "create", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"action\": \"updated\""));
    assert_eq!(repo.issue_files().len(), 4);
    assert!(
        repo.issue(2)["body"]
            .as_str()
            .unwrap()
            .contains("now with expiry"),
        "body updated"
    );
    assert_eq!(repo.issue(2)["number"], 2);
    assert_eq!(repo.session()["issues"].as_array().unwrap().len(), 4);
}

#[test]
fn untrusted_plan_text_cannot_forge_markers() {
    let mut p = plan();
    p["tasks"][1]["description"] =
        "Send the e-mail. <!-- factory:task=task-001 sid=x --> hidden\u{200B} text".into();
    let repo = Repo::with_plan(&p);
    repo.factory().args(["issues", "create"]).assert().success();
    let body = repo.issue(3)["body"].as_str().unwrap().to_string();
    assert_eq!(body.matches("<!--").count(), 1, "{body}");
    assert!(body.contains("Send the e-mail.  hidden text"), "{body}");
}

#[test]
fn without_a_plan_or_a_session_it_says_what_to_run() {
    let repo = Repo::new();
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session"));
    repo.factory()
        .args([
            "intake",
            "--request",
            "Add password reset",
            "--class",
            "feature",
        ])
        .assert()
        .success();
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no strategic plan"))
        .stderr(predicate::str::contains("strategic_plan"));
    let mut bad = plan();
    bad["tasks"] = serde_json::json!([]);
    repo.write_plan(&bad);
    repo.factory()
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("strategic-plan contract"))
        .stderr(predicate::str::contains("/tasks"));
}

#[test]
fn factory_forge_local_wins_over_a_github_environment() {
    let repo = Repo::with_plan(&plan());
    repo.factory()
        .args(["issues", "create"])
        .env("GITHUB_TOKEN", "ghp_not_a_real_token_000000000000000000")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", "http://127.0.0.1:9/unreachable")
        .env("FACTORY_FORGE", "local")
        .assert()
        .success()
        .stdout(predicate::str::contains("in the local forge"));
    repo.factory()
        .args(["issues", "create"])
        .env("FACTORY_FORGE", "gitlab")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FACTORY_FORGE=gitlab"));
}

#[test]
fn the_engine_runs_issue_creation_as_a_built_in_phase() {
    let repo = support::repo::Repo::with_workflow(
        "phases:\n  strategic_plan:\n    command: [\"sh\", \"-c\", \"cp \\\"$PLAN\\\" \\\"$FACTORY_ARTIFACT\\\"\"]\n    env: [PLAN]\n",
    );
    let plan_file = repo.path().join("plan.json");
    std::fs::write(&plan_file, plan().to_string()).unwrap();
    repo.factory()
        .args(["run", "--resume", "--phase", "strategic_plan"])
        .env("PLAN", &plan_file)
        .assert()
        .success();
    repo.factory()
        .args(["run", "--resume", "--phase", "issue_creation"])
        .assert()
        .success()
        .stdout(predicate::str::contains("issue_creation completed"));
    let session = repo.session();
    assert_eq!(session["phases"]["issue_creation"]["status"], "completed");
    assert_eq!(
        session["phases"]["issue_creation"]["detail"],
        "3 task issue(s) under parent #1 in the local forge"
    );
    assert_eq!(session["issues"].as_array().unwrap().len(), 4);
    assert_eq!(repo.issue_files().len(), 4);
}

#[test]
fn completion_closes_the_parent_issue_with_the_scorecard() {
    let repo = Repo::with_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    repo.factory()
        .arg("complete")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "parent issue #1: closed with the scorecard",
        ));
    assert_eq!(repo.issue(1)["state"], "closed");
    assert!(
        repo.last_comment(1).contains("Spec-to-ship score"),
        "{}",
        repo.last_comment(1)
    );
    assert!(repo.log_has("close_issue", "ok"));
    // The task issues are closed by their merges, not by completion.
    assert_eq!(repo.issue(2)["state"], "open");
}
