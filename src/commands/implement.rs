//! `factory implement --issue N`: phase 5 for one issue, outside the engine, with the same
//! retries (`limits.max_implementation_retries`).

use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::artifacts::implementation::Record;
use crate::commands::intake::open;
use crate::phases::implementation::{self, ImplementError, Options};
use crate::pipeline::PhaseOutcome;
use crate::workflow::{AdapterKind, PhaseName};

#[derive(Debug, Args)]
pub struct ImplementArgs {
    /// The issue to implement (a task issue of the current session).
    #[arg(long)]
    pub issue: u64,
    /// The agent CLI: claude, codex or command [default: agents.implementer.adapter].
    #[arg(long, value_parser = |s: &str| s.parse::<AdapterKind>())]
    pub agent: Option<AdapterKind>,
    /// The model [default: agents.implementer.model].
    #[arg(long)]
    pub model: Option<String>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: ImplementArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = open(args.state_dir)?;
    let session = state
        .load_session()?
        .ok_or_else(|| ImplementError::NoSession(state.root().display().to_string()))?;
    crate::state::log::set_session(&session.id);
    let repo = state.repo();
    // Deferred writes (a matrix job) are named for the phase they belong to.
    let forge = crate::forge::select::open(
        &state,
        &repo,
        crate::forge::deferred::Writes::from_env()?,
        PhaseName::Implementation.as_str(),
    )?;
    let eff = workflow.effective(session.change_class, PhaseName::Implementation, &session.id);
    let attempts = 1 + eff.retries;
    let mut retry_context = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            state.update_session(|s| s.counters.implementation_retries += 1)?;
            tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action = "retry", tool = "factory", status = "retry", detail = format!("#{}: attempt {attempt} of {attempts}, with the previous errors as context", args.issue));
            eprintln!("attempt {attempt} of {attempts}: retrying with the previous errors");
        }
        let opts = Options {
            state: &state,
            workflow: &workflow,
            forge: forge.as_ref(),
            repo: repo.clone(),
            adapter: args.agent,
            model: args.model.clone(),
            timeout: eff.timeout,
            attempt,
            last_attempt: attempt == attempts,
            retry_context: retry_context.take(),
            rework: None,
        };
        let current = state.load_session()?.unwrap_or_else(|| session.clone());
        match implementation::implement_issue(&opts, &current, args.issue)? {
            PhaseOutcome::Done { detail } => {
                println!("implemented {detail}");
                if let Some(r) = Record::load(&state).issue(args.issue) {
                    for e in &r.evidence {
                        println!("evidence: .factory/artifacts/{e}");
                    }
                    if let Some(pr) = r.pull_request {
                        println!("next: review it, then `factory merge --pr {pr}`");
                    }
                }
                return Ok(Outcome::Clean);
            }
            PhaseOutcome::Failed { detail } => {
                eprintln!("attempt {attempt} failed: {detail}");
                retry_context = Some(format!(
                    "The previous attempt of phase implementation failed:\n{detail}"
                ));
            }
            PhaseOutcome::Unavailable { detail } | PhaseOutcome::SendBack { detail, .. } => {
                anyhow::bail!("{detail}; try again later");
            }
            PhaseOutcome::NeedsHuman { reason, detail } => {
                eprintln!("stopped for a person ({reason}): {detail}");
                return Ok(Outcome::Findings);
            }
        }
    }
    eprintln!(
        "issue #{} was not implemented after {attempts} attempt(s); the issue has a comment with the last error",
        args.issue
    );
    Ok(Outcome::Findings)
}
