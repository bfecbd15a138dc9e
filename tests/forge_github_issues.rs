//! A plan's issues on GitHub, against the fake GitHub API: each issue created with its final
//! body in one write, numbers corrected once when the forge numbered differently, sub-issue
//! links completed by a later run, and lists that are never silently cut.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use serde_json::json;
use support::github::{Canned, Fake, PREFIX, calls, canned, factory};
use support::repo::{Repo, plan};

fn body(fake: &Fake, n: u64) -> String {
    fake.issue(n)["body"].as_str().unwrap().to_string()
}

#[test]
fn an_issue_opened_meanwhile_shifts_the_numbers_and_the_bodies_are_corrected_once() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.seed(3);
    // The newest number GitHub gave is 3, but the answer is stale (as when somebody opens an
    // issue between the read and the first write): factory predicts #2 for the parent.
    fake.can(canned(
        "GET",
        "/issues?state=all&sort=created",
        200,
        json!([{"number": 1, "title": "old", "state": "closed", "body": "", "labels": []}]),
    ));
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #4 (created)"));
    let patched: Vec<String> = calls(&fake)
        .into_iter()
        .filter(|c| c.starts_with("PATCH"))
        .collect();
    assert_eq!(
        patched,
        vec![
            format!("PATCH {PREFIX}/issues/5"),
            format!("PATCH {PREFIX}/issues/6"),
            format!("PATCH {PREFIX}/issues/7"),
            format!("PATCH {PREFIX}/issues/4"),
        ],
        "every body named a wrong number, so each is written once more"
    );
    assert!(body(&fake, 5).contains("Branch: `feat/#5-reset-token-store`"));
    assert!(body(&fake, 4).contains("- [ ] #7 Reset endpoints (task-003)"));
    assert!(repo.log_has("issue_create", "retry"));
}

#[test]
fn sub_issue_links_a_failed_run_left_out_are_made_by_the_next_run() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    // The first link is refused (a token without the permission): the run stops there.
    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues/1/sub_issues"),
        status: 403,
        headers: vec![],
        body: json!({"message": "Resource not accessible by personal access token"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("403 Forbidden"));
    assert!(fake.world.lock().unwrap().sub_issues.is_empty());

    // Fixed permission, same session: the issues are found by their markers and every missing
    // link is made; nothing is created twice.
    fake.clear();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    assert_eq!(
        fake.world.lock().unwrap().sub_issues,
        vec![(1, 2), (1, 3), (1, 4)]
    );
    assert!(
        calls(&fake)
            .iter()
            .all(|c| c != &format!("POST {PREFIX}/issues")),
        "{:?}",
        calls(&fake)
    );

    // And once every link is there, a run only reads.
    fake.clear();
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    assert!(calls(&fake).iter().all(|c| c.starts_with("GET")));
}

#[test]
fn a_list_longer_than_factory_reads_is_an_error_not_a_shorter_list() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    // The fake ignores `since`, as if every issue had been touched since the session began.
    fake.seed(10_050);
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the list goes on past 100 pages (10000 items); factory reads no further",
        ));
    assert!(
        calls(&fake).iter().all(|c| c.starts_with("GET")),
        "nothing is written on a partial list"
    );
}
