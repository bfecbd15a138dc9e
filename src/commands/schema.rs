//! `factory schema list|print`: show the embedded contract schemas.

use clap::Subcommand;

use crate::cli::Outcome;
use crate::contracts::Contract;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// List the embedded schemas.
    List,
    /// Print one schema (by contract name, e.g. `strategic-plan`).
    Print {
        /// Contract name.
        name: String,
    },
}

pub fn run(cmd: SchemaCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SchemaCommand::List => {
            for c in Contract::ALL {
                println!("{:<16} schemas/{}", c.name(), c.file_name());
            }
        }
        SchemaCommand::Print { name } => {
            let contract = Contract::from_name(&name).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown contract `{name}`: run `factory schema list` for the names"
                )
            })?;
            print!("{}", contract.schema_text());
        }
    }
    Ok(Outcome::Clean)
}
