//! REPORT.md: the human report of a session, rendered from `session.json` and the log.
//!
//! Request text and log details are untrusted: table cells are escaped (pipes, HTML, line
//! breaks) and the full request sits in a code fence longer than any backtick run inside it.

use std::fmt::Write as _;

use crate::state::log::Event;
use crate::state::{PhaseStatus, Session};
use crate::util::text::first_line;
use crate::workflow::PhaseName;

/// What completion adds to the report, when it exists.
#[derive(Debug, Clone, Default)]
pub struct ReportExtras {
    /// The session's scorecard (`scorecards/<sid>.json`).
    pub scorecard: Option<crate::artifacts::scorecard::Scorecard>,
    /// Review outputs (`artifacts/reviews/*.json`).
    pub reviews: Vec<crate::artifacts::review::Review>,
    /// Lessons this session added or saw again.
    pub lessons: Vec<crate::lessons::Lesson>,
    /// Packs of the intake record.
    pub packs: Vec<crate::intake::PackMatch>,
}

/// What happened to the change class after intake, one line each: a raise after planning, an
/// explicit class the request's evidence contradicts.
pub fn class_notes(s: &Session) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &s.classification.raised {
        out.push(format!(
            "raised from {} to {} after planning: {}",
            r.from,
            r.to,
            r.paths.join(", ")
        ));
    }
    if let Some(c) = &s.classification.contradiction {
        out.push(format!("contradicted: {c}"));
    }
    out
}

/// Render the Markdown report.
pub fn render_report(session: &Session, events: &[Event]) -> String {
    render_report_with(session, events, &ReportExtras::default())
}

/// Render the Markdown report with the completion sections.
pub fn render_report_with(session: &Session, events: &[Event], extras: &ReportExtras) -> String {
    let mut out = String::new();
    let s = session;
    let _ = writeln!(out, "# Factory report: {}\n", cell(&s.id));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Request | {} |", cell(&first_line(&s.request, 120)));
    let _ = writeln!(out, "| Class | {} |", s.change_class);
    for note in class_notes(s) {
        let _ = writeln!(out, "| Class note | {} |", cell(&note));
    }
    let _ = writeln!(out, "| Trigger | {} |", s.trigger);
    let _ = writeln!(
        out,
        "| Route | {} |",
        std::iter::once(PhaseName::Intake)
            .chain(s.route.iter().copied().filter(|p| *p != PhaseName::Intake))
            .map(PhaseName::as_str)
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let _ = writeln!(out, "| Started | {} |", s.created_at);
    let _ = writeln!(out, "| Last update | {} |", s.updated_at);
    let _ = writeln!(out, "| Outcome | {} |", cell(&outcome(s)));
    let _ = writeln!(out);

    let _ = writeln!(out, "## Request\n");
    let fence = "`".repeat(longest_backtick_run(&s.request).max(2) + 1);
    let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", s.request.trim_end());

    let _ = writeln!(out, "## Phases\n");
    let _ = writeln!(
        out,
        "| # | Phase | Status | Attempts | Duration | Artifact |\n|---|---|---|---|---|---|"
    );
    for p in phase_order(s) {
        let state = s.phase(p).cloned().unwrap_or_default();
        let duration = match (state.started_at, state.finished_at) {
            (Some(a), Some(b)) => format_duration(b.duration_since(a).as_millis()),
            (Some(_), None) if state.status == PhaseStatus::Running => "running".to_string(),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            p.number(),
            p,
            state.status,
            state.attempts,
            duration,
            state
                .artifact
                .as_deref()
                .map(|a| format!("`{}`", cell(a).replace('`', "'")))
                .unwrap_or_else(|| "-".into())
        );
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Issues and pull requests\n");
    if s.issues.is_empty() && s.pull_requests.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        for i in &s.issues {
            let mut line = format!("- Issue #{}", i.number);
            if let Some(t) = &i.task_id {
                let _ = write!(line, ", task {}", cell(t));
            }
            if let Some(b) = &i.branch {
                let _ = write!(line, ", branch {}", cell(b));
            }
            let _ = writeln!(out, "{line}");
        }
        for pr in &s.pull_requests {
            let mut line = format!("- Pull request #{}", pr.number);
            if let Some(i) = pr.issue {
                let _ = write!(line, " (closes #{i})");
            }
            line.push_str(if pr.merged { ", merged" } else { ", open" });
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);
    }

    if !s.waves.is_empty() {
        let _ = writeln!(out, "## Waves\n");
        let _ = writeln!(
            out,
            "Phases tactical_plan to merge run once per wave; each wave starts from the default branch as the previous wave's merges left it.\n"
        );
        let _ = writeln!(
            out,
            "| Wave | Status | Issues | Pull requests | Review rounds | Started | Finished |\n|---|---|---|---|---|---|---|"
        );
        for w in &s.waves {
            let list = |items: Vec<String>| {
                if items.is_empty() {
                    "—".to_string()
                } else {
                    items.join(", ")
                }
            };
            let issues = list(w.issues.iter().map(|n| format!("#{n}")).collect());
            let prs = list(
                s.pull_requests
                    .iter()
                    .filter(|p| p.issue.is_some_and(|i| w.issues.contains(&i)))
                    .map(|p| format!("#{}{}", p.number, if p.merged { " (merged)" } else { "" }))
                    .collect(),
            );
            let at =
                |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "| Wave {} | {} | {issues} | {prs} | {} | {} | {} |",
                w.wave,
                w.status.as_str(),
                w.review_rounds,
                at(w.started_at),
                at(w.finished_at)
            );
        }
        let _ = writeln!(out);
    }

    let c = &s.counters;
    let _ = writeln!(out, "## Counters\n");
    let _ = writeln!(out, "| Counter | Value |\n|---|---|");
    let _ = writeln!(out, "| Review cycles | {} |", c.review_cycles);
    let _ = writeln!(
        out,
        "| Implementation retries | {} |",
        c.implementation_retries
    );
    let _ = writeln!(out, "| Planning retries | {} |", c.planning_retries);
    let _ = writeln!(out, "| Recurrences | {} |", c.recurrence);
    let _ = writeln!(out);

    if let Some(e) = &s.escalation {
        let _ = writeln!(out, "## Escalation\n");
        let _ = writeln!(
            out,
            "Needs a human: {} (`{}`) in phase {} at {}.\n",
            e.reason.describe(),
            e.reason,
            e.phase,
            e.at
        );
        if !e.detail.is_empty() {
            let _ = writeln!(out, "{}\n", cell(&e.detail));
        }
    }

    if !extras.packs.is_empty() {
        let _ = writeln!(out, "## Heuristics packs\n");
        for p in &extras.packs {
            let _ = writeln!(out, "- {}: {}", cell(&p.name), cell(&p.reason));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Review findings\n");
    let mut any_finding = false;
    for r in &extras.reviews {
        for f in &r.findings {
            if !any_finding {
                let _ = writeln!(
                    out,
                    "| PR | Severity | Category | Where | Finding |\n|---|---|---|---|---|"
                );
                any_finding = true;
            }
            let _ = writeln!(
                out,
                "| #{} | {} | {} | {} | {} |",
                r.pr_number,
                cell(f.severity.as_str()),
                cell(&f.category),
                cell(&f.location()),
                cell(&first_line(&f.description, 160)),
            );
        }
    }
    let _ = writeln!(out, "{}", if any_finding { "" } else { "None recorded.\n" });

    // What each review's dependency audit did; one that could not run is said, never hidden.
    if events
        .iter()
        .any(|e| e.action == crate::state::log::vocab::DEPENDENCY_AUDIT)
    {
        let _ = writeln!(out, "## Dependency audit\n");
        if !event_table(
            &mut out,
            s,
            events,
            crate::state::log::vocab::DEPENDENCY_AUDIT,
        ) {
            let _ = writeln!(out, "None recorded.\n");
        }
    }

    let _ = writeln!(out, "## Verification\n");
    if !event_table(&mut out, s, events, "verify") {
        let _ = writeln!(out, "None recorded.\n");
    }

    // What the safe-outputs policy refused or changed in factory's forge writes.
    if events
        .iter()
        .any(|e| e.action == crate::state::log::vocab::SAFE_OUTPUT)
    {
        let _ = writeln!(out, "## Safe outputs\n");
        if !event_table(&mut out, s, events, crate::state::log::vocab::SAFE_OUTPUT) {
            let _ = writeln!(out, "None recorded.\n");
        }
    }

    let ours: Vec<Event> = events
        .iter()
        .filter(|e| e.sid.as_deref().is_none_or(|sid| sid == s.id))
        .cloned()
        .collect();
    let usage = crate::state::log::agent_usage(&ours);
    let phases = crate::state::ledger::by_phase(s);
    if !usage.per_agent.is_empty() || !phases.is_empty() {
        let _ = writeln!(out, "## Cost and tokens\n");
    }
    if !usage.per_agent.is_empty() {
        let _ = writeln!(
            out,
            "| Agent | Runs | Tokens | Cost (USD) |\n|---|---|---|---|"
        );
        for (agent, (tokens, cost, runs)) in &usage.per_agent {
            let _ = writeln!(out, "| {} | {runs} | {tokens} | {cost:.4} |", cell(agent));
        }
        let _ = writeln!(
            out,
            "| total | | {} | {:.4} |\n",
            usage.tokens_total, usage.cost_usd
        );
    }
    if !phases.is_empty() {
        let _ = writeln!(
            out,
            "Cost by phase (the session's ledger):\n\n| Phase | Calls | Input | Cached | Output | Cost (USD) |\n|---|---|---|---|---|---|"
        );
        for (phase, sp) in &phases {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.4} |",
                cell(phase),
                sp.calls,
                sp.input_tokens,
                sp.cached_input_tokens,
                sp.output_tokens,
                sp.cost_usd
            );
        }
        let total = crate::state::ledger::spent(s);
        let _ = writeln!(
            out,
            "| total | {} | {} | {} | {} | {:.4} |\n",
            total.calls,
            total.input_tokens,
            total.cached_input_tokens,
            total.output_tokens,
            total.cost_usd
        );
    }

    if let Some(card) = &extras.scorecard {
        let q = &card.quality;
        let _ = writeln!(out, "## Scorecard\n");
        let _ = writeln!(
            out,
            "**{} / 100 ({})**\n",
            card.score,
            card.band.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "| Term | Value |\n|---|---|");
        let _ = writeln!(
            out,
            "| Review cycles (avg per PR) | {} |",
            q.review_cycles_avg
        );
        let _ = writeln!(out, "| Implementation retries | {} |", q.retries_total);
        let _ = writeln!(
            out,
            "| Findings critical / important / advisory | {} / {} / {} |",
            q.security_findings.critical,
            q.security_findings.important,
            q.security_findings.advisory
        );
        let _ = writeln!(out, "| Scope violations | {} |", q.scope_violations);
        let _ = writeln!(out, "| Escaped defects | {} |", q.escaped_defects);
        let _ = writeln!(
            out,
            "| Post-merge regressions | {} |",
            q.post_merge_regressions
        );
        let _ = writeln!(out, "| Lessons extracted | {} |\n", card.lessons_generated);
    }

    if extras.scorecard.is_some() || !extras.lessons.is_empty() {
        let _ = writeln!(out, "## Lessons learned\n");
        if extras.lessons.is_empty() {
            let _ = writeln!(
                out,
                "None: no serious finding, scope violation or regression.\n"
            );
        }
        for l in &extras.lessons {
            let seen = if l.times_seen > 1 {
                format!(" (seen {} times)", l.times_seen)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "- **{}**{seen}: {}. Rule: {}",
                cell(&l.id),
                cell(&l.pattern),
                cell(&l.preventive_rule)
            );
        }
        if !extras.lessons.is_empty() {
            let _ = writeln!(out);
        }
    }

    let decisions: Vec<&Event> = events
        .iter()
        .filter(|e| e.decision.is_some())
        .filter(|e| e.sid.as_deref().is_none_or(|sid| sid == s.id))
        .collect();
    let _ = writeln!(out, "## Decisions\n");
    if decisions.is_empty() {
        let _ = writeln!(out, "None recorded.");
    } else {
        let _ = writeln!(
            out,
            "| Time | Phase | Action | Decision | Rationale |\n|---|---|---|---|---|"
        );
        for e in decisions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                e.ts,
                cell(e.phase.as_deref().unwrap_or("-")),
                cell(&e.action),
                cell(e.decision.as_deref().unwrap_or_default()),
                cell(e.detail.as_deref().unwrap_or("-")),
            );
        }
    }
    out
}

/// The route's phases in order, then any other phase the session has state for.
fn phase_order(s: &Session) -> Vec<crate::workflow::PhaseName> {
    let mut order = s.route.clone();
    for p in s.phases.keys() {
        if !order.contains(p) {
            order.push(*p);
        }
    }
    order
}

/// One sentence on where the session stands.
/// A table of the session's events with `action` (time, phase, result, detail); false when
/// there are none.
fn event_table(out: &mut String, s: &Session, events: &[Event], action: &str) -> bool {
    let rows: Vec<&Event> = events
        .iter()
        .filter(|e| e.action == action)
        .filter(|e| e.sid.as_deref().is_none_or(|sid| sid == s.id))
        .collect();
    if rows.is_empty() {
        return false;
    }
    let _ = writeln!(out, "| Time | Phase | Result | Detail |\n|---|---|---|---|");
    for e in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            e.ts,
            cell(e.phase.as_deref().unwrap_or("-")),
            cell(&e.status),
            cell(&first_line(e.detail.as_deref().unwrap_or("-"), 200)),
        );
    }
    let _ = writeln!(out);
    true
}

pub fn outcome(s: &Session) -> String {
    if let Some(e) = &s.escalation {
        return format!("needs a human: {} ({})", e.reason.describe(), e.reason);
    }
    match s.next_phase() {
        None => "completed".to_string(),
        Some(p) => {
            let status = s.phase(p).map(|st| st.status).unwrap_or_default();
            let how = match status {
                PhaseStatus::Pending => "is next",
                PhaseStatus::Running => "is running",
                PhaseStatus::Failed => "failed",
                PhaseStatus::Escalated => "escalated",
                PhaseStatus::Completed | PhaseStatus::Skipped => "is done",
            };
            format!("in progress: phase {} {p} {how}", p.number())
        }
    }
}

/// `1h 02m`, `3m 05s`, `4.2s`, `120ms`.
pub fn format_duration(ms: i128) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    if secs < 60 {
        return format!("{}.{}s", secs, (ms % 1000) / 100);
    }
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {s:02}s")
    }
}

/// Escape untrusted text for a Markdown table cell: one line, no pipes, no HTML.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// What the user should do now.
pub fn next_step(s: &Session) -> String {
    if let Some(e) = &s.escalation {
        let mut text = format!(
            "needs a human: {} ({}) in phase {}",
            e.reason.describe(),
            e.reason,
            e.phase
        );
        if !e.detail.is_empty() {
            text.push_str(&format!(": {}", first_line(&e.detail, 200)));
        }
        if e.reason == crate::state::EscalationReason::ProductionInfrastructure {
            text.push_str("; once approved, run `factory run --resume --approve`");
        } else {
            text.push_str("; when resolved, run `factory run --resume --acknowledge`");
        }
        return text;
    }
    match s.next_phase() {
        None => "nothing left to run: the session is complete (see REPORT.md)".to_string(),
        Some(p) => {
            let status = s.phase(p).map(|st| st.status).unwrap_or_default();
            let what = match status {
                PhaseStatus::Failed => "retry",
                PhaseStatus::Running => "continue",
                _ => "start",
            };
            format!(
                "run `factory run --resume` to {what} phase {} {p}",
                p.number()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::session::{EscalationReason, IssueRef, PullRequestRef};
    use crate::workflow::{ChangeClass, PhaseName, Trigger};
    use jiff::Timestamp;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn session() -> Session {
        let mut s = Session::new(
            "Add <b>rate</b> | limiting\n```\nrm -rf /\n```".into(),
            ChangeClass::Feature,
            Trigger::User,
            vec![
                PhaseName::Intake,
                PhaseName::StrategicPlan,
                PhaseName::Merge,
            ],
        );
        s.id = "20261130T000000Z-abcdef".into();
        s.created_at = ts("2026-11-30T00:00:00Z");
        s.updated_at = ts("2026-11-30T00:10:00Z");
        let intake = s.phase_mut(PhaseName::Intake);
        intake.status = PhaseStatus::Completed;
        intake.attempts = 1;
        intake.started_at = Some(ts("2026-11-30T00:00:00Z"));
        intake.finished_at = Some(ts("2026-11-30T00:01:05Z"));
        intake.artifact = Some("intake.json".into());
        s.issues.push(IssueRef {
            number: 3,
            task_id: Some("task-001".into()),
            branch: Some("feat/3-rate-limit".into()),
            ..Default::default()
        });
        s.pull_requests.push(PullRequestRef {
            number: 4,
            issue: Some(3),
            merged: true,
            ..Default::default()
        });
        s.counters.review_cycles = 2;
        s
    }

    fn decision(sid: Option<&str>, decision: &str) -> Event {
        Event {
            ts: ts("2026-11-30T00:00:30Z"),
            sid: sid.map(str::to_string),
            phase: Some("intake".into()),
            action: "classify".into(),
            tool: None,
            status: "ok".into(),
            duration_ms: None,
            detail: Some("touches auth | api".into()),
            decision: Some(decision.into()),
            refs: Default::default(),
        }
    }

    #[test]
    fn report_has_every_section_and_escapes_untrusted_text() {
        let mut s = session();
        s.escalate(
            EscalationReason::ScopeDecision,
            PhaseName::StrategicPlan,
            "two options".into(),
        );
        let events = vec![
            decision(Some(&s.id), "feature"),
            decision(Some("other"), "not ours"),
        ];
        let md = render_report(&s, &events);
        for needle in [
            "# Factory report: 20261130T000000Z-abcdef",
            "| Request | Add &lt;b&gt;rate&lt;/b&gt; \\| limiting |",
            "````text\nAdd <b>rate</b>",
            "| 1 | intake | completed | 1 | 1m 05s | `intake.json` |",
            "| 2 | strategic_plan | escalated | 0 | - | - |",
            "- Issue #3, task task-001, branch feat/3-rate-limit",
            "- Pull request #4 (closes #3), merged",
            "| Review cycles | 2 |",
            "Needs a human: the change needs a scope decision (`scope-decision`) in phase strategic_plan",
            "| intake | classify | feature | touches auth \\| api |",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        assert!(!md.contains("not ours"));
    }

    #[test]
    fn safe_output_refusals_and_sanitising_are_listed() {
        let s = session();
        assert!(!render_report(&s, &[]).contains("## Safe outputs"));
        let mut refused = decision(Some(&s.id), "outputs.labels");
        refused.phase = Some("forge".into());
        refused.action = "safe_output".into();
        refused.status = "refused".into();
        refused.detail = Some("label(s) `deploy-now` not allowed; change outputs.labels".into());
        let md = render_report(&s, &[refused]);
        assert!(
            md.contains("## Safe outputs\n\n| Time | Phase | Result | Detail |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| forge | refused | label(s) `deploy-now` not allowed; change outputs.labels |"
            ),
            "{md}"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(120), "120ms");
        assert_eq!(format_duration(4_250), "4.2s");
        assert_eq!(format_duration(185_000), "3m 05s");
        assert_eq!(format_duration(3_720_000), "1h 02m");
        assert_eq!(first_line("\n  hello world  \nmore", 5), "hell…");
    }
}
