//! Validation after the agent: factory itself (never the agent) runs the plan's validation
//! commands in the issue's worktree, each with the phase timeout, and keeps what happened as
//! evidence: the command, its exit code, how long it took and the end of its output with
//! secret-looking values masked, one file per command under `artifacts/evidence/<issue>/`.

use std::path::{Path, PathBuf};

use crate::agents::process;
use crate::forge::verify::{Check, CheckResult, CommandRun, OUTPUT_TAIL_CHARS, run_check};
use crate::state::{StateDir, redact, write_atomic};

/// The directory of an issue's evidence, relative to the artifacts directory.
pub fn evidence_rel(issue: u64) -> String {
    format!("evidence/{issue}")
}

/// Run `checks` in order, stopping at the first failure (a broken build makes the tests
/// meaningless), and write one evidence file per command run. Earlier evidence of the issue is
/// replaced.
pub fn validate(
    state: &StateDir,
    issue: u64,
    dir: &Path,
    checks: &[Check],
    run: &CommandRun<'_>,
    attempt: u32,
) -> std::io::Result<(Vec<CheckResult>, Vec<PathBuf>)> {
    let evidence_dir = state.artifacts_dir().join(evidence_rel(issue));
    if evidence_dir.exists() {
        std::fs::remove_dir_all(&evidence_dir)?;
    }
    std::fs::create_dir_all(&evidence_dir)?;
    let mut results = Vec::new();
    let mut files = Vec::new();
    for check in checks {
        let r = run_check(dir, check, run.timeout, run.env);
        let file = evidence_dir.join(format!("{}.log", file_name(&check.name)));
        write_atomic(&file, evidence_text(&r, attempt).as_bytes())?;
        files.push(file);
        let failed = !r.ok;
        results.push(r);
        if failed {
            break;
        }
    }
    Ok((results, files))
}

/// A check name as a file name.
fn file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "check".into() } else { s }
}

/// The evidence file of one command.
pub fn evidence_text(r: &CheckResult, attempt: u32) -> String {
    let exit = match (r.exit_code, r.timed_out) {
        (_, true) => "timed out".to_string(),
        (Some(c), _) => c.to_string(),
        (None, _) => "none (killed by a signal, or not started)".to_string(),
    };
    format!(
        "$ {}\nexit code: {exit}\nduration: {} ms\nattempt: {attempt}\nresult: {}\n--- output (last {OUTPUT_TAIL_CHARS} characters, secret-looking values masked) ---\n{}",
        redact::scrub(&r.command),
        r.duration_ms,
        if r.ok { "passed" } else { "FAILED" },
        r.output_tail
    )
}

/// The failure of the first failed check, for the retry context and the issue comment.
pub fn failure_text(results: &[CheckResult]) -> Option<String> {
    let f = results.iter().find(|r| !r.ok)?;
    let how = match (f.exit_code, f.timed_out) {
        (_, true) => "timed out".to_string(),
        (Some(c), _) => format!("exited {c}"),
        (None, _) => "did not finish".to_string(),
    };
    Some(format!(
        "validation `{}` (`{}`) {how}; the end of its output:\n{}",
        f.name,
        redact::scrub(&f.command),
        process::tail(&f.output_tail, 2_000)
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_failing_command_stops_the_run_and_its_output_is_masked() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join(".factory"));
        let checks = [
            Check {
                name: "build".into(),
                command: "echo token=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; exit 3".into(),
            },
            Check {
                name: "test".into(),
                command: "echo never".into(),
            },
        ];
        let (results, files) = validate(
            &state,
            7,
            dir.path(),
            &checks,
            &CommandRun {
                timeout: Duration::from_secs(20),
                env: &[],
            },
            1,
        )
        .unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].exit_code, Some(3));
        assert!(!results[0].output_tail.contains("ghp_aaaa"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("exit code: 3") && text.contains("result: FAILED"));
        assert!(failure_text(&results).unwrap().contains("`build`"));
    }

    #[test]
    fn a_command_past_the_timeout_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let r = run_check(
            dir.path(),
            &Check {
                name: "slow".into(),
                command: "sleep 30".into(),
            },
            Duration::from_millis(200),
            &[],
        );
        assert!(r.timed_out && !r.ok);
    }
}

/// Validation results as JSON.
pub fn results_json(r: &[CheckResult]) -> Vec<serde_json::Value> {
    r.iter()
        .map(|c| serde_json::to_value(c).expect("a check result serialises"))
        .collect()
}
