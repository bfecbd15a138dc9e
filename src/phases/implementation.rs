//! Phase 5, implementation: the implementer agent changes each task issue of the current wave in
//! its own worktree; factory checks scope and secrets, validates, commits and opens the pull
//! request ([`crate::implement`]).

use crate::forge::{open_forge, phases::repo_for};
use crate::implement::{Options, implement_session};
use crate::runner::{Phase, PhaseContext, PhaseOutcome};

/// The built-in `implementation` phase.
pub struct ImplementationPhase;

impl Phase for ImplementationPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let repo = repo_for(ctx.state);
        let forge = open_forge(ctx.state, &repo)?;
        let opts = Options {
            state: ctx.state,
            workflow: ctx.workflow,
            forge: forge.as_ref(),
            repo,
            adapter: None,
            model: None,
            timeout: ctx.phase.timeout,
            attempt: ctx.attempt,
            last_attempt: ctx.attempt > ctx.phase.retries,
            retry_context: ctx.retry_context.clone(),
            rework: ctx.rework.cloned(),
        };
        let inline = ctx.phase.step.as_ref().is_some_and(|s| s.inline_issue);
        implement_session(&opts, inline)
    }
}
