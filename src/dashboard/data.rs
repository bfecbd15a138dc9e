//! The JSON behind the seven views, read from a `.factory/` directory. The dashboard serves
//! these documents under `/api/` and `factory report --html` embeds them in one file; both
//! render them with the same page script (docs/dashboard.md documents the shapes).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::tail::Entry;
use crate::artifacts::review::{Review, Severity};
use crate::report::outcome;
use crate::state::{PhaseStatus, Session, StateDir, parse_session};

/// How many timeline entries a view returns at most (the newest ones).
pub const DEFAULT_LIMIT: usize = 500;

/// Errors of the dashboard's data layer.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(
        "session {0:?} is not a session id (letters, digits, '-', '_' and '.'; see `GET /api/sessions`)"
    )]
    BadSessionId(String),
    #[error(
        "no archived session {id:?} under {dir}: list the sessions with `GET /api/sessions` (or `ls .factory/sessions`)"
    )]
    UnknownSession { id: String, dir: PathBuf },
    #[error("no session in {0}: nothing has run here yet; start one with `factory run`")]
    NoSession(PathBuf),
}

/// Which session a view is about: the current one, or one archived under `sessions/<id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Current,
    Archived(String),
}

impl Which {
    /// `None` or the current session's own id select the current session.
    pub fn parse(root: &Path, id: Option<&str>) -> Result<Which, DashboardError> {
        let Some(id) = id.filter(|s| !s.is_empty()) else {
            return Ok(Which::Current);
        };
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || id.starts_with('.')
        {
            return Err(DashboardError::BadSessionId(id.to_string()));
        }
        let dir = root.join("sessions").join(id);
        // Nothing reached through a link is served.
        if crate::state::no_links_below(root, &Path::new("sessions").join(id).join("session.json"))
            .is_err()
        {
            return Err(DashboardError::UnknownSession {
                id: id.to_string(),
                dir: root.join("sessions"),
            });
        }
        if dir.join("session.json").is_file() {
            return Ok(Which::Archived(id.to_string()));
        }
        if let Some(Ok(current)) = read_session(&root.join("session.json"))
            && current.id == id
        {
            return Ok(Which::Current);
        }
        Err(DashboardError::UnknownSession {
            id: id.to_string(),
            dir: root.join("sessions"),
        })
    }

    /// The directory holding the session's session.json and artifacts/.
    pub fn dir(&self, root: &Path) -> PathBuf {
        match self {
            Which::Current => root.to_path_buf(),
            Which::Archived(id) => root.join("sessions").join(id),
        }
    }
}

fn read_session(path: &Path) -> Option<Result<Session, String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(parse_session(path, &bytes).map_err(|e| e.to_string()))
}

/// The session of `which`, if it exists and parses.
pub fn load_session(root: &Path, which: &Which) -> Option<Session> {
    read_session(&which.dir(root).join("session.json")).and_then(Result::ok)
}

/// `GET /api/sessions`: the current session's id and the archived ones, newest first.
pub fn sessions(root: &Path) -> Value {
    let current = read_session(&root.join("session.json")).and_then(|r| r.ok().map(|s| s.id));
    let mut archived: Vec<String> = std::fs::read_dir(root.join("sessions"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("session.json").is_file())
        .filter(|e| {
            let rel = Path::new("sessions")
                .join(e.file_name())
                .join("session.json");
            crate::state::no_links_below(root, &rel).is_ok()
        })
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    archived.sort_by(|a, b| b.cmp(a));
    json!({"current": current, "archived": archived})
}

/// The session view: phases with durations, counters, cost, escalation and the next step.
pub fn session(root: &Path, which: &Which) -> Value {
    let path = which.dir(root).join("session.json");
    let s = match read_session(&path) {
        None => {
            return json!({"present": false, "message": DashboardError::NoSession(root.to_path_buf()).to_string()});
        }
        Some(Err(e)) => return json!({"present": false, "error": e}),
        Some(Ok(s)) => s,
    };
    let phases: Vec<Value> = s
        .route
        .iter()
        .map(|p| {
            let st = s.phase(*p).cloned().unwrap_or_default();
            let duration_ms = match (st.started_at, st.finished_at) {
                (Some(a), Some(b)) => Some(b.duration_since(a).as_millis().max(0) as u64),
                _ => None,
            };
            json!({
                "number": p.number(),
                "name": p.as_str(),
                "status": st.status.as_str(),
                "attempts": st.attempts,
                "started_at": st.started_at,
                "finished_at": st.finished_at,
                "duration_ms": duration_ms,
                "artifact": st.artifact,
                "detail": st.detail,
            })
        })
        .collect();
    let current = s
        .route
        .iter()
        .find(|p| {
            s.phase(**p)
                .is_some_and(|st| st.status == PhaseStatus::Running)
        })
        .or_else(|| {
            s.next_phase()
                .as_ref()
                .and_then(|n| s.route.iter().find(|p| *p == n))
        })
        .map(|p| p.as_str());
    let cost: f64 = s
        .usage
        .iter()
        .filter_map(|u| u.cost_usd)
        .fold(0.0, |a, b| a + b);
    let tokens: u64 = s
        .usage
        .iter()
        .map(|u| u.input_tokens + u.output_tokens)
        .sum();
    json!({
        "present": true,
        "archived": matches!(which, Which::Archived(_)),
        "id": s.id,
        "request": s.request,
        "change_class": s.change_class.as_str(),
        "trigger": s.trigger.as_str(),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "state": outcome(&s),
        "current_phase": current,
        "next_step": crate::report::next_step(&s),
        "phases": phases,
        "counters": s.counters,
        "escalation": s.escalation,
        "cost_usd": cost,
        "tokens": tokens,
        "agent_calls": s.usage.len(),
    })
}

/// The events of one session (or every event when `sid` is None), malformed lines included.
fn of_session<'a>(entries: &'a [Entry], sid: Option<&'a str>) -> impl Iterator<Item = &'a Entry> {
    entries.iter().filter(move |e| match (e.event(), sid) {
        (_, None) | (None, _) => true,
        (Some(ev), Some(sid)) => ev.sid.as_deref() == Some(sid),
    })
}

/// The timeline view: the newest `limit` entries of the session, each with the time since
/// the entry before it.
pub fn timeline(entries: &[Entry], sid: Option<&str>, limit: usize) -> Value {
    let picked: Vec<&Entry> = of_session(entries, sid).collect();
    let total = picked.len();
    let skip = total.saturating_sub(limit);
    let malformed = picked.iter().filter(|e| e.event().is_none()).count();
    let mut prev: Option<jiff::Timestamp> = None;
    let mut out = Vec::new();
    for (i, e) in picked.iter().enumerate() {
        let gap = e.event().and_then(|ev| {
            let g = prev.map(|p| ev.ts.duration_since(p).as_millis().max(0) as u64);
            prev = Some(ev.ts);
            g
        });
        if i >= skip {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let (Some(g), Some(obj)) = (gap, v.as_object_mut()) {
                obj.insert("gap_ms".into(), json!(g));
            }
            out.push(v);
        }
    }
    json!({"total": total, "shown": out.len(), "malformed": malformed, "entries": out})
}

/// The decisions view: every event of the session that records a decision, with its detail.
pub fn decisions(entries: &[Entry], sid: Option<&str>) -> Value {
    let out: Vec<Value> = of_session(entries, sid)
        .filter_map(|e| {
            let ev = e.event()?;
            let decision = ev.decision.as_ref()?;
            Some(json!({
                "line": e.line(),
                "ts": ev.ts,
                "phase": ev.phase,
                "action": ev.action,
                "status": ev.status,
                "decision": decision,
                "detail": ev.detail,
            }))
        })
        .collect();
    json!({"decisions": out})
}

/// The kanban view: the session's issues by state (open, in review, merged), each with its
/// wave, and the waves in order with their status.
pub fn kanban(session: Option<&Session>) -> Value {
    let mut open = Vec::new();
    let mut review = Vec::new();
    let mut merged = Vec::new();
    if let Some(s) = session {
        for issue in &s.issues {
            let prs: Vec<&crate::state::PullRequestRef> = s
                .pull_requests
                .iter()
                .filter(|p| p.issue == Some(issue.number))
                .collect();
            let card = json!({
                "issue": issue.number,
                "task_id": issue.task_id,
                "branch": issue.branch,
                "pull_requests": prs.iter().map(|p| p.number).collect::<Vec<_>>(),
                "wave": issue.wave,
            });
            if prs.iter().any(|p| p.merged) {
                merged.push(card);
            } else if prs.is_empty() {
                open.push(card);
            } else {
                review.push(card);
            }
        }
        // Pull requests without an issue (should not happen, but show them).
        for pr in s.pull_requests.iter().filter(|p| p.issue.is_none()) {
            let card = json!({"issue": null, "pull_requests": [pr.number]});
            if pr.merged {
                merged.push(card)
            } else {
                review.push(card)
            }
        }
    }
    let waves: Vec<Value> = session
        .map(|s| {
            s.waves
                .iter()
                .map(crate::state::WaveState::summary)
                .collect()
        })
        .unwrap_or_default();
    json!({"columns": [
        {"name": "open", "title": "Open", "cards": open},
        {"name": "in_review", "title": "In review", "cards": review},
        {"name": "merged", "title": "Merged", "cards": merged},
    ], "waves": waves})
}

/// The reviews view: every `artifacts/reviews/<pr>-<cycle>.json`, findings by severity.
pub fn reviews(dir: &Path) -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("artifacts").join("reviews"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let out: Vec<Value> = files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let doc = match std::fs::read_to_string(p)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Review>(&t).map_err(|e| e.to_string()))
            {
                Ok(r) => r,
                Err(e) => return json!({"file": name, "error": format!("cannot read {name}: {e}")}),
            };
            let cycle = name
                .trim_end_matches(".json")
                .rsplit_once('-')
                .and_then(|(_, c)| c.parse::<u64>().ok());
            let mut findings = doc.findings.clone();
            findings.sort_by_key(|f| f.severity);
            json!({
                "file": name,
                "pr": doc.pr_number,
                "cycle": cycle,
                "verdict": doc.verdict.as_str(),
                "summary": doc.summary,
                "counts": {
                    "critical": doc.count(Severity::Critical),
                    "important": doc.count(Severity::Important),
                    "advisory": doc.count(Severity::Advisory),
                },
                "findings": findings.iter().map(|f| json!({
                    "severity": f.severity.as_str(),
                    "category": f.category,
                    "file": f.file,
                    "line": f.line,
                    "description": f.description,
                    "recommendation": f.recommendation,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"reviews": out})
}

/// The scorecards view: every scorecard, oldest first, with the points for the chart.
pub fn scorecards(root: &Path) -> Value {
    let state = StateDir::new(root);
    match crate::scorecard::history::load(&state.scorecards_dir()) {
        Ok(cards) => {
            let rows: Vec<Value> = cards
                .iter()
                .map(|c| {
                    json!({
                        "session_id": c["session_id"],
                        "feature_title": c["feature_title"],
                        "change_class": c["change_class"],
                        "completed_at": c["completed_at"],
                        "score": c["score"],
                        "band": c["band"],
                        "review_cycles_avg": c["quality"]["review_cycles_avg"],
                        "retries": c["quality"]["retries_total"],
                        "cost_usd": c["cost_usd"],
                        "lessons_generated": c["lessons_generated"],
                    })
                })
                .collect();
            json!({"scorecards": rows})
        }
        Err(e) => json!({"scorecards": [], "error": e.to_string()}),
    }
}

/// The lessons view: active lessons first, most often seen first, then the most recent.
pub fn lessons(root: &Path) -> Value {
    let state = StateDir::new(root);
    match crate::lessons::Store::new(state.lessons_dir()).load() {
        Ok(mut all) => {
            all.sort_by(|a, b| {
                b.active()
                    .cmp(&a.active())
                    .then(b.times_seen.cmp(&a.times_seen))
                    .then(b.last_seen_or_created().cmp(&a.last_seen_or_created()))
                    .then(a.id.cmp(&b.id))
            });
            let rows: Vec<Value> = all
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({
                        "rank": i + 1,
                        "id": l.id,
                        "kind": l.kind(),
                        "pattern": l.pattern,
                        "preventive_rule": l.preventive_rule,
                        "hits": l.times_seen,
                        "last_seen": l.last_seen_or_created(),
                        "confidence": l.confidence,
                        "scope": l.scope,
                        "active": l.active(),
                    })
                })
                .collect();
            json!({"lessons": rows})
        }
        Err(e) => json!({"lessons": [], "error": e.to_string()}),
    }
}

/// Every view of one session in one document: what `GET /api/snapshot` returns and what
/// `factory report --html` embeds.
pub fn snapshot(root: &Path, which: &Which, entries: &[Entry], limit: usize) -> Value {
    let session_doc = load_session(root, which);
    let sid = session_doc.as_ref().map(|s| s.id.clone());
    let dir = which.dir(root);
    json!({
        "generated_at": crate::state::now(),
        "state_dir": root.display().to_string(),
        "sessions": sessions(root),
        "session": session(root, which),
        "timeline": timeline(entries, sid.as_deref(), limit),
        "kanban": kanban(session_doc.as_ref()),
        "reviews": reviews(&dir),
        "scorecards": scorecards(root),
        "lessons": lessons(root),
        "decisions": decisions(entries, sid.as_deref()),
    })
}
