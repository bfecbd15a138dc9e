//! `factory state merge`: combine the `.factory` directories of parallel jobs; `factory state
//! restore`: unpack a state archive an earlier job saved, `.factory/` only (docs/STATE.md).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;
use crate::state::StateDir;
use crate::state::merge::{self, MergeError, MergeReport, Options};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Merge the state directories of parallel jobs (one per issue) that all started from BASE.
    Merge(MergeArgs),
    /// Unpack a state archive (factory-state.tar) an earlier job saved: only regular files and
    /// directories under .factory/, every member checked before anything is written.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The archive (`tar -cf factory-state.tar .factory`).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// The directory the archive's `.factory/` goes into [default: the current directory].
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub into: PathBuf,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The state every copy started from (the state the parallel jobs downloaded).
    #[arg(long, value_name = "BASE_DIR")]
    pub base: PathBuf,
    /// The copies, one state directory per job; log lines with the same time keep this order.
    #[arg(value_name = "DIR", required = true)]
    pub copies: Vec<PathBuf>,
    /// Where the merged state goes (default: $FACTORY_STATE_DIR, else .factory at the git top
    /// level); it may be the base itself.
    #[arg(long, value_name = "OUT")]
    pub state_dir: Option<PathBuf>,
    /// Print what was merged as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: StateCommand) -> anyhow::Result<Outcome> {
    match cmd {
        StateCommand::Merge(args) => merge_cmd(args),
        StateCommand::Restore(args) => {
            let r = crate::state::restore::restore(&args.archive, &args.into)?;
            if !r.refused_policy.is_empty() {
                refused_policy(&args.into, &r.refused_policy);
            }
            println!(
                "restored {} file(s) and {} director{} ({} bytes) into {}",
                r.files,
                r.dirs,
                if r.dirs == 1 { "y" } else { "ies" },
                r.bytes,
                args.into.join(".factory").display()
            );
            Ok(Outcome::Clean)
        }
    }
}

/// Say on stderr and in the restored state's log that policy files in the archive were left
/// out: an earlier job (perhaps one that ran an agent) tried to hand this one its policy.
fn refused_policy(into: &std::path::Path, members: &[String]) {
    let shown = members
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = members.len().saturating_sub(10);
    let detail = format!(
        "left out {} policy file(s) the archive carried: {shown}{}; workflow.yaml, templates, packs and lessons come from the checkout, never from a saved state",
        members.len(),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    eprintln!("warning: {detail}");
    let state = StateDir::new(into.join(".factory"));
    if crate::state::log::init(&state).is_ok() {
        tracing::warn!(target: "factory::event", action = crate::state::log::vocab::STATE_RESTORE, status = "refused", detail);
    }
}

fn merge_cmd(args: MergeArgs) -> anyhow::Result<Outcome> {
    let target = StateDir::new(super::state_dir(args.state_dir));
    let mut report = match merge::merge(&Options {
        base: args.base,
        copies: args.copies,
        target: target.clone(),
    }) {
        Ok(report) => report,
        Err(e) => {
            if args.json
                && let MergeError::Conflicts { conflicts } = &e
            {
                let doc = serde_json::json!({ "conflicts": conflicts });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            return Err(e.into());
        }
    };
    if report.report_stale {
        crate::report::write(&target)?;
        report.report_rendered = true;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    if let Some(e) = &report.escalation {
        eprintln!(
            "escalated: the merged session needs a human: {} ({}) in phase {}: {}",
            e.reason.describe(),
            e.reason,
            e.phase,
            e.detail
        );
        return Ok(Outcome::Findings);
    }
    Ok(Outcome::Clean)
}

/// The summary for people.
fn render(r: &MergeReport) -> String {
    let mut out = format!(
        "merged {} cop{} of {} into {}\n",
        r.copies.len(),
        if r.copies.len() == 1 { "y" } else { "ies" },
        r.base.display(),
        r.target.display()
    );
    for c in &r.copies {
        out.push_str(&format!(
            "  {}: {} file(s) taken, {} deleted, {} log line(s), {} ledger entr{}\n",
            c.dir.display(),
            c.taken.len(),
            c.deleted.len(),
            c.log_lines,
            c.usage_entries,
            if c.usage_entries == 1 { "y" } else { "ies" }
        ));
        for f in &c.taken {
            out.push_str(&format!("    + {f}\n"));
        }
        for f in &c.deleted {
            out.push_str(&format!("    - {f}\n"));
        }
    }
    if !r.merged.is_empty() {
        out.push_str(&format!("combined   {}\n", r.merged.join(", ")));
    }
    for f in &r.ignored {
        out.push_str(&format!(
            "ignored    {f}: a copy changed it; policy is the base's (from the checkout)\n"
        ));
    }
    out.push_str(&format!("log        {} line(s) appended\n", r.log_lines));
    if let Some(c) = &r.counters {
        out.push_str(&format!(
            "counters   review cycles {}, implementation retries {}, planning retries {}, recurrences {}\n",
            c.review_cycles, c.implementation_retries, c.planning_retries, c.recurrence
        ));
    }
    out.push_str(&format!("written    {} file(s)", r.written));
    if r.report_rendered {
        out.push_str(", REPORT.md rendered again");
    }
    out.push('\n');
    out
}
