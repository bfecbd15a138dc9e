//! Phase 5 through the binary: `factory implement --issue N` and the built-in implementation
//! phase of `factory run`, with the fake `codex` of tests/fixtures/agents editing files in its
//! worktree, on the local forge. Covers the commit, evidence and pull request, validation
//! retries, scope send-backs, escalation with an issue comment, the hotfix inline issue, and
//! that the agent never sees the forge token.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::{Value, json};
use support::repo::{Repo, manifest, plan};

const CHECK: &str = "echo \"check $1\"\nif grep -q BROKEN src/auth/reset_token.ts 2>/dev/null; then echo \"error: reset_token.ts is broken\" >&2; exit 1; fi\n";

/// A plan with one task (task-001: src/auth/reset_token.ts, its test and a migration; not
/// src/auth/session.ts) whose validation runs check.sh.
fn one_task_plan() -> Value {
    let mut p = plan();
    let first = p["tasks"][0].clone();
    p["tasks"] = json!([first]);
    p
}

fn fake(repo: &Repo) -> PathBuf {
    repo.path().join("fake")
}

/// The repository: check.sh committed, the fake agents' directory, a workflow override
/// (`extra` appended), the session started by intake with `intake_args`.
fn scratch(extra: &str, intake_args: &[&str]) -> Repo {
    let repo = Repo::new();
    std::fs::write(repo.path().join("check.sh"), CHECK).unwrap();
    repo.git(&["add", "check.sh"]);
    repo.git(&["commit", "-q", "-m", "check.sh fails on BROKEN"]);
    std::fs::write(repo.path().join(".git/info/exclude"), ".factory/\nfake/\n").unwrap();
    let fake = fake(&repo);
    std::fs::create_dir_all(&fake).unwrap();
    for (name, script) in [
        (
            "good.sh",
            "mkdir -p src/auth && echo 'export const ok = 1;' > src/auth/reset_token.ts\n",
        ),
        (
            "broken.sh",
            "mkdir -p src/auth && echo 'BROKEN' > src/auth/reset_token.ts\n",
        ),
        (
            "outside.sh",
            "mkdir -p src/auth && echo 'export const ok = 1;' > src/auth/reset_token.ts && echo 'notes' > NOTES.md\n",
        ),
        ("cleanup.sh", "rm -f NOTES.md\n"),
        (
            "review.sh",
            "echo 'export const ok = 2; // constant-time compare' > src/auth/reset_token.ts\n",
        ),
        (
            "hotfix.sh",
            "mkdir -p src && echo 'fixed' > src/checkout.ts\n",
        ),
        ("nothing.sh", "true\n"),
        (
            "secret.sh",
            "mkdir -p src/auth && echo 'const ACCESS_KEY = \"AKIAZ3MHQ5R7TXW4PL2N\";' > src/auth/reset_token.ts\n",
        ),
    ] {
        std::fs::write(fake.join(name), script).unwrap();
    }
    std::fs::create_dir_all(repo.path().join(".factory")).unwrap();
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        format!(
            "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 2\nagents:\n  implementer:\n    env: [FAKE_AGENT_DIR]\n{extra}"
        ),
    )
    .unwrap();
    let mut cmd = factory(&repo);
    cmd.arg("intake").args(intake_args).assert().success();
    repo
}

/// A feature session with the one-task plan and its issues (#1 parent, #2 task-001).
fn feature(extra: &str) -> Repo {
    let repo = scratch(
        extra,
        &[
            "--request",
            "Add password reset by e-mail",
            "--class",
            "feature",
        ],
    );
    repo.write_plan(&one_task_plan());
    factory(&repo).args(["issues", "create"]).assert().success();
    repo
}

fn factory(repo: &Repo) -> assert_cmd::Command {
    let path = format!(
        "{}:{}",
        manifest("tests/fixtures/agents").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = repo.factory();
    cmd.env("PATH", path)
        .env("FAKE_AGENT_DIR", fake(repo))
        .env("CODEX_API_KEY", "test-key")
        .env("FACTORY_FORGE", "local");
    cmd
}

fn script(repo: &Repo, lines: &[&str]) {
    std::fs::write(fake(repo).join("script"), lines.join("\n") + "\n").unwrap();
}

fn read(repo: &Repo, name: &str) -> String {
    std::fs::read_to_string(fake(repo).join(name)).unwrap_or_default()
}

fn record(repo: &Repo) -> Value {
    repo.json(".factory/artifacts/implementation.json")
}

const BRANCH: &str = "feat/#2-reset-token-store";

fn worktrees(repo: &Repo) -> usize {
    repo.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
}

/// Validation runs the agent's code: it sees neither the forge token nor any agent key, only
/// the base set, the toolchain variables and what workflow.yaml declares for the phase.
#[test]
fn validation_commands_see_no_token_and_no_agent_key() {
    let repo =
        feature("phases:\n  implementation:\n    env: [FAKE_AGENT_DIR, ANTHROPIC_API_KEY]\n");
    std::fs::write(
        repo.path().join("check.sh"),
        "env > \"$FAKE_AGENT_DIR/validation-env-$1\"\necho \"check $1\"\n",
    )
    .unwrap();
    repo.git(&["commit", "-qam", "check.sh dumps its environment"]);
    script(&repo, &["edit:good.sh"]);
    factory(&repo)
        .env("GITHUB_TOKEN", "ghp_validationMustNotSeeThis0123456789ab")
        .env("ANTHROPIC_API_KEY", "sk-ant-not-for-validation")
        .env("OPENAI_API_KEY", "sk-not-for-validation")
        .env("UNRELATED_SECRET", "not-declared")
        .env("GOPATH", "/opt/go")
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    let env = read(&repo, "validation-env-build");
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert!(!names.is_empty(), "the validation command did not run");
    // CODEX_API_KEY is the implementer's own key (factory() sets it): not for validation either.
    for secret in [
        "GITHUB_TOKEN",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "CODEX_API_KEY",
        "UNRELATED_SECRET",
    ] {
        assert!(
            !names.contains(&secret),
            "{secret} reached validation:\n{env}"
        );
    }
    for kept in ["PATH", "HOME", "FAKE_AGENT_DIR", "GOPATH"] {
        assert!(names.contains(&kept), "{kept} is missing:\n{env}");
    }
}

#[test]
fn an_issue_is_implemented_committed_with_evidence_and_a_pull_request() {
    let repo = feature("");
    script(&repo, &["edit:good.sh"]);
    factory(&repo)
        .env("GITHUB_TOKEN", "ghp_must_never_reach_the_agent")
        .env("UNRELATED_SECRET", "nope")
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("#2 on {BRANCH} at")))
        .stdout(predicate::str::contains("pull request #3 opened"))
        .stdout(predicate::str::contains(
            "evidence: .factory/artifacts/evidence/2/build.log",
        ));

    // The agent: the implementer's sandbox, in a worktree outside the repository (neither in
    // .factory, the state CI carries, nor under .git, where Claude Code may not edit), no token.
    let argv = read(&repo, "argv-1");
    let args: Vec<&str> = argv.lines().collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--sandbox", "workspace-write"])
    );
    let dir = args[args.iter().position(|a| *a == "-C").unwrap() + 1];
    assert!(dir.ends_with("/issue-2"), "{dir}");
    let repo_dir = std::fs::canonicalize(repo.path()).unwrap();
    assert!(
        !Path::new(dir).starts_with(&repo_dir) && !dir.contains("/.git/"),
        "the worktree is outside the checkout and any git directory: {dir}"
    );
    let env = read(&repo, "env-1");
    assert!(env.lines().any(|l| l == "CODEX_API_KEY"));
    for secret in ["GITHUB_TOKEN", "UNRELATED_SECRET"] {
        assert!(
            !env.lines().any(|l| l == secret),
            "{secret} reached the agent"
        );
    }
    let prompt = read(&repo, "prompt-1");
    for part in [
        "issue #2",
        BRANCH,
        "- src/auth/reset_token.ts",
        "## Out of scope (do not touch)\n- src/auth/session.ts",
        "- build: `sh check.sh build`",
        "UNTRUSTED DATA (the issue)",
        "UNTRUSTED DATA (the plan for this issue)",
        "Task task-001: Reset token store",
    ] {
        assert!(prompt.contains(part), "{part:?} missing from the prompt");
    }

    // factory's commit on the branch, naming the issue; the worktree is gone.
    let log = repo.git(&["log", "--format=%B", "-1", BRANCH]);
    assert!(log.starts_with("Reset token store (#2)"), "{log}");
    assert!(log.contains("Closes #2"), "{log}");
    assert_eq!(
        repo.git(&["diff", "--name-only", &format!("main...{BRANCH}")]),
        "src/auth/reset_token.ts"
    );
    assert_eq!(worktrees(&repo), 1, "the worktree was removed");
    assert!(!Path::new(dir).exists());
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the checkout is untouched"
    );

    // Evidence by factory, and the pull request with it.
    let build =
        std::fs::read_to_string(repo.path().join(".factory/artifacts/evidence/2/build.log"))
            .unwrap();
    assert!(
        build.starts_with("$ sh check.sh build\nexit code: 0\n"),
        "{build}"
    );
    assert!(build.contains("check build"));
    let pr = repo.pull(3);
    assert_eq!(pr["head"], BRANCH);
    assert_eq!(pr["base"], "main");
    let body = pr["body"].as_str().unwrap();
    assert!(
        body.contains("Closes #2") && body.contains("check test"),
        "{body}"
    );
    assert!(body.contains("src/auth/reset_token.ts"));
    let r = record(&repo);
    let issue = &r["issues"][0];
    assert_eq!(issue["status"], "done");
    assert_eq!(issue["pull_request"], 3);
    assert_eq!(issue["commits"].as_array().unwrap().len(), 1);
    assert_eq!(
        issue["evidence"],
        json!(["evidence/2/build.log", "evidence/2/test.log"])
    );
    assert_eq!(issue["validation"][1]["exit_code"], 0);
    assert_eq!(issue["attempts"][0]["outcome"], "done");
    assert_eq!(
        repo.session()["pull_requests"],
        json!([{"number": 3, "issue": 2, "merged": false}])
    );
    assert!(repo.log_has("validate", "ok") && repo.log_has("pr_open", "ok"));
    let usage = &repo.session()["usage"][0];
    assert_eq!(usage["phase"], "implementation");
    assert_eq!(usage["output_tokens"], 3000);

    // Running it again is idempotent: nothing new to commit, the same pull request updated.
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #3 updated"));
    assert_eq!(
        repo.git(&["rev-list", "--count", &format!("main..{BRANCH}")]),
        "1"
    );
    assert!(!repo.path().join(".factory/forge/pulls/4.json").exists());
}

#[test]
fn a_failing_validation_is_retried_once_with_its_output_then_passes() {
    let repo =
        feature("routes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n");
    script(&repo, &["edit:broken.sh", "edit:good.sh"]);
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    let s = repo.session();
    assert_eq!(s["counters"]["implementation_retries"], 1);
    assert_eq!(s["phases"]["implementation"]["status"], "completed");
    let retry = read(&repo, "prompt-2");
    assert!(retry.contains("## The previous attempt failed"), "{retry}");
    assert!(retry.contains("error: reset_token.ts is broken"), "{retry}");
    assert!(retry.contains("validation `build` (`sh check.sh build`) exited 1"));
    let r = record(&repo);
    let attempts: Vec<&str> = r["issues"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(attempts, vec!["validation-failed", "done"]);
    assert!(repo.log_has("validate", "failed") && repo.log_has("validate", "ok"));
    let content = repo.git(&["show", &format!("{BRANCH}:src/auth/reset_token.ts")]);
    assert_eq!(content, "export const ok = 1;");
}

#[test]
fn a_change_outside_the_scope_is_sent_back_then_fixed() {
    let repo = feature("");
    script(&repo, &["edit:outside.sh", "edit:cleanup.sh"]);
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "`NOTES.md` is not in files_in_scope",
        ));
    let retry = read(&repo, "prompt-2");
    assert!(
        retry.contains("`NOTES.md` is not in files_in_scope"),
        "{retry}"
    );
    assert!(retry.contains("task-001 in the strategic plan"));
    assert_eq!(repo.session()["counters"]["implementation_retries"], 1);
    assert_eq!(
        repo.git(&["diff", "--name-only", &format!("main...{BRANCH}")]),
        "src/auth/reset_token.ts",
        "the out-of-scope file never reached the branch"
    );
    let log = std::fs::read_to_string(repo.path().join(".factory/workflow.log")).unwrap();
    let gate = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["action"] == "preflight" && e["status"] == "failed")
        .expect("the scope check is logged");
    assert_eq!(gate["refs"]["scope_violations"], 1);
    assert_eq!(gate["refs"]["paths"], json!(["NOTES.md"]));
}

#[test]
fn retries_exhausted_escalate_and_comment_on_the_issue() {
    let repo =
        feature("routes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n");
    script(&repo, &["edit:broken.sh"]);
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("implementation-failed"));
    let s = repo.session();
    assert_eq!(s["counters"]["implementation_retries"], 2);
    assert_eq!(s["escalation"]["reason"], "implementation-failed");
    assert_eq!(read(&repo, "count").trim(), "3");
    let comment = repo.last_comment(2);
    assert!(
        comment.starts_with("Implementation of #2 stopped after 3 attempt(s)"),
        "{comment}"
    );
    assert!(
        comment.contains("error: reset_token.ts is broken"),
        "{comment}"
    );
    let pulls = repo.path().join(".factory/forge/pulls");
    assert!(
        !pulls.exists() || pulls.read_dir().unwrap().next().is_none(),
        "no pull request for a failed implementation"
    );
    assert_eq!(
        worktrees(&repo),
        1,
        "the worktree is removed after the last attempt"
    );
}

#[test]
fn scope_still_broken_on_the_last_attempt_asks_for_a_scope_decision() {
    let repo =
        feature("routes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n");
    script(&repo, &["edit:outside.sh"]);
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("scope-decision"));
    assert_eq!(repo.session()["escalation"]["reason"], "scope-decision");
    assert!(repo.last_comment(2).contains("NOTES.md"));
    assert_eq!(record(&repo)["issues"][0]["status"], "sent-back");
}

#[test]
fn a_hotfix_creates_its_inline_issue_then_implements_it() {
    let repo = scratch(
        "routes:\n  hotfix:\n    - phase: implementation\n      inline_issue: true\nphases:\n  implementation:\n    validation:\n      test: sh check.sh test\n",
        &[
            "--request",
            "Checkout returns 500 when the cart is empty",
            "--class",
            "hotfix",
        ],
    );
    script(&repo, &["edit:hotfix.sh"]);
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    let issue = repo.issue(1);
    assert!(
        issue["title"]
            .as_str()
            .unwrap()
            .starts_with("[HOTFIX] Checkout returns 500")
    );
    let branch = "fix/#1-checkout-returns-500-when-the-cart-is";
    assert_eq!(repo.session()["issues"][0]["branch"], branch);
    let pr = repo.pull(2);
    assert_eq!(pr["head"], branch);
    assert_eq!(pr["title"], "Checkout returns 500 when the cart is empty");
    assert!(pr["body"].as_str().unwrap().contains("Closes #1"));
    let log = repo.git(&["log", "--format=%s", "-1", branch]);
    assert_eq!(log, "Checkout returns 500 when the cart is empty (#1)");
    let prompt = read(&repo, "prompt-1");
    assert!(
        prompt.contains(
            "(no list: the route has no plan; keep the change as small as the issue needs)"
        ),
        "{prompt}"
    );
    assert!(prompt.contains("- test: `sh check.sh test`"));
}

#[test]
fn a_hotfix_with_deferred_writes_needs_its_inline_issue_first() {
    let repo = scratch(
        "routes:\n  hotfix:\n    - phase: implementation\n      inline_issue: true\nphases:\n  implementation:\n    validation:\n      test: sh check.sh test\n",
        &[
            "--request",
            "Checkout returns 500 when the cart is empty",
            "--class",
            "hotfix",
        ],
    );
    script(&repo, &["edit:hotfix.sh"]);
    // Creating the issue is a write that cannot wait: deferred, the phase says what to do.
    factory(&repo)
        .args(["run", "--resume", "--defer-writes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "creating an issue is a forge write that cannot be deferred: create it first with `factory issues create --inline`",
        ));
    assert!(!repo.path().join(".factory/forge/issues/1.json").exists());
    factory(&repo)
        .args(["issues", "create", "--inline"])
        .assert()
        .success()
        .stdout(predicate::str::contains("inline issue"));
    assert!(
        repo.issue(1)["title"]
            .as_str()
            .unwrap()
            .starts_with("[HOTFIX] Checkout returns 500")
    );
    factory(&repo)
        .env("FACTORY_WRITES", "deferred")
        .args(["run", "--resume"])
        .assert()
        .success();
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pull request #2 opened for issue #1",
        ));
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
}

#[test]
fn an_agent_that_changes_nothing_is_retried_and_missing_inputs_exit_2() {
    let repo = feature("");
    script(&repo, &["edit:nothing.sh", "edit:good.sh"]);
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stderr(predicate::str::contains("the agent changed nothing"));
    factory(&repo)
        .args(["implement", "--issue", "9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "issue #9 is not a task issue of the current session",
        ));
    std::fs::remove_file(repo.path().join(".factory/artifacts/strategic-plan.json")).unwrap();
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no strategic plan at"));
    std::fs::remove_file(repo.path().join(".factory/session.json")).unwrap();
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session in"));
}

#[test]
fn a_tactical_plan_gives_the_scope_and_the_validation() {
    let repo = feature("");
    let mut tp: Value = serde_json::from_slice(
        &std::fs::read(manifest("evals/plans/valid-tactical-plan.json")).unwrap(),
    )
    .unwrap();
    tp["issue_number"] = 2.into();
    tp["handoff"]["validation_commands"] =
        json!({"build": "sh check.sh tactical-build", "test": "sh check.sh tactical-test"});
    let dir = repo.path().join(".factory/artifacts/tactical");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("2.json"), tp.to_string()).unwrap();
    script(&repo, &["edit:good.sh"]);
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    let prompt = read(&repo, "prompt-1");
    assert!(prompt.contains("Steps of the tactical plan"), "{prompt}");
    assert!(prompt.contains("- build: `sh check.sh tactical-build`"));
    let build =
        std::fs::read_to_string(repo.path().join(".factory/artifacts/evidence/2/build.log"))
            .unwrap();
    assert!(build.contains("check tactical-build"), "{build}");
    // A broken tactical plan stops with its violations.
    tp["handoff"]["in_scope_files"] = json!(["src/elsewhere/**"]);
    std::fs::write(dir.join("2.json"), tp.to_string()).unwrap();
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does not satisfy the tactical-plan contract",
        ));
}

#[test]
fn review_findings_sent_back_are_implemented_on_the_same_branch_and_pull_request() {
    let phase = manifest("tests/fixtures/engine/phase.sh");
    let repo = feature(&format!(
        "routes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n    - phase: code_review\nphases:\n  code_review:\n    command: [\"sh\", \"{}\"]\n    env: [FAKE_DIR]\n",
        phase.display()
    ));
    let review_dir = repo.path().join("fake/review");
    std::fs::create_dir_all(review_dir.join("script")).unwrap();
    std::fs::create_dir_all(review_dir.join("fixtures")).unwrap();
    std::fs::copy(
        manifest("tests/fixtures/engine/code_review.json"),
        review_dir.join("fixtures/code_review.json"),
    )
    .unwrap();
    std::fs::write(
        review_dir.join("script/code_review"),
        "sendback:implementation\nok\n",
    )
    .unwrap();
    script(&repo, &["edit:good.sh", "edit:review.sh"]);
    factory(&repo)
        .env("FAKE_DIR", &review_dir)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));

    let rework = read(&repo, "prompt-2");
    assert!(
        rework.contains("## The code review sent the change back"),
        "{rework}"
    );
    assert!(rework.contains("UNTRUSTED DATA (review findings to address)"));
    assert!(rework.contains("src/auth.rs:12 handle the expired token"));
    let subjects = repo.git(&["log", "--format=%s%n%b", &format!("main..{BRANCH}")]);
    assert!(
        subjects.contains("Review findings addressed by codex"),
        "{subjects}"
    );
    assert_eq!(
        repo.git(&["rev-list", "--count", &format!("main..{BRANCH}")]),
        "2",
        "the rework is a second commit on the same branch"
    );
    assert!(
        !repo.path().join(".factory/forge/pulls/4.json").exists(),
        "no second pull request"
    );
    let pr = repo.pull(3);
    assert_eq!(pr["head"], BRANCH);
    let s = repo.session();
    assert_eq!(s["counters"]["review_cycles"], 2, "two reviews ran");
    assert!(
        s.get("rework").is_none(),
        "the rework is cleared once implemented"
    );
    assert_eq!(s["pull_requests"].as_array().unwrap().len(), 1);
    let attempts = &record(&repo)["issues"][0]["attempts"];
    assert_eq!(attempts[1]["rework_cycle"], 1);
    assert_eq!(attempts[1]["detail"], "updated pull request #3");
}

#[test]
fn a_secret_in_the_change_is_sent_back_and_never_committed_or_shown() {
    let repo = feature("");
    script(&repo, &["edit:secret.sh", "edit:good.sh"]);
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success()
        .stderr(predicate::str::contains("a secret (aws-access-key-id"));
    let retry = read(&repo, "prompt-2");
    assert!(
        retry.contains("src/auth/reset_token.ts` line 1: a secret"),
        "{retry}"
    );
    assert!(!retry.contains("AKIAZ3MHQ5R7TXW4PL2N"), "{retry}");
    let history = repo.git(&["log", "-p", &format!("main..{BRANCH}")]);
    assert!(
        !history.contains("AKIAZ3MH"),
        "the secret was never committed"
    );
    let rec = std::fs::read_to_string(repo.path().join(".factory/artifacts/implementation.json"))
        .unwrap();
    assert!(!rec.contains("AKIAZ3MHQ5R7TXW4PL2N"));
}

/// A risky-infra session whose one task may change `.github/workflows/x.yml` (so the plan's
/// scope allows it), and a fake agent that changes it.
fn workflow_change(extra: &str) -> Repo {
    let repo = scratch(
        extra,
        &[
            "--request",
            "Pin the CI runner image",
            "--class",
            "risky-infra",
        ],
    );
    let mut p = one_task_plan();
    p["tasks"][0]["change_class"] = "risky-infra".into();
    p["tasks"][0]["files_in_scope"] = json!([".github/workflows/x.yml"]);
    repo.write_plan(&p);
    factory(&repo).args(["issues", "create"]).assert().success();
    std::fs::write(
        fake(&repo).join("workflow.sh"),
        "mkdir -p .github/workflows && echo 'on: push' > .github/workflows/x.yml\n",
    )
    .unwrap();
    script(
        &repo,
        &["edit:workflow.sh", "edit:workflow.sh", "edit:workflow.sh"],
    );
    repo
}

#[test]
fn a_change_to_a_ci_workflow_is_refused_by_the_safe_outputs_policy() {
    let repo = workflow_change("");
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`.github/workflows/x.yml`: denied by `.github/workflows/**` in outputs.paths.deny",
        ));
    let retry = read(&repo, "prompt-2");
    assert!(
        retry.contains("outputs.paths.allow in .factory/workflow.yaml"),
        "{retry}"
    );
    let branch = "infra/#2-reset-token-store";
    assert_eq!(
        repo.git(&["diff", "--name-only", &format!("main...{branch}")]),
        "",
        "the workflow change never reached the branch"
    );
    assert!(!repo.path().join(".factory/forge/pulls/1.json").exists());
    assert!(repo.log_has("safe_output", "refused"));
    assert!(repo.last_comment(2).contains(".github/workflows/x.yml"));
}

#[test]
fn an_allowed_ci_workflow_change_goes_through() {
    let repo = workflow_change("outputs:\n  paths:\n    allow: [.github/workflows/x.yml]\n");
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    assert_eq!(
        repo.git(&["diff", "--name-only", "main...infra/#2-reset-token-store"]),
        ".github/workflows/x.yml"
    );
}

#[test]
fn the_built_in_review_sends_the_change_back_then_approves_and_the_pipeline_merges() {
    // implementation (codex) → code_review (claude) requests changes → implementation again →
    // code_review approves → merge: the whole loop with the built-in phases, offline.
    let repo = feature(
        "  reviewer:\n    env: [FAKE_AGENT_DIR]\nroutes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n    - phase: code_review\n    - phase: merge\n",
    );
    let fake = fake(&repo);
    std::fs::copy(
        manifest("tests/fixtures/agents/review-approve.json"),
        fake.join("review-approve.json"),
    )
    .unwrap();
    let changes = support::agents::review_answer(
        "REQUEST_CHANGES",
        json!([{"severity": "important", "category": "auth", "file": "src/auth/reset_token.ts",
            "line": 1, "description": "the token comparison is not constant-time",
            "recommendation": "compare in constant time"}]),
    );
    std::fs::write(fake.join("changes.json"), changes.to_string()).unwrap();
    script(
        &repo,
        &[
            "edit:good.sh",
            "ok:changes.json",
            "edit:review.sh",
            "ok:review-approve.json",
        ],
    );
    factory(&repo)
        .env("ANTHROPIC_API_KEY", "test-key")
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    // The implementer's second prompt holds the review's finding.
    let rework = read(&repo, "prompt-3");
    assert!(
        rework.contains("the token comparison is not constant-time"),
        "{rework}"
    );
    // Both reviews were posted on the one pull request, the first with an inline comment.
    let reviews = repo.json(".factory/forge/reviews/3.json");
    assert_eq!(reviews[0]["event"], "REQUEST_CHANGES");
    assert_eq!(reviews[0]["comments"][0]["side"], "RIGHT");
    assert_eq!(reviews[1]["event"], "APPROVE");
    let summaries = repo.pull(3)["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("<!-- factory:review-summary pr=3 -->")
        })
        .count();
    assert_eq!(summaries, 1, "one sticky summary");
    assert!(
        repo.path()
            .join(".factory/artifacts/reviews/3-1.json")
            .is_file()
    );
    assert_eq!(
        repo.json(".factory/artifacts/reviews/3-2.json")["verdict"],
        "APPROVE"
    );
    let s = repo.session();
    assert_eq!(s["counters"]["review_cycles"], 2);
    assert_eq!(s["pull_requests"][0]["merged"], true);
}

// Deferred writes and `factory apply` (docs/security.md#deferred-writes).

fn outbox(repo: &Repo) -> PathBuf {
    repo.path().join(".factory/outbox")
}

fn outbox_files(repo: &Repo) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(outbox(repo))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn with_deferred_writes_the_review_loop_runs_with_factory_apply_between_the_phases() {
    let repo = feature(
        "  reviewer:\n    env: [FAKE_AGENT_DIR]\nroutes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n    - phase: code_review\n    - phase: merge\n",
    );
    let fake = fake(&repo);
    std::fs::copy(
        manifest("tests/fixtures/agents/review-approve.json"),
        fake.join("review-approve.json"),
    )
    .unwrap();
    let changes = support::agents::review_answer(
        "REQUEST_CHANGES",
        json!([{"severity": "important", "category": "auth", "file": "src/auth/reset_token.ts",
            "line": 1, "description": "the token comparison is not constant-time",
            "recommendation": "compare in constant time"}]),
    );
    std::fs::write(fake.join("changes.json"), changes.to_string()).unwrap();
    script(
        &repo,
        &[
            "edit:good.sh",
            "ok:changes.json",
            "edit:review.sh",
            "ok:review-approve.json",
        ],
    );
    let deferred = || {
        let mut cmd = factory(&repo);
        cmd.env("ANTHROPIC_API_KEY", "test-key")
            .args(["run", "--resume", "--defer-writes"]);
        cmd
    };
    let apply = || {
        let mut cmd = factory(&repo);
        cmd.args(["apply", "--pending"]);
        cmd
    };

    // Implementation, deferred: committed on the branch, nothing on the forge, an artifact.
    deferred()
        .assert()
        .success()
        .stdout(predicate::str::contains("implementation completed"))
        .stdout(predicate::str::contains(
            "1 forge write(s) left in .factory/outbox/ for `factory apply --pending`",
        ));
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());
    assert_eq!(
        outbox_files(&repo),
        vec![
            "0001-implementation-pull-request-2.bundle",
            "0001-implementation-pull-request-2.json"
        ]
    );
    let artifact = repo.json(".factory/outbox/0001-implementation-pull-request-2.json");
    assert_eq!(artifact["kind"], "pull_request");
    assert_eq!(artifact["pull_request"]["branch"], BRANCH);
    assert_eq!(artifact["pull_request"]["base"], "main");
    assert_eq!(
        artifact["pull_request"]["head"],
        repo.git(&["rev-parse", BRANCH]).as_str()
    );
    assert!(repo.log_has("defer", "ok"));
    factory(&repo)
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 forge write(s) in .factory/outbox/ not applied yet: factory apply --pending",
        ));
    // The next phase does not run on a forge that lacks the pending writes.
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not applied yet (.factory/outbox/: 0001-implementation-pull-request-2.json): run `factory apply --pending` first",
        ));
    apply()
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "0001-implementation-pull-request-2.json: applied: {BRANCH} pushed at"
        )))
        .stdout(predicate::str::contains(
            "pull request #3 opened for issue #2",
        ));
    assert_eq!(repo.pull(3)["head"], BRANCH);
    assert!(repo.pull(3)["body"].as_str().unwrap().contains("Closes #2"));
    assert_eq!(record(&repo)["issues"][0]["pull_request"], 3);
    apply()
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to apply"));

    // Review, deferred: the review and its sticky summary wait for apply.
    deferred().assert().success();
    assert!(!repo.path().join(".factory/forge/reviews/3.json").exists());
    assert_eq!(
        outbox_files(&repo)[2..],
        [
            "0002-code_review-review-3.json",
            "0003-code_review-comment-3.json",
            "ledger.json"
        ]
    );
    apply().assert().success().stdout(predicate::str::contains(
        "0002-code_review-review-3.json: applied: review posted on pull request #3 (REQUEST_CHANGES, 1 inline comment(s))",
    ));
    assert_eq!(
        repo.json(".factory/forge/reviews/3.json")
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Rework and the approving review, each applied; then the merge, in direct mode.
    deferred().assert().success();
    assert!(read(&repo, "prompt-3").contains("the token comparison is not constant-time"));
    apply()
        .assert()
        .success()
        .stdout(predicate::str::contains("pull request #3 updated"));
    deferred().assert().success();
    apply().assert().success();
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));

    let reviews = repo.json(".factory/forge/reviews/3.json");
    assert_eq!(reviews.as_array().unwrap().len(), 2, "each review once");
    assert_eq!(reviews[0]["event"], "REQUEST_CHANGES");
    assert_eq!(reviews[1]["event"], "APPROVE");
    let summaries = repo.pull(3)["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["body"]
                .as_str()
                .unwrap()
                .contains("<!-- factory:review-summary pr=3 -->")
        })
        .count();
    assert_eq!(summaries, 1, "one sticky summary, updated in place");
    assert_eq!(repo.session()["pull_requests"][0]["merged"], true);

    // Applying an applied artifact again writes nothing.
    factory(&repo)
        .args(["apply", ".factory/outbox/0002-code_review-review-3.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already applied"));
    assert_eq!(
        repo.json(".factory/forge/reviews/3.json")
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// An apply artifact made by hand, as a tampered agent job could leave it: `branch` (from main)
/// with a commit adding `file`, bundled, then deleted from the repository so that only the
/// bundle holds it.
fn handmade_artifact(repo: &Repo, branch: &str, file: &str) -> PathBuf {
    repo.commit_on(branch, file);
    let head = repo.git(&["rev-parse", branch]);
    let base = repo.git(&["rev-parse", "main"]);
    let dir = outbox(repo);
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("0001-implementation-pull-request.bundle");
    repo.git(&[
        "bundle",
        "create",
        "--quiet",
        bundle.to_str().unwrap(),
        &format!("refs/heads/{branch}"),
        "^main",
    ]);
    repo.git(&["branch", "-D", branch]);
    let path = dir.join("0001-implementation-pull-request.json");
    let artifact = json!({
        "schema_version": "1.0",
        "kind": "pull_request",
        "session_id": repo.session()["id"],
        "phase": "implementation",
        "created_at": "2026-12-01T00:00:00Z",
        "pull_request": {
            "issue": 2, "branch": branch, "base": "main", "base_commit": base, "head": head,
            "bundle": "0001-implementation-pull-request.bundle", "evidence": []
        }
    });
    std::fs::write(&path, serde_json::to_string_pretty(&artifact).unwrap()).unwrap();
    path
}

fn nothing_published(repo: &Repo, branch: &str) {
    assert_eq!(
        repo.git(&["branch", "--list", branch]),
        "",
        "{branch} was published"
    );
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());
}

#[test]
fn apply_refuses_a_change_to_a_denied_path_publishes_nothing_and_stops_for_a_person() {
    let repo = feature("");
    let path = handmade_artifact(&repo, BRANCH, ".github/workflows/x.yml");
    factory(&repo)
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0001-implementation-pull-request.json: refused: `pull_request.bundle` changes `.github/workflows/x.yml`: denied by `.github/workflows/**` in outputs.paths.deny",
        ))
        .stderr(predicate::str::contains("outputs.paths.allow"));
    nothing_published(&repo, BRANCH);
    assert!(repo.log_has("safe_output", "refused"));
    assert_eq!(repo.session()["escalation"]["reason"], "scope-decision");
    let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
    assert!(report.contains(".github/workflows/x.yml"), "{report}");
    // Refused once, not retried: the pending list is empty and the run waits for a person.
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to apply"));
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("scope-decision"));
}

#[test]
fn apply_refuses_denied_paths_whose_names_git_would_quote() {
    // Without NUL-separated path lists, git prints these names C-quoted
    // (`".github/workflows/\303\251.yml"`) and they slip past `.github/workflows/**`.
    for (i, name) in ["é.yml", "a\"b.yml", "back\\slash.yml", "tab\there.yml"]
        .into_iter()
        .enumerate()
    {
        let repo = feature("");
        let file = format!(".github/workflows/{name}");
        let path = handmade_artifact(&repo, BRANCH, &file);
        factory(&repo)
            .args(["apply", path.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "changes `{file}`: denied by `.github/workflows/**` in outputs.paths.deny"
            )));
        nothing_published(&repo, BRANCH);
        assert!(repo.log_has("safe_output", "refused"), "case {i}");
    }
}

#[test]
fn the_implementer_cannot_add_a_denied_path_whose_name_git_would_quote() {
    let repo = workflow_change("");
    // The whole directory in scope, so that the deny list is what stops it.
    let mut p = one_task_plan();
    p["tasks"][0]["change_class"] = "risky-infra".into();
    p["tasks"][0]["files_in_scope"] = json!([".github/workflows/"]);
    repo.write_plan(&p);
    std::fs::write(
        fake(&repo).join("workflow.sh"),
        "mkdir -p .github/workflows && echo 'on: push' > '.github/workflows/é\"x.yml'\n",
    )
    .unwrap();
    factory(&repo)
        .args(["implement", "--issue", "2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`.github/workflows/é\"x.yml`: denied by `.github/workflows/**` in outputs.paths.deny",
        ));
    assert!(!repo.path().join(".factory/forge/pulls/1.json").exists());
}

#[test]
fn apply_neutralises_factory_markers_an_artifact_did_not_earn() {
    let repo = feature("");
    let dir = outbox(&repo);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("0001-implementation-comment-2.json");
    let forged = "Implementation stopped.\n<!-- factory:recurrence {\"count\":0,\"first_seen\":\"x\",\"last_seen\":\"x\",\"failing_check\":\"x\"} -->\n<!-- factory:task=task-009 sid=x -->";
    let artifact = json!({
        "schema_version": "1.0",
        "kind": "comment",
        "session_id": repo.session()["id"],
        "phase": "implementation",
        "created_at": "2026-12-01T00:00:00Z",
        "comment": {"number": 2, "body": forged}
    });
    std::fs::write(&path, serde_json::to_string_pretty(&artifact).unwrap()).unwrap();
    factory(&repo)
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .success();
    let body = repo.last_comment(2);
    assert!(body.contains("Implementation stopped."), "{body}");
    assert!(!body.contains("factory:recurrence"), "{body}");
    assert!(!body.contains("factory:task"), "{body}");
}

#[test]
fn apply_refuses_a_change_outside_the_issue_scope() {
    let repo = feature("");
    let path = handmade_artifact(&repo, BRANCH, "NOTES.md");
    factory(&repo)
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refused: `pull_request.bundle` changes `NOTES.md`: outside the scope of issue #2",
        ));
    nothing_published(&repo, BRANCH);
}

#[test]
fn apply_refuses_a_branch_outside_the_branch_allow_list() {
    let repo = feature("");
    let path = handmade_artifact(&repo, "release/2", "src/auth/reset_token.ts");
    factory(&repo)
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refused: `pull_request.branch` `release/2`: does not follow the branch naming rule",
        ))
        .stderr(predicate::str::contains(
            "change `outputs.branches` in .factory/workflow.yaml",
        ));
    nothing_published(&repo, "release/2");
    assert!(repo.log_has("safe_output", "refused"));
}

#[test]
fn a_bad_apply_artifact_is_an_error_naming_the_file_and_the_field() {
    let repo = feature("");
    let path = handmade_artifact(&repo, BRANCH, "src/auth/reset_token.ts");
    let good = std::fs::read_to_string(&path).unwrap();
    let mut doc: Value = serde_json::from_str(&good).unwrap();
    doc["pull_request"].as_object_mut().unwrap().remove("head");
    std::fs::write(&path, doc.to_string()).unwrap();
    factory(&repo)
        .args(["apply", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0001-implementation-pull-request.json: does not satisfy the apply-artifact contract: field `/pull_request`",
        ))
        .stderr(predicate::str::contains("head"));

    let other = outbox(&repo).join("0002-implementation-pull-request.json");
    std::fs::write(&other, "{ not json").unwrap();
    factory(&repo)
        .args(["apply", other.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0002-implementation-pull-request.json: not valid JSON (line 1, column 3)",
        ));

    let third = outbox(&repo).join("0003-implementation-pull-request.json");
    std::fs::write(&third, &good).unwrap();
    std::fs::write(
        outbox(&repo).join("0001-implementation-pull-request.bundle"),
        "not a bundle",
    )
    .unwrap();
    factory(&repo)
        .args(["apply", third.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0003-implementation-pull-request.json: field `pull_request.bundle`:",
        ))
        .stderr(predicate::str::contains("not a usable git bundle"));
    nothing_published(&repo, BRANCH);
}

/// CI's implementation matrix, step by step: the first wave's issues are implemented side by
/// side, each in its own copy of the repository and the state with deferred writes; the copies
/// are merged back with `factory state merge`; one deferred run of the phase implements the
/// later wave (its own pending writes do not stop it, other phases' would); one
/// `factory apply --pending` opens every pull request.
#[test]
fn the_first_wave_runs_in_parallel_copies_and_the_later_wave_waits_for_its_merge() {
    let repo = scratch(
        "routes:\n  feature:\n    - phase: issue_creation\n    - phase: implementation\n    - phase: code_review\n    - phase: merge\n",
        &[
            "--request",
            "Add password reset by e-mail",
            "--class",
            "feature",
        ],
    );
    repo.write_plan(&plan());
    factory(&repo)
        .args(["run", "--resume", "--phase", "issue_creation"])
        .assert()
        .success();
    std::fs::write(
        fake(&repo).join("template.sh"),
        "mkdir -p templates/email && echo '<p>reset</p>' > templates/email/reset.html\n",
    )
    .unwrap();
    std::fs::write(
        fake(&repo).join("routes.sh"),
        "mkdir -p src/routes && echo 'export const route = 1;' > src/routes/password.ts\n",
    )
    .unwrap();
    let wave_matrix = |r: &Repo| -> Value {
        let out = factory(r).args(["status", "--json"]).output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["outputs"]["wave_matrix"].clone()
    };
    assert_eq!(
        wave_matrix(&repo),
        json!({"include": [
            {"issue": 2, "task": "task-001", "wave": 1},
            {"issue": 3, "task": "task-002", "wave": 1}
        ]})
    );

    // The matrix: one copy per issue of wave 1, each implementing its issue without a token.
    let mut copies = Vec::new();
    for (issue, edit) in [(2, "edit:good.sh"), (3, "edit:template.sh")] {
        let copy = repo.job_copy();
        script(&copy, &[edit]);
        factory(&copy)
            .env("FACTORY_WRITES", "deferred")
            .args(["implement", "--issue", &issue.to_string()])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "publication left for `factory apply`",
            ));
        assert_eq!(
            outbox_files(&copy),
            vec![
                format!("0001-implementation-pull-request-{issue}.bundle"),
                format!("0001-implementation-pull-request-{issue}.json")
            ]
        );
        copies.push(copy);
    }
    factory(&repo)
        .args(["state", "merge", "--base", ".factory"])
        .args(copies.iter().map(|c| c.path().join(".factory")))
        .assert()
        .success();
    let merged = record(&repo);
    let done: Vec<(u64, &str)> = merged["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["issue"].as_u64().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(done, vec![(2, "done"), (3, "done")]);
    // Wave 2 starts from main once wave 1 merged: nothing to implement until then.
    assert_eq!(wave_matrix(&repo), json!({"include": []}));

    // The fan-in job: a direct run refuses while the writes are pending; the deferred run of
    // the same phase adds to them.
    factory(&repo)
        .args(["run", "--resume", "--phase", "implementation"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not applied yet"));
    script(&repo, &["edit:routes.sh"]);
    factory(&repo)
        .args([
            "run",
            "--resume",
            "--phase",
            "implementation",
            "--defer-writes",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("implementation completed"));
    assert_eq!(
        read(&repo, "count").trim(),
        "",
        "issue #4 waits for wave 1's merge: no agent ran here"
    );
    let artifacts: Vec<String> = outbox_files(&repo)
        .into_iter()
        .filter(|f| f.ends_with(".json"))
        .collect();
    assert_eq!(
        artifacts,
        vec![
            "0001-implementation-pull-request-2.json",
            "0001-implementation-pull-request-3.json",
        ]
    );
    // The next phase still waits for them.
    factory(&repo)
        .env("ANTHROPIC_API_KEY", "test-key")
        .args([
            "run",
            "--resume",
            "--phase",
            "code_review",
            "--defer-writes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "0001-implementation-pull-request-2.json, 0001-implementation-pull-request-3.json",
        ));

    // The apply job: every branch pushed, every pull request opened, in order.
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pull request #5 opened for issue #2",
        ))
        .stdout(predicate::str::contains(
            "pull request #6 opened for issue #3",
        ));
    let merged = record(&repo);
    for (i, (pr, issue)) in [(5, 2), (6, 3)].into_iter().enumerate() {
        let head = repo.pull(pr)["head"].as_str().unwrap().to_string();
        assert_eq!(merged["issues"][i]["issue"], issue);
        assert_eq!(merged["issues"][i]["branch"], head.as_str());
        assert!(
            repo.pull(pr)["body"]
                .as_str()
                .unwrap()
                .contains(&format!("Closes #{issue}"))
        );
        assert!(!repo.git(&["rev-parse", &head]).is_empty());
    }
    assert!(
        repo.git(&["show", "--stat", "feat/#3-reset-e-mail-template"])
            .contains("templates/email/reset.html")
    );
    let prs: Vec<u64> = record(&repo)["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pull_request"].as_u64().unwrap())
        .collect();
    assert_eq!(prs, vec![5, 6]);
}

#[test]
fn claude_as_implementer_refused_an_edit_or_a_command_fails_naming_them() {
    let repo = feature("    adapter: claude\n");
    script(&repo, &["denied"]);
    let out = factory(&repo)
        .env("ANTHROPIC_API_KEY", "test-key")
        .args(["implement", "--issue", "2"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("claude was refused what the implementation needed"),
        "{text}"
    );
    assert!(text.contains("Bash cargo test"), "{text}");
    assert!(text.contains("/src/lib.rs"), "{text}");
    // Not "the agent changed nothing": the refusal is the reason, said once.
    assert!(!text.contains("the agent changed nothing"), "{text}");
    // It was allowed to run the issue's validation commands (acceptEdits refuses the others).
    let argv = read(&repo, "argv-1");
    let args: Vec<&str> = argv.lines().collect();
    for rule in ["Bash(sh check.sh build)", "Bash(sh check.sh test:*)"] {
        assert!(
            args.windows(2).any(|w| w == ["--allowedTools", rule]),
            "{rule} missing from {args:?}"
        );
    }
    assert!(
        args.windows(2)
            .any(|w| w == ["--permission-mode", "acceptEdits"])
    );
}

#[test]
fn a_hotfix_in_a_repository_without_configured_validation_uses_its_makefile_test_target() {
    let repo = scratch(
        "routes:\n  hotfix:\n    - phase: implementation\n      inline_issue: true\n",
        &[
            "--request",
            "Checkout returns 500 when the cart is empty",
            "--class",
            "hotfix",
        ],
    );
    std::fs::write(
        repo.path().join("Makefile"),
        "build:\n\tsh check.sh build\ntest:\n\tsh check.sh test\n",
    )
    .unwrap();
    repo.git(&["add", "Makefile"]);
    repo.git(&["commit", "-q", "-m", "make test"]);
    script(&repo, &["edit:hotfix.sh"]);
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    assert!(repo.log_has("validation_detected", "ok"));
    let log = std::fs::read_to_string(repo.path().join(".factory/workflow.log")).unwrap();
    assert!(
        log.contains("using `make test` from Makefile (target `test`)"),
        "{log}"
    );
    assert!(read(&repo, "prompt-1").contains("- make-test: `make test`"));
    // The evidence is the Makefile's run.
    let evidence = std::fs::read_to_string(
        repo.path()
            .join(".factory/artifacts/evidence/1/make-test.log"),
    )
    .unwrap_or_default();
    assert!(evidence.contains("check test"), "{evidence}");
}

#[test]
fn a_critical_finding_without_a_clear_fix_goes_to_a_person_not_back_to_the_agent() {
    let repo = feature(
        "  reviewer:\n    env: [FAKE_AGENT_DIR]\nroutes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n    - phase: code_review\n",
    );
    let review = support::agents::review_answer(
        "REQUEST_CHANGES",
        serde_json::json!([{"severity": "critical", "category": "auth",
            "file": "src/auth/reset_token.ts", "line": 1,
            "description": "Reset tokens never expire, and the plan says nothing about how long they should live",
            "recommendation": "Decide the token lifetime with the product owner.",
            "no_clear_fix": true}]),
    );
    std::fs::write(fake(&repo).join("nofix.json"), review.to_string()).unwrap();
    script(&repo, &["edit:good.sh", "ok:nofix.json"]);
    let out = factory(&repo)
        .env("ANTHROPIC_API_KEY", "test-key")
        .args(["run", "--resume"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("critical-finding"), "{text}");
    assert!(
        text.contains("a critical finding has no clear fix"),
        "{text}"
    );
    assert!(
        text.contains("src/auth/reset_token.ts:1 Reset tokens never expire"),
        "{text}"
    );
    // One implementation and one review: no second round for the agent.
    assert_eq!(read(&repo, "count").trim(), "2");
    let s = repo.session();
    assert_eq!(s["escalation"]["reason"], "critical-finding", "{s}");
    assert_eq!(s["counters"]["implementation_retries"], 0);
}

// --- validation in a job of its own (FACTORY_VALIDATION=deferred) ------------------------------

/// check.sh as in [`CHECK`], also leaving `fake/ran-<name>` behind: proof the command ran.
fn marking_check(repo: &Repo) {
    let marker = fake(repo).join("ran-$1");
    std::fs::write(
        repo.path().join("check.sh"),
        format!("touch \"{}\"\n{CHECK}", marker.display()),
    )
    .unwrap();
    repo.git(&["commit", "-qam", "check.sh leaves a marker"]);
}

/// `factory implement --issue 2` as the wave's implementation job runs it: deferred writes,
/// deferred validation.
fn implement_deferred(repo: &Repo) -> assert_cmd::assert::Assert {
    factory(repo)
        .env("FACTORY_WRITES", "deferred")
        .env("FACTORY_VALIDATION", "deferred")
        .args(["implement", "--issue", "2"])
        .assert()
}

/// `factory implement --validate-pending --defer-writes` as the validation job runs it: no
/// forge token, no agent key in factory's environment.
fn validate_job(repo: &Repo) -> assert_cmd::Command {
    let mut cmd = factory(repo);
    cmd.env_remove("CODEX_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .args(["implement", "--validate-pending", "--defer-writes"]);
    cmd
}

const PR_ARTIFACT: &str = ".factory/outbox/0001-implementation-pull-request-2.json";

#[test]
fn deferred_validation_commits_without_validating_and_apply_refuses_an_unvalidated_head() {
    let repo = feature("");
    marking_check(&repo);
    script(&repo, &["edit:good.sh"]);
    implement_deferred(&repo)
        .success()
        .stdout(predicate::str::contains(
            "once `factory implement --validate-pending` passes",
        ));
    assert!(
        !fake(&repo).join("ran-build").exists(),
        "a validation command ran in the implementation job"
    );
    let head = repo.git(&["rev-parse", BRANCH]);
    let pending = repo.json(".factory/artifacts/validation/2.json");
    assert_eq!(pending["pending"], true);
    assert_eq!(pending["head"], head.as_str());
    assert_eq!(pending["commands"][0]["command"], "sh check.sh build");
    assert!(pending["passed"].is_null());
    let artifact = repo.json(PR_ARTIFACT);
    assert_eq!(artifact["pull_request"]["awaits_validation"], true);
    assert_eq!(artifact["pull_request"]["head"], head.as_str());
    assert!(repo.log_has("validate", "deferred"));
    let status = factory(&repo)
        .args(["status", "--json"])
        .output()
        .unwrap()
        .stdout;
    let status: Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["outputs"]["validation_pending"], json!([2]));
    factory(&repo)
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "validation of #2 pending: factory implement --validate-pending",
        ));
    // Nothing after implementation runs on an unjudged commit.
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "validation of #2 is left for a job of its own (FACTORY_VALIDATION=deferred) and has not run: run `factory implement --validate-pending` first",
        ));
    // Apply refuses to publish a head nobody validated, and publishes nothing.
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "refused: `pull_request.head` `{head}`: has not been validated yet (the validation is pending); run `factory implement --validate-pending` in a job that holds no secret"
        )));
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());
    assert!(repo.log_has("safe_output", "refused"));
    assert_eq!(repo.session()["escalation"]["reason"], "scope-decision");
}

#[test]
fn deferred_validation_needs_deferred_writes() {
    let repo = feature("");
    script(&repo, &["edit:good.sh"]);
    factory(&repo)
        .env("FACTORY_VALIDATION", "deferred")
        .args(["implement", "--issue", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "FACTORY_VALIDATION=deferred needs deferred writes (FACTORY_WRITES=deferred or --defer-writes)",
        ));
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());
    factory(&repo)
        .env("FACTORY_VALIDATION", "later")
        .args(["implement", "--issue", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "FACTORY_VALIDATION=later: expected `inline` or `deferred`",
        ));
}

#[test]
fn a_passing_validation_job_lets_apply_publish_exactly_the_validated_head() {
    let repo = feature("");
    marking_check(&repo);
    script(&repo, &["edit:good.sh"]);
    implement_deferred(&repo).success();
    let head = repo.git(&["rev-parse", BRANCH]);
    validate_job(&repo)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("#2 at {}:", &head[..12])))
        .stdout(predicate::str::contains("✓ build"))
        .stdout(predicate::str::contains(
            "validation of #2 passed: its pull request waits for `factory apply --pending`",
        ));
    assert!(fake(&repo).join("ran-build").exists(), "build did not run");
    let verdict = repo.json(".factory/artifacts/validation/2.json");
    assert_eq!(verdict["pending"], false);
    assert_eq!(verdict["passed"], true);
    assert_eq!(verdict["head"], head.as_str());
    let evidence =
        std::fs::read_to_string(repo.path().join(".factory/artifacts/evidence/2/build.log"))
            .unwrap();
    assert!(
        evidence.contains("$ sh check.sh build") && evidence.contains("result: passed"),
        "{evidence}"
    );
    assert!(repo.log_has("validate", "ok"));

    // A verdict for another commit does not publish this one.
    let path = repo.path().join(".factory/artifacts/validation/2.json");
    let mut other = verdict.clone();
    let main = repo.git(&["rev-parse", "main"]);
    other["head"] = json!(main);
    std::fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
    let copy = tempfile::tempdir().unwrap();
    let state_copy = copy.path().join("state");
    copy_dir(&repo.path().join(".factory"), &state_copy);
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "refused: `pull_request.head` `{head}`: is not the commit the validation of #2 is for (`{main}`)"
        )));
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());

    // With the verdict for exactly this head, the branch and the pull request go out, with the
    // validation job's evidence in the body.
    std::fs::remove_dir_all(repo.path().join(".factory")).unwrap();
    copy_dir(&state_copy, &repo.path().join(".factory"));
    std::fs::write(&path, serde_json::to_vec(&verdict).unwrap()).unwrap();
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{BRANCH} pushed at {}, pull request #3 opened for issue #2",
            &head[..12]
        )));
    let body = repo.pull(3)["body"].as_str().unwrap().to_string();
    assert!(body.contains("sh check.sh build"), "{body}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A route of implementation alone, so that the engine's rework loop is what is tested.
const IMPLEMENTATION_ONLY: &str =
    "routes:\n  feature:\n    - phase: implementation\n      inline_issue: true\n";

fn run_implementation_job(repo: &Repo) -> assert_cmd::assert::Assert {
    factory(repo)
        .env("FACTORY_VALIDATION", "deferred")
        .args([
            "run",
            "--resume",
            "--phase",
            "implementation",
            "--defer-writes",
        ])
        .assert()
}

#[test]
fn a_failing_validation_job_sends_the_issue_back_with_its_output_then_a_pass_is_published() {
    let repo = feature(IMPLEMENTATION_ONLY);
    script(&repo, &["edit:broken.sh", "edit:good.sh"]);
    run_implementation_job(&repo).success();
    let first = repo.git(&["rev-parse", BRANCH]);
    assert_eq!(
        repo.session()["phases"]["implementation"]["status"],
        "completed"
    );

    validate_job(&repo)
        .assert()
        .success()
        .stdout(predicate::str::contains("✗ build"))
        .stdout(predicate::str::contains(
            "validation of #2 failed (attempt 1 of 3): the issue goes back to implementation",
        ));
    let s = repo.session();
    assert_eq!(s["phases"]["implementation"]["status"], "pending");
    assert_eq!(s["rework"]["phase"], "implementation");
    assert_eq!(s["rework"]["issues"], json!([2]));
    assert_eq!(s["counters"]["implementation_retries"], 1);
    let status: Value = serde_json::from_slice(
        &factory(&repo)
            .args(["status", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(status["next_phase"], "implementation");
    assert_eq!(status["outputs"]["validation_pending"], json!([]));
    let verdict = repo.json(".factory/artifacts/validation/2.json");
    assert_eq!(verdict["passed"], false);
    assert_eq!(verdict["head"], first.as_str());
    let ledger = repo.json(".factory/outbox/ledger.json");
    assert_eq!(
        ledger["entries"]["0001-implementation-pull-request-2.json"]["status"],
        "withdrawn"
    );
    // The failed commit is never published.
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to apply"));
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());

    // The next round: the agent gets the failure as the errors of its previous attempt, and
    // goes on from the commit that failed.
    run_implementation_job(&repo).success();
    let retry = read(&repo, "prompt-2");
    assert!(retry.contains("## The previous attempt failed"), "{retry}");
    assert!(retry.contains("error: reset_token.ts is broken"), "{retry}");
    assert!(
        retry.contains("validation `build` (`sh check.sh build`) exited 1"),
        "{retry}"
    );
    let second = repo.git(&["rev-parse", BRANCH]);
    assert_ne!(second, first);
    assert_eq!(
        repo.git(&["rev-parse", &format!("{second}^")]),
        first,
        "the second attempt builds on the commit that failed"
    );
    validate_job(&repo)
        .assert()
        .success()
        .stdout(predicate::str::contains("validation of #2 passed"));
    factory(&repo)
        .args(["apply", "--pending"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{BRANCH} pushed at {}, pull request #3 opened for issue #2",
            &second[..12]
        )));
    let outcomes: Vec<String> = record(&repo)["issues"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["done", "validation-failed", "done", "validated", "applied"]
    );
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
}

#[test]
fn when_validation_jobs_use_up_the_attempts_the_issue_is_told_and_the_session_stops() {
    let repo = feature(&format!(
        "limits:\n  max_implementation_retries: 1\n{IMPLEMENTATION_ONLY}"
    ));
    std::fs::write(
        fake(&repo).join("broken-again.sh"),
        "echo 'BROKEN, still' > src/auth/reset_token.ts\n",
    )
    .unwrap();
    script(&repo, &["edit:broken.sh", "edit:broken-again.sh"]);
    run_implementation_job(&repo).success();
    validate_job(&repo)
        .assert()
        .success()
        .stdout(predicate::str::contains("(attempt 1 of 2)"));
    run_implementation_job(&repo).success();
    validate_job(&repo)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "validation of #2 failed on each of 2 attempt(s): implementation gave up",
        ));
    let s = repo.session();
    assert_eq!(s["escalation"]["reason"], "implementation-failed");
    assert_eq!(s["phases"]["implementation"]["status"], "escalated");
    // The comment waits for the apply job (no token here), then says what inline validation
    // says; the failed branch is never published.
    factory(&repo)
        .args([
            "apply",
            "--pending",
            "--kind",
            "pull_request",
            "--kind",
            "comment",
        ])
        .assert()
        .success();
    let comment = repo.last_comment(2);
    assert!(
        comment.starts_with("Implementation of #2 stopped after 2 attempt(s)"),
        "{comment}"
    );
    assert!(
        comment.contains("error: reset_token.ts is broken"),
        "{comment}"
    );
    assert!(!repo.path().join(".factory/forge/pulls/3.json").exists());
    assert_eq!(read(&repo, "count").trim(), "2", "no third agent call");
    factory(&repo)
        .args(["run", "--resume"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("implementation-failed"));
}

/// What a validation command can reach: its own environment and, through /proc, that of every
/// process above it up to factory's own (above that is the test harness; the act end-to-end
/// test walks a real job's tree to the top). `fake/reach-<name>` gets all of it.
fn reaching_check(repo: &Repo) {
    let out = fake(repo).join("reach-$1");
    std::fs::write(
        repo.path().join("check.sh"),
        format!(
            "out=\"{}\"\nenv > \"$out\"\npid=$$\nwhile [ \"${{pid:-0}}\" -gt 1 ]; do\n  echo \"--- pid $pid: $(tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null)\" >> \"$out\"\n  tr '\\0' '\\n' < /proc/$pid/environ >> \"$out\" 2>/dev/null\n  case \"$(tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null)\" in *' implement '*) break ;; esac\n  pid=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$pid/status)\ndone\n",
            out.display()
        ),
    )
    .unwrap();
    repo.git(&["commit", "-qam", "check.sh reports what it can reach"]);
}

const CODEX_KEY: &str = "sk-codex-key-of-the-implementation-job";

#[test]
fn the_validation_job_reaches_no_key_and_no_token_where_inline_validation_reaches_the_key() {
    if !Path::new("/proc/self/environ").exists() {
        return; // no procfs: nothing to walk
    }
    // Inline, the command's own environment is clean but factory's, one level up, holds the
    // implementer's key: the gap this job closes, and proof the walk sees what it should.
    let inline = feature("");
    reaching_check(&inline);
    script(&inline, &["edit:good.sh"]);
    factory(&inline)
        .env("CODEX_API_KEY", CODEX_KEY)
        .env("FACTORY_WRITES", "deferred")
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    let reach = read(&inline, "reach-build");
    let own = reach.split("--- pid").next().unwrap();
    assert!(
        !own.contains(CODEX_KEY),
        "the allow-list let the key through"
    );
    assert!(
        reach.contains(CODEX_KEY),
        "the walk did not reach factory's environment:\n{reach}"
    );

    // Deferred: the implementation job holds the key, the validation job nothing.
    let repo = feature("");
    reaching_check(&repo);
    script(&repo, &["edit:good.sh"]);
    factory(&repo)
        .env("CODEX_API_KEY", CODEX_KEY)
        .env("FACTORY_WRITES", "deferred")
        .env("FACTORY_VALIDATION", "deferred")
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    assert!(!fake(&repo).join("reach-build").exists());
    validate_job(&repo).assert().success();
    let reach = read(&repo, "reach-build");
    assert!(reach.contains("--- pid"), "the walk did not run:\n{reach}");
    assert!(
        reach.contains("implement --validate-pending"),
        "the walk did not pass factory's process:\n{reach}"
    );
    for secret in [CODEX_KEY, "test-key"] {
        assert!(
            !reach.contains(secret),
            "{secret} is within reach:\n{reach}"
        );
    }
    for name in [
        "CODEX_API_KEY=",
        "OPENAI_API_KEY=",
        "ANTHROPIC_API_KEY=",
        "GITHUB_TOKEN=",
        "GH_TOKEN=",
    ] {
        assert!(
            !reach.lines().any(|l| l.starts_with(name)),
            "{name} is within reach:\n{reach}"
        );
    }
}
