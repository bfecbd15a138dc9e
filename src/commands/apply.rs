//! `factory apply`: perform the forge writes a deferred phase left in `.factory/outbox/`, after
//! checking each against its contract and the safe-outputs policy (docs/security.md).

use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::commands::intake::open;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply artifacts (`.factory/outbox/<seq>-<phase>-<kind>-<number>.json`), in the order given.
    #[arg(required_unless_present = "pending", conflicts_with = "pending")]
    pub artifacts: Vec<PathBuf>,
    /// Apply every artifact of the outbox not applied or refused yet, in order.
    #[arg(long)]
    pub pending: bool,
    /// Take only artifacts of this kind (repeatable); one of another kind is refused, since
    /// the job that left it had no business writing it. The phase action's apply mode passes
    /// the kinds its phase writes.
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<crate::forge::deferred::outbox::Kind>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: ApplyArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = open(args.state_dir)?;
    if let Some(s) = state.load_session()? {
        crate::state::log::set_session(&s.id);
    }
    let applied = if args.pending {
        crate::apply::apply_pending(&state, &workflow, &args.kinds)?
    } else {
        let mut out = Vec::new();
        for path in &args.artifacts {
            out.push(crate::apply::apply_file(
                &state,
                &workflow,
                path,
                &args.kinds,
            )?);
        }
        out
    };
    if applied.is_empty() {
        println!("nothing to apply: .factory/outbox/ has no pending artifact");
    }
    for a in &applied {
        let name = crate::forge::deferred::outbox::file_name(&a.artifact);
        if a.already {
            println!("{name}: {}", a.detail);
        } else {
            println!("{name}: applied: {}", a.detail);
        }
    }
    if !applied.is_empty() && state.load_session()?.is_some() {
        crate::report::write(&state)?;
    }
    Ok(Outcome::Clean)
}
