//! The built-in `issue_creation` and `merge` phases: the forge operations run by the engine.

use std::path::{Path, PathBuf};

use super::{issues, merge, open_forge, verify};
use crate::runner::{Phase, PhaseContext, PhaseOutcome};
use crate::state::{EscalationReason, StateDir};

/// The repository a state directory belongs to: the parent of `.factory` when that is a git
/// repository, else the current directory.
pub fn repo_for(state: &StateDir) -> PathBuf {
    if let Some(parent) = state.root().parent()
        && parent.join(".git").exists()
    {
        return parent.to_path_buf();
    }
    std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf())
}

/// Phase 3: one issue per task of the strategic plan.
pub struct IssueCreation;

impl Phase for IssueCreation {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let forge = open_forge(ctx.state, &repo_for(ctx.state))?;
        Ok(
            match issues::create_issues(ctx.state, forge.as_ref(), ctx.session) {
                Ok(r) => PhaseOutcome::Done {
                    detail: match r.parent {
                        Some(parent) => format!(
                            "{} task issue(s) under parent #{parent} in the {} forge",
                            r.issues.len(),
                            forge.name()
                        ),
                        None => format!("inline issue in the {} forge", forge.name()),
                    },
                },
                // A safe-outputs refusal stays a refusal on a retry: a person changes the policy.
                Err(e @ issues::IssuesError::Forge(super::ForgeError::Refused { .. })) => {
                    PhaseOutcome::NeedsHuman {
                        reason: EscalationReason::PhaseFailed,
                        detail: e.to_string(),
                    }
                }
                Err(e) => PhaseOutcome::Failed {
                    detail: e.to_string(),
                },
            },
        )
    }
}

/// Phase 7: merge every approved, up-to-date pull request of the session; verify after the
/// merge when the route asks for it.
pub struct Merge;

impl Phase for Merge {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let repo = repo_for(ctx.state);
        let forge = open_forge(ctx.state, &repo)?;
        let pending: Vec<u64> = ctx
            .session
            .pull_requests
            .iter()
            .filter(|p| !p.merged)
            .map(|p| p.number)
            .collect();
        if pending.is_empty() && !ctx.session.pull_requests.iter().any(|p| p.merged) {
            return Ok(PhaseOutcome::Failed {
                detail: "the session has no pull request to merge: open one with `factory pr open --issue N`".into(),
            });
        }
        let mut refusals = Vec::new();
        let mut merged = Vec::new();
        for pr in pending {
            match merge::merge_pull_request(ctx.state, forge.as_ref(), pr)? {
                Ok(m) => merged.push(m),
                Err(r) => refusals.push(r),
            }
        }
        if !refusals.is_empty() {
            let detail = refusals
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            // Checks still running is a wait, not a failure: the engine tries again on the
            // backoff schedule.
            if refusals
                .iter()
                .all(|r| matches!(r, merge::Refusal::ChecksPending { .. }))
            {
                return Ok(PhaseOutcome::Unavailable { detail });
            }
            return Ok(PhaseOutcome::Failed { detail });
        }
        let verify_step = ctx.phase.step.as_ref().is_some_and(|s| s.verify);
        if verify_step {
            let health = ctx
                .workflow
                .phases
                .get(&crate::workflow::PhaseName::Merge)
                .and_then(|p| p.health_check.clone());
            let checks = verify::planned_checks(ctx.state, &[], health.as_deref());
            if !checks.is_empty() {
                for m in &merged {
                    let v = verify::verify_pull_request(
                        ctx.state,
                        forge.as_ref(),
                        &repo,
                        m.pr,
                        &checks,
                        ctx.workflow.limits.recurrence_limit,
                        ctx.phase.timeout,
                    )?;
                    match v.recurrence {
                        Some(super::recurrence::Recorded::Escalated { issue, count }) => {
                            return Ok(PhaseOutcome::NeedsHuman {
                                reason: EscalationReason::RecurrenceLimit,
                                detail: format!(
                                    "post-merge verification of #{} failed; issue #{issue} recurred {count} times",
                                    m.pr
                                ),
                            });
                        }
                        Some(r) => {
                            return Ok(PhaseOutcome::Failed {
                                detail: format!(
                                    "post-merge verification of #{} failed; issue #{} reopened (recurrence {})",
                                    m.pr,
                                    v.issue,
                                    r.count()
                                ),
                            });
                        }
                        None => {}
                    }
                }
            }
        }
        let list: Vec<String> = merged.iter().map(|m| format!("#{}", m.pr)).collect();
        Ok(PhaseOutcome::Done {
            detail: if list.is_empty() {
                "every pull request of the session was already merged".into()
            } else {
                format!("merged {}", list.join(", "))
            },
        })
    }
}
