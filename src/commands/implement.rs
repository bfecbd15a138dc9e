//! `factory implement --issue N`: phase 5 for one issue, outside the engine, with the same
//! retries (`limits.max_implementation_retries`).
//! `factory implement --validate-pending`: the validations an implementation left with
//! `FACTORY_VALIDATION=deferred`, run in a job that holds no secret; a failure sends the issue
//! back to implementation.

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
    #[arg(long, required_unless_present = "validate_pending")]
    pub issue: Option<u64>,
    /// Run the validations implementation left for a job of its own
    /// (`FACTORY_VALIDATION=deferred`): each issue's validation commands on the commit it
    /// made. A failure sends the issue back to implementation with the failure as context.
    #[arg(long, conflicts_with_all = ["issue", "agent", "model"])]
    pub validate_pending: bool,
    /// With --validate-pending: make no forge write and need no forge token; the comment on an
    /// issue whose attempts are used up is left in .factory/outbox/ for `factory apply` (also
    /// FACTORY_WRITES=deferred).
    #[arg(long, requires = "validate_pending")]
    pub defer_writes: bool,
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
    let Some(issue) = args.issue else {
        return run_validate_pending(args);
    };
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
    let validation = implementation::deferred::placement()?;
    let mut retry_context = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            state.update_session(|s| s.counters.implementation_retries += 1)?;
            tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action = "retry", tool = "factory", status = "retry", detail = format!("#{}: attempt {attempt} of {attempts}, with the previous errors as context", issue));
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
            validation,
        };
        let current = state.load_session()?.unwrap_or_else(|| session.clone());
        match implementation::implement_issue(&opts, &current, issue)? {
            PhaseOutcome::Done { detail } => {
                println!("implemented {detail}");
                if let Some(r) = Record::load(&state).issue(issue) {
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
        issue
    );
    Ok(Outcome::Findings)
}

/// `factory implement --validate-pending`.
fn run_validate_pending(args: ImplementArgs) -> anyhow::Result<Outcome> {
    use crate::forge::deferred::Writes;
    use implementation::deferred::{self, Judgement};
    let writes = Writes::chosen(args.defer_writes)?;
    let (state, workflow) = open(args.state_dir)?;
    let Some(session) = state.load_session()? else {
        anyhow::bail!(
            "no session in {}: `{}` runs the validations a session's implementation left; restore the state the implementation job saved",
            state.root().display(),
            deferred::COMMAND
        );
    };
    crate::state::log::set_session(&session.id);
    if deferred::pending(&state).is_empty() {
        println!("no validation is pending");
        return Ok(Outcome::Clean);
    }
    let repo = state.repo();
    let forge =
        crate::forge::select::open(&state, &repo, writes, PhaseName::Implementation.as_str())?;
    let judged = deferred::validate_pending(&state, &workflow, forge.as_ref(), &session)?;
    let mut outcome = Outcome::Clean;
    for j in &judged {
        let v = &j.validation;
        println!(
            "#{} at {}:",
            v.issue,
            crate::util::text::short_commit(&v.head)
        );
        for c in &v.checks {
            println!(
                "  {} {:<12} {}{}",
                if c.ok { "✓" } else { "✗" },
                c.name,
                c.command,
                if c.timed_out { " (timed out)" } else { "" }
            );
        }
        for e in &v.evidence {
            println!("  evidence: .factory/artifacts/{e}");
        }
        match &j.outcome {
            Judgement::Passed => println!(
                "validation of #{} passed: its pull request waits for `factory apply --pending`",
                v.issue
            ),
            Judgement::SentBack { count, limit } => println!(
                "validation of #{} failed (attempt {count} of {limit}): the issue goes back to implementation with the failure as context; next: factory run --resume --phase implementation",
                v.issue
            ),
            Judgement::GaveUp { count } => {
                eprintln!(
                    "validation of #{} failed on each of {count} attempt(s): implementation gave up; the issue {} a comment with the last failure, and the session needs a person",
                    v.issue,
                    if writes.deferred() {
                        "gets (through `factory apply --pending`)"
                    } else {
                        "has"
                    }
                );
                outcome = Outcome::Findings;
            }
        }
    }
    crate::report::write(&state)?;
    Ok(outcome)
}
