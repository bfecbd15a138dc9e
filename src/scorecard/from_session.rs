//! Computing the scorecard from what a session recorded: `session.json` (counters, phases,
//! issues, pull requests), the event log and the review outputs under `artifacts/reviews/`.
//!
//! Where each term comes from (docs/METRICS.md, "Where the numbers come from"):
//! review cycles = review documents per reviewed pull request; retries = the session's
//! implementation retries; findings = distinct review findings by severity (a finding
//! repeated in a later cycle of the same PR counts once); scope violations = pull requests a
//! review flagged out of scope, plus `preflight` events with `refs.scope_violations`;
//! escaped defects = `escaped-defect` events; regressions = failed `verify` events plus the
//! session's recurrences.

use crate::artifacts::review::{Review, Severity};
use crate::state::log::agent_usage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::contracts::{self, Contract};
use crate::intake::PackMatch;
use crate::state::log::{self, Event};
use crate::state::{PhaseStatus, Session, StateDir};
use crate::util::text::first_line;
use crate::workflow::PhaseName;

use super::{ScoreInputs, band, score};

/// Why the session's records could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScorecardError {
    #[error(
        "no session in {0}: run `factory run` first, or pass --state-dir to the .factory directory of a session"
    )]
    NoSession(PathBuf),
    #[error("cannot {action} {path}: {message}")]
    Io {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{path}: not a valid review output: {problems}; fix or remove the file and run again")]
    InvalidReview { path: PathBuf, problems: String },
    #[error("the computed scorecard does not satisfy its contract: {0}")]
    InvalidScorecard(String),
}

/// Everything a session recorded that completion reads.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub session: Session,
    /// This session's events only.
    pub events: Vec<Event>,
    /// Review outputs, by file name order.
    pub reviews: Vec<(PathBuf, Value)>,
    /// Packs from the intake record.
    pub packs: Vec<PackMatch>,
}

impl SessionRecord {
    /// Read the current session of `state`.
    pub fn load(state: &StateDir) -> Result<SessionRecord, ScorecardError> {
        let session = state
            .load_session()
            .map_err(|e| ScorecardError::Io {
                action: "read",
                path: state.session_path(),
                message: e.to_string(),
            })?
            .ok_or_else(|| ScorecardError::NoSession(state.root().to_path_buf()))?;
        let log_path = state.log_path();
        let events = if log_path.exists() {
            log::read_events(&log_path).map_err(|e| ScorecardError::Io {
                action: "read",
                path: log_path.clone(),
                message: e.to_string(),
            })?
        } else {
            Vec::new()
        };
        let events = events
            .into_iter()
            .filter(|e| e.sid.as_deref().is_none_or(|s| s == session.id))
            .collect();
        let reviews = read_reviews(&state.artifacts_dir().join("reviews"))?;
        let intake = state.artifacts_dir().join("intake.json");
        let packs = std::fs::read_to_string(&intake)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| serde_json::from_value(v["packs"].clone()).ok())
            .unwrap_or_default();
        Ok(SessionRecord {
            session,
            events,
            reviews,
            packs,
        })
    }

    /// The domains of the session's packs, for lesson tags and ranking.
    pub fn pack_tags(&self) -> Vec<String> {
        self.packs
            .iter()
            .filter_map(|m| crate::packs::find(&m.name).ok())
            .map(|p| p.domain().to_string())
            .collect()
    }

    /// The reviews as typed documents (each passed its contract when read).
    pub fn review_docs(&self) -> Vec<Review> {
        self.reviews
            .iter()
            .filter_map(|(_, v)| Review::from_value(v).ok())
            .collect()
    }
}

/// Every `*.json` in `dir`, validated against the review-output contract.
pub fn read_reviews(dir: &Path) -> Result<Vec<(PathBuf, Value)>, ScorecardError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ScorecardError::Io {
                action: "list",
                path: dir.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| ScorecardError::Io {
            action: "read",
            path: path.clone(),
            message: e.to_string(),
        })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| ScorecardError::InvalidReview {
                path: path.clone(),
                problems: format!(
                    "line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    crate::util::errors::without_position(&e)
                ),
            })?;
        let v = contracts::validate(Contract::ReviewOutput, &value, Default::default());
        if !v.is_empty() {
            return Err(ScorecardError::InvalidReview {
                path,
                problems: v
                    .iter()
                    .map(|v| format!("{}: {}", v.pointer, v.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        out.push((path, value));
    }
    Ok(out)
}

fn phase_ms(s: &Session, phases: &[PhaseName]) -> u64 {
    phases
        .iter()
        .filter_map(|p| s.phase(*p))
        .filter_map(|st| match (st.started_at, st.finished_at) {
            (Some(a), Some(b)) => Some(b.duration_since(a).as_millis().max(0) as u64),
            _ => None,
        })
        .sum()
}

/// Distinct serious-or-not findings by severity: (critical, important, advisory).
pub fn findings_by_severity(reviews: &[Review]) -> (u64, u64, u64) {
    let mut seen = BTreeSet::new();
    let (mut c, mut i, mut a) = (0, 0, 0);
    for r in reviews {
        let pr = r.pr_number;
        for f in &r.findings {
            let key = match &f.fingerprint {
                Some(fp) => format!("{pr}|{fp}"),
                None => format!(
                    "{pr}|{}|{}|{}",
                    f.file,
                    f.category,
                    crate::lessons::fingerprint("", &f.description)
                ),
            };
            if !seen.insert(key) {
                continue;
            }
            match f.severity {
                Severity::Critical => c += 1,
                Severity::Important => i += 1,
                Severity::Advisory => a += 1,
            }
        }
    }
    (c, i, a)
}

fn refs_u64(e: &Event, key: &str) -> Option<u64> {
    e.refs.get(key).and_then(Value::as_u64)
}

/// Build the scorecard document. `lessons_generated` is the number of new lessons this
/// session added; `now` its completion time.
pub fn scorecard(rec: &SessionRecord, lessons_generated: u64, now: Timestamp) -> Value {
    let s = &rec.session;
    let reviews = rec.review_docs();

    // Review cycles per reviewed pull request.
    let mut cycles: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &reviews {
        *cycles.entry(r.pr_number).or_default() += 1;
    }
    let (cycles_total, cycles_avg) = if cycles.is_empty() {
        let total = u64::from(s.counters.review_cycles);
        let prs = s.pull_requests.len().max(1) as f64;
        let avg = if total == 0 { 1.0 } else { total as f64 / prs };
        (total, avg)
    } else {
        let total: u64 = cycles.values().sum();
        (total, total as f64 / cycles.len() as f64)
    };
    let cycles_avg = (cycles_avg * 100.0).round() / 100.0;

    let (critical, important, advisory) = findings_by_severity(&reviews);

    let mut flagged: BTreeSet<u64> = reviews
        .iter()
        .filter(|r| r.scope_compliance.out_of_scope_violation)
        .map(|r| r.pr_number)
        .collect();
    let mut scope_violations = 0u64;
    for e in rec.events.iter().filter(|e| e.action == "preflight") {
        let n = refs_u64(e, "scope_violations").unwrap_or(0);
        if n == 0 {
            continue;
        }
        match refs_u64(e, "pr") {
            Some(pr) => {
                flagged.insert(pr);
            }
            None => scope_violations += n,
        }
    }
    scope_violations += flagged.len() as u64;

    let escaped = rec
        .events
        .iter()
        .filter(|e| e.refs.get("kind").and_then(Value::as_str) == Some("escaped-defect"))
        .count() as u64;
    let regressions = rec
        .events
        .iter()
        .filter(|e| e.action == "verify" && e.status == "failed")
        .count() as u64
        + u64::from(s.counters.recurrence);

    let inputs = ScoreInputs {
        review_cycles_avg: cycles_avg,
        retries: u64::from(s.counters.implementation_retries),
        critical,
        important,
        scope_violations,
        escaped_defects: escaped,
        post_merge_regressions: regressions,
        lessons_extracted: lessons_generated,
    };
    let sc = score(&inputs);

    let last = s
        .phases
        .values()
        .filter_map(|p| p.finished_at)
        .max()
        .unwrap_or(now)
        .max(s.created_at);
    let total_ms = last.duration_since(s.created_at).as_millis().max(0) as u64;
    let timing = json!({
        "total_duration_ms": total_ms,
        "planning_ms": phase_ms(s, &[PhaseName::StrategicPlan, PhaseName::IssueCreation, PhaseName::TacticalPlan]),
        "implementation_ms": phase_ms(s, &[PhaseName::Implementation]),
        "review_ms": phase_ms(s, &[PhaseName::CodeReview]),
        "merge_ms": phase_ms(s, &[PhaseName::Merge]),
    });

    // Task issues only: the parent issue of a plan (no task id) is not a task.
    let task_issues = s.issues.iter().filter(|i| i.task_id.is_some()).count();
    let total = task_issues.max(s.pull_requests.len()) as u64;
    let completed = s.pull_requests.iter().filter(|p| p.merged).count() as u64;
    let open = total.saturating_sub(completed);
    let merge_done = s
        .phase(PhaseName::Merge)
        .is_some_and(|p| p.status == PhaseStatus::Completed);
    let (failed, blocked) = if s.escalation.is_some() {
        (0, open)
    } else if merge_done {
        (open, 0)
    } else {
        (0, open)
    };

    let mut card = json!({
        "schema_version": "1.0",
        "session_id": s.id,
        "feature_title": first_line(&s.request, 120),
        "change_class": s.change_class.to_string(),
        "completed_at": now.to_string(),
        "timing": timing,
        "tasks": {"total": total, "completed": completed, "failed": failed, "blocked": blocked},
        "quality": {
            "review_cycles_total": cycles_total,
            "review_cycles_avg": cycles_avg,
            "retries_total": s.counters.implementation_retries,
            "security_findings": {"critical": critical, "important": important, "advisory": advisory},
            "scope_violations": scope_violations,
            "escaped_defects": escaped,
            "post_merge_regressions": regressions,
        },
        "lessons_generated": lessons_generated,
        "score": sc,
        "band": band(sc).as_str(),
    });
    let usage = agent_usage(&rec.events);
    let obj = card.as_object_mut().expect("object");
    if usage.tokens_total > 0 {
        let mut t = Map::new();
        t.insert("total".into(), usage.tokens_total.into());
        for (k, v) in [
            ("planning", usage.tokens_planning),
            ("implementation", usage.tokens_implementation),
            ("review", usage.tokens_review),
        ] {
            if v > 0 {
                t.insert(k.into(), v.into());
            }
        }
        obj.insert("tokens".into(), Value::Object(t));
    }
    if usage.cost_usd > 0.0 {
        obj.insert(
            "cost_usd".into(),
            json!((usage.cost_usd * 10_000.0).round() / 10_000.0),
        );
    }
    let by_phase: Map<String, Value> = crate::state::ledger::by_phase(&rec.session)
        .into_iter()
        .filter(|(_, s)| s.cost_usd > 0.0)
        .map(|(p, s)| (p, json!((s.cost_usd * 10_000.0).round() / 10_000.0)))
        .collect();
    if !by_phase.is_empty() {
        obj.insert("cost_by_phase".into(), Value::Object(by_phase));
    }
    card
}

/// Validate a scorecard against its contract (schema and SC001/SC002).
pub fn check(card: &Value) -> Result<(), ScorecardError> {
    let v = contracts::validate(Contract::Scorecard, card, Default::default());
    if v.is_empty() {
        Ok(())
    } else {
        Err(ScorecardError::InvalidScorecard(
            v.iter()
                .map(|v| format!("{} {}: {}", v.code, v.pointer, v.message))
                .collect::<Vec<_>>()
                .join("; "),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{ChangeClass, Trigger};

    fn record(reviews: Vec<Value>, events: Vec<Event>) -> SessionRecord {
        let mut s = Session::new(
            "Do it\nmore text".into(),
            ChangeClass::Feature,
            Trigger::User,
            vec![PhaseName::Intake, PhaseName::Merge],
        );
        s.created_at = "2026-11-30T00:00:00Z".parse().unwrap();
        SessionRecord {
            session: s,
            events,
            reviews: reviews
                .into_iter()
                .map(|v| (PathBuf::from("r.json"), v))
                .collect(),
            packs: Vec::new(),
        }
    }

    fn now() -> Timestamp {
        "2026-11-30T01:00:00Z".parse().unwrap()
    }

    #[test]
    fn without_reviews_the_session_counters_give_the_cycles() {
        let mut rec = record(vec![], vec![]);
        let card = scorecard(&rec, 0, now());
        assert_eq!(card["quality"]["review_cycles_avg"], 1.0);
        assert_eq!(card["score"], 100);
        assert_eq!(card["feature_title"], "Do it");
        rec.session.counters.review_cycles = 3;
        rec.session
            .pull_requests
            .push(crate::state::PullRequestRef {
                number: 1,
                issue: None,
                merged: true,
                ..Default::default()
            });
        let card = scorecard(&rec, 0, now());
        assert_eq!(card["quality"]["review_cycles_avg"], 3.0);
        assert_eq!(card["score"], 80);
        check(&card).unwrap();
    }

    #[test]
    fn a_disastrous_session_is_clamped_to_zero_and_still_valid() {
        let findings: Vec<Value> = (0..7)
            .map(|i| json!({"severity": "critical", "category": "injection", "file": format!("f{i}.rs"), "description": format!("bad {i}"), "recommendation": "fix"}))
            .collect();
        let review = json!({"pr_number": 1, "verdict": "REQUEST_CHANGES", "findings": findings});
        let e: Event = serde_json::from_value(json!({"ts": "2026-11-30T00:30:00Z", "action": "preflight", "status": "failed", "refs": {"scope_violations": 2}})).unwrap();
        let card = scorecard(&record(vec![review], vec![e]), 0, now());
        assert_eq!(card["quality"]["security_findings"]["critical"], 7);
        assert_eq!(card["quality"]["scope_violations"], 2);
        assert_eq!(card["score"], 0);
        assert_eq!(card["band"], "critical");
        check(&card).unwrap();
    }

    #[test]
    fn token_usage_is_bucketed_by_phase_and_agent() {
        let ev = |phase: &str, tool: &str, tokens: u64| -> Event {
            serde_json::from_value(json!({"ts": "2026-11-30T00:30:00Z", "phase": phase, "action": "invoke_agent", "tool": tool, "status": "ok", "refs": {"input_tokens": tokens, "output_tokens": 0, "cost_usd": 0.01}})).unwrap()
        };
        let u = agent_usage(&[
            ev("tactical_plan", "claude", 10),
            ev("code_review", "codex", 5),
            ev("code_review", "claude", 1),
        ]);
        assert_eq!(
            (u.tokens_total, u.tokens_planning, u.tokens_review),
            (16, 10, 6)
        );
        assert_eq!(u.per_agent["claude"].2, 2);
    }
}
