//! `factory status`: where the current session stands and what to do next.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use serde_json::json;

use super::Outcome;
use crate::report::outcome;
use crate::state::{Session, StateDir};
use crate::util::text::first_line;
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// State directory (default: $FACTORY_STATE_DIR, else .factory at the git top level).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print JSON: {"session": …, "next_phase": …, "next_step": …}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let state = args
        .state_dir
        .map(StateDir::new)
        .unwrap_or_else(StateDir::discover);
    let Some(session) = state.load_session()? else {
        bail!(
            "no session in {}: start one with `factory run`, or pass --state-dir",
            state.root().display()
        );
    };
    let next = next_step(&session);
    let pending: Vec<String> = crate::forge::deferred::outbox::pending(&state)
        .iter()
        .map(|p| crate::forge::deferred::outbox::file_name(p))
        .collect();
    if args.json {
        let workflow =
            crate::workflow::load(&state.root().join(crate::workflow::load::OVERRIDE_FILE))?
                .workflow;
        let mut out = outputs(&state, &session);
        // The width of a job matrix over the task issues (`strategy.max-parallel`).
        out["max_parallel"] = json!(workflow.limits.max_concurrent_issues.max(1));
        let doc = json!({
            "session": session,
            "next_phase": session.next_phase(),
            "next_step": next,
            "pending_writes": pending,
            "cost": cost(&workflow, &session),
            "outputs": out,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&session, &next));
        if !pending.is_empty() {
            println!(
                "{:<10} {} forge write(s) in .factory/outbox/ not applied yet: factory apply --pending",
                "writes",
                pending.len()
            );
        }
        let validating = crate::forge::validation::pending(&state);
        if !validating.is_empty() {
            let issues: Vec<String> = validating.iter().map(|v| format!("#{}", v.issue)).collect();
            println!(
                "{:<10} validation of {} pending: factory implement --validate-pending",
                "validate",
                issues.join(", ")
            );
        }
        let verifying = crate::forge::verify::pending(&state);
        if !verifying.is_empty() {
            let prs: Vec<String> = verifying.iter().map(|p| format!("#{}", p.pr)).collect();
            println!(
                "{:<10} post-merge verification of {} pending: factory verify --pending",
                "verify",
                prs.join(", ")
            );
        }
    }
    Ok(Outcome::Clean)
}

pub use crate::report::next_step;
/// The session's spending, per phase, and its budget: for scripts and the actions' outputs.
fn cost(workflow: &crate::workflow::Workflow, session: &Session) -> serde_json::Value {
    let total = crate::state::ledger::spent(session);
    json!({
        "usd": (total.cost_usd * 10_000.0).round() / 10_000.0,
        "tokens": total.tokens,
        "calls": total.calls,
        "by_phase": crate::state::ledger::by_phase(session),
        "budget": workflow.budget,
        "over_budget": crate::agents::budget::exceeded(&workflow.budget, &total).is_some(),
    })
}

/// What CI steps need from the session without reading its files: issue and pull request
/// numbers, the matrix of task issues by wave, the latest review of each pull request, the
/// scorecard's score.
fn outputs(state: &StateDir, session: &Session) -> serde_json::Value {
    let plan = crate::forge::issues::load_plan(state).ok();
    let wave_of = |task: &str| {
        plan.as_ref()
            .and_then(|p| p.tasks.iter().find(|t| t.id == task))
            .map(|t| t.wave)
    };
    let include: Vec<serde_json::Value> = session
        .issues
        .iter()
        .filter_map(|i| {
            let task = i.task_id.as_deref()?;
            Some(json!({"issue": i.number, "task": task, "wave": wave_of(task).unwrap_or(1)}))
        })
        .collect();
    // The wave to implement: the tasks of the current wave (the earliest with a pull request
    // not merged) that are not implemented yet (the implementation matrix of CI). Empty while
    // the wave's pull requests are in review or merge.
    let record = crate::artifacts::implementation::Record::load(state);
    let to_do: Vec<&serde_json::Value> = include
        .iter()
        .filter(|t| {
            let done = t["issue"]
                .as_u64()
                .and_then(|n| record.issue(n))
                .is_some_and(|r| r.status == crate::artifacts::implementation::Status::Done);
            !done
        })
        .collect();
    // Waves run in order: while a wave has a pull request not merged, it is the only one.
    let next_wave = session
        .current_wave()
        .map(u64::from)
        .or_else(|| to_do.iter().filter_map(|t| t["wave"].as_u64()).min());
    let wave: Vec<&serde_json::Value> = to_do
        .into_iter()
        .filter(|t| next_wave.is_some() && t["wave"].as_u64() == next_wave)
        .collect();
    let mut reviews = serde_json::Map::new();
    let mut findings = 0u64;
    let mut verdicts = Vec::new();
    for pr in session.pull_requests.iter().filter(|p| !p.merged) {
        let Some((file, path)) =
            crate::phases::merge::pull_request::latest_review(state, pr.number)
        else {
            continue;
        };
        let Ok(review) = crate::artifacts::review::Headline::load(&path) else {
            continue;
        };
        let verdict = review.verdict.as_str().to_string();
        let n = review.findings() as u64;
        findings += n;
        verdicts.push(verdict.clone());
        reviews.insert(
            pr.number.to_string(),
            json!({"verdict": verdict, "findings": n, "file": file}),
        );
    }
    let verdict = if verdicts.is_empty() {
        ""
    } else if verdicts.iter().all(|v| v == "APPROVE") {
        "APPROVE"
    } else {
        "REQUEST_CHANGES"
    };
    let card: Option<serde_json::Value> = std::fs::read(
        state
            .root()
            .join("scorecards")
            .join(format!("{}.json", session.id)),
    )
    .ok()
    .and_then(|b| serde_json::from_slice(&b).ok());
    json!({
        "issues": session.issues.iter().map(|i| i.number).collect::<Vec<_>>(),
        "pull_requests": session.pull_requests.iter().map(|p| p.number).collect::<Vec<_>>(),
        "merged": session.pull_requests.iter().filter(|p| p.merged).map(|p| p.number).collect::<Vec<_>>(),
        // Merges whose verification waits for `factory verify --pending` (FACTORY_VERIFY=deferred).
        "verify_pending": crate::forge::verify::pending(state).iter().map(|p| p.pr).collect::<Vec<_>>(),
        "validation_pending": crate::forge::validation::pending(state).iter().map(|v| v.issue).collect::<Vec<_>>(),
        "matrix": {"include": include},
        "wave_matrix": {"include": wave},
        "wave": session.current_wave(),
        "waves": session.waves.iter().map(crate::state::WaveState::summary).collect::<Vec<_>>(),
        "reviews": reviews,
        "verdict": verdict,
        "findings": findings,
        "score": card.as_ref().and_then(|c| c.get("score").cloned()),
        "band": card.as_ref().and_then(|c| c.get("band").cloned()),
    })
}

fn render(s: &Session, next: &str) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: &str| out.push_str(&format!("{k:<10} {}\n", printable(v)));
    kv("session", &s.id);
    kv("request", &first_line(&s.request, 72));
    kv("class", s.change_class.as_str());
    for note in crate::report::class_notes(s) {
        kv("", &note);
    }
    kv("trigger", s.trigger.as_str());
    kv("started", &s.created_at.to_string());
    kv("updated", &s.updated_at.to_string());
    kv("state", &outcome(s));
    out.push('\n');

    let rows: Vec<[String; 5]> = phase_rows(s);
    let header = [
        "#".to_string(),
        "phase".into(),
        "status".into(),
        "attempts".into(),
        "artifact".into(),
    ];
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');

    for w in &s.waves {
        let issues: Vec<String> = w.issues.iter().map(|n| format!("#{n}")).collect();
        out.push_str(&format!(
            "{:<10} {}: {} ({}), review rounds {}\n",
            if w.wave == s.waves[0].wave {
                "waves"
            } else {
                ""
            },
            format_args!("wave {}", w.wave),
            w.status.as_str(),
            issues.join(", "),
            w.review_rounds
        ));
    }
    if !s.waves.is_empty() {
        out.push('\n');
    }
    let c = &s.counters;
    out.push_str(&format!(
        "counters   review cycles {}, implementation retries {}, planning retries {}, recurrences {}\n",
        c.review_cycles, c.implementation_retries, c.planning_retries, c.recurrence
    ));
    if !s.usage.is_empty() {
        let t = crate::state::ledger::spent(s);
        let phases: Vec<String> = crate::state::ledger::by_phase(s)
            .iter()
            .map(|(p, sp)| format!("{p} ${:.4}", sp.cost_usd))
            .collect();
        out.push_str(&format!(
            "cost       ${:.4}, {} tokens in {} agent call(s): {}\n",
            t.cost_usd,
            t.tokens,
            t.calls,
            phases.join(", ")
        ));
    }
    let issues: Vec<String> = s.issues.iter().map(|i| format!("#{}", i.number)).collect();
    let prs: Vec<String> = s
        .pull_requests
        .iter()
        .map(|p| format!("#{}{}", p.number, if p.merged { " (merged)" } else { "" }))
        .collect();
    out.push_str(&format!("issues     {}\n", list_or_none(&issues)));
    out.push_str(&format!("PRs        {}\n", list_or_none(&prs)));
    if let Some(e) = &s.escalation {
        out.push_str(&format!(
            "escalation {} in {} at {}: {}\n",
            e.reason,
            e.phase,
            e.at,
            printable(&first_line(&e.detail, 200))
        ));
    }
    out.push_str(&format!("\nnext: {}\n", printable(next)));
    out
}

fn phase_rows(s: &Session) -> Vec<[String; 5]> {
    // Intake first (it is not part of the route), then the route, then anything else recorded.
    let mut order: Vec<PhaseName> = s
        .phases
        .keys()
        .copied()
        .filter(|p| *p == PhaseName::Intake)
        .collect();
    order.extend(s.route.iter().copied().filter(|p| *p != PhaseName::Intake));
    order.extend(
        s.phases
            .keys()
            .copied()
            .filter(|p| *p != PhaseName::Intake && !s.route.contains(p)),
    );
    order
        .into_iter()
        .map(|p| {
            let st = s.phase(p).cloned().unwrap_or_default();
            [
                p.number().to_string(),
                p.to_string(),
                st.status.to_string(),
                st.attempts.to_string(),
                printable(st.artifact.as_deref().unwrap_or("-")),
            ]
        })
        .collect()
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Untrusted text on a terminal: control characters (escape sequences) shown escaped.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
