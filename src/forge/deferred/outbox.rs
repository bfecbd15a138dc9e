//! The outbox: `.factory/outbox/<seq>-<phase>-<kind>-<number>.json`, one apply artifact per
//! write a deferred phase would have made, numbered in the order they were made, `<number>`
//! the issue or pull request written to (a pull request's commits travel next to it as
//! `<seq>-<phase>-<kind>-<number>.bundle`, a git bundle). The ledger,
//! `.factory/outbox/ledger.json`, records which artifacts were applied or refused, so
//! `factory apply --pending` never performs a write twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::forge::{InlineComment, ReviewEvent};
use crate::state::{StateDir, StateError, write_atomic};

/// The artifact contract's version.
pub const SCHEMA_VERSION: &str = "1.0";
/// The ledger's file name inside the outbox.
pub const LEDGER: &str = "ledger.json";

/// What an artifact asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Publish a branch (from a git bundle) and open or update its pull request.
    PullRequest,
    /// Post a pull-request review with its inline comments.
    Review,
    /// Post a comment on an issue or pull request (a sticky one, with a factory marker, is
    /// updated in place).
    Comment,
    /// Report a post-merge verification: a comment when it passed, the recurrence (reopen,
    /// label, escalation past the limit) when it failed.
    Verification,
}

impl Kind {
    /// The kind as the contract spells it (`pull_request`).
    pub fn field(self) -> &'static str {
        match self {
            Kind::PullRequest => "pull_request",
            Kind::Review => "review",
            Kind::Comment => "comment",
            Kind::Verification => "verification",
        }
    }

    /// The kind as file names spell it (`pull-request`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PullRequest => "pull-request",
            Kind::Review => "review",
            Kind::Comment => "comment",
            Kind::Verification => "verification",
        }
    }
}

/// One apply artifact (`schemas/apply-artifact.schema.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artifact {
    pub schema_version: String,
    pub kind: Kind,
    pub session_id: String,
    /// The phase that left it.
    pub phase: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationWrite>,
}

/// Publish `branch` at `head` and open (or update) the pull request of `issue`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullRequestWrite {
    pub issue: u64,
    pub branch: String,
    pub base: String,
    /// The commit the bundle starts from (its prerequisite).
    pub base_commit: String,
    pub head: String,
    /// The git bundle with the commits, a file name next to the artifact.
    pub bundle: String,
    /// The validation evidence, relative to `.factory/artifacts/`.
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rework_cycle: Option<u32>,
    /// The commits were not validated where they were made (`FACTORY_VALIDATION=deferred`):
    /// `factory apply` publishes them only with a passing verdict of
    /// `factory implement --validate-pending` for exactly `head`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaits_validation: bool,
}

/// A review to post on pull request `pr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewWrite {
    pub pr: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<u32>,
    pub event: ReviewEvent,
    pub body: String,
    #[serde(default)]
    pub comments: Vec<InlineComment>,
}

/// A comment to post on issue or pull request `number`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentWrite {
    pub number: u64,
    pub body: String,
}

/// How the post-merge verification of merged pull request `pr` went, from the job that ran the
/// checks on `merge_commit` without any token. `factory apply` checks the commit against the
/// forge and names the issue from the forge, not from here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerificationWrite {
    pub pr: u64,
    pub merge_commit: String,
    pub passed: bool,
    /// The checks that ran, in order; the last one failed when `passed` is false.
    pub checks: Vec<CheckOutcome>,
}

/// One check of a verification, without its output (which stays in the state,
/// `artifacts/verify/<pr>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub name: String,
    pub command: String,
    pub ok: bool,
}

/// Where the outbox of `state` is.
pub fn dir(state: &StateDir) -> PathBuf {
    state.root().join("outbox")
}

/// The sequence number of an artifact file name (`0003-code_review-review-5.json` → 3).
fn seq_of(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".json")?;
    let (seq, rest) = stem.split_once('-')?;
    (seq.len() == 4 && seq.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty())
        .then(|| seq.parse().ok())
        .flatten()
}

/// Every artifact of the outbox, in order.
pub fn list(state: &StateDir) -> Vec<PathBuf> {
    let mut all: Vec<(u32, PathBuf)> = std::fs::read_dir(dir(state))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((seq_of(&name)?, e.path()))
        })
        .collect();
    all.sort();
    all.into_iter().map(|(_, p)| p).collect()
}

/// The artifacts no `factory apply` has applied or refused yet, in order.
pub fn pending(state: &StateDir) -> Vec<PathBuf> {
    let ledger = Ledger::load(state);
    list(state)
        .into_iter()
        .filter(|p| !ledger.entries.contains_key(&file_name(p)))
        .collect()
}

/// The phase that left an artifact, from its name (`0003-code_review-review-5.json` →
/// `code_review`; phase names hold no `-`).
pub fn phase_of(path: &Path) -> Option<String> {
    let name = file_name(path);
    seq_of(&name)?;
    name.split('-').nth(1).map(str::to_string)
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Write `artifact` as the next artifact of the outbox, atomically; `bundle_from` (a finished
/// git bundle) is moved next to it first. Returns the artifact's path.
pub fn write(
    state: &StateDir,
    mut artifact: Artifact,
    bundle_from: Option<&Path>,
) -> Result<PathBuf, StateError> {
    let dir = dir(state);
    std::fs::create_dir_all(&dir).map_err(|e| StateError::io("create directory", &dir, e))?;
    let next = list(state)
        .iter()
        .filter_map(|p| seq_of(&file_name(p)))
        .max()
        .unwrap_or(0)
        + 1;
    // The issue or pull request in the name too: jobs working on different issues in
    // parallel then leave different files, which `factory state merge` keeps side by side.
    let number = artifact
        .pull_request
        .as_ref()
        .map(|p| p.issue)
        .or(artifact.review.as_ref().map(|r| r.pr))
        .or(artifact.comment.as_ref().map(|c| c.number))
        .or(artifact.verification.as_ref().map(|v| v.pr))
        .unwrap_or(0);
    let stem = format!(
        "{next:04}-{}-{}-{number}",
        artifact.phase,
        artifact.kind.as_str()
    );
    if let (Some(from), Some(pr)) = (bundle_from, artifact.pull_request.as_mut()) {
        let to = dir.join(format!("{stem}.bundle"));
        std::fs::rename(from, &to).map_err(|e| StateError::io("move the bundle to", &to, e))?;
        pr.bundle = file_name(&to);
    }
    let path = dir.join(format!("{stem}.json"));
    let mut bytes = serde_json::to_vec_pretty(&artifact).expect("an artifact serialises");
    bytes.push(b'\n');
    write_atomic(&path, &bytes).map_err(|e| StateError::io("write", &path, e))?;
    let refs = serde_json::json!({"artifact": file_name(&path)}).to_string();
    tracing::info!(target: "factory::event", phase = artifact.phase.as_str(), action = crate::state::log::vocab::DEFER, tool = "factory", status = "ok", detail = format!("{} left for `factory apply`: {}", artifact.kind.as_str(), file_name(&path)), refs);
    Ok(path)
}

/// How an artifact ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `applied` or `refused`.
    pub status: String,
    pub at: String,
    pub detail: String,
}

/// `.factory/outbox/ledger.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    #[serde(default)]
    pub entries: BTreeMap<String, LedgerEntry>,
}

impl Ledger {
    pub fn load(state: &StateDir) -> Ledger {
        std::fs::read(dir(state).join(LEDGER))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Record how `artifact` ended, atomically.
    pub fn mark(
        state: &StateDir,
        artifact: &Path,
        status: &str,
        detail: &str,
    ) -> Result<(), StateError> {
        let mut ledger = Ledger::load(state);
        ledger.entries.insert(
            file_name(artifact),
            LedgerEntry {
                status: status.into(),
                at: crate::state::now().to_string(),
                detail: detail.into(),
            },
        );
        let path = dir(state).join(LEDGER);
        let mut bytes = serde_json::to_vec_pretty(&ledger).expect("the ledger serialises");
        bytes.push(b'\n');
        write_atomic(&path, &bytes).map_err(|e| StateError::io("write", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(phase: &str) -> Artifact {
        Artifact {
            schema_version: SCHEMA_VERSION.into(),
            kind: Kind::Comment,
            session_id: "s".into(),
            phase: phase.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            pull_request: None,
            review: None,
            comment: Some(CommentWrite {
                number: 2,
                body: "hi".into(),
            }),
            verification: None,
        }
    }

    #[test]
    fn artifacts_are_numbered_in_order_and_pending_until_marked() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path());
        let a = write(&state, comment("implementation"), None).unwrap();
        let b = write(&state, comment("code_review"), None).unwrap();
        assert_eq!(file_name(&a), "0001-implementation-comment-2.json");
        assert_eq!(file_name(&b), "0002-code_review-comment-2.json");
        assert_eq!(phase_of(&a).as_deref(), Some("implementation"));
        assert_eq!(phase_of(&b).as_deref(), Some("code_review"));
        assert_eq!(phase_of(Path::new("ledger.json")), None);
        assert_eq!(pending(&state), vec![a.clone(), b.clone()]);
        Ledger::mark(&state, &a, "applied", "posted").unwrap();
        assert_eq!(pending(&state), vec![b]);
        assert_eq!(list(&state).len(), 2, "the ledger is not an artifact");
    }
}
