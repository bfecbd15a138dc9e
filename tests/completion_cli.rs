//! Phase 8 through the real binary on recorded sessions (tests/fixtures/completion/): the
//! scorecard, lessons (extraction, de-duplication, ranking, retirement, export and import),
//! heuristics packs, REPORT.md, the step summary, and `completion` as a built-in phase.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use support::copy_dir;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/completion")
        .join(name)
}

/// A state directory holding a recorded session; `next` swaps in another recorded session
/// (as intake's archive would), keeping lessons and scorecards.
struct State {
    dir: TempDir,
}

impl State {
    fn new(session: &str) -> State {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(session), &dir.path().join(".factory"));
        State { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join(".factory")
    }

    fn next(&self, session: &str) {
        for name in ["session.json", "workflow.log"] {
            let _ = std::fs::remove_file(self.root().join(name));
        }
        let _ = std::fs::remove_dir_all(self.root().join("artifacts"));
        copy_dir(&fixture(session), &self.root());
    }

    fn factory(&self) -> Command {
        let mut cmd = Command::cargo_bin("factory").unwrap();
        cmd.current_dir(self.dir.path())
            .env("FACTORY_STATE_DIR", self.root())
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("FACTORY_LOG");
        cmd
    }

    fn complete(&self) -> String {
        let out = self.factory().arg("complete").assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.root().join(rel)).unwrap()).unwrap()
    }

    fn lessons(&self) -> Vec<Value> {
        let out = self
            .factory()
            .args(["lessons", "list", "--all", "--json"])
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    fn lesson(&self, id: &str) -> Value {
        self.json(&format!("lessons/{id}.json"))
    }
}

const S1: &str = "20261120T100000Z-aa0001";
const S2: &str = "20261125T100000Z-bb0002";

#[test]
fn complete_scores_a_recorded_session_and_writes_scorecard_lessons_and_report() {
    let st = State::new("feature-rework");
    let summary = st.dir.path().join("summary.md");
    let out = st
        .factory()
        .arg("complete")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains(&format!("score 69 (fair) for session {S1}")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("parent issue"),
        "no parent issue was recorded: {stdout}"
    );

    // 100 − (1.5 − 1)·10 − 1·5 − 1·20 − 1·5 + 2·2 = 69
    let card = st.json(&format!("scorecards/{S1}.json"));
    assert_eq!(card["score"], 69);
    assert_eq!(card["band"], "fair");
    let q = &card["quality"];
    assert_eq!(q["review_cycles_total"], 3);
    assert_eq!(q["review_cycles_avg"], 1.5);
    assert_eq!(q["retries_total"], 1);
    assert_eq!(
        q["security_findings"],
        serde_json::json!({"critical": 1, "important": 1, "advisory": 1}),
        "a finding repeated in a later review cycle counts once"
    );
    assert_eq!(card["lessons_generated"], 2);
    assert_eq!(card["tokens"]["total"], 50000);
    assert_eq!(card["cost_usd"], 0.6);
    assert_eq!(card["timing"]["total_duration_ms"], 3_600_000);
    assert_eq!(card["tasks"]["completed"], 2);
    st.factory()
        .args(["validate", "scorecard"])
        .arg(st.root().join(format!("scorecards/{S1}.json")))
        .assert()
        .success();

    let l1 = st.lesson("lesson-0001");
    assert_eq!(l1["tags"], serde_json::json!(["injection", "saas-api"]));
    assert_eq!(l1["paths"], serde_json::json!(["src/routes/**"]));
    assert_eq!(l1["source_ref"]["pr"], 57);
    assert_eq!(l1["source_ref"]["session_id"], S1);
    assert_eq!(l1["confidence"], "high");
    assert_eq!(st.lesson("lesson-0002")["confidence"], "medium");
    for id in ["lesson-0001", "lesson-0002"] {
        st.factory()
            .args(["validate", "lesson"])
            .arg(st.root().join(format!("lessons/{id}.json")))
            .assert()
            .success();
    }

    let report = std::fs::read_to_string(st.root().join("REPORT.md")).unwrap();
    for needle in [
        "| Outcome | completed |",
        "| Route | intake → strategic_plan",
        "- pack-saas-api: package.json depends on express",
        "| #57 | critical | injection | src/routes/users.ts:7 |",
        "| 2026-11-20T10:58:00Z | merge | ok | health checks pass",
        "| codex | 1 | 30000 | 0.3000 |",
        "**69 / 100 (fair)**",
        "- **lesson-0001**: The search query interpolates",
        "| 8 | completion | completed |",
    ] {
        assert!(report.contains(needle), "missing {needle:?} in\n{report}");
    }
    assert!(
        !report.contains("another session"),
        "other sessions' events stay out"
    );
    let step = std::fs::read_to_string(&summary).unwrap();
    assert!(step.contains("**69 / 100 (fair)**"));

    // Completing again does not count the session's lessons twice.
    let again = st.complete();
    assert!(again.contains("lessons: 2 new (lesson-0001, lesson-0002), 0 seen again"));
    assert_eq!(st.lessons().len(), 2);
    assert_eq!(st.lesson("lesson-0001")["times_seen"], 1);
    assert_eq!(st.json(&format!("scorecards/{S1}.json"))["score"], 69);
}

#[test]
fn the_same_mistake_in_other_words_bumps_the_lesson_and_history_shows_the_trend() {
    let st = State::new("feature-rework");
    st.complete();
    st.next("same-mistake-again");
    let out = st.complete();
    assert!(out.contains("score 44 (poor)"), "{out}");
    assert!(
        out.contains("lessons: 2 new (lesson-0003, lesson-0004), 1 seen again (lesson-0001)"),
        "{out}"
    );
    // 100 − 20 (critical) − 15 (scope) − 25 (regression) + 2·2 = 44
    let card = st.json(&format!("scorecards/{S2}.json"));
    assert_eq!(card["quality"]["scope_violations"], 1);
    assert_eq!(card["quality"]["post_merge_regressions"], 1);

    let l1 = st.lesson("lesson-0001");
    assert_eq!(l1["times_seen"], 2);
    assert_eq!(
        l1["pattern"],
        "The search query interpolates req.query.name into SQL"
    );
    let paths: Vec<&str> = l1["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(paths, ["src/routes/**"]);
    assert_eq!(st.lesson("lesson-0003")["tags"][0], "scope");
    let regression = st.lesson("lesson-0004");
    assert_eq!(regression["source_phase"], "post_merge");
    assert_eq!(regression["paths"], serde_json::json!(["src/routes/**"]));
    assert_eq!(st.lessons().len(), 4);

    let hist = st
        .factory()
        .args(["scorecard", "--history"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&hist.get_output().stdout).to_string();
    assert!(text.contains(S1) && text.contains(S2), "{text}");
    assert!(
        text.contains("score              69 → 44 (56.50) ↓"),
        "{text}"
    );
    assert!(text.contains("regressions        0 → 1 (0.50) ↑"), "{text}");

    let hist = st
        .factory()
        .args(["scorecard", "--history", "--json"])
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&hist.get_output().stdout).unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(doc["trend"][0]["component"], "score");
    assert_eq!(doc["trend"][0]["change"], -25.0);

    st.factory()
        .args(["scorecard", "--sid", S1])
        .assert()
        .success()
        .stdout(predicate::str::contains("score 69 (fair)"));
    st.factory()
        .args(["scorecard"])
        .assert()
        .success()
        .stdout(predicate::str::contains("score 44 (poor)"));
    st.factory()
        .args(["scorecard", "--sid", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no scorecard for session nope"));
}

#[test]
fn relevant_lessons_are_ranked_by_scope_tags_and_hits() {
    let st = State::new("feature-rework");
    st.complete();
    st.next("same-mistake-again");
    st.complete();
    let out = st
        .factory()
        .args([
            "lessons",
            "relevant",
            "--scope",
            "src/routes/orders.ts",
            "--tag",
            "saas-api",
            "-k",
            "2",
            "--json",
        ])
        .assert()
        .success();
    let ranked: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ids: Vec<&str> = ranked
        .iter()
        .map(|r| r["lesson"]["id"].as_str().unwrap())
        .collect();
    // Path overlap + pack tag + seen twice, then path overlap alone.
    assert_eq!(ids, ["lesson-0001", "lesson-0004"]);

    let out = st
        .factory()
        .args(["lessons", "relevant", "--scope", "docs/**", "--json"])
        .assert()
        .success();
    let ranked: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        ranked.is_empty(),
        "nothing overlaps docs/** and no tag was given"
    );
}

#[test]
fn lessons_not_seen_for_n_sessions_are_retired() {
    let st = State::new("feature-rework");
    st.complete();
    st.next("same-mistake-again");
    let out = st
        .factory()
        .args(["complete", "--retire-after", "1"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("1 retired (lesson-0002)"), "{text}");
    assert_eq!(st.lesson("lesson-0002")["retired"], true);
    assert!(st.lesson("lesson-0001").get("retired").is_none());
    let active = st
        .factory()
        .args(["lessons", "list", "--json"])
        .assert()
        .success();
    let active: Vec<Value> = serde_json::from_slice(&active.get_output().stdout).unwrap();
    assert!(active.iter().all(|l| l["id"] != "lesson-0002"));
}

#[test]
fn lessons_show_retire_export_and_import_across_repositories() {
    let a = State::new("feature-rework");
    a.complete();
    a.factory()
        .args(["lessons", "show", "lesson-0002"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"category\"").not())
        .stdout(predicate::str::contains("caller is an admin"));
    a.factory()
        .args(["lessons", "show", "lesson-0099"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no lesson `lesson-0099`"));
    let export = a.dir.path().join("lessons.json");
    a.factory()
        .args(["lessons", "export", "--output"])
        .arg(&export)
        .assert()
        .success();

    let b = State::new("clean-hotfix");
    b.factory()
        .args(["lessons", "import"])
        .arg(&export)
        .assert()
        .success()
        .stdout(predicate::str::contains("2 new, 0 merged"));
    b.factory()
        .args(["lessons", "import"])
        .arg(&export)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 new, 2 merged"));
    assert_eq!(b.lessons().len(), 2, "a second import adds no copies");
    assert_eq!(b.lesson("lesson-0001")["times_seen"], 2);

    b.factory()
        .args(["lessons", "retire", "lesson-0001"])
        .assert()
        .success();
    assert_eq!(b.lesson("lesson-0001")["retired"], true);

    let bad = b.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"lessons": [{"id": "x"}]}"#).unwrap();
    b.factory()
        .args(["lessons", "import"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json#/lessons/0"));
}

#[test]
fn a_clean_session_scores_100_and_extracts_nothing() {
    let st = State::new("clean-hotfix");
    let out = st.complete();
    assert!(out.contains("score 100 (excellent)"), "{out}");
    assert!(
        out.contains("lessons: 0 new, 0 seen again, 0 retired"),
        "{out}"
    );
    let card = st.json("scorecards/20261128T100000Z-cc0003.json");
    assert_eq!(card["change_class"], "hotfix");
    assert_eq!(card["quality"]["review_cycles_avg"], 1.0);
    let report = std::fs::read_to_string(st.root().join("REPORT.md")).unwrap();
    assert!(report.contains("None: no serious finding, scope violation or regression."));
}

#[test]
fn bad_inputs_are_clear_errors_with_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    Command::cargo_bin("factory")
        .unwrap()
        .args(["complete", "--state-dir"])
        .arg(empty.path().join(".factory"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session in"));
    assert!(
        !empty.path().join(".factory").exists(),
        "nothing is created"
    );

    let st = State::new("feature-rework");
    std::fs::write(
        st.root().join("artifacts/reviews/99-1.json"),
        r#"{"schema_version": "1.0"}"#,
    )
    .unwrap();
    st.factory()
        .arg("complete")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "99-1.json: not a valid review output",
        ));

    let st = State::new("clean-hotfix");
    st.factory()
        .arg("scorecard")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("run `factory complete`"));
}

#[test]
fn packs_are_listed_shown_and_detected_with_their_reason() {
    let st = State::new("clean-hotfix");
    let out = st.factory().args(["packs", "list"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for name in [
        "pack-saas-api",
        "pack-rust-cli",
        "pack-web-frontend",
        "pack-terraform-infra",
        "pack-github-actions",
    ] {
        assert!(text.contains(name), "{text}");
    }
    st.factory()
        .args(["packs", "show", "terraform-infra"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"name\": \"pack-terraform-infra\"",
        ));
    st.factory()
        .args(["packs", "show", "cobol"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown pack `cobol`"));

    // preflight --pack takes a bundled pack by name.
    let diff = st.dir.path().join("wf.diff");
    std::fs::write(
        &diff,
        "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\nnew file mode 100644\n--- /dev/null\n+++ b/.github/workflows/ci.yml\n@@ -0,0 +1,1 @@\n+permissions: write-all\n",
    )
    .unwrap();
    st.factory()
        .args([
            "preflight",
            "--fail-on",
            "never",
            "--pack",
            "github-actions",
            "--diff",
        ])
        .arg(&diff)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[actions-write-all] .github/workflows/ci.yml:1",
        ));

    let repo = tempfile::tempdir().unwrap();
    std::fs::write(
        repo.path().join("package.json"),
        r#"{"dependencies": {"react": "18"}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(repo.path().join(".github/workflows")).unwrap();
    std::fs::write(repo.path().join(".github/workflows/ci.yml"), "on: push\n").unwrap();
    let out = st
        .factory()
        .args(["packs", "detect", "--json", "--pack", "rust-cli", "--repo"])
        .arg(repo.path())
        .assert()
        .success();
    let found: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        found,
        serde_json::json!([
            {"name": "pack-rust-cli", "reason": "forced with --pack"},
            {"name": "pack-web-frontend", "reason": "package.json depends on react"},
            {"name": "pack-github-actions", "reason": "found .github/workflows/ci.yml"}
        ])
    );
}

#[cfg(unix)]
#[test]
fn intake_records_packs_and_factory_run_completes_with_the_builtin_phase() {
    use support::engine::Repo;
    let repo = Repo::engine_with_phases(
        &[(
            "completion",
            "    gate: scorecard\n    artifact: scorecards/{sid}.json\n",
        )],
        "",
    );
    std::fs::write(
        repo.path().join("Cargo.toml"),
        "[package]\nname = \"x\"\n[dependencies]\nclap = \"4\"\n",
    )
    .unwrap();
    support::git(repo.path(), &["add", "Cargo.toml"]);
    support::git(
        repo.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "manifest",
        ],
    );
    repo.factory()
        .args([
            "run",
            "Add an export subcommand",
            "--class",
            "feature",
            "--pack",
            "terraform-infra",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("pipeline complete"))
        .stdout(predicate::str::contains(
            "  pack:    pack-rust-cli (found Cargo.toml; Cargo.toml depends on clap)",
        ));
    let intake: Value = serde_json::from_slice(
        &std::fs::read(repo.path().join(".factory/artifacts/intake.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        intake["packs"],
        serde_json::json!([
            {"name": "pack-terraform-infra", "reason": "forced with --pack"},
            {"name": "pack-rust-cli", "reason": "found Cargo.toml; Cargo.toml depends on clap"}
        ])
    );
    let s = repo.session();
    let sid = s["id"].as_str().unwrap();
    assert_eq!(repo.status("completion"), "completed");
    assert_eq!(
        repo.calls_of("completion"),
        0,
        "the built-in phase ran, not the fake"
    );
    let card: Value = serde_json::from_slice(
        &std::fs::read(repo.path().join(format!(".factory/scorecards/{sid}.json"))).unwrap(),
    )
    .unwrap();
    // The fake review has one critical finding (an SQL injection): one lesson.
    assert_eq!(card["quality"]["security_findings"]["critical"], 1);
    assert_eq!(card["lessons_generated"], 1);
    assert!(repo.phase_logged("completion", "scorecard", "ok"));
    let lesson: Value = serde_json::from_slice(
        &std::fs::read(repo.path().join(".factory/lessons/lesson-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        lesson["tags"],
        serde_json::json!(["injection", "terraform-infra", "rust-cli"])
    );
}
