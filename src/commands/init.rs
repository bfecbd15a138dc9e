//! `factory init`: scaffold the repository for the framework, or `--check` for drift.

use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::init::{Action, MANIFEST, Status, apply, inspect, plan};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to set up.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// Report what differs from what this version writes, write nothing; exit 1 on drift.
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
    /// Also replace files edited since init wrote them (or there before init).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<Outcome> {
    if !args.repo.is_dir() {
        anyhow::bail!(
            "--repo {}: not a directory; pass the repository to set up",
            args.repo.display()
        );
    }
    let planned = plan(&args.repo);
    if args.check {
        let items = inspect(&args.repo, &planned)?;
        let mut drift = 0;
        for item in &items {
            if item.status != Status::UpToDate {
                let hint = match item.status {
                    Status::Missing | Status::Outdated => "`factory init` writes it",
                    Status::Conflict => "edited here; `factory init --force` replaces it",
                    Status::Edited => "edited here; kept (this version writes the same as before)",
                    Status::UpToDate => "",
                };
                println!("{:<11} {}  ({hint})", item.status.as_str(), item.path);
            }
            drift += usize::from(item.status.is_drift());
        }
        if drift == 0 {
            println!(
                "up to date: {} files as factory {} writes them",
                items.len(),
                env!("CARGO_PKG_VERSION")
            );
            return Ok(Outcome::Clean);
        }
        println!(
            "{drift} of {} files drifted: run `factory init`",
            items.len()
        );
        return Ok(Outcome::Findings);
    }
    let done = apply(&args.repo, &planned, args.force)?;
    let mut kept = 0;
    for (item, action) in &done {
        println!("{:<11} {}  ({})", action.as_str(), item.path, item.what);
        kept += usize::from(*action == Action::Kept && item.status == Status::Conflict);
    }
    println!("recorded in {MANIFEST}");
    if kept > 0 {
        eprintln!(
            "warning: {kept} file(s) edited here were kept; compare them with `factory init --check` and replace them with `factory init --force` if you want this version's"
        );
    }
    Ok(Outcome::Clean)
}
