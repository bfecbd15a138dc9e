//! `factory doctor`: the setup report (the same checks intake records), every problem at once.

use std::path::PathBuf;

use super::Outcome;
use crate::intake::setup::{self, SetupCheck};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Marks: ✓ passed, ✗ a required check failed (exit 1), ! an optional check failed.\n\n\
Examples:\n  factory doctor\n  factory doctor --repo ../shop --json\n  factory doctor --need claude   # fail unless Claude Code and its credentials are there"
)]
pub struct DoctorArgs {
    /// The repository to check.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Make this agent's CLI and credentials required (repeatable): the actions run
    /// `factory doctor --need claude` before a phase that runs Claude Code.
    #[arg(long, value_enum, value_name = "AGENT")]
    pub need: Vec<setup::Need>,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    let checks = setup::check_setup_for(&args.repo, &setup::SetupEnv::from_process(), &args.need);
    let ok = setup::required_ok(&checks);
    if args.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            ok: bool,
            checks: &'a [SetupCheck],
        }
        let report = Report {
            ok,
            checks: &checks,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&checks));
    }
    Ok(if ok {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The report as an aligned table with a summary line.
pub fn render(checks: &[SetupCheck]) -> String {
    let width = checks
        .iter()
        .map(|c| c.check.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let mark = match (c.ok, c.required) {
            (true, _) => '✓',
            (false, true) => '✗',
            (false, false) => '!',
        };
        let need = if c.required { "required" } else { "optional" };
        out.push_str(&format!(
            "{mark} {:<width$}  {need}  {}\n",
            c.check, c.detail
        ));
    }
    let failed = checks.iter().filter(|c| !c.ok && c.required).count();
    let warnings = checks.iter().filter(|c| !c.ok && !c.required).count();
    let passed = checks.len() - failed - warnings;
    out.push_str(&format!(
        "\n{passed} passed, {warnings} warning{}, {failed} failed{}\n",
        if warnings == 1 { "" } else { "s" },
        if failed == 0 {
            ""
        } else {
            ": fix the ✗ lines before running the pipeline"
        }
    ));
    out
}
