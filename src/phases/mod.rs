//! The pipeline's phases, one module each, named as the methodology names them, in route order:
//! [`intake`] (1, how a session starts), [`strategic_plan`] (2), [`issue_creation`] (3),
//! [`tactical_plan`] (4), [`implementation`] (5), [`code_review`] (6), [`merge`] (7) and
//! [`completion`] (8); [`command`] runs a phase given a program in workflow.yaml instead.
//!
//! Each implements [`crate::pipeline::Phase`]: the runner ([`crate::pipeline`]) decides which phase
//! is due, gates its artifact and retries; the phase does its one job through the agents, the
//! forge and the state below it. Phases 4 to 7 run once per wave of the plan.

pub mod code_review;
pub mod command;
pub mod completion;
pub mod implementation;
pub mod intake;
pub mod issue_creation;
pub mod merge;
pub mod strategic_plan;
pub mod tactical_plan;

use crate::agents::AgentError;
use crate::pipeline::{PhaseOutcome, Registry};
use crate::state::EscalationReason;
use crate::workflow::PhaseName;

/// Every phase this build implements itself, by name. Intake is not among them: it starts the
/// session ([`intake::start_session`]) before the runner has one to run.
pub fn builtin() -> Registry {
    let mut r = Registry::default();
    r.register(
        PhaseName::StrategicPlan,
        Box::new(strategic_plan::StrategicPlanPhase),
    );
    r.register(
        PhaseName::IssueCreation,
        Box::new(issue_creation::IssueCreation),
    );
    r.register(
        PhaseName::TacticalPlan,
        Box::new(tactical_plan::TacticalPlanPhase),
    );
    r.register(
        PhaseName::Implementation,
        Box::new(implementation::ImplementationPhase),
    );
    r.register(PhaseName::CodeReview, Box::new(code_review::CodeReview));
    r.register(PhaseName::Merge, Box::new(merge::Merge));
    r.register(PhaseName::Completion, Box::new(completion::CompletionPhase));
    r.register_command(|argv| Box::new(command::CommandPhase { argv }));
    r
}

/// How an agent failure ends a phase attempt.
pub fn agent_outcome(e: AgentError) -> anyhow::Result<PhaseOutcome> {
    let detail = e.to_string();
    Ok(match e {
        AgentError::Cancelled { .. } => anyhow::bail!(detail),
        AgentError::NotInstalled { .. } | AgentError::NotAuthenticated { .. } => {
            PhaseOutcome::NeedsHuman {
                reason: EscalationReason::ToolUnavailable,
                detail,
            }
        }
        AgentError::Unavailable { .. } | AgentError::RateLimited { .. } => {
            PhaseOutcome::Unavailable { detail }
        }
        AgentError::BudgetExceeded { .. } => PhaseOutcome::NeedsHuman {
            reason: EscalationReason::BudgetExceeded,
            detail,
        },
        _ => PhaseOutcome::Failed { detail },
    })
}
