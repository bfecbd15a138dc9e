//! `factory run`: start a session from a request (or continue the current one) and drive the
//! phases its route selects, as workflow.yaml defines them.

use crate::forge::deferred::Writes;
use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::commands::intake::{RequestArgs, open, start};
use crate::pipeline::{self, RunOptions, RunResult};
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The request, e.g. "Add rate limiting to the login endpoint" (or use --request-file).
    pub text: Option<String>,
    #[command(flatten)]
    pub request: RequestArgs,
    /// Continue the current session instead of starting one.
    #[arg(long, conflicts_with_all = ["text", "request", "request_file", "payload", "class", "replace"])]
    pub resume: bool,
    /// Run only this phase (the next one due), as one CI job does.
    #[arg(long, value_parser = parse_phase)]
    pub phase: Option<PhaseName>,
    /// A human approves the next step that needs approval (production infrastructure).
    #[arg(long)]
    pub approve: bool,
    /// A human has dealt with the escalation: clear it and run the phase again.
    #[arg(long, requires = "resume")]
    pub acknowledge: bool,
    /// Make no forge write and need no forge token: leave the writes as apply artifacts in
    /// .factory/outbox/ for `factory apply` (also FACTORY_WRITES=deferred).
    #[arg(long)]
    pub defer_writes: bool,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

fn parse_phase(s: &str) -> Result<PhaseName, String> {
    s.parse()
}

pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let starting = args.text.is_some() || args.request.given();
    if !starting && !args.resume {
        anyhow::bail!(
            "give a request (`factory run \"Add rate limiting to login\"`, --request-file, --payload) or continue the current session with --resume"
        );
    }
    let writes = Writes::chosen(args.defer_writes)?;
    let (state, workflow) = open(args.state_dir)?;
    if starting {
        let req = args.request.to_request(args.text.as_deref())?;
        if let Err(outcome) = start(&state, &workflow, &args.request, req, true, writes)? {
            return Ok(outcome);
        }
    }
    // Approving is how a human deals with an approval stop, so it clears that escalation too.
    let approval_stop = args.approve
        && state
            .load_session()?
            .and_then(|s| s.escalation)
            .is_some_and(|e| e.reason == crate::state::EscalationReason::ProductionInfrastructure);
    if args.acknowledge || approval_stop {
        match pipeline::acknowledge(&state)? {
            Some((phase, reason)) => {
                println!("escalation cleared ({reason} at {phase}); running {phase} again")
            }
            None => println!("no escalation to clear"),
        }
    }
    let opts = RunOptions {
        only: args.phase,
        approve: args.approve,
        writes,
    };
    let result = pipeline::run(&state, &workflow, &crate::phases::builtin(), &opts)?;
    Ok(match result {
        RunResult::Completed => {
            println!(
                "pipeline complete; report: {}",
                state.report_path().display()
            );
            Outcome::Clean
        }
        RunResult::PhaseDone { phase, already } => {
            let session = state.load_session()?;
            let sent_back = session
                .as_ref()
                .and_then(|s| s.rework.as_ref())
                .filter(|r| r.from == phase);
            if let Some(r) = sent_back {
                println!(
                    "{phase} sent the work back to {} (review cycle {})",
                    r.phase, r.cycle
                );
            } else if already {
                println!("{phase} had already completed");
            } else {
                println!("{phase} completed");
            }
            let pending = crate::forge::deferred::outbox::pending(&state);
            if !pending.is_empty() {
                println!(
                    "{} forge write(s) left in .factory/outbox/ for `factory apply --pending`",
                    pending.len()
                );
            }
            let verifying = crate::forge::verify::pending(&state);
            if !verifying.is_empty() {
                let prs: Vec<String> = verifying.iter().map(|p| format!("#{}", p.pr)).collect();
                println!(
                    "post-merge verification of {} left for `factory verify --pending`, in a job that holds no token",
                    prs.join(", ")
                );
                println!(
                    "next: factory verify --pending --defer-writes, then factory apply --pending"
                );
            } else if let Some(next) = state.load_session()?.and_then(|s| s.next_phase()) {
                println!("next: factory run --resume --phase {next}");
            }
            Outcome::Clean
        }
        RunResult::NeedsHuman {
            phase,
            reason,
            detail,
        } => {
            eprintln!("needs a human: {reason} at {phase}: {detail}");
            let next = if reason == crate::state::EscalationReason::ProductionInfrastructure {
                "once the step is approved, run `factory run --resume --approve`"
            } else {
                "once the problem is dealt with, run `factory run --resume --acknowledge`"
            };
            eprintln!("the pipeline has stopped; {next}");
            Outcome::Findings
        }
    })
}
