//! `factory merge --pr N`: phase 7 for one pull request: squash-merge it when its latest review
//! approves and its branch is up to date, then close its issue.

use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::commands::intake::open;
use crate::forge::open_forge;
use crate::phases::merge::pull_request as merge;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The pull request to merge.
    #[arg(long)]
    pub pr: u64,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: MergeArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = open(args.state_dir)?;
    if let Some(s) = state.load_session()? {
        crate::state::log::set_session(&s.id);
    }
    let forge = open_forge(&state, &state.repo())?;
    let policy = merge::MergePolicy::from_workflow(&workflow, state.repo());
    match merge::merge_pull_request(&state, forge.as_ref(), args.pr, &policy)? {
        Ok(m) => {
            println!(
                "pull request #{} squash-merged into {} as {}",
                m.pr,
                m.base,
                crate::util::text::short_commit(&m.commit)
            );
            match m.branch_note {
                Some(note) => println!("branch {} kept: {note}", m.head),
                None => println!("branch {} deleted", m.head),
            }
            if let Some(i) = m.issue {
                println!("issue #{i} closed");
            }
            Ok(Outcome::Clean)
        }
        Err(refusal) => {
            eprintln!("merge refused: {refusal}");
            Ok(Outcome::Findings)
        }
    }
}
