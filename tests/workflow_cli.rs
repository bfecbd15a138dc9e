//! `factory workflow show|check|default` through the binary, including the examples in
//! docs/workflow.md.
mod support;

use predicates::prelude::*;
use support::factory_in as factory;

fn repo_with(override_yaml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    if let Some(text) = override_yaml {
        std::fs::create_dir_all(dir.path().join(".factory")).unwrap();
        std::fs::write(dir.path().join(".factory/workflow.yaml"), text).unwrap();
    }
    dir
}

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/workflow.md")).unwrap()
}

/// The fenced block that opens after the prose `marker` in docs/workflow.md.
fn doc_block(marker: &str) -> String {
    let doc = doc();
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in docs/workflow.md"));
    let rest = &doc[at..];
    let body = &rest[rest.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// The lines of a console block after its `$ command` line, up to the closing fence.
fn doc_output(command_line: &str) -> String {
    let doc = doc();
    let at = doc
        .find(command_line)
        .unwrap_or_else(|| panic!("{command_line} not in docs/workflow.md"));
    let rest = &doc[at..];
    let rest = &rest[rest.find('\n').unwrap() + 1..];
    rest[..rest.find("```").unwrap()].to_string()
}

#[test]
fn show_prints_every_route_with_the_seed_limits() {
    let dir = repo_with(None);
    factory(dir.path())
        .args(["workflow", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("hotfix: 1 → 5 → 6 → 7"))
        .stdout(predicate::str::contains("refactor: 1 → 2 → 5 → 6 → 7"))
        .stdout(predicate::str::contains("feature: 1 → 2 → 3 → 4 → 5 → 6 → 7 → 8"))
        .stdout(predicate::str::contains("risky-infra: 1 → 2 → 3 → 4 → 5 → 6 → 7 → 8"))
        .stdout(predicate::str::contains(
            "limits: review cycles 3, implementation retries 2, planning retries 2, concurrent issues 3, recurrence 2",
        ))
        .stdout(predicate::str::contains("retry after 30s, ×2 each time"));
}

#[test]
fn show_matches_the_documented_example() {
    let dir = repo_with(None);
    let out = factory(dir.path())
        .args(["workflow", "show", "--class", "hotfix"])
        .output()
        .unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    let doc = doc_output("$ factory workflow show --class hotfix");
    let want: Vec<&str> = doc.lines().map(str::trim_end).collect();
    let got: Vec<&str> = got.lines().map(str::trim_end).collect();
    assert_eq!(got, want);
}

#[test]
fn show_as_json_names_gates_artifacts_and_options() {
    let dir = repo_with(None);
    let out = factory(dir.path())
        .args([
            "workflow",
            "show",
            "--class",
            "risky-infra",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let route = v["routes"]["risky-infra"].as_array().unwrap();
    assert_eq!(route.len(), 8);
    assert_eq!(route[1]["gate"], "strategic-plan");
    assert_eq!(route[1]["options"]["adr"], true);
    assert_eq!(route[6]["options"]["approval"], true);
    assert_eq!(route[7]["artifact"], "scorecards/{sid}.json");
}

#[test]
fn the_documented_override_is_valid_and_takes_effect() {
    let yaml = doc_block("everything else stays as built in:");
    let dir = repo_with(Some(&yaml));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(".factory/workflow.yaml: valid"));
    factory(dir.path())
        .args(["workflow", "show", "--class", "feature"])
        .assert()
        .success()
        .stdout(predicate::str::contains("review cycles 5"))
        .stdout(predicate::str::contains(
            "5400s  runs `./scripts/implement.sh`",
        ));
}

#[test]
fn check_reports_the_documented_problems_with_lines() {
    let dir = repo_with(Some(
        "version: 1\nlimits:\n  max_review_cycles: 0\n  bogus: 1\n",
    ));
    let doc = doc_output("$ factory workflow check\n");
    let out = factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(doc.lines().count() == 3, "{doc}");
    for line in doc.lines() {
        assert!(stderr.contains(line.trim()), "missing {line:?} in {stderr}");
    }
}

#[test]
fn check_without_an_override_says_the_default_is_in_effect() {
    let dir = repo_with(None);
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("built-in default is in effect"));
    factory(dir.path())
        .args(["workflow", "check", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yaml does not exist"));
}

#[test]
fn yaml_syntax_errors_are_exit_2_with_line_and_column() {
    let dir = repo_with(Some("limits:\n  max_review_cycles: [3\n"));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(".factory/workflow.yaml:")
                .and(predicate::str::contains("not valid YAML")),
        );
    factory(dir.path())
        .args(["workflow", "show"])
        .assert()
        .code(2);
    let dir = repo_with(Some("- just\n- a list\n"));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("must be a mapping"));
}

#[test]
fn route_consistency_problems_point_at_the_step() {
    let dir = repo_with(Some(
        "routes:\n  feature:\n    - phase: implementation\n    - phase: code_review\n    - phase: merge\n",
    ));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            ".factory/workflow.yaml:3: /routes/feature/0: no code without an issue",
        ));
}

#[test]
fn default_prints_a_file_that_checks_clean_as_an_override() {
    let dir = repo_with(None);
    let out = factory(dir.path())
        .args(["workflow", "default"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::create_dir_all(dir.path().join(".factory")).unwrap();
    std::fs::write(dir.path().join(".factory/workflow.yaml"), &out.stdout).unwrap();
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .success();
}

#[test]
fn the_forge_time_budget_is_checked_and_shown() {
    let dir = repo_with(Some("forge:\n  time_budget_seconds: 120\n"));
    let out = factory(dir.path())
        .args(["workflow", "show", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["forge"], serde_json::json!({"time_budget_seconds": 120}));
    factory(dir.path())
        .args(["workflow", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "GitHub waits: rate limits and server errors waited out for at most 120s per phase attempt",
        ));
    let default = repo_with(None);
    let out = factory(default.path())
        .args(["workflow", "show", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["forge"]["time_budget_seconds"], 900);

    let dir = repo_with(Some("version: 1\nforge:\n  time_budget: 120\n"));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            ".factory/workflow.yaml:2: /forge: Additional properties are not allowed ('time_budget' was unexpected)",
        ));
    let dir = repo_with(Some("forge:\n  time_budget_seconds: -5\n"));
    factory(dir.path())
        .args(["workflow", "check"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            ".factory/workflow.yaml:2: /forge/time_budget_seconds: -5 is less than the minimum of 0",
        ));
}

#[test]
fn agent_names_the_cli_a_role_needs_and_none_for_a_phase_program() {
    let agent = |repo: &tempfile::TempDir, args: &[&str]| -> String {
        let out = factory(repo.path())
            .args(["workflow", "agent"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().trim().to_string()
    };
    let default = repo_with(None);
    assert_eq!(agent(&default, &["planner"]), "claude");
    assert_eq!(
        agent(&default, &["implementer", "--phase", "implementation"]),
        "codex"
    );
    assert_eq!(
        agent(&default, &["reviewer", "--phase", "code_review"]),
        "claude"
    );

    let custom = repo_with(Some(
        "agents:\n  reviewer:\n    adapter: codex\n  planner:\n    adapter: command\n    command: [\"sh\", \"plan.sh\"]\nphases:\n  implementation:\n    command: [\"sh\", \"implement.sh\"]\n",
    ));
    assert_eq!(
        agent(&custom, &["reviewer", "--phase", "code_review"]),
        "codex"
    );
    assert_eq!(
        agent(&custom, &["planner", "--phase", "strategic_plan"]),
        "command"
    );
    assert_eq!(
        agent(&custom, &["implementer", "--phase", "implementation"]),
        "none"
    );

    factory(default.path())
        .args(["workflow", "agent", "architect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected planner, implementer or reviewer",
        ));
}
