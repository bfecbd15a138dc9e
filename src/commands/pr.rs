//! `factory pr open`: open (or update) the pull request for an issue.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;
use crate::commands::intake::open;
use crate::forge::{open_forge, pr};

#[derive(Debug, Subcommand)]
pub enum PrCommand {
    /// Open the pull request for an issue: branch by the naming rule, 12-section body with
    /// `Closes #N`, evidence attached. Running it again updates the same pull request.
    Open(PrOpenArgs),
}

#[derive(Debug, Args)]
pub struct PrOpenArgs {
    /// The issue the pull request closes.
    #[arg(long)]
    pub issue: u64,
    /// The branch with the change [default: the one recorded for the issue by `factory issues
    /// create`]. It must be named `{fix|feat|refactor|infra}/#<issue>-<slug>`; it is created
    /// from the base when missing.
    #[arg(long)]
    pub branch: Option<String>,
    /// The branch to merge into [default: the repository's default branch].
    #[arg(long)]
    pub base: Option<String>,
    /// A file of validation evidence (build or test output) to attach; repeatable. The end of
    /// each file is included, sanitised, with secret-looking values masked.
    #[arg(long, value_name = "FILE")]
    pub evidence: Vec<PathBuf>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(cmd: PrCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PrCommand::Open(args) => open_pr(args),
    }
}

fn open_pr(args: PrOpenArgs) -> anyhow::Result<Outcome> {
    let (state, _workflow) = open(args.state_dir)?;
    let session = state.load_session()?;
    if let Some(s) = &session {
        crate::state::log::set_session(&s.id);
    }
    let repo = state.repo();
    let forge = open_forge(&state, &repo)?;
    let req = pr::OpenRequest {
        repo,
        issue: args.issue,
        branch: args.branch,
        base: args.base,
        evidence: args.evidence,
    };
    let opened = pr::open_pull_request(&state, forge.as_ref(), session.as_ref(), &req)?;
    let p = &opened.pull_request;
    println!(
        "pull request #{} {} for issue #{}: {} → {}{}",
        p.number,
        if opened.created { "opened" } else { "updated" },
        args.issue,
        p.head,
        p.base,
        if opened.branch_created {
            " (branch created)"
        } else {
            ""
        }
    );
    println!("next: review it, then `factory merge --pr {}`", p.number);
    Ok(Outcome::Clean)
}
