//! The GitHub forge against a fake GitHub API: a small HTTP server started by each test that
//! records every request (method, path, body) and keeps issues in memory. Checks the exact
//! calls, idempotent re-runs, pagination, rate limits, 403/404/422 and GHES paths.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use serde_json::{Value, json};
use support::github::{
    Canned, Fake, PREFIX, TOKEN, backoffs, calls, calls_at_t, canned, factory, reqs_bodies,
};
use support::repo::{Repo, plan};

#[test]
fn issues_are_created_with_exact_calls_on_a_ghes_base_and_reruns_only_read() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "parent #1 (created) in the github forge",
        ));
    // Only the issues updated since the session started can hold its markers; every issue
    // is created with its final body (no edit after), then linked under the parent.
    let list = format!("GET {PREFIX}/issues?state=all&per_page=100&since=T");
    let subs = format!("GET {PREFIX}/issues/1/sub_issues?per_page=100");
    assert_eq!(
        calls_at_t(&fake),
        vec![
            list.clone(),
            format!("GET {PREFIX}/issues?state=all&sort=created&direction=desc&per_page=1"),
            format!("POST {PREFIX}/issues"),
            format!("POST {PREFIX}/issues"),
            format!("POST {PREFIX}/issues"),
            format!("POST {PREFIX}/issues"),
            subs.clone(),
            format!("POST {PREFIX}/issues/1/sub_issues"),
            format!("POST {PREFIX}/issues/1/sub_issues"),
            format!("POST {PREFIX}/issues/1/sub_issues"),
        ]
    );
    // `since` is the session's start, an hour back for clocks that differ.
    let since = calls(&fake)[0].split("since=").nth(1).unwrap().to_string();
    let created: jiff::Timestamp = repo.session()["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let since: jiff::Timestamp = since.parse().unwrap();
    assert_eq!(created.as_second() - since.as_second(), 3600);
    // The task issues go under the parent by their REST ids, as GitHub's sub-issues API wants.
    let linked: Vec<Value> = reqs_bodies(&fake, "/issues/1/sub_issues");
    assert_eq!(
        linked,
        vec![
            json!({"sub_issue_id": 9002}),
            json!({"sub_issue_id": 9003}),
            json!({"sub_issue_id": 9004})
        ]
    );
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .all(|r| r.authorization == format!("Bearer {TOKEN}"))
    );
    assert_eq!(reqs[2].body["title"], "[FEATURE] Password reset by e-mail");
    assert_eq!(reqs[2].body["labels"], json!(["parent", "class:feature"]));
    assert!(
        reqs[2].body["body"]
            .as_str()
            .unwrap()
            .contains("- [ ] #4 Reset endpoints (task-003)"),
        "the parent is created with its task list"
    );
    assert_eq!(reqs[3].body["title"], "[TASK] Reset token store");
    assert_eq!(
        reqs[3].body["labels"],
        json!(["task", "class:feature", "wave:1"])
    );
    let body = reqs[3].body["body"].as_str().unwrap();
    assert!(body.contains("<!-- factory:task=task-001 sid="), "{body}");
    assert!(
        body.contains("Branch: `feat/#2-reset-token-store`"),
        "{body}"
    );
    assert!(
        fake.issue(1)["body"]
            .as_str()
            .unwrap()
            .contains("- [ ] #4 Reset endpoints (task-003)")
    );
    assert_eq!(
        repo.json(".factory/artifacts/issues.json")["forge"],
        "github"
    );
    assert!(
        !repo.path().join(".factory/forge").exists(),
        "nothing written locally"
    );

    fake.clear();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #1 (unchanged)"));
    assert_eq!(calls_at_t(&fake), vec![list, subs], "a re-run only reads");
}

#[test]
fn a_github_without_sub_issues_keeps_the_task_list_and_says_so_once() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues/1/sub_issues"),
        status: 404,
        headers: vec![],
        body: json!({"message": "Not Found"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    let tries = calls(&fake)
        .iter()
        .filter(|c| c.ends_with("/sub_issues"))
        .count();
    assert_eq!(tries, 1, "one refusal is enough to know");
    assert!(repo.log_has("sub_issue", "unavailable"));
    assert!(
        fake.issue(1)["body"]
            .as_str()
            .unwrap()
            .contains("- [ ] #2 Reset token store (task-001)")
    );
}

#[test]
fn issue_lists_are_followed_page_by_page() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.seed(150);
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #151"));
    let c = calls_at_t(&fake);
    assert_eq!(
        c[0],
        format!("GET {PREFIX}/issues?state=all&per_page=100&since=T")
    );
    assert_eq!(
        c[1],
        format!("GET {PREFIX}/issues?state=all&per_page=100&page=2")
    );
    assert_eq!(
        c[2],
        format!("GET {PREFIX}/issues?state=all&sort=created&direction=desc&per_page=1")
    );
    assert_eq!(c[3], format!("POST {PREFIX}/issues"));
    assert!(
        c.iter().all(|c| !c.starts_with("PATCH")),
        "the numbers were predicted right: {c:?}"
    );

    // The second page is read on a re-run too, so the issues made there are found again.
    fake.clear();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    assert_eq!(calls(&fake).len(), 3, "{:?}", calls(&fake));
}

#[test]
fn rate_limits_are_waited_out_and_retried() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    let past = jiff::Timestamp::now().as_second() - 5;
    fake.can(Canned {
        method: "GET",
        path: format!("{PREFIX}/issues"),
        status: 403,
        headers: vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), past.to_string()),
        ],
        body: json!({"message": "API rate limit exceeded"}),
    });
    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues"),
        status: 429,
        headers: vec![("retry-after".into(), "0".into())],
        body: json!({"message": "You have exceeded a secondary rate limit"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    let c = calls(&fake);
    assert_eq!(c[0], c[1], "the list was asked again");
    assert_eq!(c[3], format!("POST {PREFIX}/issues"));
    assert_eq!(
        c[4],
        format!("POST {PREFIX}/issues"),
        "the create was sent again"
    );
    assert_eq!(fake.issue(1)["title"], "[FEATURE] Password reset by e-mail");
    assert_eq!(
        fake.world.lock().unwrap().issues.len(),
        4,
        "no duplicate from the retry"
    );
    // The used-up quota is waited out until its reset (already past) plus a second; the
    // secondary limit as long as retry-after says.
    assert_eq!(
        backoffs(&repo),
        vec![
            ("primary rate limit".to_string(), 1.0),
            ("secondary rate limit".to_string(), 0.0)
        ]
    );
}

#[test]
fn a_rate_limit_that_does_not_lift_stops_after_bounded_retries() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    for _ in 0..7 {
        fake.can(Canned {
            method: "GET",
            path: format!("{PREFIX}/issues"),
            status: 429,
            headers: vec![("retry-after".into(), "0".into())],
            body: json!({"message": "secondary rate limit"}),
        });
    }
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "GitHub secondary rate limit after 6 attempt(s); GitHub is throttling",
        ));
    assert_eq!(calls(&fake).len(), 6, "five retries, then it stops");
    assert_eq!(
        backoffs(&repo),
        vec![("secondary rate limit".to_string(), 0.0); 5]
    );
}

#[test]
fn forbidden_not_found_and_unprocessable_say_what_is_missing() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues"),
        status: 403,
        headers: vec![],
        body: json!({"message": "Resource not accessible by integration"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "POST /repos/acme/shop/issues: 403 Forbidden: the token lacks the permission `issues: write` on acme/shop",
        ))
        .stderr(predicate::str::contains(TOKEN).not());

    fake.can(Canned {
        method: "GET",
        path: format!("{PREFIX}/issues"),
        status: 404,
        headers: vec![],
        body: json!({"message": "Not Found"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "404 Not Found: check GITHUB_REPOSITORY (acme/shop)",
        ));

    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues"),
        status: 422,
        headers: vec![],
        body: json!({"message": "Validation Failed", "errors": [{"message": "title is too long"}]}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "422 Unprocessable: GitHub rejected the input: Validation Failed (title is too long)",
        ));

    fake.can(Canned {
        method: "GET",
        path: format!("{PREFIX}/issues"),
        status: 401,
        headers: vec![],
        body: json!({"message": "Bad credentials"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("401 Unauthorized"))
        .stderr(predicate::str::contains(TOKEN).not());
}

fn open_pull() -> Value {
    json!({
        "number": 5, "title": "Reset token store", "state": "open", "merged": false,
        "body": "<!-- factory:pr issue=2 -->\nCloses #2",
        "head": {"ref": "feat/#2-reset-token-store", "sha": "abc123"}, "base": {"ref": "main"}
    })
}

/// The head commit's CI: check runs and commit statuses as GitHub reports them.
fn can_checks(fake: &Fake, runs: Value, statuses: Value) {
    fake.can(canned(
        "GET",
        "/commits/abc123/check-runs",
        200,
        json!({"total_count": runs.as_array().unwrap().len(), "check_runs": runs}),
    ));
    fake.can(canned(
        "GET",
        "/commits/abc123/status",
        200,
        json!({"state": "success", "statuses": statuses}),
    ));
}

#[test]
fn an_approved_pull_request_is_squash_merged_through_the_api() {
    let repo = Repo::with_plan(&plan());
    repo.review(5, 1, "APPROVE");
    let fake = Fake::start();
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([
            {"name": "test", "status": "completed", "conclusion": "success"},
            {"name": "docs", "status": "completed", "conclusion": "skipped"}
        ]),
        json!([{"context": "ci/lint", "state": "success"}]),
    );
    support::github::can_merge_of_5(&fake);
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "squash-merged into main as 0123456789ab",
        ))
        .stdout(predicate::str::contains("issue #2 closed"));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/commits/abc123/check-runs?per_page=100"),
            format!("GET {PREFIX}/commits/abc123/status?per_page=100"),
            format!("GET {PREFIX}/branches/main"),
            format!("GET {PREFIX}/rules/branches/main?per_page=100"),
            format!("GET {PREFIX}/compare/main...feat/%232-reset-token-store"),
            format!("PUT {PREFIX}/pulls/5/merge"),
            format!("DELETE {PREFIX}/git/refs/heads/feat/%232-reset-token-store"),
            format!("POST {PREFIX}/issues/5/comments"),
            format!("POST {PREFIX}/issues/2/comments"),
            format!("PATCH {PREFIX}/issues/2"),
        ]
    );
    let reqs = fake.requests();
    assert_eq!(reqs[6].body["merge_method"], "squash");
    assert_eq!(reqs[6].body["commit_title"], "Reset token store (#5)");
    assert_eq!(reqs[6].body["commit_message"], "Closes #2");
    // The merge names the head the checks were read on: a later push makes GitHub refuse.
    assert_eq!(reqs[6].body["sha"], "abc123");
    assert_eq!(
        reqs[9].body["body"],
        "Completed — PR #5 merged as 0123456789ab."
    );
    assert_eq!(reqs[10].body, json!({"state": "closed"}));
}

#[test]
fn failing_or_running_checks_keep_an_approved_pull_request_unmerged() {
    let repo = Repo::with_plan(&plan());
    repo.review(5, 1, "APPROVE");
    let fake = Fake::start();
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([
            {"name": "test", "status": "completed", "conclusion": "failure"},
            {"name": "build", "status": "completed", "conclusion": "success"}
        ]),
        json!([{"context": "ci/deploy-preview", "state": "error"}]),
    );
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "checks failing on its head commit: test, ci/deploy-preview",
        ));
    assert!(calls(&fake).iter().all(|c| !c.starts_with("PUT")));

    fake.clear();
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([{"name": "test", "status": "in_progress", "conclusion": null}]),
        json!([]),
    );
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "checks still running on its head commit: test; merge once they pass",
        ));
    assert!(calls(&fake).iter().all(|c| !c.starts_with("PUT")));
    assert!(repo.log_has("pr_merge", "refused"));
}

#[test]
fn in_a_run_checks_still_running_are_waited_for_on_the_backoff_schedule() {
    let repo = ready_to_merge(
        "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 2\n",
    );
    let fake = Fake::start();
    for _ in 0..2 {
        fake.can(canned("GET", "/pulls/5", 200, open_pull()));
        can_checks(
            &fake,
            json!([{"name": "test", "status": "queued", "conclusion": null}]),
            json!([]),
        );
    }
    factory(&repo, &fake)
        .args(["run", "--resume", "--phase", "merge"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("tool-unavailable at merge"))
        .stderr(predicate::str::contains(
            "checks still running on its head commit: test",
        ));
    let gets = calls(&fake)
        .iter()
        .filter(|c| c.ends_with("/check-runs?per_page=100"))
        .count();
    assert_eq!(gets, 2, "asked again after the backoff, then stopped");
    assert!(calls(&fake).iter().all(|c| !c.starts_with("PUT")));
    assert!(repo.log_has("backoff", "waiting"));
}

/// PR #5 approved and the session's, with everything before merge out of the way, and
/// `workflow_yaml` as the repository's override.
fn ready_to_merge(workflow_yaml: &str) -> Repo {
    let repo = Repo::with_plan(&plan());
    repo.review(5, 1, "APPROVE");
    let path = repo.path().join(".factory/session.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for phase in s["route"].as_array().unwrap().clone() {
        let p = phase.as_str().unwrap();
        if p == "merge" || p == "completion" {
            continue;
        }
        s["phases"][p] = json!({"status": "skipped", "attempts": 0});
    }
    s["pull_requests"] = json!([{"number": 5, "issue": 2}]);
    std::fs::write(&path, s.to_string()).unwrap();
    std::fs::write(repo.path().join(".factory/workflow.yaml"), workflow_yaml).unwrap();
    repo
}

/// The workflow.log events of one action, as (status, detail).
fn events(repo: &Repo, action: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(repo.path().join(".factory/workflow.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == action)
        .map(|e| {
            (
                e["status"].as_str().unwrap_or_default().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_merge_phase_waits_for_checks_that_start_after_the_push_and_then_merges() {
    // No wait configured in the repository: the merge-verify action's checks-timeout sets it.
    let repo = ready_to_merge("phases:\n  merge:\n    checks_poll_seconds: 0.05\n");
    let fake = Fake::start();
    // Right after the push no check exists; then CI queues; then it passes.
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    support::github::can_no_checks_yet(&fake);
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([{"name": "test", "status": "queued", "conclusion": null}]),
        json!([]),
    );
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([{"name": "test", "status": "completed", "conclusion": "success"}]),
        json!([]),
    );
    support::github::can_merge_of_5(&fake);
    factory(&repo, &fake)
        .env("FACTORY_CHECKS_TIMEOUT", "60")
        .args(["run", "--resume", "--phase", "merge"])
        .assert()
        .success();
    let merges = calls(&fake)
        .iter()
        .filter(|c| c.starts_with("PUT") && c.ends_with("/pulls/5/merge"))
        .count();
    assert_eq!(merges, 1, "{:?}", calls(&fake));
    let waits = events(&repo, "checks_wait");
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert_eq!(waits[0].0, "waiting");
    assert!(
        waits[0].1.contains("waiting up to 60 s for checks")
            && waits[0]
                .1
                .contains("no check has reported on its head commit yet"),
        "{waits:?}"
    );
    assert_eq!(waits[1].0, "ok");
    // One attempt: the wait happened inside it, not on the backoff schedule.
    assert!(!repo.log_has("backoff", "waiting"));
}

#[test]
fn checks_that_fail_during_the_wait_end_it_as_refused_and_nothing_merges() {
    let repo = ready_to_merge(
        "phases:\n  merge:\n    checks_timeout_seconds: 60\n    checks_poll_seconds: 0.05\nbackoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 1\n",
    );
    let fake = Fake::start();
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([{"name": "test", "status": "in_progress", "conclusion": null}]),
        json!([]),
    );
    // Failed checks fail the phase, which is retried: every attempt reads them failed.
    for _ in 0..4 {
        fake.can(canned("GET", "/pulls/5", 200, open_pull()));
        can_checks(
            &fake,
            json!([{"name": "test", "status": "completed", "conclusion": "failure"}]),
            json!([]),
        );
    }
    factory(&repo, &fake)
        .args(["run", "--resume", "--phase", "merge"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "checks failing on its head commit: test",
        ));
    assert!(calls(&fake).iter().all(|c| !c.starts_with("PUT")));
    let waits = events(&repo, "checks_wait");
    assert_eq!(
        waits.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["waiting", "refused"],
        "{waits:?}"
    );
    assert!(
        waits[1]
            .1
            .contains("checks failing on its head commit: test"),
        "{waits:?}"
    );
}

#[test]
fn checks_still_running_when_the_wait_ends_are_named_and_nothing_merges() {
    let repo = ready_to_merge(
        "phases:\n  merge:\n    checks_timeout_seconds: 1\n    checks_poll_seconds: 0.2\nbackoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 1\n",
    );
    let fake = Fake::start();
    for _ in 0..20 {
        fake.can(canned("GET", "/pulls/5", 200, open_pull()));
        can_checks(
            &fake,
            json!([
                {"name": "test", "status": "in_progress", "conclusion": null},
                {"name": "lint", "status": "completed", "conclusion": "success"}
            ]),
            json!([]),
        );
    }
    factory(&repo, &fake)
        .args(["run", "--resume", "--phase", "merge"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "checks still running on its head commit: test",
        ));
    assert!(calls(&fake).iter().all(|c| !c.starts_with("PUT")));
    let waits = events(&repo, "checks_wait");
    assert_eq!(
        waits.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["waiting", "timeout"],
        "{waits:?}"
    );
    assert!(
        waits[1].1.starts_with("still missing after 1 s: pull request #5: checks still running on its head commit: test"),
        "{waits:?}"
    );
    let reads = calls(&fake)
        .iter()
        .filter(|c| c.ends_with("/check-runs?per_page=100"))
        .count();
    assert!(reads >= 3, "read again while waiting: {reads}");
}

/// PR #5 approved, green, and two commits behind `main`.
fn approved_and_behind() -> (Repo, Fake) {
    let repo = Repo::with_plan(&plan());
    repo.review(5, 1, "APPROVE");
    let fake = Fake::start();
    fake.can(canned("GET", "/pulls/5", 200, open_pull()));
    can_checks(
        &fake,
        json!([{"name": "test", "status": "completed", "conclusion": "success"}]),
        json!([]),
    );
    fake.can(canned(
        "GET",
        "/compare/",
        200,
        json!({"behind_by": 2, "ahead_by": 1}),
    ));
    (repo, fake)
}

#[test]
fn a_pull_request_behind_its_base_is_updated_through_the_api_with_the_expected_head_first() {
    let (repo, fake) = approved_and_behind();
    fake.can(canned(
        "PUT",
        "/pulls/5/update-branch",
        202,
        json!({"message": "Updating pull request branch.", "url": "https://github.com/acme/shop/pull/5"}),
    ));
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the forge is merging `main` into `feat/#2-reset-token-store`",
        ));
    // The update names the head the review saw, so commits pushed since make GitHub refuse.
    assert_eq!(
        reqs_bodies(&fake, "/pulls/5/update-branch"),
        [json!({"expected_head_sha": "abc123"})]
    );
    assert!(
        calls(&fake).iter().all(|c| !c.ends_with("/merge")),
        "no merge before the new head's checks: {:?}",
        calls(&fake)
    );
    assert!(repo.log_has("branch_update", "started"));
}

#[test]
fn a_pull_request_that_conflicts_with_its_base_is_not_merged_through_the_api() {
    let (repo, fake) = approved_and_behind();
    fake.can(canned(
        "PUT",
        "/pulls/5/update-branch",
        422,
        json!({"message": "merge conflict between base and head", "documentation_url": "https://docs.github.com/rest"}),
    ));
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("conflicts with `main`"));
    assert!(calls(&fake).iter().all(|c| !c.ends_with("/merge")));
    assert!(repo.log_has("branch_update", "failed"));
}

#[test]
fn a_pull_request_is_opened_through_the_api_with_a_branch_from_the_base() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(canned("GET", "/issues/2$", 200, json!({"number": 2, "title": "[TASK] Reset token store", "state": "open", "body": "b", "labels": []})));
    fake.can(canned("GET", "/issues/2/comments", 200, json!([])));
    fake.can(canned("GET", "$", 200, json!({"default_branch": "main"})));
    fake.can(canned(
        "GET",
        "/git/ref/heads/main",
        200,
        json!({"object": {"sha": "abc123"}}),
    ));
    fake.can(canned(
        "POST",
        "/git/refs",
        201,
        json!({"ref": "refs/heads/x"}),
    ));
    // The branch is not in this checkout: what it changes comes from GitHub's comparison.
    fake.can(canned(
        "GET",
        "/compare/main...feat/%232-reset-token-store",
        200,
        json!({"ahead_by": 2, "behind_by": 0,
            "commits": [{"sha": "c1", "commit": {"message": "Store reset tokens hashed\n\nWith an expiry."}},
                        {"sha": "c2", "commit": {"message": "Compare tokens in constant time"}}],
            "files": [{"filename": "src/auth/reset_token.ts", "status": "added"},
                      {"filename": "src/auth/session.ts", "status": "modified"}]}),
    ));
    fake.can(canned("GET", "/pulls?", 200, json!([])));
    fake.can(canned(
        "POST",
        "/pulls",
        201,
        json!({
            "number": 5, "title": "Reset token store", "state": "open", "body": "b",
            "head": {"ref": "feat/#2-reset-token-store"}, "base": {"ref": "main"}
        }),
    ));
    factory(&repo, &fake)
        .args([
            "pr",
            "open",
            "--issue",
            "2",
            "--branch",
            "feat/#2-reset-token-store",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pull request #5 opened for issue #2",
        ));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/issues/2"),
            format!("GET {PREFIX}/issues/2/comments?per_page=100"),
            format!("GET {PREFIX}"),
            format!("GET {PREFIX}/git/ref/heads/feat/%232-reset-token-store"),
            format!("GET {PREFIX}/git/ref/heads/main"),
            format!("POST {PREFIX}/git/refs"),
            format!("GET {PREFIX}/compare/main...feat/%232-reset-token-store"),
            format!("GET {PREFIX}/pulls?state=all&per_page=100"),
            format!("POST {PREFIX}/pulls"),
        ]
    );
    let reqs = fake.requests();
    assert_eq!(
        reqs[5].body,
        json!({"ref": "refs/heads/feat/#2-reset-token-store", "sha": "abc123"})
    );
    assert_eq!(reqs[8].body["head"], "feat/#2-reset-token-store");
    assert_eq!(reqs[8].body["base"], "main");
    let body = reqs[8].body["body"].as_str().unwrap();
    assert!(body.contains("Closes #2"));
    // The same Changes Made table as on the local forge, from the branch's files and commits.
    assert!(
        body.contains("| `src/auth/reset_token.ts` | added | the issue |"),
        "{body}"
    );
    assert!(
        body.contains("| `src/auth/session.ts` | modified |"),
        "{body}"
    );
    assert!(!body.contains("No commits on the branch yet"), "{body}");
    assert!(
        body.contains("Commits:\n- Store reset tokens hashed\n- Compare tokens in constant time\n"),
        "{body}"
    );
    assert_eq!(
        repo.session()["pull_requests"],
        json!([{"number": 5, "issue": 2, "merged": false}])
    );
}

/// `factory implement` on GitHub: the agent (the fake codex) edits the worktree, factory
/// pushes the branch to origin (a local bare repository here) with the token in git's
/// environment only, then opens the pull request through the API. A `git` wrapper first on
/// PATH records every git command line factory runs.
#[test]
fn implementation_pushes_with_the_token_off_the_command_line_and_opens_the_pull_request() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    let root = repo.path();
    let origin = root.join("origin.git");
    repo.git(&["init", "-q", "--bare", origin.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    std::fs::write(
        root.join(".git/info/exclude"),
        ".factory/\nfake/\nwrap/\norigin.git/\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join(".factory")).unwrap();
    std::fs::write(
        root.join(".factory/workflow.yaml"),
        "agents:\n  implementer:\n    env: [FAKE_AGENT_DIR]\n",
    )
    .unwrap();
    let agent_dir = root.join("fake");
    std::fs::create_dir_all(&agent_dir).unwrap();
    std::fs::write(
        agent_dir.join("edit.sh"),
        "mkdir -p src/auth && echo 'export const ok = 1;' > src/auth/reset_token.ts\n",
    )
    .unwrap();
    std::fs::write(agent_dir.join("script"), "edit:edit.sh\n").unwrap();
    let real_git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrap = root.join("wrap");
    std::fs::create_dir_all(&wrap).unwrap();
    let log = root.join("git.log");
    std::fs::write(
        wrap.join("git"),
        format!(
            "#!/bin/sh\necho \"ARGV $*\" >> '{log}'\nif [ -n \"$GIT_CONFIG_VALUE_0\" ]; then echo \"AUTH $GIT_CONFIG_KEY_0 $(echo \"$GIT_CONFIG_VALUE_0\" | cut -d' ' -f3 | base64 -d)\" >> '{log}'; fi\nexec {} \"$@\"\n",
            real_git.trim(),
            log = log.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", wrap.join("git").to_str().unwrap()])
        .status()
        .unwrap();
    let branch = "feat/#2-reset-token-store";
    let task = json!({"number": 2, "title": "[TASK] Reset token store", "state": "open", "body": "Implement the token store.", "labels": []});
    fake.clear();
    for _ in 0..2 {
        fake.can(canned("GET", "/issues/2$", 200, task.clone()));
        fake.can(canned("GET", "/issues/2/comments", 200, json!([])));
    }
    fake.can(canned("GET", "$", 200, json!({"default_branch": "main"})));
    fake.can(canned(
        "GET",
        "/git/ref/heads/",
        200,
        json!({"object": {"sha": "abc123"}}),
    ));
    fake.can(canned("GET", "/pulls?", 200, json!([])));
    fake.can(canned(
        "POST",
        "/pulls",
        201,
        json!({
            "number": 5, "title": "Reset token store", "state": "open", "body": "b",
            "head": {"ref": branch}, "base": {"ref": "main"}
        }),
    ));
    let path = format!(
        "{}:{}:{}",
        wrap.display(),
        support::repo::manifest("tests/fixtures/agents").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    factory(&repo, &fake)
        .env("PATH", path)
        .env("FAKE_AGENT_DIR", &agent_dir)
        .env("CODEX_API_KEY", "test-key")
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #5 opened"));

    // The branch reached origin with factory's commit.
    let pushed = repo.git(&[
        "--git-dir",
        origin.to_str().unwrap(),
        "log",
        "--format=%s",
        "-1",
        &format!("refs/heads/{branch}"),
    ]);
    assert_eq!(pushed, "Reset token store (#2)");
    // The token was in git's environment for the push, never on a command line.
    let git_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        git_log.contains(&format!(
            "ARGV push --quiet origin refs/heads/{branch}:refs/heads/{branch}"
        )),
        "{git_log}"
    );
    assert!(
        git_log.contains(&format!("AUTH http.extraheader x-access-token:{TOKEN}")),
        "{git_log}"
    );
    assert!(
        git_log
            .lines()
            .filter(|l| l.starts_with("ARGV"))
            .all(|l| !l.contains(TOKEN)),
        "{git_log}"
    );
    // The agent never had it.
    let env = std::fs::read_to_string(agent_dir.join("env-1")).unwrap();
    assert!(!env.lines().any(|l| l == "GITHUB_TOKEN"), "{env}");
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/issues/2"),
            format!("GET {PREFIX}/issues/2/comments?per_page=100"),
            format!("GET {PREFIX}"),
            format!("GET {PREFIX}/issues/2"),
            format!("GET {PREFIX}/issues/2/comments?per_page=100"),
            format!("GET {PREFIX}/git/ref/heads/feat/%232-reset-token-store"),
            format!("GET {PREFIX}/pulls?state=all&per_page=100"),
            format!("POST {PREFIX}/pulls"),
        ]
    );
    let reqs = fake.requests();
    assert!(
        reqs.iter()
            .all(|r| r.authorization == format!("Bearer {TOKEN}"))
    );
    let body = reqs[7].body["body"].as_str().unwrap();
    assert!(
        body.contains("Closes #2") && body.contains("check build"),
        "{body}"
    );
    assert_eq!(
        repo.session()["pull_requests"],
        json!([{"number": 5, "issue": 2, "merged": false}])
    );
}

#[test]
fn bodies_sent_to_the_api_are_sanitised_but_keep_the_marker_and_forge_links() {
    let mut p = plan();
    p["tasks"][0]["description"] =
        "Follow https://github.com/acme/shop/issues/9 (cc @octocat) not http://tracker.evil.example/x."
            .into();
    let repo = Repo::with_plan(&p);
    let fake = Fake::start();
    factory(&repo, &fake)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .args(["issues", "create"])
        .assert()
        .success();
    let reqs = fake.requests();
    let create = reqs
        .iter()
        .find(|r| r.method == "POST" && r.body["title"] == "[TASK] Reset token store")
        .expect("the issue of task-001 is created");
    let body = create.body["body"].as_str().unwrap();
    let sid = repo.session()["id"].as_str().unwrap().to_string();
    assert!(
        body.starts_with(&format!("<!-- factory:task=task-001 sid={sid} -->\n")),
        "{body}"
    );
    assert!(
        body.contains(
            "Follow https://github.com/acme/shop/issues/9 (cc ＠octocat) not tracker[.]evil.example/x."
        ),
        "{body}"
    );
}

const PR_DIFF: &str = "diff --git a/src/auth/reset_token.ts b/src/auth/reset_token.ts\n--- a/src/auth/reset_token.ts\n+++ b/src/auth/reset_token.ts\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n";

/// A fake API that answers the pull request #5 (opened by a person, so the token may give a
/// verdict) and then its diff.
fn with_pull_and_diff() -> Fake {
    let fake = Fake::start();
    let mut pull = open_pull();
    pull["user"] = json!({"login": "octocat"});
    fake.can(canned("GET", "/pulls/5$", 200, pull));
    fake.can(canned(
        "GET",
        "/pulls/5$",
        200,
        Value::String(PR_DIFF.into()),
    ));
    fake
}

/// `factory` against the fake API with the fake agents on PATH.
fn github_with_agents(repo: &Repo, fake: &Fake) -> assert_cmd::Command {
    let mut cmd = repo.factory_with_agents();
    cmd.env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", fake.api())
        .env("FACTORY_GITHUB_TIME_SCALE", "0.001");
    cmd
}

#[test]
fn a_review_is_posted_through_the_api_as_a_comment_when_the_verdict_is_refused() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:changes.json"]);
    let finding = |line: u64, d: &str| {
        json!({"severity": "important", "category": "quality", "file": "src/auth/reset_token.ts",
            "line": line, "description": d, "recommendation": "Fix it."})
    };
    repo.fake_answer(
        "changes.json",
        &support::agents::review_answer(
            "REQUEST_CHANGES",
            json!([finding(2, "on the diff"), finding(50, "elsewhere")]),
        ),
    );
    let fake = with_pull_and_diff();
    fake.can(canned(
        "POST",
        "/pulls/5/reviews",
        422,
        json!({"message": "Unprocessable Entity", "errors": ["Can not request changes on your own pull request"]}),
    ));
    fake.can(canned("POST", "/pulls/5/reviews", 200, json!({"id": 77})));
    fake.can(canned("GET", "/issues/5/comments", 200, json!([])));
    fake.can(canned(
        "POST",
        "/issues/5/comments",
        201,
        json!({"id": 9, "body": "x", "created_at": "2026-12-01T00:00:00Z"}),
    ));
    github_with_agents(&repo, &fake)
        .args(["review", "--pr", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "posted on #5 in the github forge: review COMMENT (the verdict is in its body",
        ))
        .stdout(predicate::str::contains("(created)"));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5/reviews?per_page=100"),
            "GET /api/v3/user".to_string(),
            format!("POST {PREFIX}/pulls/5/reviews"),
            format!("POST {PREFIX}/pulls/5/reviews"),
            format!("GET {PREFIX}/issues/5/comments?per_page=100"),
            format!("POST {PREFIX}/issues/5/comments"),
        ]
    );
    let mut reqs = fake.requests();
    reqs.remove(3);
    assert_eq!(reqs[0].accept, "application/vnd.github+json");
    assert_eq!(reqs[1].accept, "application/vnd.github.diff");
    assert!(
        reqs.iter()
            .all(|r| r.authorization == format!("Bearer {TOKEN}"))
    );
    let review = &reqs[3].body;
    assert_eq!(review["event"], "REQUEST_CHANGES");
    assert!(
        review["body"]
            .as_str()
            .unwrap()
            .starts_with("<!-- factory:review pr=5 cycle=1 -->")
    );
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(
        comments.len(),
        1,
        "the finding outside the diff is not inline"
    );
    assert_eq!(comments[0]["path"], "src/auth/reset_token.ts");
    assert_eq!(comments[0]["line"], 2);
    assert_eq!(comments[0]["side"], "RIGHT");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("on the diff")
    );
    assert_eq!(reqs[4].body["event"], "COMMENT");
    assert_eq!(reqs[4].body["comments"], review["comments"]);
    let summary = reqs[6].body["body"].as_str().unwrap();
    assert!(
        summary.starts_with("<!-- factory:review-summary pr=5 -->"),
        "{summary}"
    );
    assert!(summary.contains("changes requested"));
    // The finding off the diff is listed in the summary with the reason it is not inline.
    let row = summary
        .lines()
        .find(|l| l.contains("elsewhere"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(row.contains("none: not on a line of the diff"), "{row}");
    assert!(summary.contains("| open | 2 |"), "{summary}");
    assert!(repo.log_has("pr_review", "downgraded"));
    assert!(!repo.fake_file("env-1").lines().any(|l| l == "GITHUB_TOKEN"));
    assert!(
        repo.fake_file("prompt-1").contains("+B"),
        "the diff reached the reviewer"
    );
}

#[test]
fn a_second_review_updates_the_summary_comment_through_the_api() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:review-approve.json"]);
    let fake = with_pull_and_diff();
    fake.can(canned("POST", "/pulls/5/reviews", 200, json!({"id": 78})));
    fake.can(canned(
        "GET",
        "/issues/5/comments",
        200,
        json!([
            {"id": 8, "body": "LGTM", "created_at": "2026-12-01T00:00:00Z"},
            {"id": 9, "body": "<!-- factory:review-summary pr=5 -->\nold", "created_at": "2026-12-01T00:00:00Z"}
        ]),
    ));
    fake.can(canned(
        "PATCH",
        "/issues/comments/9",
        200,
        json!({"id": 9, "body": "new", "created_at": "2026-12-01T00:00:00Z"}),
    ));
    github_with_agents(&repo, &fake)
        .args(["review", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("review APPROVE"))
        .stdout(predicate::str::contains("(updated)"));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5/reviews?per_page=100"),
            "GET /api/v3/user".to_string(),
            format!("POST {PREFIX}/pulls/5/reviews"),
            format!("GET {PREFIX}/issues/5/comments?per_page=100"),
            format!("PATCH {PREFIX}/issues/comments/9"),
        ]
    );
    let reqs = fake.requests();
    assert_eq!(reqs[4].body["event"], "APPROVE");
    assert_eq!(reqs[4].body["comments"], json!([]));
    assert!(
        reqs[6].body["body"]
            .as_str()
            .unwrap()
            .contains("## factory review: approved")
    );
}

#[test]
fn a_review_github_refuses_even_as_a_comment_is_an_error_naming_the_reason() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:changes.json"]);
    repo.fake_answer(
        "changes.json",
        &support::agents::review_answer(
            "REQUEST_CHANGES",
            json!([{"severity": "important", "category": "quality", "file": "src/auth/reset_token.ts",
                "line": 2, "description": "on the diff", "recommendation": "Fix it."}]),
        ),
    );
    let fake = with_pull_and_diff();
    for _ in 0..2 {
        fake.can(canned(
            "POST",
            "/pulls/5/reviews",
            422,
            json!({"message": "Unprocessable Entity", "errors": ["Pull request review thread line must be part of the diff"]}),
        ));
    }
    github_with_agents(&repo, &fake)
        .args(["review", "--pr", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("422 Unprocessable"))
        .stderr(predicate::str::contains("must be part of the diff"));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 6, "one fallback, no more");
    assert_eq!(reqs[5].body["event"], "COMMENT");
    assert_eq!(reqs[5].body["comments"].as_array().unwrap().len(), 1);
    // Nothing was posted, so the ledger claims no inline comment: the next review posts it.
    let ledger = repo.json(".factory/artifacts/review-ledger/5.json");
    assert_eq!(ledger["findings"].as_array().unwrap().len(), 1);
    assert!(ledger["findings"][0].get("inline").is_none(), "{ledger}");
}

/// The diff of round `round` of the evolving pull request #5 (see the test below).
fn round_diff(round: u32) -> String {
    let file = "diff --git a/src/auth/reset_token.ts b/src/auth/reset_token.ts\n--- a/src/auth/reset_token.ts\n+++ b/src/auth/reset_token.ts\n";
    let other = "diff --git a/src/auth/other.ts b/src/auth/other.ts\nnew file mode 100644\n--- /dev/null\n+++ b/src/auth/other.ts\n@@ -0,0 +1,1 @@\n+z = compute(s);\n";
    match round {
        1 => format!(
            "{file}@@ -1,1 +1,4 @@\n a\n+let x = lookup(input);\n+let y = 1;\n+helper();\n{other}"
        ),
        2 => format!(
            "{file}@@ -1,1 +1,6 @@\n+// reset tokens\n a\n+let x = lookup(input);\n+let y = 2;\n+helper();\n+let z = new_thing();\n{other}"
        ),
        _ => format!(
            "{file}@@ -1,1 +1,6 @@\n+// reset tokens\n a\n+let x = lookup(input);\n+let y = 2;\n+helper();\n+let z = new_thing();\n"
        ),
    }
}

#[test]
fn three_review_rounds_through_the_api_post_each_finding_once_in_one_sticky_comment() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:r1.json", "ok:r2.json", "ok:r3.json"]);
    let scope = repo.path().join(".factory/scope.json");
    std::fs::write(&scope, r#"{"files_in_scope": ["src/**"]}"#).unwrap();
    let scope = scope.display().to_string();
    const FILE: &str = "src/auth/reset_token.ts";
    const OTHER: &str = "src/auth/other.ts";
    let f = |severity: &str, file: &str, line: u64, category: &str, d: &str| {
        json!({"severity": severity, "category": category, "file": file, "line": line,
            "description": d, "recommendation": "Fix it."})
    };
    let answers = [
        json!([
            f("important", FILE, 2, "injection", "query built from input"),
            f("important", FILE, 3, "quality", "magic number"),
            f("important", FILE, 4, "testing", "helper untested"),
            f("important", OTHER, 1, "injection", "eval of input"),
        ]),
        json!([
            f("important", FILE, 3, "injection", "query built from input"),
            f("important", OTHER, 1, "injection", "eval of input"),
            f("important", FILE, 6, "quality", "unchecked result"),
        ]),
        json!([
            f("important", FILE, 3, "injection", "query built from input"),
            f("advisory", FILE, 1, "quality", "comment style"),
        ]),
    ];
    let fake = Fake::start();
    let counts = [
        "4 open, 0 resolved, 0 outdated",
        "3 open, 1 resolved, 1 outdated",
        "2 open, 2 resolved, 2 outdated",
    ];
    for (i, findings) in answers.iter().enumerate() {
        let round = i as u32 + 1;
        repo.fake_answer(
            &format!("r{round}.json"),
            &support::agents::review_answer("REQUEST_CHANGES", findings.clone()),
        );
        fake.can(canned("GET", "/pulls/5$", 200, open_pull()));
        fake.can(canned(
            "GET",
            "/pulls/5$",
            200,
            Value::String(round_diff(round)),
        ));
        github_with_agents(&repo, &fake)
            .args(["review", "--pr", "5", "--scope", &scope])
            .assert()
            .code(1)
            .stdout(predicate::str::contains(format!(
                "findings on #5: {}",
                counts[i]
            )));
    }
    let reqs = fake.requests();
    let posted = |method: &str, path: &str| -> Vec<Value> {
        reqs.iter()
            .filter(|r| r.method == method && r.path == format!("{PREFIX}{path}"))
            .map(|r| r.body.clone())
            .collect()
    };
    let reviews = posted("POST", "/pulls/5/reviews");
    assert_eq!(reviews.len(), 3, "one review per round");
    let inline: Vec<Vec<String>> = reviews
        .iter()
        .map(|r| {
            r["comments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["body"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        inline.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 1, 0],
        "{inline:?}"
    );
    let all: Vec<&String> = inline.iter().flatten().collect();
    for text in [
        "query built from input",
        "magic number",
        "helper untested",
        "eval of input",
        "unchecked result",
    ] {
        assert_eq!(all.iter().filter(|b| b.contains(text)).count(), 1, "{text}");
    }
    assert!(
        !all.iter().any(|b| b.contains("comment style")),
        "below the floor"
    );
    for (i, r) in reviews.iter().enumerate() {
        assert!(
            r["body"]
                .as_str()
                .unwrap()
                .starts_with(&format!("<!-- factory:review pr=5 cycle={} -->", i + 1))
        );
    }
    // One sticky summary comment: created once, then updated in place. (The other comment is
    // the review-cycle limit's: cycle 3 of 3 still requests changes.)
    let created = posted("POST", "/issues/5/comments");
    let summaries: Vec<&Value> = created
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("<!-- factory:review-summary pr=5 -->")
        })
        .collect();
    assert_eq!(summaries.len(), 1);
    assert_eq!(created.len(), 2);
    assert!(
        created[1]["body"]
            .as_str()
            .unwrap()
            .contains("<!-- factory:review-limit pr=5 -->")
    );
    let patches = posted("PATCH", "/issues/comments/900");
    assert_eq!(patches.len(), 2);
    let last = patches[1]["body"].as_str().unwrap();
    for row in [
        "| open | 2 |",
        "| resolved | 2 |",
        "| outdated | 2 |",
        "**Cycle 3**",
    ] {
        assert!(last.contains(row), "{row}: {last}");
    }
    assert!(
        last.lines()
            .find(|l| l.contains("eval of input"))
            .unwrap()
            .contains("outdated in cycle 3")
    );

    // The third run crashed before the cycle was counted: running cycle 3 again posts no
    // second review and leaves the unchanged summary alone.
    let path = repo.path().join(".factory/session.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    s["counters"]["review_cycles"] = 2.into();
    std::fs::write(&path, s.to_string()).unwrap();
    repo.fake_agents(&["ok:r3.json"]);
    repo.fake_answer(
        "r3.json",
        &support::agents::review_answer("REQUEST_CHANGES", answers[2].clone()),
    );
    fake.clear();
    fake.can(canned("GET", "/pulls/5$", 200, open_pull()));
    fake.can(canned(
        "GET",
        "/pulls/5$",
        200,
        Value::String(round_diff(3)),
    ));
    github_with_agents(&repo, &fake)
        .args(["review", "--pr", "5", "--scope", &scope])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "the review of cycle 3 was already on #5",
        ))
        .stdout(predicate::str::contains(
            "findings on #5: 2 open, 2 resolved, 2 outdated",
        ));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5"),
            format!("GET {PREFIX}/pulls/5/reviews?per_page=100"),
            // The summary comment, then the limit comment: both unchanged, neither written.
            format!("GET {PREFIX}/issues/5/comments?per_page=100"),
            format!("GET {PREFIX}/issues/5/comments?per_page=100"),
        ]
    );
}

/// Deferred writes on GitHub: the implementation job runs without any token and makes no API
/// call at all; `factory apply` (with the token) pushes the branch and opens the pull request
/// with exact calls, and applying again makes none.
#[test]
fn a_deferred_implementation_calls_no_api_and_apply_opens_the_pull_request_once() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    let root = repo.path();
    let origin = root.join("origin.git");
    repo.git(&["init", "-q", "--bare", origin.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    std::fs::write(
        root.join(".git/info/exclude"),
        ".factory/\nfake/\norigin.git/\n",
    )
    .unwrap();
    std::fs::write(
        root.join(".factory/workflow.yaml"),
        "agents:\n  implementer:\n    env: [FAKE_AGENT_DIR]\n",
    )
    .unwrap();
    let agent_dir = root.join("fake");
    std::fs::create_dir_all(&agent_dir).unwrap();
    std::fs::write(
        agent_dir.join("edit.sh"),
        "mkdir -p src/auth && echo 'export const ok = 1;' > src/auth/reset_token.ts\n",
    )
    .unwrap();
    std::fs::write(agent_dir.join("script"), "edit:edit.sh\n").unwrap();
    let path = format!(
        "{}:{}",
        support::repo::manifest("tests/fixtures/agents").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    fake.clear();
    repo.factory()
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", fake.api())
        .env("FACTORY_WRITES", "deferred")
        // Direct writes would need the GitHub forge, which fails without a token.
        .env("FACTORY_FORGE", "github")
        .env("PATH", &path)
        .env("FAKE_AGENT_DIR", &agent_dir)
        .env("CODEX_API_KEY", "test-key")
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "publication left for `factory apply` in .factory/outbox/0001-implementation-pull-request-2.json",
        ));
    assert_eq!(calls(&fake), Vec::<String>::new(), "no forge call");
    let branch = "feat/#2-reset-token-store";
    let on_origin = std::process::Command::new("git")
        .args([
            "--git-dir",
            origin.to_str().unwrap(),
            "rev-parse",
            "--verify",
            "--quiet",
        ])
        .arg(format!("refs/heads/{branch}"))
        .output()
        .unwrap();
    assert!(!on_origin.status.success(), "nothing pushed yet");

    let task = json!({"number": 2, "title": "[TASK] Reset token store", "state": "open", "body": "Implement the token store.", "labels": []});
    fake.can(canned("GET", "$", 200, json!({"default_branch": "main"})));
    fake.can(canned("GET", "/issues/2$", 200, task));
    fake.can(canned("GET", "/issues/2/comments", 200, json!([])));
    fake.can(canned(
        "GET",
        "/git/ref/heads/",
        200,
        json!({"object": {"sha": "abc123"}}),
    ));
    fake.can(canned("GET", "/pulls?", 200, json!([])));
    fake.can(canned(
        "POST",
        "/pulls",
        201,
        json!({
            "number": 5, "title": "Reset token store", "state": "open", "body": "b",
            "head": {"ref": branch}, "base": {"ref": "main"}
        }),
    ));
    factory(&repo, &fake)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pull request #5 opened for issue #2",
        ));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}"),
            format!("GET {PREFIX}/issues/2"),
            format!("GET {PREFIX}/issues/2/comments?per_page=100"),
            format!("GET {PREFIX}/git/ref/heads/feat/%232-reset-token-store"),
            format!("GET {PREFIX}/pulls?state=all&per_page=100"),
            format!("POST {PREFIX}/pulls"),
        ]
    );
    let reqs = fake.requests();
    assert_eq!(reqs[5].body["head"], branch);
    assert!(reqs[5].body["body"].as_str().unwrap().contains("Closes #2"));
    let pushed = repo.git(&[
        "--git-dir",
        origin.to_str().unwrap(),
        "log",
        "--format=%s",
        "-1",
        &format!("refs/heads/{branch}"),
    ]);
    assert_eq!(pushed, "Reset token store (#2)");
    assert_eq!(
        repo.session()["pull_requests"],
        json!([{"number": 5, "issue": 2, "merged": false}])
    );

    fake.clear();
    factory(&repo, &fake)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to apply"));
    factory(&repo, &fake)
        .args([
            "apply",
            ".factory/outbox/0001-implementation-pull-request-2.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("already applied"));
    assert_eq!(calls(&fake), Vec::<String>::new(), "no write twice");
}

/// Review artifacts applied on GitHub: the review posted once, the sticky summary updated in
/// place (found by its marker), an unallowed mention neutralised on the way, and nothing
/// written again on a second apply.
#[test]
fn applied_review_artifacts_post_the_review_once_and_update_the_summary() {
    let repo = Repo::with_plan(&plan());
    let path = repo.path().join(".factory/session.json");
    let mut session = repo.session();
    session["pull_requests"] = json!([{"number": 5, "issue": 2, "merged": false}]);
    std::fs::write(&path, serde_json::to_string_pretty(&session).unwrap()).unwrap();
    let outbox = repo.path().join(".factory/outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    let sid = session["id"].clone();
    let artifact = |kind: &str, what: Value| {
        let mut a = json!({"schema_version": "1.0", "kind": kind, "session_id": sid,
            "phase": "code_review", "created_at": "2026-12-01T00:00:00Z"});
        a[kind] = what;
        a
    };
    std::fs::write(
        outbox.join("0001-code_review-review.json"),
        artifact("review", json!({"pr": 5, "cycle": 1, "event": "REQUEST_CHANGES",
            "body": "<!-- factory:review pr=5 cycle=1 -->\nfactory review, cycle 1: **changes requested**.",
            "comments": [{"path": "src/auth/reset_token.ts", "line": 2, "side": "RIGHT", "body": "Compare in constant time."}]}))
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        outbox.join("0002-code_review-comment.json"),
        artifact(
            "comment",
            json!({"number": 5, "body": "<!-- factory:review-summary pr=5 -->\n## factory review: changes requested\ncc @someone"}),
        )
        .to_string(),
    )
    .unwrap();
    let fake = Fake::start();
    fake.can(canned(
        "GET",
        "/pulls/5/reviews?",
        200,
        json!([{"id": 70, "state": "COMMENTED", "body": "<!-- factory:review pr=5 cycle=0 -->\nolder"}]),
    ));
    fake.can(canned("POST", "/pulls/5/reviews", 200, json!({"id": 77})));
    fake.can(canned(
        "GET",
        "/issues/5/comments",
        200,
        json!([{"id": 9, "body": "<!-- factory:review-summary pr=5 -->\nold", "created_at": "2026-12-01T00:00:00Z"}]),
    ));
    fake.can(canned(
        "PATCH",
        "/issues/comments/9",
        200,
        json!({"id": 9, "body": "new", "created_at": "2026-12-01T00:00:00Z"}),
    ));
    // The pull request was opened by the same token (factory's own bot account): GitHub would
    // refuse a verdict on it, so the review goes out as one COMMENT carrying the verdict.
    let mut pull = open_pull();
    pull["user"] = json!({"login": support::github::BOT});
    fake.can(canned("GET", "/pulls/5$", 200, pull));
    factory(&repo, &fake)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0001-code_review-review.json: applied: review posted on pull request #5 (REQUEST_CHANGES as COMMENT with the verdict in its body, 1 inline comment(s))",
        ))
        .stdout(predicate::str::contains(
            "0002-code_review-comment.json: applied: comment on #5 updated",
        ));
    assert_eq!(
        calls(&fake),
        vec![
            format!("GET {PREFIX}/pulls/5/reviews?per_page=100"),
            format!("GET {PREFIX}/pulls/5"),
            "GET /api/v3/user".to_string(),
            format!("POST {PREFIX}/pulls/5/reviews"),
            format!("GET {PREFIX}/issues/5/comments?per_page=100"),
            format!("PATCH {PREFIX}/issues/comments/9"),
        ]
    );
    let reqs = fake.requests();
    assert_eq!(
        reqs[3].body["event"], "COMMENT",
        "one write, no refused verdict first"
    );
    assert!(
        reqs[3].body["body"]
            .as_str()
            .unwrap()
            .contains("**changes requested**")
    );
    assert_eq!(reqs[3].body["comments"][0]["line"], 2);
    let summary = reqs[5].body["body"].as_str().unwrap();
    assert!(
        summary.starts_with("<!-- factory:review-summary pr=5 -->"),
        "{summary}"
    );
    assert!(summary.contains("cc ＠someone"), "{summary}");

    fake.clear();
    factory(&repo, &fake)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to apply"));
    assert_eq!(calls(&fake), Vec::<String>::new());

    // A review of a pull request outside the session is refused, naming the field.
    std::fs::write(
        outbox.join("0003-code_review-review.json"),
        artifact("review", json!({"pr": 99, "event": "APPROVE", "body": "x"})).to_string(),
    )
    .unwrap();
    factory(&repo, &fake)
        .args(["apply", "--pending"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0003-code_review-review.json: field `review.pr`: #99 is not a pull request of this session",
        ));
    assert_eq!(calls(&fake), Vec::<String>::new());
}

/// The fake API answering pull request #5 opened by `author`, then its diff.
fn pull_by(author: &str) -> Fake {
    let fake = Fake::start();
    let mut pull = open_pull();
    pull["user"] = json!({"login": author});
    fake.can(canned("GET", "/pulls/5$", 200, pull));
    fake.can(canned(
        "GET",
        "/pulls/5$",
        200,
        Value::String(PR_DIFF.into()),
    ));
    fake
}

#[test]
fn with_one_identity_a_review_of_its_own_pull_request_is_one_comment_carrying_the_verdict() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:review-approve.json"]);
    let fake = pull_by(support::github::BOT);
    github_with_agents(&repo, &fake)
        .args(["review", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "review COMMENT (the verdict is in its body",
        ));
    let posts: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/pulls/5/reviews"))
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(posts.len(), 1, "one write, no refused APPROVE first");
    assert_eq!(posts[0]["event"], "COMMENT");
    assert!(
        posts[0]["body"]
            .as_str()
            .unwrap()
            .contains("cycle 1: **approved**")
    );
    // The merge gate reads the verdict from factory's own record of the review.
    assert_eq!(
        repo.json(".factory/artifacts/reviews/5-1.json")["verdict"],
        "APPROVE"
    );
    assert!(repo.log_has("pr_review", "downgraded"));
}

#[test]
fn a_second_identity_posts_the_verdict_itself() {
    let repo = Repo::with_plan(&plan());
    repo.fake_agents(&["ok:review-approve.json"]);
    let fake = pull_by(support::github::BOT);
    github_with_agents(&repo, &fake)
        .env("FACTORY_REVIEW_TOKEN", "reviewer-token-987")
        .args(["review", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("review APPROVE with"));
    let reqs = fake.requests();
    let post = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/pulls/5/reviews"))
        .unwrap();
    assert_eq!(post.body["event"], "APPROVE");
    assert_eq!(post.authorization, "Bearer reviewer-token-987");
    // Everything else goes out as the main identity; nobody asks who the reviewer is.
    assert!(
        reqs.iter()
            .filter(|r| !r.path.ends_with("/pulls/5/reviews") || r.method == "GET")
            .all(|r| r.authorization == format!("Bearer {TOKEN}"))
    );
    assert!(!calls(&fake).iter().any(|c| c.ends_with("/user")));
}

/// `factory lessons publish` on GitHub: the lesson files the default branch lacks are committed
/// on `factory/lessons-<session>` and pushed to origin (a local bare repository) with the token
/// off the command line, and the pull request is opened through the API; publishing again
/// updates that pull request instead of opening another.
#[test]
fn lessons_are_pushed_on_their_branch_and_proposed_as_one_pull_request() {
    let repo = Repo::with_session();
    let root = repo.path();
    let origin = root.join("origin.git");
    repo.git(&["init", "-q", "--bare", origin.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.git(&["fetch", "-q", "origin"]);
    let lessons = root.join(".factory/lessons");
    std::fs::create_dir_all(&lessons).unwrap();
    std::fs::copy(
        support::manifest("tests/fixtures/dashboard/state/lessons/lesson-0001.json"),
        lessons.join("lesson-0001.json"),
    )
    .unwrap();
    let head_before = repo.git(&["rev-parse", "HEAD"]);
    let sid = repo.session()["id"].as_str().unwrap().to_string();
    let branch = format!("factory/lessons-{sid}");
    // The lessons pull request as GitHub returns it.
    let pull = json!({"number": 8, "title": "t", "state": "open", "body": "b",
        "head": {"ref": branch}, "base": {"ref": "main"}});
    let fake = Fake::start();
    fake.can(canned("GET", "$", 200, json!({"default_branch": "main"})));
    fake.can(canned("GET", "/pulls?", 200, json!([])));
    fake.can(canned("POST", "/pulls", 201, pull.clone()));
    factory(&repo, &fake)
        .args(["lessons", "publish"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "1 lesson file(s) proposed on {branch}: pull request #8 opened"
        )));
    let pushed = std::process::Command::new("git")
        .args([
            "--git-dir",
            origin.to_str().unwrap(),
            "diff",
            "--name-only",
            "main",
            &branch,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&pushed.stdout).trim(),
        ".factory/lessons/lesson-0001.json",
        "the branch on origin adds the lesson to main"
    );
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        head_before,
        "the checkout is untouched"
    );
    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a pull request was opened");
    assert_eq!(post.body["head"], branch.as_str());
    assert_eq!(post.body["base"], "main");
    assert!(
        post.body["title"]
            .as_str()
            .unwrap()
            .starts_with("factory: 1 lesson(s) learned in session"),
        "{}",
        post.body
    );
    assert!(post.body["body"].as_str().unwrap().contains("lesson-0001"));

    // Again: the open pull request of that branch is updated.
    fake.clear();
    fake.can(canned("GET", "$", 200, json!({"default_branch": "main"})));
    fake.can(canned("GET", "/pulls?", 200, json!([pull.clone()])));
    fake.can(canned("PATCH", "/pulls/8", 200, pull));
    factory(&repo, &fake)
        .args(["lessons", "publish"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #8 updated"));
    assert!(fake.requests().iter().all(|r| r.method != "POST"));
}
