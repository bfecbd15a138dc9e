//! Phase 7, merge: a pull request is squash-merged only when the latest review of it approves
//! and its branch contains the latest base. Then the branch is deleted, the issue closed with a
//! comment naming the pull request, and the merge recorded in the session and the log.

use serde_json::{Value, json};

use crate::util::text::short_commit;

use crate::artifacts::review::{Review, Verdict};
use crate::contracts::{self, Contract};
use crate::forge::{Forge, ForgeError, State};
use crate::state::{PullRequestRef, StateDir, now};

/// Why a merge was refused: the pipeline's rules said no (exit 1), not an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "pull request #{pr} has no review: run the code_review phase first (expected .factory/artifacts/reviews/{pr}-<cycle>.json)"
    )]
    NoReview { pr: u64 },
    #[error(
        "{file}: the latest review of pull request #{pr} is invalid: {message}; review it again"
    )]
    InvalidReview {
        pr: u64,
        file: String,
        message: String,
    },
    #[error(
        "pull request #{pr} is not approved: the latest review ({file}) says {verdict}; address the findings and review again"
    )]
    NotApproved {
        pr: u64,
        file: String,
        verdict: String,
    },
    #[error(
        "pull request #{pr}: branch `{head}` is behind `{base}`; merge or rebase `{base}` into it, review again, then merge"
    )]
    Behind { pr: u64, head: String, base: String },
    #[error(
        "pull request #{pr}: checks failing on its head commit: {}; fix them, review again, then merge",
        .names.join(", ")
    )]
    ChecksFailing { pr: u64, names: Vec<String> },
    #[error(
        "pull request #{pr}: checks still running on its head commit: {}; merge once they pass",
        .names.join(", ")
    )]
    ChecksPending { pr: u64, names: Vec<String> },
    #[error(
        "pull request #{pr}: no check has reported on its head commit yet; it merges once CI reports (set `phases.merge.require_checks: false` in .factory/workflow.yaml if this repository has no CI)"
    )]
    NoChecks { pr: u64 },
    #[error(
        "pull request #{pr}: its branch moved after it was checked ({why}); the new commits are reviewed before anything merges"
    )]
    HeadMoved {
        pr: u64,
        issue: Option<u64>,
        why: String,
    },
    #[error("pull request #{pr} is {state}; only open pull requests merge")]
    NotOpen { pr: u64, state: &'static str },
    #[error(
        "pull request #{pr}: branch `{head}` conflicts with `{base}`{}; implementation resolves it on the branch, then it is reviewed again",
        if .paths.is_empty() { String::new() } else { format!(" in {}", .paths.join(", ")) }
    )]
    Conflict {
        pr: u64,
        issue: Option<u64>,
        head: String,
        base: String,
        paths: Vec<String>,
    },
    #[error(
        "pull request #{pr}: the forge is merging `{base}` into `{head}`; merge once the new head's checks pass"
    )]
    Updating { pr: u64, head: String, base: String },
    #[error(
        "pull request #{pr}: its diff is not the one its approving review saw (the branch changed, or the update with `{base}` touched its lines); it is reviewed again"
    )]
    DiffChanged {
        pr: u64,
        issue: Option<u64>,
        base: String,
    },
    #[error(
        "pull request #{pr}: after bringing it up to date, preflight blocks it:\n{}",
        .findings.join("\n")
    )]
    Blocked { pr: u64, findings: Vec<String> },
}

impl Refusal {
    /// The pull request refused.
    pub fn pr(&self) -> u64 {
        match self {
            Refusal::NoReview { pr }
            | Refusal::InvalidReview { pr, .. }
            | Refusal::NotApproved { pr, .. }
            | Refusal::Behind { pr, .. }
            | Refusal::ChecksFailing { pr, .. }
            | Refusal::ChecksPending { pr, .. }
            | Refusal::NoChecks { pr }
            | Refusal::HeadMoved { pr, .. }
            | Refusal::NotOpen { pr, .. }
            | Refusal::Conflict { pr, .. }
            | Refusal::Updating { pr, .. }
            | Refusal::DiffChanged { pr, .. }
            | Refusal::Blocked { pr, .. } => *pr,
        }
    }
}

/// The merge gate's settings from the workflow.
#[derive(Debug, Clone)]
pub struct MergePolicy {
    /// How a branch behind its base is brought up to date: `None` refuses it.
    pub update: Option<UpdatePolicy>,
    /// `phases.merge.require_checks`: on a forge with CI, no checks at all is a wait.
    pub require_checks: bool,
}

impl MergePolicy {
    /// The policy `workflow` sets for `repo`.
    pub fn from_workflow(
        workflow: &crate::workflow::config::Workflow,
        repo: std::path::PathBuf,
    ) -> MergePolicy {
        MergePolicy {
            update: Some(UpdatePolicy {
                method: workflow.merge_update_method(),
                repo,
            }),
            require_checks: workflow.merge_requires_checks(),
        }
    }
}

/// How a merge brings a pull request up to date.
#[derive(Debug, Clone)]
pub struct UpdatePolicy {
    pub method: crate::workflow::config::UpdateMethod,
    /// The repository, for a rebase made locally and pushed (GitHub).
    pub repo: std::path::PathBuf,
}

/// One merge at a time per repository: an exclusive lock on a file in the git directory, held
/// while the merge phase runs, so two pipelines never merge into one base at once.
pub struct MergeLock {
    _file: std::fs::File,
}

impl MergeLock {
    /// Take the lock, waiting up to `wait`; `None` when another process still holds it.
    pub fn acquire(
        repo: &std::path::Path,
        wait: std::time::Duration,
    ) -> Result<Option<MergeLock>, ForgeError> {
        let common = crate::forge::git::Git::new(repo)
            .common_dir()
            .unwrap_or_else(|_| repo.join(".git"));
        let path = common.join("factory-merge.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ForgeError::io("open the merge lock", &path, e))?;
        let deadline = std::time::Instant::now() + wait;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(MergeLock { _file: file })),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !told {
                        told = true;
                        let detail = format!(
                            "another factory process holds {}; waiting for its merge",
                            path.display()
                        );
                        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "merge_lock", tool = "factory", status = "waiting", detail);
                    }
                    if std::time::Instant::now() >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(ForgeError::io("lock", &path, e));
                }
            }
        }
    }
}

/// The latest review of `pr`: the file `reviews/<pr>-<cycle>.json` with the highest cycle.
pub fn latest_review(state: &StateDir, pr: u64) -> Option<(String, std::path::PathBuf)> {
    let dir = state.artifacts_dir().join("reviews");
    let prefix = format!("{pr}-");
    let mut best: Option<(u64, std::path::PathBuf)> = None;
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(cycle) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".json"))
            .and_then(|c| c.parse::<u64>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(c, _)| cycle > *c) {
            best = Some((cycle, entry.path()));
        }
    }
    best.map(|(_, p)| {
        (
            format!("reviews/{}", p.file_name().unwrap().to_string_lossy()),
            p,
        )
    })
}

/// Check the verdict of the latest review.
pub fn check_review(state: &StateDir, pr: u64) -> Result<(), Refusal> {
    let (file, path) = latest_review(state, pr).ok_or(Refusal::NoReview { pr })?;
    let invalid = |message: String| Refusal::InvalidReview {
        pr,
        file: file.clone(),
        message,
    };
    let bytes = crate::state::read_capped(&path).map_err(|e| invalid(e.to_string()))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    let violations = contracts::validate(Contract::ReviewOutput, &value, Default::default());
    if let Some(v) = violations.first() {
        return Err(invalid(format!("{}: {}", v.pointer, v.message)));
    }
    let review = Review::from_value(&value).map_err(|e| invalid(e.to_string()))?;
    if review.pr_number != pr {
        return Err(invalid(format!(
            "/pr_number is {}, not {pr}",
            review.pr_number
        )));
    }
    match review.verdict {
        Verdict::Approve => Ok(()),
        verdict => Err(Refusal::NotApproved {
            pr,
            file,
            verdict: verdict.as_str().to_string(),
        }),
    }
}

/// A completed merge.
#[derive(Debug, Clone)]
pub struct Merged {
    pub pr: u64,
    pub issue: Option<u64>,
    pub commit: String,
    pub head: String,
    pub base: String,
    /// Set when the branch could not be deleted (the merge itself succeeded).
    pub branch_note: Option<String>,
}

/// Merge `pr` if the rules allow it; with an update policy, a branch behind its base is
/// brought up to date first. The merge names the head commit the gate checked, so a push
/// after the checks is reviewed, never merged ([`Refusal::HeadMoved`]).
pub fn merge_pull_request(
    state: &StateDir,
    forge: &dyn Forge,
    pr_number: u64,
    policy: &MergePolicy,
) -> Result<Result<Merged, Refusal>, ForgeError> {
    let update = policy.update.as_ref();
    let mut pr = forge.get_pull_request(pr_number)?;
    if pr.state != State::Open {
        return Ok(Err(Refusal::NotOpen {
            pr: pr_number,
            state: pr.state.as_str(),
        }));
    }
    if let Err(r) = check_review(state, pr_number) {
        log_refusal(forge, &r);
        return Ok(Err(r));
    }
    let session = state.load_session().ok().flatten();
    let issue_of_pr = session
        .as_ref()
        .and_then(|s| s.pull_requests.iter().find(|p| p.number == pr_number))
        .and_then(|p| p.issue)
        .or_else(|| crate::forge::pr::closed_issue(&pr));
    let checks = forge.checks(&pr)?;
    let refusal = if checks.ci && policy.require_checks && checks.is_empty() {
        Some(Refusal::NoChecks { pr: pr_number })
    } else if !checks.failing.is_empty() {
        Some(Refusal::ChecksFailing {
            pr: pr_number,
            names: checks.failing,
        })
    } else if !checks.pending.is_empty() {
        Some(Refusal::ChecksPending {
            pr: pr_number,
            names: checks.pending,
        })
    } else {
        None
    };
    if let Some(r) = refusal {
        log_refusal(forge, &r);
        return Ok(Err(r));
    }
    // The diff as it stands after an update made here, already read for the gate.
    let mut updated_diff = None;
    if !forge.is_up_to_date(&pr)? {
        let Some(policy) = update else {
            let r = Refusal::Behind {
                pr: pr_number,
                head: pr.head.clone(),
                base: pr.base.clone(),
            };
            log_refusal(forge, &r);
            return Ok(Err(r));
        };
        match bring_up_to_date(state, session.as_ref(), forge, &pr, policy, issue_of_pr)? {
            Ok(diff) => {
                updated_diff = diff;
                pr = forge.get_pull_request(pr_number)?;
            }
            Err(r) => {
                log_refusal(forge, &r);
                return Ok(Err(r));
            }
        }
    }
    // The approval covers the diff its review saw: anything else is reviewed again. A head
    // still at the commit the review judged needs no second look.
    let record = session
        .as_ref()
        .and_then(|s| s.pull_requests.iter().find(|p| p.number == pr_number));
    let same_head = pr.head_sha.is_some()
        && record.and_then(|p| p.reviewed_head.as_ref()) == pr.head_sha.as_ref();
    if let Some(seen) = record
        .and_then(|p| p.reviewed_diff.clone())
        .filter(|_| !same_head)
    {
        let diff = match updated_diff {
            Some(d) => d,
            None => forge.pull_request_diff(pr_number)?,
        };
        let now = crate::review::pr::diff_fingerprint(&diff);
        if now != seen {
            let r = Refusal::DiffChanged {
                pr: pr_number,
                issue: issue_of_pr,
                base: pr.base.clone(),
            };
            log_refusal(forge, &r);
            return Ok(Err(r));
        }
    }
    let issue = crate::forge::pr::closed_issue(&pr);
    let mut message = format!("{} (#{pr_number})\n", pr.title);
    if let Some(i) = issue {
        message.push_str(&format!("\nCloses #{i}\n"));
    }
    let commit = match forge.squash_merge(pr_number, &message, pr.head_sha.as_deref()) {
        Err(ForgeError::HeadMoved { detail, .. }) => {
            let r = Refusal::HeadMoved {
                pr: pr_number,
                issue: issue_of_pr,
                why: detail,
            };
            log_refusal(forge, &r);
            return Ok(Err(r));
        }
        other => other?,
    };
    let branch_note = forge.delete_branch(&pr.head).err().map(|e| e.to_string());
    let short = short_commit(&commit);
    forge.comment_issue(
        pr_number,
        &format!("Squash-merged into `{}` as {short} by factory.", pr.base),
    )?;
    if let Some(i) = issue {
        forge.comment_issue(
            i,
            &format!("Completed — PR #{pr_number} merged as {short}."),
        )?;
        forge.set_issue_state(i, State::Closed)?;
    }
    if state.load_session().ok().flatten().is_some() {
        state
            .update_session(
                |s| match s.pull_requests.iter_mut().find(|p| p.number == pr_number) {
                    Some(p) => {
                        p.merged = true;
                        if p.issue.is_none() {
                            p.issue = issue;
                        }
                    }
                    None => s.pull_requests.push(PullRequestRef {
                        number: pr_number,
                        issue,
                        merged: true,
                        ..Default::default()
                    }),
                },
            )
            .map_err(|e| ForgeError::Unsupported(e.to_string()))?;
    }
    record_merge(state, pr_number, issue, &commit, &pr.head, &pr.base)?;
    let detail = format!(
        "#{pr_number} squash-merged into {} as {short}{}",
        pr.base,
        issue
            .map(|i| format!("; issue #{i} closed"))
            .unwrap_or_default()
    );
    let decision = "merge: the latest review approves and the branch is up to date".to_string();
    let refs = json!({"pr": pr_number, "issue": issue, "commit": commit}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "pr_merge", tool = forge.name(), status = "ok", detail, decision, refs);
    Ok(Ok(Merged {
        pr: pr_number,
        issue,
        commit,
        head: pr.head,
        base: pr.base,
        branch_note,
    }))
}

/// Bring `pr` up to date with its base: merged or rebased, then the deterministic gate (scope
/// and secrets) on the updated diff, which is returned when this process made the update.
fn bring_up_to_date(
    state: &StateDir,
    session: Option<&crate::state::Session>,
    forge: &dyn Forge,
    pr: &crate::forge::PullRequest,
    policy: &UpdatePolicy,
    issue: Option<u64>,
) -> Result<Result<Option<String>, Refusal>, ForgeError> {
    use crate::forge::update::BranchUpdate;
    use crate::workflow::config::UpdateMethod;
    let outcome = if forge.name() == "github" && policy.method == UpdateMethod::Rebase {
        rebase_and_push(pr, policy)?
    } else {
        forge.update_branch(pr, policy.method)?
    };
    let refs = json!({"pr": pr.number, "issue": issue, "method": policy.method.as_str()});
    let logged = |status: &str, detail: String| {
        let refs = refs.to_string();
        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = crate::state::log::vocab::BRANCH_UPDATE, tool = forge.name(), status, detail, refs);
    };
    match outcome {
        BranchUpdate::Conflict { paths } => {
            let detail = format!(
                "#{}: `{}` conflicts with `{}`{}",
                pr.number,
                pr.head,
                pr.base,
                if paths.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", paths.join(", "))
                }
            );
            logged("failed", detail);
            Ok(Err(Refusal::Conflict {
                pr: pr.number,
                issue,
                head: pr.head.clone(),
                base: pr.base.clone(),
                paths,
            }))
        }
        BranchUpdate::Started => {
            let detail = format!(
                "#{}: the forge merges `{}` into `{}`",
                pr.number, pr.base, pr.head
            );
            logged("started", detail);
            Ok(Err(Refusal::Updating {
                pr: pr.number,
                head: pr.head.clone(),
                base: pr.base.clone(),
            }))
        }
        BranchUpdate::Updated { head } => {
            let detail = format!(
                "#{}: `{}` brought up to date with `{}` ({}) at {}",
                pr.number,
                pr.head,
                pr.base,
                policy.method.as_str(),
                short_commit(&head)
            );
            logged("ok", detail);
            let diff = forge.pull_request_diff(pr.number)?;
            let findings = preflight_again(state, session, &diff, pr.number, issue)?;
            if findings.is_empty() {
                Ok(Ok(Some(diff)))
            } else {
                Ok(Err(Refusal::Blocked {
                    pr: pr.number,
                    findings,
                }))
            }
        }
    }
}

/// The scope and secret rules on the pull request's updated `diff`; the blocking findings.
fn preflight_again(
    state: &StateDir,
    session: Option<&crate::state::Session>,
    diff: &str,
    pr: u64,
    issue: Option<u64>,
) -> Result<Vec<String>, ForgeError> {
    let scope = issue.and_then(|i| {
        crate::review::pr::scope_for_issue(state, session, i)
            .ok()
            .flatten()
    });
    let engine = crate::preflight::engine::Engine::new(
        crate::preflight::rules::secrets::rules(),
        scope.map(|s| s.scope),
    );
    let report = engine
        .scan(diff.as_bytes())
        .map_err(|e| ForgeError::Unsupported(format!("cannot scan the diff of #{pr}: {e}")))?;
    let blocking: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.blocks_change())
        .map(|f| format!("- {}:{} {} [{}]", f.path, f.line, f.message, f.rule_id))
        .collect();
    let detail = format!(
        "#{pr} after the update: {} file(s), {} blocking finding(s)",
        report.files_scanned,
        blocking.len()
    );
    let status = if blocking.is_empty() { "ok" } else { "failed" };
    let refs = json!({"pr": pr, "findings": blocking.len()}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = crate::state::log::vocab::PREFLIGHT, tool = "factory", status, detail, refs);
    Ok(blocking)
}

/// GitHub has no rebase endpoint: fetch both branches, rebase locally, push with a lease on
/// the head the forge reported (a branch that moved meanwhile is not overwritten).
fn rebase_and_push(
    pr: &crate::forge::PullRequest,
    policy: &UpdatePolicy,
) -> Result<crate::forge::update::BranchUpdate, ForgeError> {
    use crate::forge::git::{fetch, push_with_lease};
    let token = crate::forge::git::forge_token().ok_or_else(|| {
        ForgeError::Unsupported(
            "rebasing a pull request on GitHub needs GITHUB_TOKEN or GH_TOKEN to push".into(),
        )
    })?;
    let git = crate::forge::git::Git::new(&policy.repo);
    for b in [&pr.base, &pr.head] {
        if !fetch(&git, b, &token)? {
            return Err(ForgeError::NoBranch(b.clone()));
        }
    }
    let head_ref = format!("refs/remotes/origin/{}", pr.head);
    let old = git.rev(&head_ref)?;
    let base_ref = format!("refs/remotes/origin/{}", pr.base);
    match crate::forge::update::update_commit(&git, &old, &base_ref, policy.method, &pr.head)? {
        Ok(new) => {
            push_with_lease(&git, &new, &pr.head, &old, &token)?;
            Ok(crate::forge::update::BranchUpdate::Updated { head: new })
        }
        Err(paths) => Ok(crate::forge::update::BranchUpdate::Conflict { paths }),
    }
}

fn log_refusal(forge: &dyn Forge, r: &Refusal) {
    let detail = r.to_string();
    let decision = "do not merge".to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "pr_merge", tool = forge.name(), status = "refused", detail, decision);
}

/// Add the merge to `artifacts/merge.json` (one entry per pull request).
fn record_merge(
    state: &StateDir,
    pr: u64,
    issue: Option<u64>,
    commit: &str,
    head: &str,
    base: &str,
) -> Result<(), ForgeError> {
    let path = state.artifacts_dir().join("merge.json");
    let mut doc: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({"schema_version": "1.0", "merges": []}));
    if !doc["merges"].is_array() {
        doc["merges"] = json!([]);
    }
    let merges = doc["merges"].as_array_mut().expect("array");
    merges.retain(|m| m["pr"].as_u64() != Some(pr));
    merges.push(json!({
        "pr": pr,
        "issue": issue,
        "merge_commit": commit,
        "head": head,
        "base": base,
        "merged_at": now().to_string(),
    }));
    state
        .write_artifact("merge.json", &doc)
        .map_err(|e| ForgeError::Unsupported(e.to_string()))?;
    Ok(())
}

/// The merge commit recorded for `pr`, from the forge.
pub fn merge_commit(forge: &dyn Forge, pr: u64) -> Result<Option<String>, ForgeError> {
    Ok(forge.get_pull_request(pr)?.merge_commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_merge_at_a_time_per_repository() {
        let dir = tempfile::tempdir().unwrap();
        crate::forge::git::Git::new(dir.path())
            .run(&["init", "-q"])
            .unwrap();
        let wait = std::time::Duration::from_millis(300);
        let first = MergeLock::acquire(dir.path(), wait).unwrap();
        assert!(first.is_some());
        // A second holder (another process, here another open file) waits, then gives up.
        let started = std::time::Instant::now();
        assert!(MergeLock::acquire(dir.path(), wait).unwrap().is_none());
        assert!(started.elapsed() >= wait);
        drop(first);
        assert!(MergeLock::acquire(dir.path(), wait).unwrap().is_some());
    }
}
