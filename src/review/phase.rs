//! The built-in `code_review` phase: every open, unmerged pull request of the session is
//! reviewed and the review posted. All approve: done. Any requests changes: the change goes back
//! to implementation with the findings as a list to act on, unless this was the last cycle the
//! limit allows, in which case the pull request says so and a person decides. A review that
//! could not cover the whole diff stops for a person with its coverage.

use super::pipeline::ReviewError;
use super::pr::{PrOptions, review_pull_request, rework_list};
use crate::forge::phases::repo_for;
use crate::forge::{State, open_forge};
use crate::runner::{Phase, PhaseContext, PhaseOutcome};
use crate::state::EscalationReason;
use crate::workflow::PhaseName;

/// Findings listed per pull request in the rework detail.
const REWORK_LINES: usize = 20;

pub struct CodeReview;

impl Phase for CodeReview {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let forge = open_forge(ctx.state, &repo_for(ctx.state))?;
        let mut approved = Vec::new();
        let mut rework = Vec::new();
        let mut limit = false;
        let mut reviewed = 0;
        let mut incomplete = Vec::new();
        for p in ctx.session.pull_requests.iter().filter(|p| !p.merged) {
            match forge.get_pull_request(p.number) {
                Ok(pr) if pr.state != State::Open => continue,
                Ok(_) => {}
                Err(e) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: e.to_string(),
                    });
                }
            }
            let r = match review_pull_request(
                ctx.state,
                ctx.workflow,
                Some(ctx.session),
                forge.as_ref(),
                p.number,
                &PrOptions::default(),
            ) {
                Ok(r) => r,
                Err(ReviewError::Agent(e)) => return crate::agents::strategic::outcome(e),
                Err(ReviewError::Other(e)) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: format!("{e:#}"),
                    });
                }
            };
            reviewed += 1;
            if let Some(why) = super::pipeline::coverage_failure(&r.reviewed) {
                incomplete.push(why);
            }
            if r.reviewed.approved() {
                approved.push(format!("#{}", p.number));
            } else {
                limit |= r.limit_reached;
                rework.push(rework_list(p.number, &r.reviewed.review, REWORK_LINES));
            }
        }
        if reviewed == 0 {
            return Ok(PhaseOutcome::Failed {
                detail: "the session has no open pull request to review: open one with `factory pr open --issue N`".into(),
            });
        }
        if !incomplete.is_empty() {
            // The reviewer did not see the whole diff: never an approval, and sending it back
            // to implementation would not make the diff smaller. A person decides.
            return Ok(PhaseOutcome::NeedsHuman {
                reason: EscalationReason::PhaseFailed,
                detail: incomplete.join("\n"),
            });
        }
        if rework.is_empty() {
            return Ok(PhaseOutcome::Done {
                detail: format!("approved {}", approved.join(", ")),
            });
        }
        let cycle = ctx.session.counters.review_cycles + 1;
        let detail = format!(
            "review cycle {cycle} requests changes.\n{}",
            rework.join("\n")
        );
        if limit || cycle >= ctx.workflow.limits.max_review_cycles {
            return Ok(PhaseOutcome::NeedsHuman {
                reason: EscalationReason::ReviewCycleLimit,
                detail: format!(
                    "{detail}\nThis was the last review cycle limits.max_review_cycles ({}) allows; the pull request says so.",
                    ctx.workflow.limits.max_review_cycles
                ),
            });
        }
        Ok(PhaseOutcome::SendBack {
            to: PhaseName::Implementation,
            detail,
        })
    }
}
