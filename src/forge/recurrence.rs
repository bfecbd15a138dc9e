//! Recurrence: a problem that comes back after its fix merged. Post-merge verification that
//! fails, or an incident whose fingerprint matches a closed issue, reopens the issue with the
//! `regression` label and a comment carrying the recurrence metadata twice: as a table for
//! people and as a hidden marker for machines. Past the workflow's recurrence limit the issue
//! gets `needs-human` and the session escalates instead of looping.

use serde_json::json;

use super::{Forge, ForgeError, Issue, State};
use crate::state::{EscalationReason, StateDir, now};
use crate::util::markers::{self, Recurrence};
use crate::workflow::PhaseName;

/// Label put on an issue whose problem came back.
pub const REGRESSION_LABEL: &str = "regression";
/// Label put on an issue a person must look at.
pub const NEEDS_HUMAN_LABEL: &str = "needs-human";

/// One recurrence to record.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub merge_commit: Option<String>,
    /// Which check failed (`test: npm test`, `incident sentry:issue:42`).
    pub failing_check: String,
}

/// What recording a recurrence did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The issue was reopened; `count` recurrences so far.
    Reopened { issue: u64, count: u32 },
    /// Past the limit: the issue is marked needs-human and the session escalated.
    Escalated { issue: u64, count: u32 },
}

impl Recorded {
    pub fn count(&self) -> u32 {
        match self {
            Recorded::Reopened { count, .. } | Recorded::Escalated { count, .. } => *count,
        }
    }
}

/// The latest recurrence metadata on an issue (body or comments).
pub fn previous(issue: &Issue) -> Option<Recurrence> {
    // Only factory's own comments count: anyone can comment a forged marker on GitHub.
    issue
        .comments
        .iter()
        .rev()
        .filter(|c| markers::trusted(issue.author.as_deref(), c.author.as_deref()))
        .find_map(|c| markers::parse_recurrence(&c.body))
        .or_else(|| markers::parse_recurrence(&issue.body))
}

/// Record a recurrence on `issue`: reopen, label, comment; count it in the session; escalate
/// past `limit`.
pub fn record(
    state: &StateDir,
    forge: &dyn Forge,
    limit: u32,
    issue: u64,
    occ: &Occurrence,
) -> Result<Recorded, ForgeError> {
    record_with(state, forge, limit, issue, occ, true)
}

/// [`record`]; `count_in_session` false leaves the current session alone (an incident that
/// arrives before its new session exists).
fn record_with(
    state: &StateDir,
    forge: &dyn Forge,
    limit: u32,
    issue: u64,
    occ: &Occurrence,
    count_in_session: bool,
) -> Result<Recorded, ForgeError> {
    let current = forge.get_issue(issue)?;
    let at = now().to_string();
    let prev = previous(&current);
    let r = Recurrence {
        count: prev.as_ref().map_or(0, |p| p.count) + 1,
        first_seen: prev.map(|p| p.first_seen).unwrap_or_else(|| at.clone()),
        last_seen: at,
        merge_commit: occ.merge_commit.clone(),
        failing_check: super::issues::line(&occ.failing_check),
    };
    let escalate = r.count > limit;
    if current.state != State::Open {
        forge.set_issue_state(issue, State::Open)?;
    }
    let mut labels = vec![REGRESSION_LABEL.to_string()];
    if escalate {
        labels.push(NEEDS_HUMAN_LABEL.to_string());
    }
    forge.add_labels(issue, &labels)?;
    let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
    let mut body = format!(
        "**Recurrence {}** (limit {limit}): the problem came back after it was fixed.\n\n| count | first seen | last seen | merge commit | failing check |\n|---|---|---|---|---|\n| {} | {} | {} | {} | `{}` |\n\n",
        r.count,
        r.count,
        r.first_seen,
        r.last_seen,
        r.merge_commit
            .as_deref()
            .map(|c| format!("`{}`", crate::util::text::short_commit(c)))
            .unwrap_or_else(|| "—".into()),
        cell(&r.failing_check),
    );
    if escalate {
        body.push_str(&format!(
            "This is past the recurrence limit ({limit}): factory stops here and a person must decide (`{NEEDS_HUMAN_LABEL}`, reason recurrence-limit).\n\n"
        ));
    } else {
        body.push_str("Reopened by factory; the pipeline will work on it again.\n\n");
    }
    body.push_str(&markers::recurrence(&r));
    body.push('\n');
    forge.comment_issue(issue, &body)?;

    let detail = format!(
        "issue #{issue} recurred ({} of limit {limit}): {}",
        r.count, r.failing_check
    );
    if count_in_session && state.load_session().ok().flatten().is_some() {
        let _ = state.update_session(|s| {
            s.counters.recurrence += 1;
            if escalate {
                s.escalate(
                    EscalationReason::RecurrenceLimit,
                    PhaseName::Merge,
                    detail.clone(),
                );
            }
        });
    }
    let refs = json!({"issue": issue, "count": r.count}).to_string();
    if escalate {
        let decision = "recurrence-limit: the problem recurred past the limit".to_string();
        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "escalate", tool = forge.name(), status = "needs_human", detail, decision, refs);
        Ok(Recorded::Escalated {
            issue,
            count: r.count,
        })
    } else {
        let decision = "reopen the issue with recurrence metadata".to_string();
        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = "reopen", tool = forge.name(), status = "ok", detail, decision, refs);
        Ok(Recorded::Reopened {
            issue,
            count: r.count,
        })
    }
}

/// What an incident's fingerprint matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentMatch {
    /// No issue tracks it: a new pipeline is due.
    New,
    /// An open issue tracks it: a comment was added there instead of a new pipeline.
    Commented { issue: u64 },
    /// A closed issue tracked it: reopened as a recurrence.
    Recurred(Recorded),
}

/// Match an incident fingerprint against the issues factory made.
pub fn on_incident(
    state: &StateDir,
    forge: &dyn Forge,
    limit: u32,
    fingerprint: &str,
) -> Result<IncidentMatch, ForgeError> {
    let marker = markers::fingerprint(fingerprint);
    // Every issue that tracks an incident carries the `incident` label.
    let query = super::IssueQuery {
        labels: vec!["incident".into()],
        since: None,
    };
    let matching: Vec<Issue> = forge
        .find_issues(&query)?
        .into_iter()
        .filter(|i| i.body.contains(&marker))
        .collect();
    if let Some(open) = matching.iter().find(|i| i.state == State::Open) {
        let body = format!(
            "The incident `{}` fired again at {}. This issue is still open, so no new pipeline was started.",
            super::issues::code(fingerprint),
            now()
        );
        forge.comment_issue(open.number, &body)?;
        let detail = format!(
            "incident {fingerprint} matches open issue #{}: commented",
            open.number
        );
        let refs = json!({"issue": open.number}).to_string();
        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Intake.as_str(), action = "incident_match", tool = forge.name(), status = "ok", detail, refs);
        return Ok(IncidentMatch::Commented { issue: open.number });
    }
    match matching.last() {
        Some(closed) => record_with(
            state,
            forge,
            limit,
            closed.number,
            &Occurrence {
                merge_commit: None,
                failing_check: format!("incident {fingerprint}"),
            },
            false,
        )
        .map(IncidentMatch::Recurred),
        None => Ok(IncidentMatch::New),
    }
}

/// Before intake starts a session for an incident: match its fingerprint against the issues
/// factory made. Input that intake will refuse anyway is `New` here (intake reports it).
pub fn before_intake(
    state: &StateDir,
    limit: u32,
    req: &crate::intake::IntakeRequest,
    repo: &std::path::Path,
    writes: super::deferred::Writes,
) -> Result<IncidentMatch, ForgeError> {
    let Ok(record) =
        crate::intake::build_record(req, repo, "incident-match", jiff::Timestamp::now())
    else {
        return Ok(IncidentMatch::New);
    };
    let Some(incident) = record.incident else {
        return Ok(IncidentMatch::New);
    };
    let forge = super::select::open(
        state,
        &state.repo(),
        writes,
        crate::workflow::PhaseName::Intake.as_str(),
    )?;
    on_incident(state, forge.as_ref(), limit, &incident.fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::Comment;

    fn comment(id: u64, author: Option<&str>, count: u32) -> Comment {
        let r = markers::Recurrence {
            count,
            first_seen: "2026-11-30T00:00:00Z".into(),
            last_seen: "2026-11-30T01:00:00Z".into(),
            merge_commit: None,
            failing_check: "test: npm test".into(),
        };
        Comment {
            id,
            body: format!("Regression.\n{}", markers::recurrence(&r)),
            created_at: now(),
            author: author.map(str::to_string),
        }
    }

    #[test]
    fn a_recurrence_marker_from_anyone_but_factory_is_not_read() {
        let at = now();
        let mut issue = Issue {
            number: 7,
            title: "t".into(),
            body: String::new(),
            state: State::Open,
            labels: Vec::new(),
            comments: vec![
                comment(1, Some("github-actions[bot]"), 2),
                // Posted later by someone else, to reset the count.
                comment(2, Some("eve"), 0),
                comment(3, None, 0),
            ],
            created_at: at,
            updated_at: at,
            closed_at: None,
            id: None,
            sub_issues: Vec::new(),
            author: Some("github-actions[bot]".into()),
        };
        assert_eq!(previous(&issue).unwrap().count, 2);
        // The local forge's records are factory's own: no authors, all read.
        issue.author = None;
        assert_eq!(previous(&issue).unwrap().count, 0);
    }
}
