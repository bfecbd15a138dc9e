//! The whole pipeline through `factory run "<request>"`, offline: the built-in phases with the
//! fake `claude` (planner, reviewer) and `codex` (implementer) of tests/fixtures/agents, on the
//! local forge. One run goes from the request to the scorecard, with one implementation retry
//! (validation fails, then passes) and one review cycle that requests changes.
#![cfg(unix)]

mod forge_support;

use forge_support::{Repo, agent_fixtures, manifest, plan, review_answer};
use predicates::prelude::*;
use serde_json::{Value, json};

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

    // The planner's strategic plan: one task, validated by check.sh.
    let mut strategic = plan();
    let first = strategic["tasks"][0].clone();
    strategic["tasks"] = json!([first]);
    strategic["threat_assessment"] = json!({
        "summary": "Reset tokens are bearer credentials sent by e-mail; brute force is the risk.",
        "threats": []
    });
    write(&repo, "strategic.json", &strategic);
    // Its tactical plan for issue #2 (the parent is #1), inside the task's scope.
    let mut tactical: Value = serde_json::from_slice(
        &std::fs::read(manifest("evals/plans/valid-tactical-plan.json")).unwrap(),
    )
    .unwrap();
    tactical["issue_number"] = 2.into();
    tactical["handoff"]["validation_commands"] =
        json!({"build": "sh check.sh build", "test": "sh check.sh test"});
    write(&repo, "tactical.json", &tactical);
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
    ] {
        std::fs::write(fake.join(name), script).unwrap();
    }
    repo
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

#[test]
fn a_feature_goes_from_request_to_scorecard_with_one_retry_and_one_review_cycle() {
    let repo = scratch();
    // One call per line, shared by both fakes in the order the phases make them.
    std::fs::write(
        repo.path().join(".factory/fake/script"),
        [
            "ok:strategic.json",      // 1 strategic_plan (claude)
            "ok:tactical.json",       // 2 tactical_plan for #2 (claude)
            "edit:broken.sh",         // 3 implementation (codex): validation fails
            "edit:good.sh",           // 4 implementation retry: passes, PR #3 opened
            "ok:changes.json",        // 5 code_review (claude): requests changes
            "edit:review.sh",         // 6 implementation rework on the same branch
            "ok:review-approve.json", // 7 code_review round 2: approves
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    repo.factory_with_agents()
        .env("CODEX_API_KEY", "test-key")
        .args([
            "run",
            "Let users reset their password by e-mail",
            "--class",
            "feature",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));

    assert_eq!(
        fake(&repo, "count").trim(),
        "7",
        "seven agent calls, in order"
    );
    // Each call got what its phase is about.
    assert!(fake(&repo, "prompt-2").contains("task-001"));
    assert!(
        fake(&repo, "prompt-4").contains("reset_token.ts is broken"),
        "the retry carries the failing validation output"
    );
    assert!(
        fake(&repo, "prompt-6").contains("the token comparison is not constant-time"),
        "the rework carries the review's finding"
    );
    assert!(
        !fake(&repo, "env-3").contains("GITHUB_TOKEN"),
        "the implementer never holds a forge token"
    );

    let s = repo.session();
    for phase in [
        "intake",
        "strategic_plan",
        "issue_creation",
        "tactical_plan",
        "implementation",
        "code_review",
        "merge",
        "completion",
    ] {
        assert_eq!(s["phases"][phase]["status"], "completed", "{phase}");
    }
    assert_eq!(s["counters"]["implementation_retries"], 1);
    assert_eq!(s["counters"]["review_cycles"], 2);
    assert!(s.get("rework").is_none());
    assert_eq!(s["pull_requests"][0]["number"], 3);
    assert_eq!(s["pull_requests"][0]["merged"], true);
    assert_eq!(
        s["usage"].as_array().unwrap().len(),
        7,
        "every call in the ledger"
    );

    // The forge: the task issue closed by the squash merge of its pull request, the parent
    // closed at completion, the change on main.
    assert_eq!(repo.issue(2)["state"], "closed");
    assert_eq!(repo.issue(1)["state"], "closed");
    assert_eq!(repo.pull(3)["state"], "merged");
    let merged = std::fs::read_to_string(repo.path().join("src/auth/reset_token.ts"))
        .unwrap_or_else(|_| repo.git(&["show", "main:src/auth/reset_token.ts"]));
    assert!(merged.contains("constant-time"), "{merged}");
    let reviews = repo.json(".factory/forge/reviews/3.json");
    assert_eq!(reviews[0]["event"], "REQUEST_CHANGES");
    assert_eq!(reviews[1]["event"], "APPROVE");

    // The scorecard counts what happened: one extra review cycle and one retry.
    let sid = s["id"].as_str().unwrap();
    let card = repo.json(&format!(".factory/scorecards/{sid}.json"));
    assert_eq!(card["quality"]["review_cycles_avg"], 2.0);
    assert_eq!(
        card["score"], 82,
        "100 - (2 - 1) x 10 - 1 retry x 5 - 1 important x 5 + 1 lesson x 2: {card}"
    );
    assert_eq!(
        card["tasks"],
        json!({"total": 1, "completed": 1, "failed": 0, "blocked": 0}),
        "the parent issue is not a task"
    );
    assert!(card["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(card["cost_by_phase"]["code_review"].as_f64().unwrap() > 0.0);
    let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
    assert!(report.contains("Cost by phase"), "{report}");
}
