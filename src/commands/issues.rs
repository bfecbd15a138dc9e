//! `factory issues create`: phase 3 on its own: one issue per task of the strategic plan.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;
use crate::commands::intake::open;
use crate::forge::{issues, open_forge};

#[derive(Debug, Subcommand)]
pub enum IssuesCommand {
    /// Create (or update) the parent issue and one issue per task of the strategic plan.
    Create(IssuesCreateArgs),
}

#[derive(Debug, Args)]
pub struct IssuesCreateArgs {
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print the result (issues.json) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Create only the one inline issue a route without issue creation implements (hotfix,
    /// refactor), as the implementation phase would: for a job that holds the forge token
    /// before an implementation job with deferred writes, which cannot create it.
    #[arg(long)]
    pub inline: bool,
}

pub fn run(cmd: IssuesCommand) -> anyhow::Result<Outcome> {
    match cmd {
        IssuesCommand::Create(args) => create(args),
    }
}

fn create(args: IssuesCreateArgs) -> anyhow::Result<Outcome> {
    let (state, _workflow) = open(args.state_dir)?;
    let session = state.load_session()?.ok_or_else(|| {
        anyhow::anyhow!(
            "no session in {}: start one with `factory intake` or `factory run`",
            state.root().display()
        )
    })?;
    crate::state::log::set_session(&session.id);
    let forge = open_forge(&state, &state.repo())?;
    let report = if args.inline {
        let has_task_issue = session.issues.iter().any(|i| i.task_id.is_some());
        if has_task_issue {
            println!("the session already has its task issues; no inline issue needed");
            return Ok(Outcome::Clean);
        }
        issues::create_inline_issue(&state, forge.as_ref(), &session)?
    } else {
        issues::create_issues(&state, forge.as_ref(), &session)?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(Outcome::Clean);
    }
    match report.parent {
        Some(parent) => println!(
            "parent #{parent} ({}) in the {} forge",
            format!("{:?}", report.parent_action).to_lowercase(),
            forge.name()
        ),
        None => println!(
            "inline issue (no strategic plan in this route) in the {} forge",
            forge.name()
        ),
    }
    for i in &report.issues {
        println!(
            "  #{:<4} {:<9} {}  {}  [{}]",
            i.number,
            format!("{:?}", i.action).to_lowercase(),
            i.task_id,
            i.branch,
            i.labels.join(", ")
        );
    }
    println!(
        "recorded in {}",
        state
            .artifacts_dir()
            .join(issues::ISSUES_ARTIFACT)
            .display()
    );
    Ok(Outcome::Clean)
}
