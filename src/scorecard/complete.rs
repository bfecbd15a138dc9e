//! Phase 8, completion: extract the session's lessons, compute and store its scorecard, retire
//! stale lessons, close the parent issue (forge hook), and refresh REPORT.md and the Actions
//! step summary. Running it again for the same session does not count lessons twice.

use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::lessons::{self, Merge, Store};
use crate::state::{StateDir, write_atomic};

use super::from_session::{ScorecardError, SessionRecord, check, scorecard};

/// How to complete a session.
#[derive(Debug, Clone)]
pub struct CompleteOptions {
    /// Where to write the scorecard (default `scorecards/<sid>.json` in the state directory).
    pub output: Option<PathBuf>,
    /// Retire lessons not seen for this many completed sessions (0: never).
    pub retire_after: usize,
    /// Append the report to `$GITHUB_STEP_SUMMARY` when it is set.
    pub step_summary: bool,
    /// How closing the parent issue is written (the run's mode in the pipeline).
    pub writes: crate::forge::deferred::Writes,
}

impl Default for CompleteOptions {
    fn default() -> Self {
        CompleteOptions {
            output: None,
            retire_after: lessons::DEFAULT_RETIRE_AFTER,
            step_summary: true,
            writes: Default::default(),
        }
    }
}

/// What completion did.
#[derive(Debug, Clone)]
pub struct Completion {
    pub scorecard: Value,
    pub path: PathBuf,
    /// New lessons (ids).
    pub added: Vec<String>,
    /// Lessons this session saw again (ids).
    pub seen: Vec<String>,
    pub retired: Vec<String>,
    pub forge: ForgeHook,
}

/// What became of the parent issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeHook {
    /// The session has no parent issue (a route without issue creation, or none recorded).
    NoParent,
    /// The scorecard was posted on the parent issue and the issue closed.
    Closed(u64),
    /// The forge refused or could not be reached; the parent issue stays open.
    Failed { issue: u64, error: String },
}

/// Close the session's parent issue (from `artifacts/issues.json`) with the scorecard as its
/// closing comment. A forge failure is reported, never fatal: the scorecard is already written.
pub fn close_parent_issue(
    state: &StateDir,
    scorecard: &Value,
    writes: crate::forge::deferred::Writes,
) -> ForgeHook {
    let issues = state
        .artifacts_dir()
        .join(crate::forge::issues::ISSUES_ARTIFACT);
    let parent = std::fs::read(&issues)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v["parent"]["number"]
                .as_u64()
                .or_else(|| v["parent"].as_u64())
        });
    let Some(parent) = parent else {
        return ForgeHook::NoParent;
    };
    let body = format!(
        "Completed. Spec-to-ship score **{}** ({}).\n\nThe scorecard is in `.factory/scorecards/{}.json`.",
        scorecard["score"].as_u64().unwrap_or(0),
        scorecard["band"].as_str().unwrap_or(""),
        scorecard["session_id"].as_str().unwrap_or("")
    );
    let result = crate::forge::select::open(
        state,
        &state.repo(),
        writes,
        crate::workflow::PhaseName::Completion.as_str(),
    )
    .and_then(|forge| {
        forge.comment_issue(parent, &body)?;
        forge.set_issue_state(parent, crate::forge::State::Closed)
    });
    match result {
        Ok(()) => ForgeHook::Closed(parent),
        Err(e) => ForgeHook::Failed {
            issue: parent,
            error: e.to_string(),
        },
    }
}

/// Which lessons a session already contributed (so a rerun does not count them twice).
fn ledger_path(state: &StateDir, sid: &str) -> PathBuf {
    state
        .lessons_dir()
        .join("sessions")
        .join(format!("{sid}.json"))
}

/// Complete the current session of `state`.
pub fn complete(state: &StateDir, opts: &CompleteOptions) -> anyhow::Result<Completion> {
    // A verification left for a job of its own (FACTORY_VERIFY=deferred) that never ran would
    // otherwise be scored as if nothing had been checked after the merge.
    let waiting: Vec<String> = crate::forge::verify::pending(state)
        .iter()
        .map(|p| format!("#{}", p.pr))
        .collect();
    if !waiting.is_empty() {
        anyhow::bail!(
            "post-merge verification of {} is still pending: run `factory verify --pending` (and `factory apply --pending` for its verdicts) before completion",
            waiting.join(", ")
        );
    }
    let rec = SessionRecord::load(state)?;
    let sid = rec.session.id.clone();
    crate::state::log::set_session(&sid);
    let now = crate::state::session::now();
    let store = Store::new(state.lessons_dir());

    let ledger = ledger_path(state, &sid);
    let (added, seen) = if let Ok(text) = std::fs::read_to_string(&ledger) {
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let ids = |k: &str| -> Vec<String> {
            v[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        (ids("added"), ids("seen"))
    } else {
        let candidates = lessons::extract(&sid, &rec.review_docs(), &rec.events, &rec.pack_tags());
        let merges = store.merge(&candidates, now)?;
        let pick = |f: fn(&Merge) -> bool| -> Vec<String> {
            merges
                .iter()
                .filter(|m| f(m))
                .map(|m| m.id().to_string())
                .collect()
        };
        let added = pick(|m| matches!(m, Merge::Added(_)));
        let seen = pick(|m| matches!(m, Merge::Seen(_)));
        let doc = json!({"session_id": sid, "added": added, "seen": seen});
        if let Some(dir) = ledger.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        write_atomic(&ledger, format!("{doc:#}\n").as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", ledger.display()))?;
        (added, seen)
    };

    let card = scorecard(&rec, added.len() as u64, now);
    check(&card)?;
    let path = opts
        .output
        .clone()
        .unwrap_or_else(|| state.scorecards_dir().join(format!("{sid}.json")));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ScorecardError::Io {
            action: "create",
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    write_atomic(&path, format!("{card:#}\n").as_bytes()).map_err(|e| ScorecardError::Io {
        action: "write",
        path: path.clone(),
        message: e.to_string(),
    })?;

    let completions: Vec<Timestamp> = super::history::load(&state.scorecards_dir())?
        .iter()
        .filter_map(|c| c["completed_at"].as_str()?.parse().ok())
        .collect();
    let retired = store.retire_stale(&completions, opts.retire_after)?;

    let forge = close_parent_issue(state, &card, opts.writes);
    let score = card["score"].as_u64().unwrap_or(0);
    let band = card["band"].as_str().unwrap_or("");
    let decision = format!("score {score} ({band})");
    let detail = format!(
        "scorecard {}; lessons: {} new, {} seen again, {} retired",
        path.display(),
        added.len(),
        seen.len(),
        retired.len()
    );
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Completion.as_str(), action = "scorecard", tool = "factory", status = "ok", detail, decision);
    match &forge {
        ForgeHook::NoParent => {}
        ForgeHook::Closed(n) => {
            let refs = serde_json::json!({"issue": n}).to_string();
            tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Completion.as_str(), action = "close_issue", tool = "forge", status = "ok", detail = format!("parent issue #{n} closed with the scorecard"), refs);
        }
        ForgeHook::Failed { issue, error } => {
            let refs = serde_json::json!({"issue": issue}).to_string();
            tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Completion.as_str(), action = "close_issue", tool = "forge", status = "failed", detail = format!("parent issue #{issue} not closed: {error}"), refs);
        }
    }
    let report = crate::report::write(state)?;
    if opts.step_summary {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        crate::util::step_summary::append(&format!("{text}\n")).map_err(anyhow::Error::msg)?;
    }
    Ok(Completion {
        scorecard: card,
        path,
        added,
        seen,
        retired,
        forge,
    })
}
