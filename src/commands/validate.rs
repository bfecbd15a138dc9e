//! `factory validate`: check phase outputs against their contracts.

use std::path::PathBuf;

use crate::cli::Outcome;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Contract name (see `factory schema list`); omit with --auto.
    pub contract: Option<String>,
    /// Files to validate (`-` for stdin).
    pub files: Vec<PathBuf>,
}

pub fn run(_args: ValidateArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("validate is being built")
}
