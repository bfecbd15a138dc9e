//! `factory preflight` through the real binary, on fixture diffs.
mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use support::factory;

const FIX: &str = "tests/fixtures/preflight";

fn fix(name: &str) -> String {
    format!("{FIX}/{name}")
}

fn json_run(args: &[&str]) -> (i32, Value) {
    let out = factory()
        .arg("preflight")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

fn ids(v: &Value) -> Vec<(String, String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn clean_diff_exits_zero_with_summary_line() {
    factory()
        .args(["preflight", "--diff", &fix("edge-cases.diff")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "0 findings (0 critical, 0 important, 0 advisory) in 8 files",
        ))
        .stdout(predicate::str::contains(
            "note: skipped img.png (binary file)",
        ))
        .stdout(predicate::str::contains(
            "note: skipped blob.bin (binary file)",
        ))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn reads_stdin() {
    factory()
        .args(["preflight", "--diff", "-"])
        .write_stdin(std::fs::read(fix("plain-unified.diff")).unwrap())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("in 2 files"));
}

#[test]
fn malformed_diff_exits_two_naming_the_line() {
    factory()
        .args(["preflight", "--diff", &fix("truncated-hunk.diff")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("diff line 8"));
}

#[test]
fn missing_diff_file_exits_two() {
    factory()
        .args(["preflight", "--diff", "does/not/exist.diff"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does/not/exist.diff"));
}

#[test]
fn scope_file_judges_every_touched_path() {
    let (code, v) = json_run(&[
        "--diff",
        &fix("scope-target.diff"),
        "--scope",
        &fix("scope.json"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        ids(&v),
        vec![
            ("scope-outside".into(), ".github/workflows/ci.yml".into(), 0),
            (
                "scope-protected-path".into(),
                ".github/workflows/ci.yml".into(),
                0
            ),
            ("scope-excluded".into(), "src/auth/session.rs".into(), 0),
            ("scope-outside".into(), "src/billing/invoice.rs".into(), 0),
        ]
    );
    assert_eq!(v["summary"]["by_severity"]["critical"], 2);
    assert_eq!(v["summary"]["by_category"]["scope"], 4);
    // The same scope read from a tactical plan.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"issue": 4, "title": "x", "files_in_scope": ["src/api/**", "tests/api/**"], "files_out_of_scope": ["src/auth/**"], "change_class": "feature", "steps": []}"#,
    )
    .unwrap();
    let (_, v2) = json_run(&[
        "--diff",
        &fix("scope-target.diff"),
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(ids(&v), ids(&v2));
}

#[test]
fn fail_on_threshold() {
    let args = [
        "preflight",
        "--diff",
        &fix("scope-target.diff"),
        "--scope",
        &fix("scope.json"),
    ];
    factory()
        .args(args)
        .args(["--fail-on", "never"])
        .assert()
        .code(0);
    factory()
        .args(args)
        .args(["--fail-on", "critical"])
        .assert()
        .code(1);
    // Only important findings: critical threshold passes.
    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path().join("s.json");
    std::fs::write(
        &scope,
        r#"{"files_in_scope": ["nothing/**"], "change_class": "risky-infra"}"#,
    )
    .unwrap();
    factory()
        .args([
            "preflight",
            "--diff",
            &fix("plain-unified.diff"),
            "--scope",
            scope.to_str().unwrap(),
        ])
        .args(["--fail-on", "critical"])
        .assert()
        .code(0);
    factory()
        .args([
            "preflight",
            "--diff",
            &fix("plain-unified.diff"),
            "--scope",
            scope.to_str().unwrap(),
        ])
        .assert()
        .code(1);
}

#[test]
fn pack_rules_respect_languages_and_paths() {
    let (code, v) = json_run(&[
        "--diff",
        &fix("pack-target.diff"),
        "--pack",
        &fix("pack.json"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        ids(&v),
        vec![
            ("no-todo-hack".into(), "app/main.py".into(), 2),
            ("print-debug".into(), "app/main.py".into(), 3),
        ]
    );
}

#[test]
fn bad_pack_names_file_and_entry() {
    factory()
        .args([
            "preflight",
            "--diff",
            &fix("pack-target.diff"),
            "--pack",
            &fix("bad-pack.json"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad-pack.json: preflight_patterns[1]",
        ))
        .stderr(predicate::str::contains("broken"));
}

#[test]
fn suppressions_need_a_reason_and_secrets_never_leak() {
    for format in ["text", "json", "sarif", "github"] {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let step = dir.path().join("step.md");
        std::fs::write(&step, "previous step\n").unwrap();
        let out = factory()
            .args([
                "preflight",
                "--diff",
                &fix("suppressions.diff"),
                "--pack",
                &fix("pack.json"),
            ])
            .args(["--format", format, "--summary", summary.to_str().unwrap()])
            .env("GITHUB_STEP_SUMMARY", &step)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = [
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            std::fs::read_to_string(&summary).unwrap(),
            std::fs::read_to_string(&step).unwrap(),
        ]
        .join("\n");
        for secret in ["zzsecret-abcdef", "zzsecret-ghijkl", "zzsecret-mnopqr"] {
            assert!(!all.contains(secret), "{format} leaked {secret}:\n{all}");
        }
        assert!(all.starts_with_step(&step));
    }
    let (_, v) = json_run(&[
        "--diff",
        &fix("suppressions.diff"),
        "--pack",
        &fix("pack.json"),
    ]);
    assert_eq!(
        ids(&v),
        vec![
            (
                "suppression-missing-reason".into(),
                "app/settings.py".into(),
                3
            ),
            ("test-token".into(), "app/settings.py".into(), 3),
            ("test-token".into(), "app/settings.py".into(), 4),
        ]
    );
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["findings"][1]["redacted"], "zzse********");
}

trait StepCheck {
    fn starts_with_step(&self, step: &std::path::Path) -> bool;
}
impl StepCheck for String {
    fn starts_with_step(&self, step: &std::path::Path) -> bool {
        let s = std::fs::read_to_string(step).unwrap();
        s.starts_with("previous step\n") && s.contains("## factory preflight")
    }
}

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("baseline.json");
    let args = [
        "preflight",
        "--diff",
        &fix("suppressions.diff"),
        "--pack",
        &fix("pack.json"),
    ];
    factory()
        .args(args)
        .args(["--write-baseline", base.to_str().unwrap()])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(!text.contains("zzsecret-"), "{text}");
    let b: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["version"], 1);
    let fps: Vec<&str> = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    let mut sorted = fps.clone();
    sorted.sort();
    assert_eq!(fps, sorted);
    assert_eq!(fps.len(), 3);
    factory()
        .args(args)
        .args(["--baseline", base.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 findings"))
        .stdout(predicate::str::contains("3 in baseline"));
    // A new finding on top of the baseline still fails.
    let diff = std::fs::read_to_string(fix("suppressions.diff"))
        .unwrap()
        .replace("@@ -1,1 +1,4 @@", "@@ -1,1 +1,5 @@")
        + "+TOKEN4 = \"zzsecret-stuvwx\"\n";
    factory()
        .args([
            "preflight",
            "--diff",
            "-",
            "--pack",
            &fix("pack.json"),
            "--baseline",
            base.to_str().unwrap(),
        ])
        .write_stdin(diff)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("settings.py:5"));
}

#[test]
fn bad_baseline_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("b.json");
    std::fs::write(&base, "{not json").unwrap();
    factory()
        .args([
            "preflight",
            "--diff",
            &fix("edge-cases.diff"),
            "--baseline",
            base.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("b.json"));
}

#[test]
fn github_annotations_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path().join("s.json");
    std::fs::write(&scope, r#"{"files_in_scope": ["x/**"]}"#).unwrap();
    let diff = "--- a/we,ird:na%me.txt\n+++ b/we,ird:na%me.txt\n@@ -1 +1 @@\n-a\n+b\n";
    factory()
        .args(["preflight", "--diff", "-", "--format", "github", "--scope", scope.to_str().unwrap()])
        .write_stdin(diff)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "::warning file=we%2Cird%3Ana%25me.txt,title=scope-outside (important)::`we,ird:na%25me.txt` is not in files_in_scope",
        ));
}

#[test]
fn output_file_is_written_instead_of_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    factory()
        .args([
            "preflight",
            "--diff",
            &fix("edge-cases.diff"),
            "--format",
            "json",
        ])
        .args(["--output", out.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["files_scanned"], 8);
    assert_eq!(v["summary"]["skipped"].as_array().unwrap().len(), 2);
    assert!(v["summary"]["bytes_scanned"].as_u64().unwrap() > 1000);
}

#[test]
fn sarif_validates_against_the_official_schema_and_github_subset() {
    let out = factory()
        .args([
            "preflight",
            "--diff",
            &fix("scope-target.diff"),
            "--scope",
            &fix("scope.json"),
        ])
        .args(["--pack", &fix("pack.json"), "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(fix("sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema really is enforced: a bad level and a zero line are rejected.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert_eq!(validator.iter_errors(&broken).count(), 2);
    // What GitHub code scanning requires beyond the schema.
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "factory");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [
        "scope-outside",
        "scope-excluded",
        "scope-protected-path",
        "test-token",
    ] {
        assert!(rule_ids.contains(&id), "{id} missing from rules");
    }
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string());
        assert!(r["help"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        assert!(rule_ids.contains(&id));
        assert_eq!(rule_ids[r["ruleIndex"].as_u64().unwrap() as usize], id);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].is_string());
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"].as_object().unwrap().len() == 1);
        assert!(r["message"]["text"].is_string());
    }
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, vec!["warning", "error", "error", "warning"]);
}

#[test]
fn git_base_head_mode() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let st = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(st.success());
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/a.py"), "import os\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "one"]);
    std::fs::write(
        dir.path().join("app/a.py"),
        "import os\nT = 'zzsecret-abcdefg'\n",
    )
    .unwrap();
    std::fs::rename(dir.path().join("app/a.py"), dir.path().join("app/b.py")).unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "two"]);
    let pack = std::fs::canonicalize(fix("pack.json")).unwrap();
    let out = Command::cargo_bin("factory")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "preflight",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--format",
            "json",
        ])
        .arg("--pack")
        .arg(&pack)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&v), vec![("test-token".into(), "app/b.py".into(), 2)]);
    Command::cargo_bin("factory")
        .unwrap()
        .current_dir(dir.path())
        .args(["preflight", "--base", "nope", "--head", "HEAD"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("git diff nope HEAD"));
    Command::cargo_bin("factory")
        .unwrap()
        .current_dir(dir.path())
        .args(["preflight", "--base", "--output=x", "--head", "HEAD"])
        .assert()
        .code(2);
}

#[test]
fn empty_input_is_clean_but_text_that_is_not_a_diff_is_an_error() {
    factory()
        .args(["preflight", "--diff", "-"])
        .write_stdin("")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 findings"));
    factory()
        .args(["preflight", "--diff", "-"])
        .write_stdin("\n\n")
        .assert()
        .code(0);
    factory()
        .args(["preflight", "--diff", "docs/preflight.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("contains no file diff"));
}

#[test]
fn bad_flags_and_config_files_exit_two_with_the_reason() {
    let diff = fix("edge-cases.diff");
    factory()
        .args(["preflight", "--diff", &diff, "--audit", "bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected auto, osv, offline:DIR or off",
        ));
    factory()
        .args([
            "preflight",
            "--diff",
            &diff,
            "--audit",
            "offline:/nonexistent/osv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path().join("scope.json");
    std::fs::write(&scope, "{\n  \"files_in_scope\": \"src/**\"\n}").unwrap();
    factory()
        .args([
            "preflight",
            "--diff",
            &diff,
            "--scope",
            scope.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("scope.json: line 2"));
    std::fs::write(&scope, r#"{"files_in_scope": ["src/[unclosed"]}"#).unwrap();
    factory()
        .args([
            "preflight",
            "--diff",
            &diff,
            "--scope",
            scope.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid glob `src/[unclosed`"));
}

#[test]
fn markdown_summary_escapes_table_cells() {
    let dir = tempfile::tempdir().unwrap();
    let scope = dir.path().join("s.json");
    std::fs::write(&scope, r#"{"files_in_scope": ["x/**"]}"#).unwrap();
    let summary = dir.path().join("summary.md");
    let diff = "--- a/a|b.txt\n+++ b/a|b.txt\n@@ -1 +1 @@\n-a\n+b\n";
    factory()
        .args([
            "preflight",
            "--diff",
            "-",
            "--scope",
            scope.to_str().unwrap(),
        ])
        .args(["--summary", summary.to_str().unwrap(), "--fail-on", "never"])
        .write_stdin(diff)
        .assert()
        .code(0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| 0 | 1 | 0 | 1 |"), "{md}");
    assert!(md.contains("`a\\|b.txt`"), "{md}");
    let row = md.lines().find(|l| l.contains("scope-outside")).unwrap();
    // severity, rule, location, message: five unescaped pipes.
    assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "{row}");
}

#[test]
fn input_files_the_gate_does_not_understand_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let diff = fix("scope-target.diff");
    // A scope file with a key it does not have would otherwise mean "no scope, 0 findings".
    let cases = [
        (
            "--scope",
            write("typo.json", r#"{"in_scope": ["src/api/**"]}"#),
            "unknown key(s) `in_scope` in the scope file",
        ),
        (
            "--scope",
            write("empty.json", "{}"),
            "the scope file has none of the keys files_in_scope, files_out_of_scope",
        ),
        (
            "--scope",
            write("list.json", r#"["src/**"]"#),
            "a scope file is a JSON object",
        ),
        (
            "--plan",
            write("plan.json", r#"{"issue": 4, "steps": []}"#),
            "the plan has no scope",
        ),
        (
            "--plan",
            write(
                "handoff.json",
                r#"{"issue_number": 4, "handoff": {"notes": "x"}}"#,
            ),
            "handoff has neither in_scope_files nor out_of_scope_files",
        ),
        (
            "--baseline",
            write(
                "baseline.json",
                r#"{"version": 1, "findings": [], "ignore": ["secret"]}"#,
            ),
            "not a preflight baseline (unknown field `ignore`",
        ),
    ];
    for (flag, file, says) in cases {
        factory()
            .args([
                "preflight",
                "--diff",
                &diff,
                flag,
                &file,
                "--fail-on",
                "never",
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains(file.as_str()));
    }
}
