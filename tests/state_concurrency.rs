//! Several processes updating one session and appending to one log at the same time: no update
//! may be lost and no log line may interleave with another.
//!
//! The writers are copies of this test executable started with an environment variable that
//! switches `writer_child` from a no-op into a writer using the library.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use factory::state::log::{EVENT_TARGET, read_events};
use factory::state::{Session, StateDir};
use factory::workflow::{ChangeClass, PhaseName, Trigger};

const DIR_ENV: &str = "FACTORY_TEST_WRITER_DIR";
const ID_ENV: &str = "FACTORY_TEST_WRITER_ID";
const WRITERS: usize = 4;
const ROUNDS: u64 = 40;

/// Writer mode: only does something when started by `concurrent_writers_lose_nothing`.
#[test]
fn writer_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let id: u64 = std::env::var(ID_ENV).unwrap().parse().unwrap();
    let state = StateDir::new(dir);
    let _guard = factory::state::log::init(&state).unwrap();
    // Long lines make a torn or interleaved write visible.
    let padding = "x".repeat(4000);
    for round in 0..ROUNDS {
        state
            .update_session(|s| s.counters.review_cycles += 1)
            .unwrap();
        tracing::info!(
            target: EVENT_TARGET,
            phase = "code_review",
            action = "count",
            tool = "test",
            status = "ok",
            detail = padding.as_str(),
            refs = %serde_json::json!({"writer": id, "round": round}),
        );
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    if std::env::var_os(DIR_ENV).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::new(tmp.path().join(".factory"));
    let session = Session::new(
        "count".into(),
        ChangeClass::Refactor,
        Trigger::User,
        vec![PhaseName::Intake, PhaseName::CodeReview],
    );
    state.save_new_session(&session).unwrap();

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            Command::new(&exe)
                .args(["writer_child", "--exact", "--test-threads=1", "--quiet"])
                .env(DIR_ENV, state.root())
                .env(ID_ENV, i.to_string())
                .env_remove("FACTORY_LOG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let total = WRITERS as u64 * ROUNDS;
    let after = state.load_session().unwrap().unwrap();
    assert_eq!(u64::from(after.counters.review_cycles), total);

    let text = std::fs::read_to_string(state.log_path()).unwrap();
    assert_eq!(text.lines().count() as u64, total);
    for (n, line) in text.lines().enumerate() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON: {e}", n + 1));
    }
    let events = read_events(&state.log_path()).unwrap();
    let seen: BTreeSet<(u64, u64)> = events
        .iter()
        .map(|e| {
            (
                e.refs["writer"].as_u64().unwrap(),
                e.refs["round"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len() as u64, total, "duplicate or missing events");
}
