//! `factory packs`: the bundled heuristics packs, and which ones a repository matches.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::Outcome;
use crate::packs;

#[derive(Debug, Subcommand)]
pub enum PacksCommand {
    /// List the bundled packs.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a pack (bundled name such as `rust-cli`, or a pack file) as JSON.
    Show { pack: String },
    /// Which packs apply to a repository, and why.
    Detect {
        /// The repository [default: the current directory].
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// Force a pack on, as `factory run --pack` does (repeatable).
        #[arg(long = "pack", value_name = "PACK")]
        packs: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: PacksCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PacksCommand::List { json } => {
            let all = packs::bundled();
            if json {
                let docs: Vec<_> = all
                    .iter()
                    .map(|p| {
                        json!({"name": p.name, "version": p.doc["version"], "domain": p.domain(), "description": p.description(), "preflight_rules": p.preflight_rule_ids()})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for p in &all {
                    println!(
                        "{:<22} {:<6} {}",
                        p.name,
                        p.doc["version"].as_str().unwrap_or(""),
                        p.description()
                    );
                }
            }
        }
        PacksCommand::Show { pack } => {
            let p = packs::find(&pack)?;
            println!("{}", serde_json::to_string_pretty(&p.doc)?);
        }
        PacksCommand::Detect {
            repo,
            packs: forced,
            json,
        } => {
            if !repo.is_dir() {
                anyhow::bail!("--repo {}: not a directory", repo.display());
            }
            let found = packs::for_intake(&repo, &forced)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else if found.is_empty() {
                println!("no pack matches {}", repo.display());
            } else {
                for m in &found {
                    println!("{:<22} {}", m.name, m.reason);
                }
            }
        }
    }
    Ok(Outcome::Clean)
}
