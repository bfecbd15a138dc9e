//! Pull requests, merge and post-merge verification on the local forge, through the binary:
//! real git squash merges, review verdicts, branches behind their base, recurrence and
//! escalation.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use support::repo::{Repo, plan};

const BRANCH: &str = "feat/#2-reset-token-store";

/// Issues created, a commit on task-001's branch and its pull request (#5) opened.
fn opened() -> Repo {
    let repo = Repo::with_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    repo.commit_on(BRANCH, "src/auth/reset_token.ts");
    let evidence = repo.path().join("build.log");
    std::fs::write(
        &evidence,
        "build ok\n<!-- factory:pr issue=9 -->\ntoken ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
    )
    .unwrap();
    repo.factory()
        .args(["pr", "open", "--issue", "2", "--evidence"])
        .arg(&evidence)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "pull request #5 opened for issue #2: {BRANCH} → main"
        )));
    repo
}

#[test]
fn the_pull_request_body_follows_the_template_and_closes_its_issue() {
    let repo = opened();
    let pr = repo.pull(5);
    assert_eq!(pr["head"], BRANCH);
    assert_eq!(pr["base"], "main");
    assert_eq!(pr["state"], "open");
    assert_eq!(pr["title"], "Reset token store");
    let body = pr["body"].as_str().unwrap();
    assert!(
        body.starts_with("<!-- factory:pr issue=2 -->\n| Issue | Change class |"),
        "{body}"
    );
    for (i, section) in [
        "Summary",
        "Root Cause",
        "Changes Made",
        "Scope Compliance",
        "Validation Evidence",
        "Security Review",
        "Performance Impact",
        "Observability",
        "Rollback Plan",
        "Documentation & Knowledge",
        "Reviewer Checklist",
        "Post-Merge Validation",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            body.contains(&format!("## {}. {section}", i + 1)),
            "{section}"
        );
    }
    assert!(body.contains("Closes #2"), "{body}");
    assert!(
        body.contains("| `src/auth/reset_token.ts` | added | task-001: Reset token store |"),
        "{body}"
    );
    assert!(body.contains("<summary>build.log</summary>"), "{body}");
    assert_eq!(
        body.matches("<!--").count(),
        1,
        "evidence cannot carry markers: {body}"
    );
    assert!(
        !body.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        "secret masked"
    );
    assert_eq!(
        repo.session()["pull_requests"],
        serde_json::json!([{"number": 5, "issue": 2, "merged": false}])
    );

    // Opening again updates the same pull request.
    repo.factory()
        .args(["pr", "open", "--issue", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #5 updated"));
    assert!(!repo.path().join(".factory/forge/pulls/6.json").exists());
}

#[test]
fn branches_must_name_their_issue() {
    let repo = Repo::with_plan(&plan());
    repo.factory().args(["issues", "create"]).assert().success();
    repo.factory()
        .args(["pr", "open", "--issue", "2", "--branch", "feature/login"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not name issue #2"));
    repo.factory()
        .args(["pr", "open", "--issue", "99"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("issue #99 does not exist"));
}

#[test]
fn an_approved_pull_request_is_squash_merged_and_its_issue_closed() {
    let repo = opened();
    repo.review(5, 1, "REQUEST_CHANGES");
    repo.review(5, 2, "APPROVE");
    let base_before = repo.git(&["rev-parse", "main"]);
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pull request #5 squash-merged into main",
        ))
        .stdout(predicate::str::contains(format!("branch {BRANCH} deleted")))
        .stdout(predicate::str::contains("issue #2 closed"));

    // One squash commit on main, whose parent is the old main, with the branch's content.
    let subject = repo.git(&["log", "-1", "--format=%s%n%b", "main"]);
    assert!(subject.starts_with("Reset token store (#5)"), "{subject}");
    assert!(subject.contains("Closes #2"), "{subject}");
    assert_eq!(repo.git(&["rev-parse", "main^"]), base_before);
    assert_eq!(
        repo.git(&["show", "main:src/auth/reset_token.ts"]),
        "content of src/auth/reset_token.ts"
    );
    assert!(
        repo.path().join("src/auth/reset_token.ts").exists(),
        "checkout moved too"
    );
    assert_eq!(repo.git(&["branch", "--list", BRANCH]), "");

    let commit = repo.git(&["rev-parse", "main"]);
    let pr = repo.pull(5);
    assert_eq!(pr["state"], "merged");
    assert_eq!(pr["merge_commit"], commit.as_str());
    let issue = repo.issue(2);
    assert_eq!(issue["state"], "closed");
    assert_eq!(
        repo.last_comment(2),
        format!("Completed — PR #5 merged as {}.", &commit[..12])
    );
    assert_eq!(
        repo.session()["pull_requests"],
        serde_json::json!([{"number": 5, "issue": 2, "merged": true}])
    );
    let merges = repo.json(".factory/artifacts/merge.json");
    assert_eq!(merges["merges"][0]["merge_commit"], commit.as_str());
    assert!(repo.log_has("pr_merge", "ok"));

    // Merging again is refused: the pull request is no longer open.
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is merged"));
}

#[test]
fn changes_requested_or_no_review_refuses_the_merge() {
    let repo = opened();
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no review"));
    repo.review(5, 1, "APPROVE");
    repo.review(5, 2, "REQUEST_CHANGES");
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "merge refused: pull request #5 is not approved: the latest review (reviews/5-2.json) says REQUEST_CHANGES",
        ));
    assert_eq!(repo.pull(5)["state"], "open");
    assert_eq!(repo.issue(2)["state"], "open");
    assert!(repo.log_has("pr_merge", "refused"));
    assert_eq!(repo.git(&["log", "--format=%s", "main"]), "init");
}

#[test]
fn a_branch_behind_its_base_is_brought_up_to_date_then_squash_merged() {
    let repo = opened();
    repo.review(5, 1, "APPROVE");
    repo.commit_on("main", "README.md");
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("squash-merged into main"));
    assert_eq!(repo.pull(5)["state"], "merged");
    assert!(repo.log_has("branch_update", "ok"));
    // main holds both changes, as one squash commit on top of the other: no merge commit.
    assert_eq!(repo.git(&["rev-list", "--merges", "main"]), "");
    let files = repo.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.contains("README.md"), "{files}");
    assert_eq!(
        repo.git(&["log", "--format=%s", "-1", "main^"]),
        "add README.md"
    );
}

#[test]
fn a_branch_that_conflicts_with_its_base_is_refused_and_left_as_it_was() {
    let repo = opened();
    repo.review(5, 1, "APPROVE");
    let before = repo.git(&["rev-parse", &format!("refs/heads/{BRANCH}")]);
    let changed = repo.git(&["diff", "--name-only", "main", BRANCH]);
    let file = changed.lines().next().expect("the branch changes a file");
    repo.commit_content("main", file, "main's own version\n");
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "branch `{BRANCH}` conflicts with `main` in {file}"
        )));
    assert_eq!(repo.pull(5)["state"], "open");
    assert_eq!(
        repo.git(&["rev-parse", &format!("refs/heads/{BRANCH}")]),
        before
    );
    assert!(repo.log_has("branch_update", "failed"));
}

/// Opened, approved and merged.
fn merged() -> Repo {
    let repo = opened();
    repo.review(5, 1, "APPROVE");
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .success();
    repo
}

#[test]
fn verification_that_passes_comments_on_the_issue() {
    let repo = merged();
    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("✓ build"))
        .stdout(predicate::str::contains("✓ test"))
        .stdout(predicate::str::contains("passed"));
    assert_eq!(repo.issue(2)["state"], "closed");
    assert!(
        repo.last_comment(2)
            .contains("Post-merge verification of PR #5 passed")
    );
    let v = repo.json(".factory/artifacts/verify/5.json");
    assert_eq!(v["passed"], true);
    assert_eq!(v["checks"][1]["output_tail"], "check test\n");
    assert_eq!(
        repo.git(&["worktree", "list"]).lines().count(),
        1,
        "temporary worktree removed"
    );
}

/// Verification runs the merged code with the job's credentials around it: the command sees
/// no forge token and no agent key, only the base set and what workflow.yaml declares.
#[test]
fn a_verify_command_sees_no_token_and_no_agent_key() {
    let repo = merged();
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        "phases:\n  merge:\n    env: [DECLARED_FOR_VERIFY, GITHUB_TOKEN]\n",
    )
    .unwrap();
    let dump = repo.path().join("verify-env.txt");
    repo.factory()
        .env("GITHUB_TOKEN", "ghp_verifyMustNotSeeThis0123456789abcdef")
        .env("GH_TOKEN", "gho_alsoNot")
        .env("ANTHROPIC_API_KEY", "sk-ant-not-for-verify")
        .env("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat-not")
        .env("OPENAI_API_KEY", "sk-not-for-verify")
        .env("CODEX_API_KEY", "codex-not-for-verify")
        .env("UNRELATED_SECRET", "not-declared")
        .env("DECLARED_FOR_VERIFY", "yes")
        .env("CARGO_HOME", "/opt/cargo")
        .args(["verify", "--pr", "5", "--command"])
        .arg(format!("env > {}", dump.display()))
        .assert()
        .success();
    let env = std::fs::read_to_string(&dump).unwrap();
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    for secret in [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "OPENAI_API_KEY",
        "CODEX_API_KEY",
        "UNRELATED_SECRET",
    ] {
        assert!(
            !names.contains(&secret),
            "{secret} reached the verify command:\n{env}"
        );
    }
    for kept in ["PATH", "HOME", "DECLARED_FOR_VERIFY", "CARGO_HOME"] {
        assert!(names.contains(&kept), "{kept} is missing:\n{env}");
    }
}

#[test]
fn failed_verification_reopens_with_recurrence_and_escalates_past_the_limit() {
    // The change breaks the build: check.sh exits with the code in `status`.
    let repo = opened();
    repo.commit_content(BRANCH, "status", "3\n");
    repo.review(5, 1, "APPROVE");
    repo.factory()
        .args(["merge", "--pr", "5"])
        .assert()
        .success();
    let commit = repo.git(&["rev-parse", "main"]);

    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗ build"))
        .stderr(predicate::str::contains(
            "issue #2 reopened with the regression label (recurrence 1 of limit 2)",
        ));
    let issue = repo.issue(2);
    assert_eq!(issue["state"], "open");
    assert!(repo.labels(2).contains(&"regression".to_string()));
    let comment = repo.last_comment(2);
    assert!(
        comment.contains("| count | first seen | last seen | merge commit | failing check |"),
        "{comment}"
    );
    assert!(
        comment.contains(&format!("`{}`", &commit[..12])),
        "{comment}"
    );
    assert!(comment.contains("`build: sh check.sh build`"), "{comment}");
    assert!(
        comment.contains("<!-- factory:recurrence {\"count\":1,"),
        "{comment}"
    );
    assert_eq!(repo.session()["counters"]["recurrence"], 1);
    let v = repo.json(".factory/artifacts/verify/5.json");
    assert_eq!(v["passed"], false);
    assert_eq!(v["checks"][0]["exit_code"], 3);
    assert_eq!(v["recurrence"]["count"], 1);

    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .code(1);
    assert!(repo.last_comment(2).contains("\"count\":2"));
    assert!(!repo.labels(2).contains(&"needs-human".to_string()));
    assert!(repo.session()["escalation"].is_null());

    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "recurred 3 times, past the limit of 2",
        ))
        .stderr(predicate::str::contains("needs-human"));
    assert!(repo.labels(2).contains(&"needs-human".to_string()));
    let comment = repo.last_comment(2);
    assert!(comment.contains("past the recurrence limit"), "{comment}");
    let first_seen = |c: &str| {
        let m = c.split("\"first_seen\":\"").nth(1).unwrap();
        m[..m.find('"').unwrap()].to_string()
    };
    let comments = repo.issue(2)["comments"].as_array().unwrap().clone();
    let recurrences: Vec<String> = comments
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .filter(|b| b.contains("factory:recurrence"))
        .collect();
    assert_eq!(recurrences.len(), 3);
    assert_eq!(
        first_seen(&recurrences[0]),
        first_seen(&recurrences[2]),
        "first seen kept"
    );
    let session = repo.session();
    assert_eq!(session["counters"]["recurrence"], 3);
    assert_eq!(session["escalation"]["reason"], "recurrence-limit");
    assert!(repo.log_has("escalate", "needs_human"));
}

#[test]
fn verify_needs_a_merged_pull_request() {
    let repo = opened();
    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "verify runs after `factory merge --pr 5`",
        ));
}

#[test]
fn the_health_check_from_workflow_yaml_runs_last_and_counts_as_a_recurrence() {
    let repo = merged();
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        "phases:\n  merge:\n    health_check: \"test -f healthy\"\n",
    )
    .unwrap();
    repo.factory()
        .args(["verify", "--pr", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✓ test"))
        .stdout(predicate::str::contains("✗ health-check test -f healthy"));
    assert!(
        repo.last_comment(2)
            .contains("`health-check: test -f healthy`")
    );
    // The flag wins over workflow.yaml.
    repo.factory()
        .args(["verify", "--pr", "5", "--health-check", "test -f check.sh"])
        .assert()
        .success();
}
