//! Post-merge verification: the plan's validation commands (and an optional health check) run
//! against the merge commit in a temporary git worktree, so the user's checkout is untouched. A
//! failure reopens the issue as a recurrence ([`super::recurrence`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::git::Git;
use super::recurrence::{self, Occurrence, Recorded};
use super::{Forge, ForgeError, State};
use crate::state::StateDir;

/// Output kept per check, from its end.
pub const OUTPUT_TAIL_CHARS: usize = 4_000;

/// Why verification could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("pull request #{pr} is {state}: verify runs after `factory merge --pr {pr}`")]
    NotMerged { pr: u64, state: &'static str },
    #[error("pull request #{0} names no issue (`Closes #N`): nothing to reopen on failure")]
    NoIssue(u64),
    #[error(
        "nothing to verify: the strategic plan has no validation commands (or there is no plan); pass --command CMD or --health-check CMD"
    )]
    NothingToRun,
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// One check to run: a name and a shell command line.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub command: String,
}

/// How one check went.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub command: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// The end of the output, with secret-looking values masked.
    pub output_tail: String,
}

/// The verification of one merge.
#[derive(Debug, Clone)]
pub struct Verified {
    pub pr: u64,
    pub issue: u64,
    pub merge_commit: String,
    pub checks: Vec<CheckResult>,
    pub recurrence: Option<Recorded>,
}

impl Verified {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// The checks for a session: the plan's validation commands in order, then `extra`.
pub fn planned_checks(state: &StateDir, extra: &[String], health: Option<&str>) -> Vec<Check> {
    let mut out: Vec<Check> = super::issues::load_plan(state)
        .map(|p| {
            p.ordered_validation()
                .into_iter()
                .map(|(name, command)| Check { name, command })
                .collect()
        })
        .unwrap_or_default();
    for (i, c) in extra.iter().enumerate() {
        out.push(Check {
            name: format!("command-{}", i + 1),
            command: c.clone(),
        });
    }
    if let Some(h) = health {
        out.push(Check {
            name: "health-check".into(),
            command: h.to_string(),
        });
    }
    out
}

/// Verify merged pull request `pr`.
pub fn verify_pull_request(
    state: &StateDir,
    forge: &dyn Forge,
    repo: &Path,
    pr_number: u64,
    checks: &[Check],
    limit: u32,
    timeout: Duration,
) -> Result<Verified, VerifyError> {
    let pr = forge.get_pull_request(pr_number)?;
    let commit = match (&pr.state, &pr.merge_commit) {
        (State::Merged, Some(c)) => c.clone(),
        _ => {
            return Err(VerifyError::NotMerged {
                pr: pr_number,
                state: pr.state.as_str(),
            });
        }
    };
    let issue = super::pr::closed_issue(&pr).ok_or(VerifyError::NoIssue(pr_number))?;
    if checks.is_empty() {
        return Err(VerifyError::NothingToRun);
    }
    let git = Git::new(repo);
    let worktree = Worktree::add(&git, &commit)?;
    let mut results = Vec::new();
    for check in checks {
        let r = run_check(worktree.path(), check, timeout)?;
        let failed = !r.ok;
        results.push(r);
        if failed {
            break;
        }
    }
    drop(worktree);

    let passed = results.iter().all(|c| c.ok);
    let mut recorded = None;
    if passed {
        let names: Vec<&str> = results.iter().map(|c| c.name.as_str()).collect();
        forge.comment_issue(
            issue,
            &format!(
                "Post-merge verification of PR #{pr_number} passed at `{}`: {}.",
                &commit[..commit.len().min(12)],
                names.join(", ")
            ),
        )?;
    } else {
        let failed = results.iter().find(|c| !c.ok).expect("a failed check");
        let occ = Occurrence {
            merge_commit: Some(commit.clone()),
            failing_check: format!("{}: {}", failed.name, failed.command),
        };
        recorded = Some(recurrence::record(state, forge, limit, issue, &occ)?);
    }
    let artifact = json!({
        "schema_version": "1.0",
        "pr": pr_number,
        "issue": issue,
        "merge_commit": commit,
        "passed": passed,
        "checks": results,
        "recurrence": recorded.as_ref().map(|r| json!({
            "count": r.count(),
            "escalated": matches!(r, Recorded::Escalated { .. }),
        })),
    });
    state.write_artifact(&format!("verify/{pr_number}.json"), &artifact)?;
    let detail = format!(
        "post-merge verification of #{pr_number} at {}: {}",
        &commit[..commit.len().min(12)],
        if passed { "passed" } else { "failed" }
    );
    let status = if passed { "ok" } else { "failed" };
    let refs = json!({"pr": pr_number, "issue": issue, "commit": commit}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "verify", tool = "factory", status, detail, refs);
    Ok(Verified {
        pr: pr_number,
        issue,
        merge_commit: commit,
        checks: results,
        recurrence: recorded,
    })
}

/// A detached worktree at a commit, removed when dropped.
struct Worktree<'a> {
    git: &'a Git,
    path: PathBuf,
}

impl<'a> Worktree<'a> {
    fn add(git: &'a Git, commit: &str) -> Result<Worktree<'a>, ForgeError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "factory-verify-{}-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let shown = path.to_string_lossy().into_owned();
        git.run(&["worktree", "add", "--detach", "--quiet", &shown, commit])?;
        Ok(Worktree { git, path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        let shown = self.path.to_string_lossy().into_owned();
        if self
            .git
            .run(&["worktree", "remove", "--force", &shown])
            .is_err()
        {
            let _ = std::fs::remove_dir_all(&self.path);
            let _ = self.git.run(&["worktree", "prune"]);
        }
    }
}

/// Run one check with the shell (validation commands are command lines from the plan), its
/// output to a file so a chatty command cannot block on a full pipe, killed at `timeout`.
fn run_check(dir: &Path, check: &Check, timeout: Duration) -> Result<CheckResult, VerifyError> {
    let spawn_err = |source| VerifyError::Spawn {
        command: check.command.clone(),
        source,
    };
    let log_path = dir.join(".factory-verify-output");
    let log = std::fs::File::create(&log_path).map_err(spawn_err)?;
    let log2 = log.try_clone().map_err(spawn_err)?;
    let mut cmd = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", &check.command]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &check.command]);
        c
    };
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("FACTORY_REVIEW_TOKEN");
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(spawn_err)? {
            break Some(s);
        }
        if started.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    let text = String::from_utf8_lossy(&output);
    let total = text.chars().count();
    let tail: String = text
        .chars()
        .skip(total.saturating_sub(OUTPUT_TAIL_CHARS))
        .collect();
    let ok = status.is_some_and(|s| s.success());
    Ok(CheckResult {
        name: check.name.clone(),
        command: check.command.clone(),
        ok,
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        duration_ms: started.elapsed().as_millis() as u64,
        output_tail: crate::state::redact::scrub(&tail),
    })
}
