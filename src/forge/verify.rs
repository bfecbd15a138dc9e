//! Post-merge verification: the plan's validation commands (and an optional health check) run
//! against the merge commit in a temporary git worktree, so the user's checkout is untouched. A
//! failure reopens the issue as a recurrence ([`super::recurrence`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::git::Git;
use super::recurrence::{self, Occurrence, Recorded};
use super::{Forge, ForgeError, State};
use crate::state::StateDir;
use crate::util::text::short_commit;

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
    #[error(
        "the merge commit {0} is not in this clone: fetch the default branch with its history (`git fetch origin`, or actions/checkout with fetch-depth: 0) before verifying"
    )]
    MissingCommit(String),
    #[error(
        "{PLACEMENT_ENV}={0}: expected `inline` or `deferred` (docs/security.md#post-merge-verification-in-a-job-of-its-own)"
    )]
    BadPlacement(String),
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// One check to run: a name and a shell command line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub command: String,
}

/// How one check went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub command: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// How the commands of a check list run: each one's timeout, and the variables the workflow
/// declares for them (`phases.<phase>.env`) besides the base set.
#[derive(Debug, Clone, Copy)]
pub struct CommandRun<'a> {
    pub timeout: Duration,
    pub env: &'a [String],
}

/// Verify merged pull request `pr` in this process: read it from the forge, run the checks on
/// its merge commit, then comment on its issue or record the recurrence ([`report`]).
pub fn verify_pull_request(
    state: &StateDir,
    forge: &dyn Forge,
    repo: &Path,
    pr_number: u64,
    checks: &[Check],
    limit: u32,
    run: &CommandRun<'_>,
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
    let results = run_checks(repo, &commit, checks, run)?;
    let recorded = report(state, forge, limit, pr_number, issue, &commit, &results)?;
    Ok(Verified {
        pr: pr_number,
        issue,
        merge_commit: commit,
        checks: results,
        recurrence: recorded,
    })
}

/// Run `checks` in order on `commit`, in a temporary worktree, stopping at the first failure.
pub fn run_checks(
    repo: &Path,
    commit: &str,
    checks: &[Check],
    run: &CommandRun<'_>,
) -> Result<Vec<CheckResult>, VerifyError> {
    let git = Git::new(repo);
    if git
        .run(&["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .is_err()
    {
        return Err(VerifyError::MissingCommit(commit.to_string()));
    }
    let worktree = Worktree::add(&git, commit)?;
    let mut results = Vec::new();
    for check in checks {
        let r = run_check(worktree.path(), check, run.timeout, run.env);
        let failed = !r.ok;
        results.push(r);
        if failed {
            break;
        }
    }
    Ok(results)
}

/// Tell the forge how the verification of `pr` went and keep it in
/// `artifacts/verify/<pr>.json` ([`notify`], [`write_result`]).
pub fn report(
    state: &StateDir,
    forge: &dyn Forge,
    limit: u32,
    pr_number: u64,
    issue: u64,
    commit: &str,
    results: &[CheckResult],
) -> Result<Option<Recorded>, VerifyError> {
    let ran: Vec<(&str, &str, bool)> = results
        .iter()
        .map(|c| (c.name.as_str(), c.command.as_str(), c.ok))
        .collect();
    let recorded = notify(state, forge, limit, pr_number, issue, commit, &ran)?;
    write_result(
        state,
        pr_number,
        Some(issue),
        commit,
        results,
        recorded.as_ref(),
        false,
    )?;
    Ok(recorded)
}

/// Tell the forge how the verification of `pr` went, from the checks that ran (name, command,
/// passed): a comment on `issue` when every check passed, else the recurrence (reopen, label,
/// comment, escalation past `limit`).
pub fn notify(
    state: &StateDir,
    forge: &dyn Forge,
    limit: u32,
    pr_number: u64,
    issue: u64,
    commit: &str,
    ran: &[(&str, &str, bool)],
) -> Result<Option<Recorded>, VerifyError> {
    match ran.iter().find(|(_, _, ok)| !ok) {
        None => {
            let names: Vec<&str> = ran.iter().map(|(name, _, _)| *name).collect();
            forge.comment_issue(
                issue,
                &format!(
                    "Post-merge verification of PR #{pr_number} passed at `{}`: {}.",
                    short_commit(commit),
                    names.join(", ")
                ),
            )?;
            Ok(None)
        }
        Some((name, command, _)) => {
            let occ = Occurrence {
                merge_commit: Some(commit.to_string()),
                failing_check: format!("{name}: {command}"),
            };
            Ok(Some(recurrence::record(state, forge, limit, issue, &occ)?))
        }
    }
}

/// What a failed verification of `pr` that recorded `r` says: its issue reopened, or recurred
/// past the limit.
pub fn failure_detail(pr: u64, r: &Recorded) -> String {
    match r {
        Recorded::Escalated { issue, count } => {
            format!(
                "post-merge verification of #{pr} failed; issue #{issue} recurred {count} times"
            )
        }
        Recorded::Reopened { issue, count } => format!(
            "post-merge verification of #{pr} failed; issue #{issue} reopened (recurrence {count})"
        ),
    }
}

/// A failure reported after the merge phase completed (`factory verify --pending`, or
/// `factory apply` of a verify job's verdict): a reopened issue fails the merge phase, so that
/// `factory run --resume` verifies again; past the limit the recurrence already escalated the
/// session. Returns [`failure_detail`].
pub fn fail_merge_phase(state: &StateDir, pr: u64, r: &Recorded) -> Result<String, VerifyError> {
    let detail = failure_detail(pr, r);
    if matches!(r, Recorded::Reopened { .. }) {
        let phase = crate::workflow::PhaseName::Merge;
        state.update_session(|s| {
            s.finish_phase(phase, crate::state::PhaseStatus::Failed, None);
            s.phase_mut(phase).detail = Some(detail.clone());
        })?;
    }
    Ok(detail)
}

/// Keep the verification of `pr` in `artifacts/verify/<pr>.json` and log it. `deferred`: the
/// forge has not been told yet; an apply artifact carries the verdict to `factory apply`.
pub fn write_result(
    state: &StateDir,
    pr_number: u64,
    issue: Option<u64>,
    commit: &str,
    results: &[CheckResult],
    recorded: Option<&Recorded>,
    deferred: bool,
) -> Result<(), VerifyError> {
    let passed = results.iter().all(|c| c.ok);
    let mut artifact = json!({
        "schema_version": "1.0",
        "pr": pr_number,
        "issue": issue,
        "merge_commit": commit,
        "passed": passed,
        "checks": results,
        "recurrence": recorded.map(|r| json!({
            "count": r.count(),
            "escalated": matches!(r, Recorded::Escalated { .. }),
        })),
    });
    if deferred {
        artifact["reported"] = json!(false);
    }
    state.write_artifact(&format!("verify/{pr_number}.json"), &artifact)?;
    let detail = format!(
        "post-merge verification of #{pr_number} at {}: {}{}",
        short_commit(commit),
        if passed { "passed" } else { "failed" },
        if deferred {
            "; the forge is told by `factory apply`"
        } else {
            ""
        }
    );
    let status = if passed { "ok" } else { "failed" };
    let refs = json!({"pr": pr_number, "issue": issue, "commit": commit}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = crate::state::log::vocab::VERIFY, tool = "factory", status, detail, refs);
    Ok(())
}

/// Keep the verification of pending merge `p` in the state and leave its verdict as a
/// `verification` apply artifact for `factory apply`, which tells the forge: the job that ran
/// the checks holds no token.
pub fn leave_verdict(
    state: &StateDir,
    session_id: &str,
    p: &Pending,
    results: &[CheckResult],
) -> Result<PathBuf, VerifyError> {
    use super::deferred::outbox;
    write_result(state, p.pr, p.issue, &p.merge_commit, results, None, true)?;
    let artifact = outbox::Artifact {
        schema_version: outbox::SCHEMA_VERSION.into(),
        kind: outbox::Kind::Verification,
        session_id: session_id.to_string(),
        phase: crate::workflow::PhaseName::Merge.as_str().into(),
        created_at: crate::state::now().to_string(),
        pull_request: None,
        review: None,
        comment: None,
        verification: Some(outbox::VerificationWrite {
            pr: p.pr,
            merge_commit: p.merge_commit.clone(),
            passed: results.iter().all(|c| c.ok),
            checks: results
                .iter()
                .map(|c| outbox::CheckOutcome {
                    name: c.name.clone(),
                    command: c.command.clone(),
                    ok: c.ok,
                })
                .collect(),
        }),
    };
    Ok(outbox::write(state, artifact, None)?)
}

/// Where post-merge verification runs, from `FACTORY_VERIFY`: `inline` (the default) in the
/// process that merged, or `deferred`, left for `factory verify --pending` in a job of its own
/// that holds no token, since the checks run the merged code.
pub const PLACEMENT_ENV: &str = "FACTORY_VERIFY";

pub use crate::forge::placement::Placement;

/// The placement `FACTORY_VERIFY` selects.
pub fn placement() -> Result<Placement, VerifyError> {
    parse_placement(std::env::var(PLACEMENT_ENV).ok().as_deref())
}

fn parse_placement(value: Option<&str>) -> Result<Placement, VerifyError> {
    Placement::parse(value).map_err(VerifyError::BadPlacement)
}

/// A merge whose verification waits for `factory verify --pending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub pr: u64,
    pub issue: Option<u64>,
    pub merge_commit: String,
}

/// Leave the verification of a merge for `factory verify --pending`: `artifacts/verify/<pr>.json`
/// says `pending` until then, and completion refuses to run while one does.
pub fn record_pending(state: &StateDir, p: &Pending) -> Result<(), VerifyError> {
    state.write_artifact(
        &format!("verify/{}.json", p.pr),
        &json!({
            "schema_version": "1.0",
            "pr": p.pr,
            "issue": p.issue,
            "merge_commit": p.merge_commit,
            "passed": serde_json::Value::Null,
            "pending": true,
            "checks": [],
        }),
    )?;
    let detail = format!(
        "post-merge verification of #{} at {} left for `factory verify --pending` ({PLACEMENT_ENV}=deferred)",
        p.pr,
        short_commit(&p.merge_commit)
    );
    let refs = json!({"pr": p.pr, "issue": p.issue, "commit": p.merge_commit}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = crate::state::log::vocab::VERIFY, tool = "factory", status = "deferred", detail, refs);
    Ok(())
}

/// The merges whose verification is pending, by pull request number.
pub fn pending(state: &StateDir) -> Vec<Pending> {
    let dir = state.artifacts_dir().join("verify");
    let mut out: Vec<Pending> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            if doc["pending"] != true {
                return None;
            }
            Some(Pending {
                pr: doc["pr"].as_u64()?,
                issue: doc["issue"].as_u64(),
                merge_commit: doc["merge_commit"].as_str()?.to_string(),
            })
        })
        .collect();
    out.sort_by_key(|p| p.pr);
    out
}

/// A detached worktree at a commit, removed when dropped.
pub struct Worktree<'a> {
    git: &'a Git,
    path: PathBuf,
}

impl<'a> Worktree<'a> {
    pub fn add(git: &'a Git, commit: &str) -> Result<Worktree<'a>, ForgeError> {
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

    pub fn path(&self) -> &Path {
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

/// Run one command line with `sh -c` in `dir`, its process group killed at `timeout`. The
/// command runs code an agent wrote (validation in the worktree, post-merge verification on the
/// merged code), so its environment is an allow-list ([`crate::agents::process::command_env`]):
/// no forge token and no agent key reaches it, whatever the job holds.
pub fn run_check(dir: &Path, check: &Check, timeout: Duration, declared: &[String]) -> CheckResult {
    use crate::agents::process::{self, Exit, Spec};
    let mut spec = Spec::new("sh", vec!["-c".to_string(), check.command.clone()], timeout);
    spec.cwd = Some(dir.to_path_buf());
    process::command_env(&mut spec, declared);
    let (exit_code, timed_out, text, ms) = match process::run(&spec) {
        Ok(out) => {
            let mut text = out.stdout.clone();
            if !out.stderr.is_empty() {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&out.stderr);
            }
            let timed_out = out.exit == Exit::TimedOut;
            if timed_out {
                text.push_str(&format!(
                    "\n[factory: killed after {}s, the phase timeout]\n",
                    timeout.as_secs()
                ));
            }
            (out.code(), timed_out, text, out.duration.as_millis() as u64)
        }
        Err(e) => (None, false, format!("[factory: cannot run it: {e}]\n"), 0),
    };
    let total = text.chars().count();
    let tail: String = text
        .chars()
        .skip(total.saturating_sub(OUTPUT_TAIL_CHARS))
        .collect();
    CheckResult {
        name: check.name.clone(),
        command: check.command.clone(),
        ok: exit_code == Some(0),
        exit_code,
        timed_out,
        duration_ms: ms,
        output_tail: crate::state::redact::scrub(&tail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values themselves are `forge::placement`'s; the error names this variable.
    #[test]
    fn a_bad_verification_placement_names_its_variable() {
        assert_eq!(
            parse_placement(Some("deferred")).unwrap(),
            Placement::Deferred
        );
        let e = parse_placement(Some("later")).unwrap_err().to_string();
        assert!(
            e.contains("FACTORY_VERIFY=later") && e.contains("`deferred`"),
            "{e}"
        );
    }
}
