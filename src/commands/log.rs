//! `factory log`: read `.factory/workflow.log`, filtered by phase and time.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Args;

use super::Outcome;
use crate::commands::status::printable;
use crate::state::log::{Event, parse_since, read_event_lines};
use crate::state::redact::scrub_patterns;
use crate::state::{StateDir, now};
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Only events of this phase (intake, strategic_plan, …, completion).
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<String>,
    /// Only events at or after this time: RFC 3339 (2026-11-30T09:00:00Z) or a duration back
    /// from now (90s, 30m, 2h, 1d, 1w).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Print the matching lines as stored (JSONL), e.g. for jq.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: LogArgs) -> anyhow::Result<Outcome> {
    let phase = args
        .phase
        .as_deref()
        .map(|p| p.parse::<PhaseName>().map_err(|e| anyhow!("--phase: {e}")))
        .transpose()?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, now()).map_err(|e| anyhow!(e)))
        .transpose()?;
    let state = args
        .state_dir
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    let path = state.log_path();
    if !path.exists() {
        bail!(
            "no log at {}: nothing has run in this state directory yet (or pass --state-dir)",
            path.display()
        );
    }
    let lines: Vec<(String, Event)> = read_event_lines(&path)?
        .into_iter()
        .filter(|(_, _, e)| phase.is_none_or(|p| e.phase.as_deref() == Some(p.as_str())))
        .filter(|(_, _, e)| since.is_none_or(|t| e.ts >= t))
        .map(|(_, line, e)| (line, e))
        .collect();
    if args.json {
        for (line, _) in &lines {
            println!("{line}");
        }
    } else {
        let events: Vec<&Event> = lines.iter().map(|(_, e)| e).collect();
        print!("{}", render(&events));
    }
    Ok(Outcome::Clean)
}

/// One aligned line per event: time, phase, action, tool, status, duration, then the detail,
/// the decision and the refs.
fn render(events: &[&Event]) -> String {
    let rows: Vec<[String; 7]> = events
        .iter()
        .map(|e| {
            let mut tail = Vec::new();
            if let Some(d) = &e.detail {
                tail.push(printable(&scrub_patterns(d)));
            }
            if let Some(d) = &e.decision {
                tail.push(format!("decision: {}", printable(&scrub_patterns(d))));
            }
            if !e.refs.is_empty() {
                tail.push(printable(&scrub_patterns(
                    &serde_json::Value::Object(e.refs.clone()).to_string(),
                )));
            }
            [
                e.ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                printable(e.phase.as_deref().unwrap_or("-")),
                printable(&e.action),
                printable(e.tool.as_deref().unwrap_or("-")),
                printable(&e.status),
                e.duration_ms
                    .map(|ms| format!("{ms}ms"))
                    .unwrap_or_else(|| "-".into()),
                tail.join("  "),
            ]
        })
        .collect();
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i < 6 {
                // Durations read best right-aligned.
                if i == 5 {
                    line.push_str(&format!("{c:>w$}  ", w = widths[i]));
                } else {
                    line.push_str(&format!("{c:<w$}  ", w = widths[i]));
                }
            } else {
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
