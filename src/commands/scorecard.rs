//! `factory scorecard`: print one session's scorecard, or compare sessions over time.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};

use super::Outcome;
use crate::scorecard::history::{self, COMPONENTS, component, trend};
use crate::state::StateDir;

#[derive(Debug, Args)]
pub struct ScorecardArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The session to show [default: the current session, else the latest scorecard].
    #[arg(long, value_name = "SID", conflicts_with = "history")]
    pub sid: Option<String>,
    /// Compare every stored scorecard: score and each component over time, with the trend.
    #[arg(long)]
    pub history: bool,
    /// Only sessions of this change class (with --history).
    #[arg(long, value_parser = crate::commands::workflow::parse_class, requires = "history")]
    pub class: Option<crate::workflow::ChangeClass>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ScorecardArgs) -> anyhow::Result<Outcome> {
    let state = args
        .state_dir
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    let dir = state.scorecards_dir();
    let mut cards = history::load(&dir)?;
    if let Some(class) = args.class {
        cards.retain(|c| c["change_class"].as_str() == Some(class.as_str()));
    }
    if cards.is_empty() {
        bail!(
            "no scorecards in {}: run `factory complete` at the end of a session first",
            dir.display()
        );
    }
    if args.history {
        print_history(&cards, args.json)?;
        return Ok(Outcome::Clean);
    }
    let sid = match args.sid {
        Some(s) => s,
        None => {
            let current = state.load_session().ok().flatten().map(|s| s.id);
            current
                .filter(|id| cards.iter().any(|c| c["session_id"].as_str() == Some(id)))
                .unwrap_or_else(|| {
                    cards.last().expect("not empty")["session_id"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
        }
    };
    let card = cards
        .iter()
        .find(|c| c["session_id"].as_str() == Some(sid.as_str()))
        .with_context(|| {
            format!(
                "no scorecard for session {sid} in {}: `factory scorecard --history` lists the sessions",
                dir.display()
            )
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(card)?);
    } else {
        print!("{}", render_one(card));
    }
    Ok(Outcome::Clean)
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn render_one(card: &Value) -> String {
    let mut out = format!(
        "session {}  {}  {}\n{}\nscore {} ({})\n",
        card["session_id"].as_str().unwrap_or(""),
        card["change_class"].as_str().unwrap_or("-"),
        card["completed_at"].as_str().unwrap_or(""),
        card["feature_title"].as_str().unwrap_or(""),
        card["score"],
        card["band"].as_str().unwrap_or("")
    );
    for (label, pointer) in &COMPONENTS[1..] {
        out.push_str(&format!(
            "  {label:<18} {}\n",
            num(component(card, pointer))
        ));
    }
    if let Some(t) = card["tokens"]["total"].as_u64() {
        out.push_str(&format!("  {:<18} {t}\n", "tokens"));
    }
    if let Some(c) = card["cost_usd"].as_f64() {
        out.push_str(&format!("  {:<18} {c:.4}\n", "cost (USD)"));
    }
    out
}

fn print_history(cards: &[Value], as_json: bool) -> anyhow::Result<()> {
    let trends: Vec<Value> = COMPONENTS
        .iter()
        .filter_map(|(label, pointer)| {
            let (first, last, mean) = trend(cards, pointer)?;
            Some(json!({"component": label, "first": first, "last": last, "mean": (mean * 100.0).round() / 100.0, "change": ((last - first) * 100.0).round() / 100.0}))
        })
        .collect();
    if as_json {
        let sessions: Vec<Value> = cards
            .iter()
            .map(|c| {
                json!({
                    "session_id": c["session_id"],
                    "change_class": c["change_class"],
                    "completed_at": c["completed_at"],
                    "score": c["score"],
                    "band": c["band"],
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"sessions": sessions, "trend": trends}))?
        );
        return Ok(());
    }
    println!(
        "{:<28} {:<11} {:>5} {:<9} {:>6} {:>4} {:>4} {:>4} {:>5} {:>4} {:>4} {:>4}",
        "session",
        "class",
        "score",
        "band",
        "cycles",
        "retr",
        "crit",
        "imp",
        "scope",
        "esc",
        "regr",
        "less"
    );
    for c in cards {
        let v = |p: &str| num(component(c, p));
        println!(
            "{:<28} {:<11} {:>5} {:<9} {:>6} {:>4} {:>4} {:>4} {:>5} {:>4} {:>4} {:>4}",
            c["session_id"].as_str().unwrap_or(""),
            c["change_class"].as_str().unwrap_or("-"),
            v("/score"),
            c["band"].as_str().unwrap_or(""),
            v("/quality/review_cycles_avg"),
            v("/quality/retries_total"),
            v("/quality/security_findings/critical"),
            v("/quality/security_findings/important"),
            v("/quality/scope_violations"),
            v("/quality/escaped_defects"),
            v("/quality/post_merge_regressions"),
            v("/lessons_generated"),
        );
    }
    println!(
        "\ntrend over {} session(s), first → last (mean):",
        cards.len()
    );
    for t in &trends {
        let change = t["change"].as_f64().unwrap_or(0.0);
        let arrow = if change > 0.0 {
            "↑"
        } else if change < 0.0 {
            "↓"
        } else {
            "="
        };
        println!(
            "  {:<18} {} → {} ({}) {arrow}",
            t["component"].as_str().unwrap_or(""),
            num(t["first"].as_f64().unwrap_or(0.0)),
            num(t["last"].as_f64().unwrap_or(0.0)),
            num(t["mean"].as_f64().unwrap_or(0.0)),
        );
    }
    Ok(())
}
