//! `factory schema list|print`: show the embedded contract schemas.

use clap::Subcommand;
use serde_json::json;

use super::Outcome;
use crate::commands::validate::Format;
use crate::contracts::Contract;

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// List the embedded schemas.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print one schema (by contract name, e.g. `strategic-plan`).
    Print {
        /// Contract name (see `factory schema list`).
        name: String,
    },
}

fn title(c: Contract) -> String {
    serde_json::from_str::<serde_json::Value>(c.schema_text())
        .ok()
        .and_then(|v| v["title"].as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn run(cmd: SchemaCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SchemaCommand::List {
            format: Format::Text,
        } => {
            for c in Contract::ALL {
                println!(
                    "{:<16} {:<30} schemas/{}",
                    c.name(),
                    title(*c),
                    c.file_name()
                );
            }
        }
        SchemaCommand::List {
            format: Format::Json,
        } => {
            let list: Vec<_> = Contract::ALL
                .iter()
                .map(|c| json!({"name": c.name(), "title": title(*c), "file": format!("schemas/{}", c.file_name())}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
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
