//! Phase 8, completion: lessons, the scorecard and REPORT.md ([`crate::scorecard`]).

use crate::pipeline::{Phase, PhaseContext, PhaseOutcome};
use crate::scorecard::{CompleteOptions, complete};

/// The built-in `completion` phase: [`complete`] with the default options, writing the
/// scorecard where the workflow's artifact says.
pub struct CompletionPhase;

impl Phase for CompletionPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let opts = CompleteOptions {
            output: ctx.artifact.clone(),
            writes: ctx.writes,
            ..CompleteOptions::default()
        };
        match complete(ctx.state, &opts) {
            Ok(c) => Ok(PhaseOutcome::Done {
                detail: format!(
                    "score {} ({}), {} new lesson(s)",
                    c.scorecard["score"],
                    c.scorecard["band"].as_str().unwrap_or(""),
                    c.added.len()
                ),
            }),
            Err(e) => Ok(PhaseOutcome::Failed {
                detail: format!("{e:#}"),
            }),
        }
    }
}
