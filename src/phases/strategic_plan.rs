//! Phase 2, strategic plan: the planner agent turns the request into the plan (tasks in waves,
//! scopes, validation commands, threat model, ADR on risky routes); the runner then gates it
//! against the strategic-plan contract. The agent side is [`crate::agents::strategic`].

use serde_json::Value;

use crate::agents::strategic::{PlanError, PlanInput, plan, write};
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome};
use crate::workflow::ChangeClass;

/// The built-in `strategic_plan` phase for `factory run`.
pub struct StrategicPlanPhase;

impl Phase for StrategicPlanPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let input = PlanInput {
            state: ctx.state,
            workflow: ctx.workflow,
            request: &ctx.session.request,
            class: ctx.session.change_class,
            adr: ctx.phase.step.as_ref().is_some_and(|s| s.adr)
                || ctx.session.change_class == ChangeClass::RiskyInfra,
            retry_context: ctx.retry_context.as_deref(),
            adapter: None,
            model: None,
            timeout: ctx.phase.timeout,
        };
        let plan = match plan(&input) {
            Ok(p) => p,
            Err(PlanError::Template(e)) => return Err(e.into()),
            Err(PlanError::Agent(e)) => return super::agent_outcome(e),
        };
        let path = ctx
            .artifact
            .clone()
            .unwrap_or_else(|| ctx.state.root().join("artifacts/strategic-plan.json"));
        write(&path, &plan)?;
        let tasks = plan
            .get("tasks")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        Ok(PhaseOutcome::Done {
            detail: format!("strategic plan with {tasks} task(s)"),
        })
    }
}
