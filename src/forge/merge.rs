//! Phase 7, merge: a pull request is squash-merged only when the latest review of it approves
//! and its branch contains the latest base. Then the branch is deleted, the issue closed with a
//! comment naming the pull request, and the merge recorded in the session and the log.

use serde_json::{Value, json};

use super::{Forge, ForgeError, State};
use crate::contracts::{self, Contract};
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
    #[error("pull request #{pr} is {state}; only open pull requests merge")]
    NotOpen { pr: u64, state: &'static str },
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
    let bytes = std::fs::read(&path).map_err(|e| invalid(e.to_string()))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    let violations = contracts::validate(Contract::ReviewOutput, &value, Default::default());
    if let Some(v) = violations.first() {
        return Err(invalid(format!("{}: {}", v.pointer, v.message)));
    }
    if value["pr_number"].as_u64() != Some(pr) {
        return Err(invalid(format!(
            "/pr_number is {}, not {pr}",
            value["pr_number"]
        )));
    }
    let verdict = value["verdict"].as_str().unwrap_or("").to_string();
    if verdict.eq_ignore_ascii_case("approve") {
        Ok(())
    } else {
        Err(Refusal::NotApproved { pr, file, verdict })
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

/// Merge `pr` if the rules allow it.
pub fn merge_pull_request(
    state: &StateDir,
    forge: &dyn Forge,
    pr_number: u64,
) -> Result<Result<Merged, Refusal>, ForgeError> {
    let pr = forge.get_pull_request(pr_number)?;
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
    let checks = forge.checks(&pr)?;
    let refusal = if !checks.failing.is_empty() {
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
    if !forge.is_up_to_date(&pr)? {
        let r = Refusal::Behind {
            pr: pr_number,
            head: pr.head.clone(),
            base: pr.base.clone(),
        };
        log_refusal(forge, &r);
        return Ok(Err(r));
    }
    let issue = super::pr::closed_issue(&pr);
    let mut message = format!("{} (#{pr_number})\n", pr.title);
    if let Some(i) = issue {
        message.push_str(&format!("\nCloses #{i}\n"));
    }
    let commit = forge.squash_merge(pr_number, &message)?;
    let branch_note = forge.delete_branch(&pr.head).err().map(|e| e.to_string());
    let short = &commit[..commit.len().min(12)];
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
    tracing::info!(target: "factory::event", phase = "merge", action = "pr_merge", tool = forge.name(), status = "ok", detail, decision, refs);
    Ok(Ok(Merged {
        pr: pr_number,
        issue,
        commit,
        head: pr.head,
        base: pr.base,
        branch_note,
    }))
}

fn log_refusal(forge: &dyn Forge, r: &Refusal) {
    let detail = r.to_string();
    let decision = "do not merge".to_string();
    tracing::info!(target: "factory::event", phase = "merge", action = "pr_merge", tool = forge.name(), status = "refused", detail, decision);
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
