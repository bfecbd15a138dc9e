//! The phase runner through the real binary: every route and trigger, gates and retries,
//! backoff, escalations, approvals, resume after a crash at every phase boundary.
#![cfg(unix)]

mod support;

use predicates::prelude::*;
use support::engine::{PHASES, Repo, intake_fixture};

#[test]
fn every_route_runs_its_phases_in_order_and_completes() {
    let expected = [
        ("hotfix", vec!["implementation", "code_review", "merge"]),
        (
            "refactor",
            vec!["strategic_plan", "implementation", "code_review", "merge"],
        ),
        ("feature", PHASES.to_vec()),
        ("risky-infra", PHASES.to_vec()),
    ];
    for (class, route) in expected {
        let repo = Repo::engine("");
        let mut cmd = repo.factory();
        cmd.args(["run", "Change the thing", "--class", class]);
        if class == "risky-infra" {
            cmd.arg("--approve");
        }
        cmd.assert()
            .success()
            .stdout(predicate::str::contains("pipeline complete"));
        let s = repo.session();
        let got: Vec<&str> = s["route"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, route, "{class}");
        let order: Vec<String> = repo
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(
            order, route,
            "{class}: phases ran in route order, once each"
        );
        for phase in &route {
            assert_eq!(repo.status(phase), "completed", "{class} {phase}");
        }
        assert_eq!(repo.status("intake"), "completed");
        assert!(repo.phase_logged("session", "complete", "ok"), "{class}");
        let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
        assert!(
            report.contains(s["id"].as_str().unwrap()),
            "{class}: REPORT.md names the session"
        );
    }
}

#[test]
fn the_class_is_inferred_and_the_decision_logged_with_its_rationale() {
    let repo = Repo::engine("");
    repo.factory()
        .args(["run", "Refactor the billing module into smaller services"])
        .assert()
        .success()
        .stdout(predicate::str::contains("class:   refactor (inferred"));
    let log = repo.log();
    let classify = log
        .iter()
        .find(|e| e["action"] == "classify")
        .expect("classification logged");
    assert!(
        classify["decision"]
            .as_str()
            .unwrap()
            .starts_with("refactor:"),
        "{classify}"
    );
    assert_eq!(repo.session()["change_class"], "refactor");
    // An explicit class wins over the wording.
    let repo = Repo::engine("");
    repo.factory()
        .args(["run", "Refactor the billing module", "--class", "feature"])
        .assert()
        .success();
    assert_eq!(repo.session()["change_class"], "feature");
}

#[test]
fn incident_and_drift_triggers_start_hotfix_sessions_with_normalised_payloads() {
    // An application drift (a feature flag flipped); a drift of the infrastructure itself is
    // risky-infra (next test).
    for (trigger, payload, key) in [
        ("incident", "sentry-event.json", "incident"),
        ("incident", "pagerduty-triggered.json", "incident"),
        ("runtime-drift", "drift-feature-flag.json", "drift"),
    ] {
        let repo = Repo::engine("");
        repo.factory()
            .args(["run", "--trigger", trigger, "--payload"])
            .arg(intake_fixture(payload))
            .assert()
            .success();
        let s = repo.session();
        assert_eq!(s["trigger"], trigger);
        assert_eq!(s["change_class"], "hotfix", "{payload}");
        let intake: serde_json::Value = serde_json::from_slice(
            &std::fs::read(repo.path().join(".factory/artifacts/intake.json")).unwrap(),
        )
        .unwrap();
        assert!(intake[key].is_object(), "{payload}: {intake}");
        assert_eq!(intake["request_untrusted"], true);
    }
}

#[test]
fn a_drift_of_the_infrastructure_starts_a_risky_infra_session() {
    let repo = Repo::engine("");
    let out = repo
        .factory()
        .args([
            "intake",
            "--json",
            "--trigger",
            "runtime-drift",
            "--payload",
        ])
        .arg(intake_fixture("drift.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["change_class"], "risky-infra", "{record}");
    let signals = record["classification"]["signals"].to_string();
    assert!(
        signals.contains("trigger:runtime-drift") && signals.contains("word:"),
        "the drift and the words that made it infrastructure are both recorded: {signals}"
    );
    assert_eq!(repo.session()["change_class"], "risky-infra");
}

#[test]
fn an_invalid_artifact_is_retried_with_the_violations_then_passes() {
    let repo = Repo::engine("");
    repo.script("strategic_plan", &["invalid", "ok"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .assert()
        .success();
    let calls: Vec<String> = repo
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("strategic_plan"))
        .collect();
    assert_eq!(
        calls,
        [
            "strategic_plan attempt=1 call=1 context=",
            "strategic_plan attempt=2 call=2 context=yes"
        ]
    );
    let context = std::fs::read_to_string(
        repo.path()
            .join(".factory/runs/strategic_plan.retry-context.txt"),
    )
    .unwrap_or_default();
    // The context file is removed or replaced on later attempts; the log keeps the violations.
    let _ = context;
    assert!(repo.phase_logged("strategic_plan", "gate", "invalid"));
    assert_eq!(repo.session()["counters"]["planning_retries"], 1);
    assert_eq!(repo.session()["phases"]["strategic_plan"]["attempts"], 2);
}

#[test]
fn a_contract_still_invalid_after_retries_escalates_and_stays_stopped() {
    let repo = Repo::engine("");
    repo.script("strategic_plan", &["invalid"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "needs a human: contract-invalid at strategic_plan",
        ))
        .stderr(predicate::str::contains(
            "factory run --resume --acknowledge",
        ));
    assert_eq!(
        repo.calls_of("strategic_plan"),
        3,
        "first attempt + 2 planning retries"
    );
    let s = repo.session();
    assert_eq!(s["escalation"]["reason"], "contract-invalid");
    assert_eq!(s["phases"]["strategic_plan"]["status"], "escalated");
    assert!(repo.phase_logged("strategic_plan", "escalate", "needs_human"));
    assert!(
        std::fs::read_to_string(repo.path().join(".factory/REPORT.md"))
            .unwrap()
            .contains("contract-invalid")
    );

    // Resuming does nothing until a human acknowledges.
    repo.factory().args(["run", "--resume"]).assert().code(1);
    assert_eq!(repo.calls_of("strategic_plan"), 3);

    repo.script("strategic_plan", &["ok"]);
    std::fs::remove_file(repo.path().join("fake/count-strategic_plan")).unwrap();
    repo.factory()
        .args(["run", "--resume", "--acknowledge"])
        .assert()
        .success();
    assert!(repo.session()["escalation"].is_null());
    assert!(repo.phase_logged("strategic_plan", "acknowledge", "ok"));
}

#[test]
fn implementation_failing_after_its_retries_escalates() {
    let repo = Repo::engine("");
    repo.script("implementation", &["fail"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("implementation-failed"))
        .stderr(predicate::str::contains("error[E0425]"));
    assert_eq!(repo.calls_of("implementation"), 3);
    let s = repo.session();
    assert_eq!(s["counters"]["implementation_retries"], 2);
    assert_eq!(s["escalation"]["phase"], "implementation");
    // The retries got the previous failure as context.
    assert!(
        repo.calls()
            .iter()
            .filter(|c| c.starts_with("implementation"))
            .skip(1)
            .all(|c| c.ends_with("context=yes"))
    );
}

#[test]
fn a_failing_phase_other_than_implementation_escalates_as_phase_failed() {
    let repo = Repo::engine("");
    repo.script("merge", &["fail"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1);
    assert_eq!(repo.session()["escalation"]["reason"], "phase-failed");
    assert_eq!(repo.calls_of("merge"), 2, "one retry by default");
}

#[test]
fn an_unavailable_tool_is_retried_on_the_backoff_schedule() {
    let repo = Repo::engine("");
    repo.script("implementation", &["unavailable", "unavailable", "ok"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .success();
    assert_eq!(repo.calls_of("implementation"), 3);
    let waits = repo
        .log()
        .iter()
        .filter(|e| e["action"] == "backoff")
        .count();
    assert_eq!(waits, 2);
    assert_eq!(
        repo.session()["counters"]["implementation_retries"],
        0,
        "backoff is not a retry"
    );

    let repo = Repo::engine("");
    repo.script("implementation", &["unavailable"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("tool-unavailable"));
    assert_eq!(repo.calls_of("implementation"), 3, "backoff.max_attempts");
}

#[test]
fn a_phase_can_ask_for_a_human() {
    let repo = Repo::engine("");
    repo.script("code_review", &["human:critical-finding"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "critical-finding at code_review: the phase needs a decision",
        ));
    assert_eq!(
        repo.calls_of("code_review"),
        1,
        "no retry once a human is needed"
    );
    assert_eq!(repo.status("merge"), "pending");
}

#[test]
fn risky_infra_stops_before_merge_until_a_human_approves() {
    let repo = Repo::engine("");
    repo.factory()
        .args([
            "run",
            "Move the database to a new VPC",
            "--class",
            "risky-infra",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "production-infrastructure at merge",
        ));
    assert_eq!(repo.calls_of("merge"), 0);
    assert_eq!(repo.status("code_review"), "completed");
    repo.factory().args(["run", "--resume"]).assert().code(1);
    assert_eq!(
        repo.calls_of("merge"),
        0,
        "resuming without approval stays stopped"
    );
    repo.factory()
        .args(["run", "--resume", "--approve"])
        .assert()
        .success();
    assert_eq!(repo.session()["approvals"], serde_json::json!(["merge"]));
    assert!(repo.phase_logged("merge", "approve", "ok"));
}

#[test]
fn a_plan_with_infrastructure_in_scope_raises_a_feature_to_risky_infra() {
    let repo = Repo::engine("");
    // The planner puts a Kubernetes manifest in the scope of a task of a plain feature.
    let fixture = repo.path().join("fake/fixtures/strategic_plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    plan["tasks"][2]["files_in_scope"]
        .as_array_mut()
        .unwrap()
        .push("k8s/password-service.yaml".into());
    std::fs::write(&fixture, plan.to_string()).unwrap();

    repo.factory()
        .args([
            "run",
            "Let users reset their password",
            "--class",
            "feature",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "production-infrastructure at merge",
        ));
    let s = repo.session();
    assert_eq!(s["change_class"], "risky-infra", "raised, never lowered");
    let raised = &s["classification"]["raised"];
    assert_eq!(raised["from"], "feature");
    assert_eq!(
        raised["paths"],
        serde_json::json!(["task-003: k8s/password-service.yaml (Kubernetes)"]),
        "the additive migration of task-001 does not raise it"
    );
    // Planned again for the ADR, then the heavier route: stopped for approval before merge.
    assert_eq!(repo.calls_of("strategic_plan"), 2);
    assert_eq!(repo.calls_of("merge"), 0);
    assert!(repo.phase_logged("strategic_plan", "raise_class", "ok"));
    let decision = repo
        .log()
        .into_iter()
        .find(|e| e["action"] == "raise_class")
        .unwrap();
    assert_eq!(decision["decision"], "risky-infra");
    assert!(
        decision["detail"]
            .as_str()
            .unwrap()
            .contains("k8s/password-service.yaml"),
        "{decision}"
    );
    repo.factory()
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("raised from feature"));
    let report = std::fs::read_to_string(repo.path().join(".factory/REPORT.md")).unwrap();
    assert!(
        report.contains("raised from feature to risky-infra"),
        "{report}"
    );
}

#[test]
fn an_explicit_class_that_contradicts_strong_evidence_is_kept_and_shown() {
    let repo = Repo::engine("");
    repo.factory()
        .args([
            "intake",
            "--class",
            "feature",
            "--request",
            "Move the Terraform VPC module to the new AWS provider and update the Kubernetes ingress",
        ])
        .assert()
        .success();
    let s = repo.session();
    assert_eq!(s["change_class"], "feature", "an explicit class wins");
    let c = s["classification"]["contradiction"].as_str().unwrap();
    assert!(
        c.starts_with("given as feature but the request's evidence says risky-infra")
            && c.contains("word:terraform"),
        "{c}"
    );
    repo.factory()
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("contradicted: given as feature"));
    // No contradiction when the explicit class is the heavier one.
    let repo = Repo::engine("");
    repo.factory()
        .args([
            "intake",
            "--class",
            "risky-infra",
            "--request",
            "Add a CSV export",
        ])
        .assert()
        .success();
    assert!(repo.session().get("classification").is_none());
}

#[test]
fn a_crash_at_any_phase_boundary_resumes_where_it_stopped() {
    for phase in PHASES {
        for crash in ["crash-before", "crash-after"] {
            let repo = Repo::engine("");
            repo.script(phase, &[crash, "ok"]);
            let out = repo
                .factory()
                .args(["run", "Add an export button", "--class", "feature"])
                .output()
                .unwrap();
            assert!(
                !out.status.success(),
                "{phase} {crash}: the factory process was killed"
            );
            assert_eq!(
                repo.status(phase),
                "running",
                "{phase} {crash}: the crash left the phase running"
            );
            repo.factory().args(["run", "--resume"]).assert().success();
            for p in PHASES {
                assert_eq!(repo.status(p), "completed", "{phase} {crash}: {p}");
            }
            let position = PHASES.iter().position(|p| *p == phase).unwrap();
            for (i, p) in PHASES.iter().enumerate() {
                let want = if i == position { 2 } else { 1 };
                assert_eq!(
                    repo.calls_of(p),
                    want,
                    "{phase} {crash}: {p} runs once, the crashed phase twice"
                );
            }
            assert!(
                repo.phase_logged(phase, "resume", "rerun"),
                "{phase} {crash}"
            );
        }
    }
}

#[test]
fn a_completed_phase_whose_artifact_vanished_runs_again() {
    let repo = Repo::engine("");
    repo.script("code_review", &["human:scope-decision", "ok"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1);
    std::fs::remove_file(repo.path().join(".factory/artifacts/implementation.json")).unwrap();
    repo.factory()
        .args(["run", "--resume", "--acknowledge"])
        .assert()
        .success();
    assert_eq!(repo.calls_of("implementation"), 2);
    assert!(repo.phase_logged("implementation", "resume", "rerun"));
}

#[test]
fn one_phase_at_a_time_as_ci_jobs_do() {
    let repo = Repo::engine("");
    repo.factory()
        .args([
            "intake",
            "--request",
            "Add an export button",
            "--class",
            "feature",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("next: factory run --resume"));
    repo.factory()
        .args(["run", "--resume", "--phase", "tactical_plan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("strategic_plan comes first"));
    repo.factory()
        .args(["run", "--resume", "--phase", "strategic_plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "next: factory run --resume --phase issue_creation",
        ));
    assert_eq!(repo.status("issue_creation"), "pending");
    // Idempotent: running a finished phase again does nothing.
    repo.factory()
        .args(["run", "--resume", "--phase", "strategic_plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already completed"));
    assert_eq!(repo.calls_of("strategic_plan"), 1);

    let hotfix = Repo::engine("");
    hotfix
        .factory()
        .args([
            "intake",
            "--request",
            "Checkout is down",
            "--class",
            "hotfix",
        ])
        .assert()
        .success();
    hotfix
        .factory()
        .args(["run", "--resume", "--phase", "strategic_plan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not in this session's route"));
}

#[test]
fn a_phase_over_its_timeout_is_killed_with_its_children() {
    let repo = Repo::engine_with_phases(
        &[(
            "implementation",
            "    command: [\"sh\", \"-c\", \"sleep 30 & sleep 30\"]\n    timeout_seconds: 1\n    retries: 0\n",
        )],
        "",
    );
    let started = std::time::Instant::now();
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timed out after 1s"));
    // Not a timing assertion on performance: a hung child would hold the pipes for 30 s.
    assert!(started.elapsed().as_secs() < 25);
}

#[test]
fn a_phase_gets_no_credentials_it_was_not_given() {
    let repo = Repo::engine_with_phases(
        &[(
            "implementation",
            "    command: [\"sh\", \"-c\", \"env > \\\"$FACTORY_ARTIFACT.env\\\"; echo '{}' > \\\"$FACTORY_ARTIFACT\\\"\"]\n",
        )],
        "",
    );
    repo.factory()
        .env("GITHUB_TOKEN", "ghp_shouldnotleak")
        .env("AWS_SECRET_ACCESS_KEY", "nope")
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .success();
    let env = std::fs::read_to_string(
        repo.path()
            .join(".factory/artifacts/implementation.json.env"),
    )
    .unwrap();
    assert!(
        !env.contains("GITHUB_TOKEN") && !env.contains("AWS_SECRET"),
        "{env}"
    );
    for var in [
        "FACTORY_STATE_DIR",
        "FACTORY_SESSION_ID",
        "FACTORY_PHASE=implementation",
        "FACTORY_ATTEMPT=1",
        "FACTORY_ARTIFACT",
        "PATH",
    ] {
        assert!(env.contains(var), "{var} missing: {env}");
    }
}

#[test]
fn secrets_in_phase_output_never_reach_the_log() {
    let repo = Repo::engine("");
    repo.script("implementation", &["secret"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .success();
    let log = std::fs::read_to_string(repo.path().join(".factory/workflow.log")).unwrap();
    assert!(log.contains("using token"), "the line is logged");
    assert!(!log.contains(&format!("ghp_{}", "A".repeat(36))), "{log}");
}

#[test]
fn recurrence_over_the_limit_escalates() {
    let repo = Repo::engine("");
    repo.script("merge", &["human:scope-decision"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1);
    let path = repo.path().join(".factory/session.json");
    let mut s = repo.session();
    s["counters"]["recurrence"] = serde_json::json!(3);
    s["escalation"] = serde_json::Value::Null;
    s.as_object_mut().unwrap().remove("escalation");
    s["phases"]["merge"]["status"] = serde_json::json!("pending");
    std::fs::write(&path, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    repo.factory()
        .args(["run", "--resume"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recurrence-limit"))
        .stderr(predicate::str::contains("recurred 3 times"));
}

#[test]
fn a_session_in_progress_is_not_replaced_by_accident() {
    let repo = Repo::engine("");
    repo.script("code_review", &["human:scope-decision"]);
    repo.factory()
        .args(["run", "Checkout is broken", "--class", "hotfix"])
        .assert()
        .code(1);
    let old = repo.session()["id"].as_str().unwrap().to_string();
    repo.factory()
        .args(["run", "Another thing", "--class", "feature"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "session {old} is still in progress"
        )));
    repo.script("code_review", &["ok"]);
    repo.factory()
        .args(["run", "Another thing", "--class", "feature", "--replace"])
        .assert()
        .success();
    assert_ne!(repo.session()["id"], old.as_str());
    let archived = repo.path().join(".factory/sessions").join(&old);
    assert!(
        archived.join("session.json").is_file() && archived.join("artifacts/intake.json").is_file()
    );
}

#[test]
fn bad_inputs_are_clear_errors_with_exit_2() {
    let repo = Repo::engine("");
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        "limits:\n  max_review_cycles: many\n",
    )
    .unwrap();
    repo.factory()
        .args(["run", "x", "--class", "feature"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("workflow.yaml:2"));
    let repo = Repo::engine("");
    repo.factory()
        .args(["run", "--resume"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session"));
    repo.factory()
        .args(["run", "x", "--class", "huge"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("risky-infra"));
    repo.factory()
        .args(["run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--resume"));
    repo.factory()
        .args(["run", "--trigger", "incident", "--payload"])
        .arg(intake_fixture("unknown.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown.json"));
    repo.factory()
        .args(["run", "--trigger", "runtime-drift", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--payload"));
    std::fs::write(repo.path().join(".factory/session.json"), "{ not json").unwrap();
    repo.factory()
        .args(["run", "--resume"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("session.json:1"));
}

#[test]
fn a_review_that_requests_changes_sends_the_work_back_to_implementation() {
    let repo = Repo::engine("");
    repo.script("code_review", &["sendback:implementation", "ok"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"));
    let calls: Vec<String> = repo
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("implementation") || c.starts_with("code_review"))
        .collect();
    assert_eq!(
        calls,
        [
            "implementation attempt=1 call=1 context=",
            "code_review attempt=1 call=1 context=",
            "implementation attempt=1 call=2 context= rework=cycle1:src/auth.rs:12 handle the expired token",
            "code_review attempt=1 call=2 context=",
        ],
        "the rework reaches implementation once, with the review's findings, and review runs again"
    );
    let s = repo.session();
    assert_eq!(s["counters"]["review_cycles"], 2, "two review rounds");
    assert_eq!(
        s["counters"]["implementation_retries"], 0,
        "a rework is not a retry"
    );
    assert!(
        s.get("rework").is_none(),
        "cleared once implementation completed: {s}"
    );
    assert!(repo.phase_logged("code_review", "send_back", "rework"));
    assert!(repo.phase_logged("code_review", "phase_end", "send_back"));
}

#[test]
fn one_phase_at_a_time_a_send_back_says_what_runs_next() {
    let repo = Repo::engine("");
    repo.script("code_review", &["sendback:implementation", "ok"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .args(["--phase", "strategic_plan"])
        .assert()
        .success();
    for phase in ["issue_creation", "tactical_plan", "implementation"] {
        repo.factory()
            .args(["run", "--resume", "--phase", phase])
            .assert()
            .success();
    }
    repo.factory()
        .args(["run", "--resume", "--phase", "code_review"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "code_review sent the work back to implementation (review cycle 1)",
        ))
        .stdout(predicate::str::contains(
            "next: factory run --resume --phase implementation",
        ));
    repo.factory()
        .args(["run", "--resume", "--phase", "implementation"])
        .assert()
        .success()
        .stdout(predicate::str::contains("implementation completed"));
}

#[test]
fn review_cycles_past_the_limit_escalate() {
    let repo = Repo::engine("limits:\n  max_review_cycles: 2\n");
    repo.script("code_review", &["sendback:implementation"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "review-cycle-limit at code_review",
        ));
    let s = repo.session();
    assert_eq!(s["counters"]["review_cycles"], 2);
    assert_eq!(s["escalation"]["reason"], "review-cycle-limit");
    assert_eq!(repo.calls_of("implementation"), 2);
    assert_eq!(repo.calls_of("code_review"), 2);
    assert_eq!(repo.status("merge"), "pending");
}

#[test]
fn a_phase_can_only_send_work_back_to_an_earlier_phase_of_its_route() {
    let repo = Repo::engine("");
    repo.script("code_review", &["sendback:merge"]);
    repo.factory()
        .args(["run", "Add an export button", "--class", "feature"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "can only send work back to an earlier phase, not to merge",
        ));
    repo.script("code_review", &["sendback:nonsense"]);
    repo.factory()
        .args(["run", "--resume"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`send_back` must name an earlier phase",
        ));
}
