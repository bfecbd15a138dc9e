//! Phase 4, tactical plan: the planner agent plans each task issue of the current wave inside
//! its task's scope ([`crate::phases::tactical_plan::plan_issue`]); a valid plan from an earlier run is kept.

pub mod plan_issue;

use crate::agents::strategic::PlanError;
use crate::agents::tactical::{self, TacticalError};
use crate::phases::tactical_plan::plan_issue::{PlanIssue, PlanIssueError, plan_issue};
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome};

/// The built-in `tactical_plan` phase for `factory run`.
pub struct TacticalPlanPhase;

impl Phase for TacticalPlanPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let strategic = match tactical::load_strategic(ctx.state) {
            Ok(s) => s,
            Err(e) => {
                return Ok(PhaseOutcome::Failed {
                    detail: e.to_string(),
                });
            }
        };
        let forge = ctx.forge()?;
        let (mut planned, mut kept, mut closed) = (Vec::new(), 0usize, Vec::new());
        // The current wave's issues only: a later wave is planned once the wave before it has
        // merged, against the code as it is then.
        for r in ctx
            .session
            .issues
            .iter()
            .filter(|r| ctx.session.in_current_wave(Some(r.number)))
        {
            let Some(task_id) = &r.task_id else { continue };
            if tactical::has_valid_plan(ctx.state, &strategic, r.number, task_id) {
                kept += 1;
                continue;
            }
            let p = PlanIssue {
                state: ctx.state,
                workflow: ctx.workflow,
                session: ctx.session,
                strategic: &strategic,
                forge,
                issue: r.number,
                retry_context: ctx.retry_context.as_deref(),
                adapter: None,
                model: None,
                timeout: ctx.phase.timeout,
                out: ctx
                    .artifact
                    .as_ref()
                    .map(|d| d.join(format!("{}.json", r.number))),
            };
            match plan_issue(&p) {
                Ok(_) => planned.push(format!("#{}", r.number)),
                Err(PlanIssueError::Refused(TacticalError::Closed(n))) => {
                    closed.push(format!("#{n}"))
                }
                Err(PlanIssueError::Plan(PlanError::Agent(e))) => {
                    return crate::phases::agent_outcome(e);
                }
                Err(PlanIssueError::Refused(e)) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: e.to_string(),
                    });
                }
                Err(PlanIssueError::Forge(e)) => {
                    return Ok(PhaseOutcome::Failed {
                        detail: e.to_string(),
                    });
                }
                Err(PlanIssueError::Plan(PlanError::Template(e))) => return Err(e.into()),
                Err(PlanIssueError::Write(e)) => return Err(e),
            }
        }
        if planned.is_empty() && kept == 0 {
            return Ok(PhaseOutcome::Failed {
                detail: "the session has no open task issue to plan: run the issue_creation phase (`factory issues create`) first".into(),
            });
        }
        let mut detail = format!(
            "{} tactical plan(s) written{}; {kept} already valid",
            planned.len(),
            if planned.is_empty() {
                String::new()
            } else {
                format!(" ({})", planned.join(", "))
            }
        );
        if !closed.is_empty() {
            detail.push_str(&format!("; closed issue(s) skipped: {}", closed.join(", ")));
        }
        Ok(PhaseOutcome::Done { detail })
    }
}
