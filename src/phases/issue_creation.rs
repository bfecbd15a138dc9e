//! Phase 3, issue creation: one issue per task of the strategic plan under a parent issue, on
//! the session's forge ([`crate::forge::issues`]).

use crate::forge::{ForgeError, issues};
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome};
use crate::state::EscalationReason;

/// Phase 3: one issue per task of the strategic plan.
pub struct IssueCreation;

impl Phase for IssueCreation {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let forge = ctx.forge()?;
        Ok(match issues::create_issues(ctx.state, forge, ctx.session) {
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
            Err(e @ issues::IssuesError::Forge(ForgeError::Refused { .. })) => {
                PhaseOutcome::NeedsHuman {
                    reason: EscalationReason::PhaseFailed,
                    detail: e.to_string(),
                }
            }
            Err(e) => PhaseOutcome::Failed {
                detail: e.to_string(),
            },
        })
    }
}
