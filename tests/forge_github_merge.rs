//! The merge gate on GitHub, against the fake GitHub API: every page of check runs and
//! statuses, the combined status, the checks branch protection and rulesets require, no checks
//! at all, and a merge that names the head it checked (409 when the branch moved).
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use serde_json::{Value, json};
use support::github::{
    Canned, Fake, PREFIX, calls, can_merge_of_5, can_no_checks_yet, canned, factory, reqs_bodies,
};
use support::repo::{Repo, plan};

/// PR #5, approved by its latest review, head `abc123`, up to date with `main`.
fn approved(repo_yaml: Option<&str>) -> (Repo, Fake) {
    let repo = match repo_yaml {
        Some(y) => {
            let r = Repo::with_workflow(y);
            r.write_plan(&plan());
            r
        }
        None => Repo::with_plan(&plan()),
    };
    repo.review(5, 1, "APPROVE");
    let fake = Fake::start();
    fake.can(canned(
        "GET",
        "/pulls/5",
        200,
        json!({
            "number": 5, "title": "Reset token store", "state": "open", "merged": false,
            "body": "<!-- factory:pr issue=2 -->\nCloses #2",
            "head": {"ref": "feat/#2-reset-token-store", "sha": "abc123"}, "base": {"ref": "main"}
        }),
    ));
    (repo, fake)
}

/// One page of a list, with a `Link` to the next when `next` is given.
fn page(path: &str, body: Value, next: Option<u32>) -> Canned {
    let mut c = canned("GET", path, 200, body);
    if let Some(n) = next {
        c.headers.push((
            "link".into(),
            format!(
                "<http://127.0.0.1/api/v3/repos/acme/shop{path}?per_page=100&page={n}>; rel=\"next\", <http://127.0.0.1/x?page=9>; rel=\"last\""
            ),
        ));
    }
    c
}

fn runs(count: usize, last: (&str, Option<&str>)) -> Vec<Value> {
    (1..=count)
        .map(|i| {
            if i == count {
                json!({"name": format!("job-{i}"), "status": last.0, "conclusion": last.1})
            } else {
                json!({"name": format!("job-{i}"), "status": "completed", "conclusion": "success"})
            }
        })
        .collect()
}

/// The links in the canned pages point at 127.0.0.1 without the fake's port; the forge follows
/// whatever GitHub sends, so point them at the fake.
fn fix_links(fake: &Fake) {
    let mut w = fake.world.lock().unwrap();
    let base = fake.base.clone();
    for c in w.canned.iter_mut() {
        for (_, v) in c.headers.iter_mut() {
            *v = v.replace("http://127.0.0.1/", &format!("{base}/"));
        }
    }
}

/// One check run on the head commit, passed.
fn can_one_green_run(fake: &Fake) {
    fake.can(canned(
        "GET",
        "/commits/abc123/check-runs",
        200,
        json!({"total_count": 1, "check_runs": [{"name": "test", "status": "completed", "conclusion": "success"}]}),
    ));
}

fn can_green_statuses(fake: &Fake) {
    fake.can(canned(
        "GET",
        "/commits/abc123/status",
        200,
        json!({"state": "success", "total_count": 1, "statuses": [{"context": "lint", "state": "success"}]}),
    ));
}

fn merge_refused(repo: &Repo, fake: &Fake, says: &str) {
    factory(repo, fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(says));
    assert!(
        calls(fake).iter().all(|c| !c.ends_with("/merge")),
        "{:?}",
        calls(fake)
    );
}

#[test]
fn the_105th_check_run_failing_on_the_second_page_refuses_the_merge() {
    let (repo, fake) = approved(None);
    let all = runs(105, ("completed", Some("failure")));
    fake.can(page(
        "/commits/abc123/check-runs",
        json!({"total_count": 105, "check_runs": all[..100]}),
        Some(2),
    ));
    fake.can(page(
        "/commits/abc123/check-runs",
        json!({"total_count": 105, "check_runs": all[100..]}),
        None,
    ));
    can_green_statuses(&fake);
    fix_links(&fake);
    merge_refused(&repo, &fake, "checks failing on its head commit: job-105");
    let c = calls(&fake);
    assert!(
        c.contains(&format!(
            "GET {PREFIX}/commits/abc123/check-runs?per_page=100&page=2"
        )),
        "{c:?}"
    );
}

#[test]
fn the_35th_status_failing_on_the_second_page_refuses_the_merge() {
    let (repo, fake) = approved(None);
    can_one_green_run(&fake);
    let statuses: Vec<Value> = (1..=35)
        .map(|i| json!({"context": format!("deploy-{i}"), "state": if i == 35 { "failure" } else { "success" }}))
        .collect();
    // GitHub's combined state already says failure on the first page.
    fake.can(page(
        "/commits/abc123/status",
        json!({"state": "failure", "total_count": 35, "statuses": statuses[..30]}),
        Some(2),
    ));
    fake.can(page(
        "/commits/abc123/status",
        json!({"state": "failure", "total_count": 35, "statuses": statuses[30..]}),
        None,
    ));
    fix_links(&fake);
    merge_refused(&repo, &fake, "checks failing on its head commit: deploy-35");
}

#[test]
fn a_failing_combined_status_refuses_even_when_no_listed_status_fails() {
    let (repo, fake) = approved(None);
    fake.can(canned(
        "GET",
        "/commits/abc123/check-runs",
        200,
        json!({"total_count": 0, "check_runs": []}),
    ));
    fake.can(canned(
        "GET",
        "/commits/abc123/status",
        200,
        json!({"state": "failure", "total_count": 1, "statuses": [{"context": "lint", "state": "success"}]}),
    ));
    merge_refused(
        &repo,
        &fake,
        "checks failing on its head commit: combined commit status",
    );
}

#[test]
fn no_checks_at_all_is_not_green_unless_the_workflow_says_the_repository_has_no_ci() {
    let (repo, fake) = approved(None);
    can_no_checks_yet(&fake);
    merge_refused(&repo, &fake, "no check has reported on its head commit yet");

    let (repo, fake) = approved(Some("phases:\n  merge:\n    require_checks: false\n"));
    can_no_checks_yet(&fake);
    can_merge_of_5(&fake);
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("squash-merged into main"));
}

#[test]
fn a_required_check_that_has_not_reported_is_waited_for() {
    let (repo, fake) = approved(None);
    can_one_green_run(&fake);
    can_green_statuses(&fake);
    // Branch protection requires `e2e`; a ruleset requires `security`.
    fake.can(canned(
        "GET",
        "/branches/main",
        200,
        json!({"name": "main", "protected": true, "protection": {"enabled": true,
            "required_status_checks": {"enforcement_level": "non_admins", "contexts": ["e2e", "test"], "checks": [{"context": "e2e", "app_id": null}]}}}),
    ));
    fake.can(canned(
        "GET",
        "/rules/branches/main",
        200,
        json!([{"type": "pull_request", "parameters": {"required_approving_review_count": 0}},
               {"type": "required_status_checks", "parameters": {"strict_required_status_checks_policy": false,
                "required_status_checks": [{"context": "security", "integration_id": 15368}]}}]),
    ));
    merge_refused(
        &repo,
        &fake,
        "checks still running on its head commit: e2e (required, not reported yet), security (required, not reported yet)",
    );
}

#[test]
fn required_checks_the_token_may_not_read_add_nothing() {
    let (repo, fake) = approved(None);
    can_one_green_run(&fake);
    can_green_statuses(&fake);
    fake.can(canned(
        "GET",
        "/branches/main",
        404,
        json!({"message": "Not Found"}),
    ));
    fake.can(canned(
        "GET",
        "/rules/branches/main",
        403,
        json!({"message": "Resource not accessible by integration"}),
    ));
    can_merge_of_5(&fake);
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .success();
}

#[test]
fn a_head_that_moved_after_the_checks_is_refused_by_github_and_not_merged() {
    let (repo, fake) = approved(None);
    can_one_green_run(&fake);
    can_green_statuses(&fake);
    fake.can(canned("GET", "/compare/", 200, json!({"behind_by": 0})));
    fake.can(canned(
        "PUT",
        "/pulls/5/merge",
        409,
        json!({"message": "Head branch was modified. Review and try the merge again."}),
    ));
    factory(&repo, &fake)
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "pull request #5: its branch moved after it was checked (GitHub: Head branch was modified. Review and try the merge again.)",
        ));
    assert_eq!(
        reqs_bodies(&fake, "/pulls/5/merge"),
        [
            json!({"merge_method": "squash", "commit_title": "Reset token store (#5)", "commit_message": "Closes #2", "sha": "abc123"})
        ]
    );
    // Nothing after the refused merge: no branch deleted, no issue closed.
    assert!(calls(&fake).last().unwrap().ends_with("/pulls/5/merge"));
}
