//! Phase 6, code review: every open, unmerged pull request of the current wave is reviewed and
//! the review posted, except one whose diff is what its latest review saw, which keeps that
//! verdict. All approve: done. Any requests changes: those issues go back to implementation
//! with the findings as a list to act on, unless this was the last cycle the limit allows, in
//! which case the pull request says so and a person decides. A review that could not cover the
//! whole diff stops for a person with its coverage.

use crate::forge::State;
use crate::phases::merge::pull_request::{Refusal, check_review, latest_review};
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome, SendBackReason};
use crate::review::pipeline::{self, ReviewError};
use crate::review::pr::{PrOptions, diff_fingerprint, review_pull_request, rework_list};
use crate::state::EscalationReason;
use crate::workflow::PhaseName;

/// Findings listed per pull request in the rework detail.
const REWORK_LINES: usize = 20;

pub struct CodeReview;

impl Phase for CodeReview {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let forge = ctx.forge()?;
        let mut approved = Vec::new();
        let mut kept = Vec::new();
        let mut rework = Vec::new();
        // Critical findings the reviewer sees no clear fix for.
        let mut stuck: Vec<String> = Vec::new();
        let mut sent_back = Vec::new();
        let mut limit = false;
        let mut reviewed = 0;
        let mut incomplete = Vec::new();
        let session = ctx.session;
        for p in session
            .pull_requests
            .iter()
            .filter(|p| !p.merged && session.in_current_wave(p.issue))
        {
            match forge.get_pull_request(p.number) {
                Ok(pr) if pr.state != State::Open => continue,
                Ok(_) => {}
                Err(e) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: e.to_string(),
                    });
                }
            }
            // A pull request whose diff is what its latest review saw keeps that verdict:
            // rework of another task does not cost this one a review.
            let mut known_diff = None;
            if let Some(seen) = &p.reviewed_diff {
                let diff = match forge.pull_request_diff(p.number) {
                    Ok(d) => d,
                    Err(e) => {
                        return Ok(PhaseOutcome::Failed {
                            detail: e.to_string(),
                        });
                    }
                };
                let unchanged = diff_fingerprint(&diff) == *seen;
                known_diff = Some(diff);
                if unchanged {
                    match check_review(ctx.state, p.number) {
                        Ok(()) => {
                            reviewed += 1;
                            kept.push(format!("#{}", p.number));
                            approved.push(format!("#{}", p.number));
                            continue;
                        }
                        Err(Refusal::NotApproved { .. }) => {
                            // Reviewed, then stopped before the send-back (a crash): the
                            // same findings go back without asking the reviewer again.
                            if let Some((_, path)) = latest_review(ctx.state, p.number)
                                && let Ok(review) = crate::state::read_capped(&path)
                                    .map_err(anyhow::Error::from)
                                    .and_then(|b| Ok(serde_json::from_slice(&b)?))
                            {
                                reviewed += 1;
                                limit |= p.review_cycle >= ctx.workflow.limits.max_review_cycles;
                                rework.push(rework_list(p.number, &review, REWORK_LINES));
                                sent_back.extend(p.issue);
                                continue;
                            }
                        }
                        Err(_) => {}
                    }
                }
            }
            let r = match review_pull_request(
                ctx.state,
                ctx.workflow,
                Some(session),
                forge,
                p.number,
                &PrOptions {
                    diff: known_diff,
                    ..PrOptions::default()
                },
            ) {
                Ok(r) => r,
                Err(ReviewError::Agent(e)) => return crate::phases::agent_outcome(e),
                Err(ReviewError::Other(e)) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: format!("{e:#}"),
                    });
                }
            };
            reviewed += 1;
            if let Some(why) = pipeline::coverage_failure(&r.reviewed) {
                incomplete.push(why);
            }
            if r.reviewed.approved() {
                approved.push(format!("#{}", p.number));
            } else {
                stuck.extend(without_clear_fix(p.number, &r.reviewed.review));
                limit |= r.limit_reached;
                rework.push(rework_list(p.number, &r.reviewed.review, REWORK_LINES));
                sent_back.extend(p.issue);
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
        if !stuck.is_empty() {
            // Another implementation round cannot fix what the reviewer sees no fix for.
            return Ok(PhaseOutcome::NeedsHuman {
                reason: EscalationReason::CriticalFinding,
                detail: format!(
                    "a critical finding has no clear fix; a person decides how to go on (change the plan, accept the risk, or close the pull request):\n{}",
                    stuck.join("\n")
                ),
            });
        }
        let kept_note = if kept.is_empty() {
            String::new()
        } else {
            format!(
                " ({} kept: the diff is what the approving review saw)",
                kept.join(", ")
            )
        };
        if rework.is_empty() {
            return Ok(PhaseOutcome::Done {
                detail: format!("approved {}{kept_note}", approved.join(", ")),
            });
        }
        // The cycle of the latest review among the pull requests sent back, as recorded now.
        let now = ctx.state.load_session()?.unwrap_or_else(|| session.clone());
        let cycle = now
            .pull_requests
            .iter()
            .filter(|p| p.issue.is_some_and(|i| sent_back.contains(&i)))
            .map(|p| p.review_cycle)
            .max()
            .unwrap_or(1)
            .max(1);
        let detail = format!(
            "review cycle {cycle} requests changes.\n{}",
            rework.join("\n")
        );
        if limit {
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
            issues: sent_back,
            why: SendBackReason::ChangesRequested,
        })
    }
}

/// The critical findings of `review` (of pull request `pr`) the reviewer marked as having no
/// clear fix, one line each.
fn without_clear_fix(pr: u64, review: &serde_json::Value) -> Vec<String> {
    use crate::artifacts::review::{Review, Severity};
    // The review passed its contract before it was written, so it reads as the typed review.
    let Ok(review) = Review::from_value(review) else {
        return Vec::new();
    };
    review
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical && f.no_clear_fix)
        .map(|f| {
            format!(
                "- PR #{pr}: [critical] {} {}",
                f.location(),
                crate::util::text::first_line(&f.description, 200)
            )
        })
        .collect()
}
