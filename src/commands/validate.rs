//! `factory validate`: check phase outputs against their contracts.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use super::Outcome;
use crate::contracts::{self, Context, Contract, Violation, input};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  factory validate strategic-plan .factory/artifacts/strategic-plan.json\n  factory validate tactical-plan tactical/12.json --plan strategic-plan.json\n  factory validate --auto evals/plans/*.json --format json\n  cat review.json | factory validate review-output -"
)]
pub struct ValidateArgs {
    /// Detect each file's contract from its `$schema`, file name or directory.
    #[arg(long)]
    pub auto: bool,
    /// The strategic plan that tactical plans belong to (checks scope containment).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// CONTRACT then FILE... (`-` for standard input); with --auto, FILE... only.
    #[arg(value_name = "CONTRACT|FILE", required = true)]
    pub args: Vec<String>,
}

/// The result for one file.
struct Report {
    path: String,
    contract: Option<Contract>,
    outcome: Result<Vec<Violation>, String>,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let (contract, files): (Option<Contract>, Vec<String>) = if args.auto {
        (None, args.args.clone())
    } else {
        let name = &args.args[0];
        let contract = Contract::from_name(name).with_context(|| {
            format!(
                "unknown contract `{name}`: expected one of {} (or use --auto)",
                names()
            )
        })?;
        (Some(contract), args.args[1..].to_vec())
    };
    anyhow::ensure!(
        !files.is_empty(),
        "no file to validate: give one or more files, or `-` for standard input"
    );

    let plan = match &args.plan {
        Some(p) => Some(
            input::read_json(p)
                .map_err(anyhow::Error::from)
                .context("reading --plan")?,
        ),
        None => None,
    };
    let context = Context {
        strategic_plan: plan.as_ref(),
    };

    let reports: Vec<Report> = files
        .iter()
        .map(|f| check_file(Path::new(f), contract, context))
        .collect();

    match args.format {
        Format::Text => print_text(&reports),
        Format::Json => print_json(&reports)?,
    }
    if reports.iter().any(|r| r.outcome.is_err()) {
        anyhow::bail!(
            "{} of {} file(s) could not be validated (see above)",
            reports.iter().filter(|r| r.outcome.is_err()).count(),
            reports.len()
        );
    }
    Ok(
        if reports
            .iter()
            .all(|r| matches!(&r.outcome, Ok(v) if v.is_empty()))
        {
            Outcome::Clean
        } else {
            Outcome::Findings
        },
    )
}

fn names() -> String {
    Contract::ALL
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_file(path: &Path, contract: Option<Contract>, context: Context<'_>) -> Report {
    let name = path.display().to_string();
    let document = match input::read_json(path) {
        Ok(d) => d,
        Err(e) => {
            return Report {
                path: name,
                contract,
                outcome: Err(e.to_string()),
            };
        }
    };
    let contract = match contract.or_else(|| contracts::detect(path, &document)) {
        Some(c) => c,
        None => {
            return Report {
                path: name.clone(),
                contract: None,
                outcome: Err(format!(
                    "{name}: cannot tell which contract this is; add a `$schema` naming it, or run `factory validate <contract> {name}` ({})",
                    names()
                )),
            };
        }
    };
    Report {
        path: name,
        contract: Some(contract),
        outcome: Ok(contracts::validate(contract, &document, context)),
    }
}

fn print_text(reports: &[Report]) {
    for r in reports {
        let contract = r.contract.map(|c| c.name()).unwrap_or("unknown");
        match &r.outcome {
            Ok(v) if v.is_empty() => println!("valid    {} ({contract})", r.path),
            Ok(v) => {
                println!("invalid  {} ({contract}): {} violation(s)", r.path, v.len());
                for violation in v {
                    let at = if violation.pointer.is_empty() {
                        "(document)"
                    } else {
                        violation.pointer.as_str()
                    };
                    println!("  {:<6} {at}: {}", violation.code, violation.message);
                }
            }
            Err(e) => eprintln!("error    {e}"),
        }
    }
}

fn print_json(reports: &[Report]) -> anyhow::Result<()> {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| match &r.outcome {
            Ok(v) => json!({"path": r.path, "contract": r.contract.map(|c| c.name()), "valid": v.is_empty(), "violations": v}),
            Err(e) => json!({"path": r.path, "contract": r.contract.map(|c| c.name()), "valid": false, "error": e}),
        })
        .collect();
    let valid = reports
        .iter()
        .all(|r| matches!(&r.outcome, Ok(v) if v.is_empty()));
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"valid": valid, "files": files}))?
    );
    Ok(())
}
