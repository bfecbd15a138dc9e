//! `factory complete`: phase 8 by hand (the `completion` phase runs the same code).

use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::scorecard::{CompleteOptions, ForgeHook, complete};
use crate::state::{PhaseStatus, StateDir};
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Retire lessons not seen during this many completed sessions (0: never).
    #[arg(long, value_name = "N", default_value_t = crate::lessons::DEFAULT_RETIRE_AFTER)]
    pub retire_after: usize,
    /// Do not append the report to $GITHUB_STEP_SUMMARY.
    #[arg(long)]
    pub no_step_summary: bool,
    /// Print the scorecard as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CompleteArgs) -> anyhow::Result<Outcome> {
    let state = args
        .state_dir
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    let _log = if state.session_path().exists() {
        crate::state::log::init(&state).ok()
    } else {
        None
    };
    let opts = CompleteOptions {
        output: None,
        retire_after: args.retire_after,
        step_summary: !args.no_step_summary,
        writes: crate::forge::deferred::Writes::from_env()?,
    };
    let c = complete(&state, &opts)?;
    // Run by hand, the command is the completion phase: record it as done.
    let sid = c.scorecard["session_id"].as_str().unwrap_or("").to_string();
    let marked = state.update_session(|s| {
        let due = s.route.contains(&PhaseName::Completion)
            && s.phase(PhaseName::Completion)
                .is_none_or(|p| !p.status.is_done() && p.status != PhaseStatus::Running);
        if due {
            s.start_phase(PhaseName::Completion);
            s.finish_phase(
                PhaseName::Completion,
                PhaseStatus::Completed,
                Some(format!("scorecards/{sid}.json")),
            );
        }
        due
    })?;
    if marked {
        crate::report::write(&state)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c.scorecard)?);
        return Ok(Outcome::Clean);
    }
    println!(
        "score {} ({}) for session {}",
        c.scorecard["score"],
        c.scorecard["band"].as_str().unwrap_or(""),
        c.scorecard["session_id"].as_str().unwrap_or("")
    );
    println!("scorecard: {}", c.path.display());
    println!(
        "lessons: {} new{}, {} seen again{}, {} retired{}",
        c.added.len(),
        list(&c.added),
        c.seen.len(),
        list(&c.seen),
        c.retired.len(),
        list(&c.retired)
    );
    match &c.forge {
        ForgeHook::NoParent => {}
        ForgeHook::Closed(n) => println!("parent issue #{n}: closed with the scorecard"),
        ForgeHook::Failed { issue, error } => {
            println!("parent issue #{issue}: not closed ({error}); close it by hand")
        }
    }
    println!("report: {}", state.report_path().display());
    Ok(Outcome::Clean)
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" ({})", ids.join(", "))
    }
}
