//! The whole pipeline through `factory run "<request>"`, offline: the built-in phases with the
//! fake `claude` (planner, reviewer) and `codex` (implementer) of tests/fixtures/agents, on the
//! local forge. One run goes from the request to the scorecard, with one implementation retry
//! (validation fails, then passes) and one review cycle that requests changes.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use serde_json::{Value, json};
use support::agents::{agent_fixtures, review_answer};
use support::repo::{Repo, manifest, plan};

/// check.sh fails while the token module says BROKEN: the validation the plans name.
const CHECK: &str = "echo \"check $1\"\nif grep -q BROKEN src/auth/reset_token.ts 2>/dev/null; then echo \"error: reset_token.ts is broken\" >&2; exit 1; fi\n";

/// The repository, with the fake agents' answers in `.factory/fake` and a workflow that lets
/// every role reach them.
fn scratch() -> Repo {
    let repo = Repo::new();
    std::fs::write(repo.path().join("check.sh"), CHECK).unwrap();
    repo.git(&["add", "check.sh"]);
    repo.git(&["commit", "-q", "-m", "check.sh fails on BROKEN"]);
    let fake = repo.path().join(".factory/fake");
    std::fs::create_dir_all(&fake).unwrap();
    for entry in std::fs::read_dir(agent_fixtures()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, fake.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 2\nagents:\n  planner:\n    env: [FAKE_AGENT_DIR]\n  implementer:\n    env: [FAKE_AGENT_DIR]\n  reviewer:\n    env: [FAKE_AGENT_DIR]\n",
    )
    .unwrap();

    // The planner's strategic plan as it comes: three tasks in two waves, the third
    // depending on the other two, validated by check.sh.
    let mut strategic = plan();
    strategic["threat_assessment"] = json!({
        "summary": "Reset tokens are bearer credentials sent by e-mail; brute force is the risk.",
        "threats": []
    });
    write(&repo, "strategic.json", &strategic);
    // A tactical plan per task issue (the parent is #1; tasks #2, #3 and #4), each inside
    // its task's scope.
    for (issue, task, files, out) in [
        (
            2,
            "task-001",
            vec!["src/auth/reset_token.ts", "src/auth/reset_token.test.ts"],
            vec!["src/auth/session.ts"],
        ),
        (3, "task-002", vec!["templates/email/reset.txt"], vec![]),
        (
            4,
            "task-003",
            vec!["src/routes/password.ts", "src/routes/password.test.ts"],
            vec!["src/auth/"],
        ),
    ] {
        write(
            &repo,
            &format!("tactical-{issue}.json"),
            &tactical(issue, task, &files, &out),
        );
    }
    // The first review asks for a constant-time comparison.
    write(
        &repo,
        "changes.json",
        &review_answer(
            "REQUEST_CHANGES",
            json!([{"severity": "important", "category": "auth", "file": "src/auth/reset_token.ts",
                "line": 1, "description": "the token comparison is not constant-time",
                "recommendation": "compare in constant time"}]),
        ),
    );
    // The implementer's edits, as scripts the fake codex runs in its worktree.
    for (name, script) in [
        (
            "broken.sh",
            "mkdir -p src/auth && echo 'BROKEN' > src/auth/reset_token.ts\n",
        ),
        (
            "good.sh",
            "mkdir -p src/auth && echo 'export const ok = 1;' > src/auth/reset_token.ts\n",
        ),
        (
            "review.sh",
            "echo 'export const ok = 2; // constant-time compare' > src/auth/reset_token.ts\n",
        ),
        (
            "template.sh",
            "mkdir -p templates/email && echo 'Reset your password: {{link}}' > templates/email/reset.txt\n",
        ),
        // Wave 2 records what its worktree holds of wave 1's work before it writes its own.
        (
            "routes.sh",
            "{ cat src/auth/reset_token.ts templates/email/reset.txt; } > \"$FAKE_AGENT_DIR/wave2-saw\" 2>&1\nmkdir -p src/routes && echo 'import { ok } from \"../auth/reset_token\";' > src/routes/password.ts\n",
        ),
    ] {
        std::fs::write(fake.join(name), script).unwrap();
    }
    repo
}

/// A tactical plan for `issue` (task `task`) changing `files`, validated by check.sh.
fn tactical(issue: u64, task: &str, files: &[&str], out: &[&str]) -> Value {
    let mut t: Value = serde_json::from_slice(
        &std::fs::read(manifest("evals/plans/valid-tactical-plan.json")).unwrap(),
    )
    .unwrap();
    t["issue_number"] = issue.into();
    t["task_id"] = task.into();
    t["implementation_steps"] = files
        .iter()
        .enumerate()
        .map(|(i, f)| json!({"order": i + 1, "file": f, "action": "create", "description": "as the task says"}))
        .collect();
    t["new_files"] = json!([{"path": files[0], "purpose": "the task's code"}]);
    t["test_strategy"] = json!({"unit_tests": [], "edge_cases": []});
    t["context_files_for_implementer"] = json!([]);
    t["handoff"]["in_scope_files"] = json!(files);
    t["handoff"]["out_of_scope_files"] = json!(out);
    t["handoff"]["validation_commands"] =
        json!({"build": "sh check.sh build", "test": "sh check.sh test"});
    t
}

fn write(repo: &Repo, name: &str, value: &Value) {
    std::fs::write(
        repo.path().join(".factory/fake").join(name),
        serde_json::to_string_pretty(value).unwrap(),
    )
    .unwrap();
}

fn fake(repo: &Repo, name: &str) -> String {
    std::fs::read_to_string(repo.path().join(".factory/fake").join(name)).unwrap_or_default()
}

/// `factory run` of the password-reset feature with `cmd` (the fake agents on its PATH), which
/// must complete.
fn run_feature(mut cmd: assert_cmd::Command) {
    cmd.env("CODEX_API_KEY", "test-key")
        .args([
            "run",
            "Let users reset their password by e-mail",
            "--class",
            "feature",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
}

/// The agents' calls for the three-task, two-wave feature, one per line, shared by both fakes in
/// the order the phases make them.
const WAVES_SCRIPT: [&str; 13] = [
    "ok:strategic.json",      // 1 strategic_plan (claude)
    "ok:tactical-2.json",     // 2 wave 1: tactical_plan for #2 (claude)
    "ok:tactical-3.json",     // 3          tactical_plan for #3
    "edit:broken.sh",         // 4 implementation of #2 (codex): validation fails
    "edit:good.sh",           // 5 retry: passes, PR #5 opened
    "edit:template.sh",       // 6 implementation of #3: PR #6
    "ok:changes.json",        // 7 code_review of #5: requests changes
    "ok:review-approve.json", // 8 code_review of #6: approves
    "edit:review.sh",         // 9 rework of #2 only, on the same branch
    "ok:review-approve.json", // 10 #5 approved; #6 keeps its approval
    "ok:tactical-4.json",     // 11 wave 2: tactical_plan for #4, after wave 1 merged
    "edit:routes.sh",         // 12 implementation of #4 from the new main: PR #7
    "ok:review-approve.json", // 13 code_review of #7
];

#[test]
fn a_feature_of_three_tasks_in_two_waves_ships_with_one_retry_and_one_task_sent_back() {
    let repo = scratch();
    std::fs::write(
        repo.path().join(".factory/fake/script"),
        WAVES_SCRIPT.join("\n") + "\n",
    )
    .unwrap();
    run_feature(repo.factory_with_agents());

    assert_eq!(
        fake(&repo, "count").trim(),
        "13",
        "thirteen agent calls, in order: no review of an approved, unchanged pull request"
    );
    // Each call got what its phase is about.
    assert!(fake(&repo, "prompt-2").contains("task-001"));
    assert!(fake(&repo, "prompt-3").contains("task-002"));
    assert!(fake(&repo, "prompt-11").contains("task-003"));
    assert!(
        fake(&repo, "prompt-5").contains("reset_token.ts is broken"),
        "the retry carries the failing validation output"
    );
    assert!(
        fake(&repo, "prompt-9").contains("the token comparison is not constant-time"),
        "the rework carries the review's finding"
    );
    assert!(
        !fake(&repo, "env-4").contains("GITHUB_TOKEN"),
        "the implementer never holds a forge token"
    );
    // Wave 2 was cut from main after wave 1 merged: its worktree had wave 1's files.
    let saw = fake(&repo, "wave2-saw");
    assert!(saw.contains("constant-time compare"), "{saw}");
    assert!(saw.contains("Reset your password"), "{saw}");

    let s = repo.session();
    for phase in factory::workflow::PhaseName::ALL.map(|p| p.as_str()) {
        assert_eq!(s["phases"][phase]["status"], "completed", "{phase}");
    }
    assert_eq!(s["counters"]["implementation_retries"], 1);
    assert!(s.get("rework").is_none());
    let waves: Vec<(u64, &str, Value)> = s["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["wave"].as_u64().unwrap(),
                w["status"].as_str().unwrap(),
                w["issues"].clone(),
            )
        })
        .collect();
    assert_eq!(
        waves,
        [(1, "merged", json!([2, 3])), (2, "merged", json!([4]))]
    );
    let prs: Vec<(u64, u64, bool)> = s["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["number"].as_u64().unwrap(),
                p["issue"].as_u64().unwrap(),
                p["merged"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(prs, [(5, 2, true), (6, 3, true), (7, 4, true)]);
    assert_eq!(
        s["usage"].as_array().unwrap().len(),
        13,
        "every call in the ledger"
    );

    // The forge: every task issue closed by its squash merge, the parent at completion.
    for issue in 1..=4 {
        assert_eq!(repo.issue(issue)["state"], "closed", "#{issue}");
    }
    for pr in 5..=7 {
        assert_eq!(repo.pull(pr)["state"], "merged", "#{pr}");
    }
    // main: one squash commit per task, in wave order, and no merge commit.
    let log = repo.git(&["log", "--format=%s", "main"]);
    let subjects: Vec<&str> = log.lines().take(3).collect();
    assert!(subjects[0].ends_with("(#7)"), "{log}");
    assert!(subjects[1].ends_with("(#6)"), "{log}");
    assert!(subjects[2].ends_with("(#5)"), "{log}");
    assert_eq!(repo.git(&["rev-list", "--merges", "main"]), "");
    for file in [
        "src/auth/reset_token.ts",
        "templates/email/reset.txt",
        "src/routes/password.ts",
    ] {
        repo.git(&["cat-file", "-e", &format!("main:{file}")]);
    }
    let merged = repo.git(&["show", "main:src/auth/reset_token.ts"]);
    assert!(merged.contains("constant-time"), "{merged}");
    let reviews = repo.json(".factory/forge/reviews/5.json");
    assert_eq!(reviews[0]["event"], "REQUEST_CHANGES");
    assert_eq!(reviews[1]["event"], "APPROVE");
    assert_eq!(
        repo.json(".factory/forge/reviews/6.json")
            .as_array()
            .unwrap()
            .len(),
        1,
        "#6 was reviewed once: the rework of #5 did not touch it"
    );
    // #6 fell behind main when #5 merged: factory brought it up to date itself.
    assert!(repo.log_has("branch_update", "ok"));
    assert!(repo.log_has("wave", "started"));

    // The scorecard counts what happened: one extra review of one of three pull requests and
    // one retry.
    let sid = s["id"].as_str().unwrap();
    let card = repo.json(&format!(".factory/scorecards/{sid}.json"));
    assert_eq!(card["quality"]["review_cycles_avg"], 1.33);
    assert_eq!(
        card["tasks"],
        json!({"total": 3, "completed": 3, "failed": 0, "blocked": 0}),
        "the parent issue is not a task"
    );
    assert!(card["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(card["cost_by_phase"]["code_review"].as_f64().unwrap() > 0.0);
    let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
    assert!(report.contains("Cost by phase"), "{report}");
    assert!(report.contains("Wave 2"), "{report}");
    assert!(
        repo.path().join(".factory/lessons").exists(),
        "completion wrote the lessons"
    );
}

/// A hotfix session on `scratch()`: validation by check.sh, `health` as the health check, the
/// fake agents' answers in order.
fn hotfix(health: Option<&str>, script: &[&str]) -> Repo {
    let repo = scratch();
    let path = repo.path().join(".factory/workflow.yaml");
    let mut yaml = std::fs::read_to_string(&path).unwrap();
    yaml.push_str("phases:\n  implementation:\n    validation:\n      test: sh check.sh test\n");
    if let Some(h) = health {
        yaml.push_str(&format!("  merge:\n    health_check: \"{h}\"\n"));
    }
    std::fs::write(&path, yaml).unwrap();
    std::fs::write(
        repo.path().join(".factory/fake/script"),
        script.join("\n") + "\n",
    )
    .unwrap();
    repo.intake(
        "Checkout returns 500 for every order since the last release",
        "hotfix",
    );
    repo
}

/// Runs `factory run --resume`, up to `phase` when given.
fn resume(repo: &Repo, phase: Option<&str>) -> assert_cmd::assert::Assert {
    let mut cmd = repo.factory_with_agents();
    cmd.env("CODEX_API_KEY", "test-key")
        .args(["run", "--resume"]);
    if let Some(p) = phase {
        cmd.args(["--phase", p]);
    }
    cmd.assert()
}

#[test]
fn a_hotfix_whose_verification_fails_reopens_its_issue_and_stops_for_a_person() {
    let repo = hotfix(
        Some("echo health check: 503 from /healthz; exit 1"),
        &["edit:good.sh", "ok:review-approve.json"],
    );
    resume(&repo, None).code(1);
    // The fix merged (#2 closes the inline issue #1), then verification failed: the issue is
    // open again with the regression label and the recurrence recorded for machines.
    assert_eq!(repo.pull(2)["state"], "merged");
    let issue = repo.issue(1);
    assert_eq!(issue["state"], "open", "{issue}");
    assert!(repo.labels(1).contains(&"regression".to_string()));
    assert!(
        issue["comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["body"].as_str().unwrap().contains("factory:recurrence")),
        "{issue}"
    );
    let verify = repo.json(".factory/artifacts/verify/2.json");
    assert_eq!(verify["passed"], false);
    assert!(
        verify["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "health-check" && c["ok"] == false),
        "{verify}"
    );
    // The retry verified again instead of finding nothing left to merge.
    let s = repo.session();
    assert!(s["escalation"].is_object(), "{s}");
    assert_ne!(s["phases"]["merge"]["status"], "completed");
    assert!(s["counters"]["recurrence"].as_u64().unwrap() >= 2, "{s}");
}

#[test]
fn a_stale_pull_request_is_brought_up_to_date_and_merged_without_another_review() {
    let repo = hotfix(None, &["edit:good.sh", "ok:review-approve.json"]);
    resume(&repo, Some("implementation")).success();
    resume(&repo, Some("code_review")).success();
    // Someone lands an unrelated change on main first.
    repo.commit_on("main", "docs/CHANGELOG.md");
    resume(&repo, None).success();
    assert_eq!(repo.pull(2)["state"], "merged");
    assert_eq!(
        repo.fake_file("count").trim(),
        "2",
        "the update left the diff as reviewed: no second review"
    );
    assert!(repo.log_has("branch_update", "ok"));
    let files = repo.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.contains("docs/CHANGELOG.md") && files.contains("src/auth/reset_token.ts"));
    assert_eq!(repo.git(&["rev-list", "--merges", "main"]), "");
    // Verification ran the validation commands on the merge commit: never a silent skip.
    assert_eq!(
        repo.json(".factory/artifacts/verify/2.json")["passed"],
        true
    );
}

#[test]
fn a_conflict_with_main_goes_back_to_implementation_then_review_then_merges() {
    let repo = hotfix(
        None,
        &[
            "edit:good.sh",
            "ok:review-approve.json",
            "edit:resolve.sh",
            "ok:review-approve.json",
        ],
    );
    std::fs::write(
        repo.path().join(".factory/fake/resolve.sh"),
        "{ grep -c '^<<<<<<<' src/auth/reset_token.ts || true; } > \"$FAKE_AGENT_DIR/markers-seen\"\nprintf 'export const ok = 1;\\nexport const fromMain = 1;\\n' > src/auth/reset_token.ts\n",
    )
    .unwrap();
    resume(&repo, Some("implementation")).success();
    resume(&repo, Some("code_review")).success();
    // main changes the same file first.
    repo.commit_content(
        "main",
        "src/auth/reset_token.ts",
        "export const fromMain = 1;\n",
    );
    resume(&repo, None).success();

    assert_eq!(fake(&repo, "count").trim(), "4");
    assert_eq!(
        fake(&repo, "markers-seen").trim(),
        "1",
        "the implementer got the branch with main merged in and the conflict marked"
    );
    assert!(fake(&repo, "prompt-3").contains("conflicts with `main`"));
    assert_eq!(repo.pull(2)["state"], "merged");
    let merged = repo.git(&["show", "main:src/auth/reset_token.ts"]);
    assert!(
        merged.contains("fromMain") && merged.contains("ok"),
        "{merged}"
    );
    assert_eq!(repo.git(&["rev-list", "--merges", "main"]), "");
    let s = repo.session();
    assert_eq!(
        s["counters"]["implementation_retries"], 1,
        "the conflict counted as a retry"
    );
    assert_eq!(
        s["pull_requests"][0]["review_cycle"], 2,
        "reviewed again after the change"
    );
    assert!(repo.log_has("send_back", "rework"));
}

#[test]
fn the_same_feature_ships_on_github_through_the_api() {
    github_waves(false, false);
}

#[test]
fn on_github_a_stale_pull_request_can_be_rebased_and_pushed_with_a_lease() {
    github_waves(true, false);
}

#[test]
fn on_github_a_branch_that_moved_after_its_checks_is_reviewed_again_before_it_merges() {
    github_waves(false, true);
}

/// The three-task, two-wave feature on the fake GitHub API; with `rebase`, branches behind
/// their base are rebased locally and pushed instead of GitHub's update-branch; with
/// `head_moved`, GitHub refuses the first merge of #5 with 409 (a push after the checks), and
/// #5 is reviewed once more before it merges.
fn github_waves(rebase: bool, head_moved: bool) {
    let repo = scratch();
    let path = repo.path().join(".factory/workflow.yaml");
    // CI needs a moment on every new head (the fake reports no check on a commit's first
    // look): the merge waits on the backoff schedule for a few more tries than locally.
    let mut yaml = std::fs::read_to_string(&path)
        .unwrap()
        .replace("max_attempts: 2", "max_attempts: 4");
    if rebase {
        yaml.push_str("phases:\n  merge:\n    update: rebase\n");
    }
    std::fs::write(&path, yaml).unwrap();
    let mut script = WAVES_SCRIPT.to_vec();
    if head_moved {
        // After the 409: #5 is reviewed again (and approved), then wave 1 merges.
        script.insert(10, "ok:review-approve.json");
    }
    std::fs::write(
        repo.path().join(".factory/fake/script"),
        script.join("\n") + "\n",
    )
    .unwrap();
    // The GitHub repository: a bare repository the API serves and the clone pushes to.
    let origin = tempfile::tempdir().unwrap();
    let bare = origin.path().join("shop.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let api = support::github::Fake::with_origin(&bare);
    if head_moved {
        api.world.lock().unwrap().push_before_merge = Some(5);
    }
    let mut cmd = repo.factory_with_agents();
    cmd.env("GITHUB_TOKEN", support::github::TOKEN)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", api.api())
        .env("FACTORY_GITHUB_TIME_SCALE", "0.001");
    run_feature(cmd);

    assert_eq!(fake(&repo, "count").trim(), script.len().to_string());
    let saw = fake(&repo, "wave2-saw");
    assert!(saw.contains("constant-time compare"), "{saw}");
    assert!(saw.contains("Reset your password"), "{saw}");
    // The GitHub repository's main: one squash commit per task, in wave order, no merge commit,
    // every task's files.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&bare)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let log = git(&["log", "--format=%s", "main"]);
    let subjects: Vec<&str> = log.lines().take(3).collect();
    // Newest first; when GitHub refused #5's first merge, #6 merged before it.
    let order = if head_moved {
        ["(#7)", "(#5)", "(#6)"]
    } else {
        ["(#7)", "(#6)", "(#5)"]
    };
    for (subject, pr) in subjects.iter().zip(order) {
        assert!(subject.ends_with(pr), "{log}");
    }
    assert_eq!(git(&["rev-list", "--merges", "main"]), "");
    let files = git(&["ls-tree", "-r", "--name-only", "main"]);
    for file in [
        "src/auth/reset_token.ts",
        "templates/email/reset.txt",
        "src/routes/password.ts",
    ] {
        assert!(files.contains(file), "{file} not on main: {files}");
    }
    // The push after the review merged only after a review that saw it.
    assert_eq!(files.contains("PUSHED_BY_HAND.md"), head_moved, "{files}");
    for n in 1..=4 {
        assert_eq!(api.issue(n)["state"], "closed", "#{n}");
    }
    for n in 5..=7 {
        assert_eq!(api.issue(n)["merged"], true, "#{n}");
    }
    let calls = support::github::calls(&api);
    // The second of wave 1 fell behind when the first merged: updated through the API with the
    // head it was reviewed at (or rebased and pushed), then merged without another review.
    let second = if head_moved { 5 } else { 6 };
    assert_eq!(
        calls
            .iter()
            .any(|c| c.ends_with(&format!("/pulls/{second}/update-branch"))),
        !rebase,
        "{calls:#?}"
    );
    if rebase {
        let log = std::fs::read_to_string(repo.path().join(".factory/workflow.log")).unwrap();
        assert!(
            log.lines()
                .any(|l| l.contains("\"branch_update\"") && l.contains("(rebase)")),
            "{log}"
        );
    }
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("POST") && c.ends_with(&format!("/pulls/{second}/reviews")))
            .count(),
        // #5: changes requested, approved, and approved again after the push.
        if head_moved { 3 } else { 1 }
    );
    let s = repo.session();
    assert_eq!(s["waves"][1]["status"], "merged");
    assert_eq!(s["phases"]["completion"]["status"], "completed");

    // GitHub's rules, met rather than run into.
    let reqs = api.requests();
    // One identity opened the pull requests and reviews them: every review is one COMMENT
    // carrying the verdict, none refused first.
    let reviews: Vec<&support::github::Request> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/reviews"))
        .collect();
    assert_eq!(reviews.len(), 4 + usize::from(head_moved), "{calls:#?}");
    assert!(reviews.iter().all(|r| r.body["event"] == "COMMENT"));
    assert!(reviews.iter().any(|r| {
        r.body["body"]
            .as_str()
            .unwrap()
            .contains("**changes requested**")
    }));
    let refused: Vec<String> = reqs
        .iter()
        .filter(|r| matches!(r.status, 403 | 409 | 422 | 429))
        .filter(|r| !(head_moved && r.status == 409 && r.path.ends_with("/pulls/5/merge")))
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect();
    assert!(refused.is_empty(), "GitHub refused: {refused:#?}");
    let log = std::fs::read_to_string(repo.path().join(".factory/workflow.log")).unwrap();
    // Every merge names the head its checks were read on.
    let merges: Vec<&support::github::Request> = reqs
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/merge"))
        .collect();
    assert_eq!(merges.len(), 3 + usize::from(head_moved));
    if head_moved {
        assert!(
            log.lines().any(|l| l.contains("\"send_back\"")
                && l.contains("its branch moved after it was checked")),
            "{log}"
        );
        assert_eq!(s["pull_requests"][0]["review_cycle"], 3, "{s}");
    }
    assert!(
        merges.iter().all(|r| r.body["sha"].is_string()),
        "{merges:#?}"
    );
    // Right after each push no check had reported: the merge waited for CI instead of
    // counting nothing as green.
    assert!(
        log.contains("no check has reported on its head commit yet"),
        "{log}"
    );
    // Each issue was created with its final body: no task issue's body was edited after.
    for n in 2..=4 {
        assert!(
            !reqs.iter().any(|r| r.method == "PATCH"
                && r.path.ends_with(&format!("/issues/{n}"))
                && r.body.get("body").is_some()),
            "#{n} was edited after its creation"
        );
    }
    // The tasks are the parent's sub-issues.
    assert_eq!(
        api.world.lock().unwrap().sub_issues,
        vec![(1, 2), (1, 3), (1, 4)]
    );
}

/// `factory status --json`.
fn status(repo: &Repo) -> Value {
    let out = repo.factory().args(["status", "--json"]).output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_run_cut_into_one_job_per_phase_resumes_at_the_right_wave() {
    let repo = scratch();
    std::fs::write(
        repo.path().join(".factory/fake/script"),
        WAVES_SCRIPT.join("\n") + "\n",
    )
    .unwrap();
    repo.intake("Let users reset their password by e-mail", "feature");
    for phase in [
        "strategic_plan",
        "issue_creation",
        "tactical_plan",
        "implementation",
        "code_review",
    ] {
        resume(&repo, Some(phase)).success();
    }
    // The review sent #2 back: implementation is due again, still in wave 1.
    let st = status(&repo);
    assert_eq!(st["next_phase"], "implementation");
    assert_eq!(st["outputs"]["wave"], 1);
    assert_eq!(
        st["outputs"]["wave_matrix"],
        json!({"include": []}),
        "both wave-1 tasks are implemented; #2's rework is the phase's own"
    );
    for phase in ["implementation", "code_review", "merge"] {
        resume(&repo, Some(phase)).success();
    }
    // Wave 1 merged: the per-wave phases are due again for wave 2, which starts from main.
    let st = status(&repo);
    assert_eq!(st["next_phase"], "tactical_plan");
    assert_eq!(st["outputs"]["wave"], 2);
    assert_eq!(
        st["outputs"]["waves"],
        json!([
            {"wave": 1, "status": "merged", "issues": [2, 3]},
            {"wave": 2, "status": "running", "issues": [4]}
        ])
    );
    assert_eq!(
        st["outputs"]["wave_matrix"],
        json!({"include": [{"issue": 4, "task": "task-003", "wave": 2}]})
    );
    let text = repo.factory().arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("wave 1: merged (#2, #3)"), "{text}");
    assert!(text.contains("wave 2: running (#4)"), "{text}");
    repo.factory_with_agents()
        .args(["run", "--resume", "--phase", "completion"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tactical_plan comes first in the feature route",
        ));
    resume(&repo, None)
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    assert_eq!(fake(&repo, "count").trim(), "13");
    assert!(fake(&repo, "wave2-saw").contains("constant-time compare"));
    assert_eq!(status(&repo)["outputs"]["wave"], Value::Null);
}

#[test]
fn a_merge_whose_route_asks_for_verification_with_nothing_to_run_says_so() {
    // A hotfix whose change came from elsewhere (a person, or an implementation program of the
    // team's own), with no validation commands and no health check configured.
    let repo = Repo::new();
    repo.intake("Checkout returns 500 for every order", "hotfix");
    repo.factory()
        .args(["issues", "create", "--inline"])
        .assert()
        .success();
    let branch = repo.session()["issues"][0]["branch"]
        .as_str()
        .unwrap()
        .to_string();
    repo.commit_on(&branch, "src/checkout.py");
    repo.factory()
        .args(["pr", "open", "--issue", "1"])
        .assert()
        .success();
    repo.review(2, 1, "APPROVE");
    let path = repo.path().join(".factory/session.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for p in ["implementation", "code_review"] {
        s["phases"][p]["status"] = "completed".into();
    }
    s["phases"]["code_review"]["artifact"] = "reviews/2-1.json".into();
    std::fs::write(&path, s.to_string()).unwrap();
    std::fs::write(
        repo.path().join(".factory/artifacts/implementation.json"),
        "{}",
    )
    .unwrap();
    repo.factory()
        .args(["run", "--resume", "--phase", "merge"])
        .assert()
        .success();
    assert_eq!(repo.pull(2)["state"], "merged");
    let detail = repo.session()["phases"]["merge"]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("post-merge verification NOT run for #2: nothing to run"),
        "{detail}"
    );
    assert!(repo.log_has("verify", "skipped"));
    let pr = repo.pull(2);
    assert!(
        pr["comments"].as_array().unwrap().iter().any(|c| c["body"]
            .as_str()
            .unwrap()
            .contains("Post-merge verification was **not run**")),
        "{pr}"
    );
    assert_eq!(
        repo.json(".factory/artifacts/verify/2.json")["skipped"],
        "nothing to run"
    );
    let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
    assert!(report.contains("skipped"), "{report}");
}

/// Merges with `FACTORY_VERIFY=deferred`: the merge leaves the checks for `factory verify
/// --pending`, which a job without tokens runs, and `factory apply` reports the verdict.
fn merged_with_verification_left(health: &str) -> (Repo, std::path::PathBuf) {
    let dump = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let health = health.replace("DUMP", &dump.display().to_string());
    let repo = hotfix(Some(&health), &["edit:good.sh", "ok:review-approve.json"]);
    repo.factory_with_agents()
        .env("CODEX_API_KEY", "test-key")
        .env("FACTORY_VERIFY", "deferred")
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "left for `factory verify --pending`",
        ));
    assert_eq!(repo.pull(2)["state"], "merged");
    let pending = repo.json(".factory/artifacts/verify/2.json");
    assert_eq!(pending["pending"], true, "{pending}");
    assert!(repo.log_has("verify", "deferred"));
    // Nothing runs past the merge while its verification waits.
    assert_ne!(
        repo.session()["phases"]["completion"]["status"],
        "completed"
    );
    resume(&repo, None).code(2).stderr(predicate::str::contains(
        "run `factory verify --pending` first",
    ));
    (repo, dump)
}

#[test]
fn a_verification_left_for_its_own_job_runs_without_credentials_and_reports_through_apply() {
    let (repo, dump) = merged_with_verification_left("env > DUMP");
    repo.factory()
        .env("GITHUB_TOKEN", "ghp_verifyJobMustNotSeeThis0123456789ab")
        .env("ANTHROPIC_API_KEY", "sk-ant-not-for-verify")
        .env("CODEX_API_KEY", "codex-not-for-verify")
        .env("FACTORY_WRITES", "deferred")
        .args(["verify", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("✓ health-check"))
        .stdout(predicate::str::contains(
            "waits for `factory apply --pending`",
        ));
    let env = std::fs::read_to_string(&dump).unwrap();
    for secret in ["GITHUB_TOKEN", "ANTHROPIC_API_KEY", "CODEX_API_KEY"] {
        assert!(
            !env.lines().any(|l| l.starts_with(&format!("{secret}="))),
            "{secret} reached the verification:\n{env}"
        );
    }
    // The forge has not been told yet: no token was there to tell it.
    assert!(!repo.last_comment(1).contains("Post-merge verification"));
    let v = repo.json(".factory/artifacts/verify/2.json");
    assert_eq!(
        (v["passed"].clone(), v["reported"].clone()),
        (json!(true), json!(false))
    );
    repo.factory()
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("passed: reported on issue #1"));
    assert!(
        repo.last_comment(1)
            .contains("Post-merge verification of PR #2 passed"),
        "{}",
        repo.last_comment(1)
    );
    assert_eq!(
        repo.json(".factory/artifacts/verify/2.json")["reported"],
        true
    );
    // The session goes on to completion.
    resume(&repo, None)
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    let _ = std::fs::remove_file(dump);
}

#[test]
fn a_failed_verification_from_its_own_job_reopens_the_issue_through_apply() {
    let (repo, dump) = merged_with_verification_left("echo 503 from /healthz; exit 1");
    repo.factory()
        .args(["verify", "--pending", "--defer-writes"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗ health-check"));
    assert_eq!(repo.issue(1)["state"], "closed", "nothing written yet");
    repo.factory()
        .args(["apply", "--pending"])
        .assert()
        .success();
    assert_eq!(repo.issue(1)["state"], "open");
    assert!(repo.labels(1).contains(&"regression".to_string()));
    assert!(repo.last_comment(1).contains("factory:recurrence"));
    let s = repo.session();
    assert_eq!(s["phases"]["merge"]["status"], "failed", "{s}");
    let v = repo.json(".factory/artifacts/verify/2.json");
    assert_eq!(v["recurrence"]["count"], 1, "{v}");
    assert!(
        v["checks"][1]["output_tail"]
            .as_str()
            .unwrap()
            .contains("503 from /healthz"),
        "the output stays in the state: {v}"
    );
    let _ = std::fs::remove_file(dump);
}

/// The verdict comes from a job that ran the merged code: a verdict for another commit, or
/// one that contradicts its own checks, is refused and nothing is written.
#[test]
fn a_verification_verdict_that_the_forge_does_not_confirm_is_refused() {
    let (repo, dump) = merged_with_verification_left("true");
    repo.factory()
        .args(["verify", "--pending", "--defer-writes"])
        .assert()
        .success();
    let outbox = repo.path().join(".factory/outbox");
    let file = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("-merge-verification-2.json"))
        .expect("a verification artifact");
    let original = std::fs::read_to_string(&file).unwrap();
    let mut doc: Value = serde_json::from_str(&original).unwrap();
    doc["verification"]["passed"] = json!(false);
    std::fs::write(&file, doc.to_string()).unwrap();
    repo.factory()
        .args(["apply", file.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("verification.passed"));
    let mut doc: Value = serde_json::from_str(&original).unwrap();
    doc["verification"]["merge_commit"] = json!("0123456789abcdef0123456789abcdef01234567");
    std::fs::write(&file, doc.to_string()).unwrap();
    repo.factory()
        .args(["apply", file.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "is not the merge commit of pull request #2 on the forge",
        ));
    assert!(!repo.last_comment(1).contains("Post-merge verification"));
    assert_eq!(repo.issue(1)["state"], "closed");
    let _ = std::fs::remove_file(dump);
}

/// The learning loop across runs: the lesson a completed session learned is proposed as a pull
/// request to the default branch, and once a person merges it, the next session's planner
/// prompt (which reads lessons only from the checkout) carries it.
#[test]
fn a_lesson_learned_in_one_run_reaches_the_next_runs_prompt_through_a_pull_request() {
    let repo = hotfix(
        None,
        &[
            "edit:good.sh",
            "ok:changes.json",
            "edit:review.sh",
            "ok:review-approve.json",
            // The next run's strategic plan.
            "ok:strategic.json",
        ],
    );
    resume(&repo, None).success();
    assert_eq!(repo.pull(2)["state"], "merged");
    repo.factory().args(["complete"]).assert().success();
    let lessons: Vec<String> = std::fs::read_dir(repo.path().join(".factory/lessons"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("lesson-"))
        .collect();
    assert_eq!(lessons.len(), 1, "{lessons:?}");
    let head_before = repo.git(&["rev-parse", "HEAD"]);
    repo.factory()
        .args(["lessons", "publish"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 lesson file(s) proposed on factory/lessons-",
        ))
        .stdout(predicate::str::contains("pull request #3 opened"));
    // The checkout was left alone; the branch holds the base plus the lesson.
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head_before);
    let pr = repo.pull(3);
    let branch = pr["head"].as_str().unwrap().to_string();
    assert_eq!(pr["base"], "main");
    assert!(
        pr["body"]
            .as_str()
            .unwrap()
            .contains("compare in constant time"),
        "{pr}"
    );
    let changed = repo.git(&["diff", "--name-only", "main", &branch]);
    assert_eq!(changed, format!(".factory/lessons/{}", lessons[0]));
    // Published again with nothing new: the same pull request, not another one.
    repo.factory()
        .args(["lessons", "publish"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #3 updated"));

    // A person merges it. The next run's jobs take lessons from the checkout only (the
    // restored state's copy is dropped, as the shared steps do).
    repo.git(&["merge", "-q", "--no-edit", &branch]);
    std::fs::remove_dir_all(repo.path().join(".factory/lessons")).unwrap();
    repo.git(&["checkout", "--", ".factory/lessons"]);
    std::fs::remove_file(repo.path().join(".factory/session.json")).unwrap();
    repo.intake("Move the token helpers into their own module", "refactor");
    repo.factory_with_agents()
        .args(["run", "--resume", "--phase", "strategic_plan"])
        .assert()
        .success();
    let count: u32 = fake(&repo, "count").trim().parse().unwrap();
    let prompt = fake(&repo, &format!("prompt-{count}"));
    assert!(
        prompt.contains("lessons from earlier sessions")
            && prompt.contains("compare in constant time"),
        "the planner's prompt lacks the merged lesson:\n{prompt}"
    );
}

/// The verify job runs the merged code: a write of another kind left in its outbox (a comment
/// here) is refused by the apply job after it, which takes verdicts only.
#[test]
fn the_apply_after_a_verify_job_takes_verdicts_only() {
    let (repo, dump) = merged_with_verification_left("true");
    repo.factory()
        .args(["verify", "--pending", "--defer-writes"])
        .assert()
        .success();
    let sid = repo.session()["id"].as_str().unwrap().to_string();
    let planted = json!({
        "schema_version": "1.0", "kind": "comment", "session_id": sid, "phase": "merge",
        "created_at": "2026-12-07T00:00:00Z",
        "comment": {"number": 1, "body": "planted by the verified code"}
    });
    std::fs::write(
        repo.path()
            .join(".factory/outbox/0002-merge-comment-1.json"),
        planted.to_string(),
    )
    .unwrap();
    repo.factory()
        .args(["apply", "--pending", "--kind", "verification"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`comment` is not a write the job before this apply may leave (it takes verification only)",
        ));
    assert!(
        repo.last_comment(1)
            .contains("Post-merge verification of PR #2 passed"),
        "the verdict before it was applied"
    );
    let issue = repo.issue(1).to_string();
    assert!(!issue.contains("planted by the verified code"), "{issue}");
    assert!(repo.log_has("safe_output", "refused"));
    let _ = std::fs::remove_file(dump);
}
