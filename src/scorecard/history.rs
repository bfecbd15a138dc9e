//! Scorecards over time: every `scorecards/*.json`, oldest first, for `factory scorecard
//! --history` and for retiring stale lessons.

use std::path::Path;

use serde_json::Value;

use super::from_session::ScorecardError;

/// Every scorecard in `dir`, sorted by completion time. Files that are not JSON are errors
/// naming the file.
pub fn load(dir: &Path) -> Result<Vec<Value>, ScorecardError> {
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
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ScorecardError::Io {
            action: "read",
            path: path.clone(),
            message: e.to_string(),
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| ScorecardError::Io {
            action: "parse",
            path: path.clone(),
            message: format!("line {}, column {}: not JSON", e.line(), e.column()),
        })?;
        out.push(v);
    }
    // Compare instants, not strings: RFC 3339 texts with different fraction lengths do not
    // sort as text. Session ids (time-prefixed) break ties.
    out.sort_by(|a, b| {
        let t = |v: &Value| {
            v["completed_at"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        };
        let id = |v: &Value| v["session_id"].as_str().unwrap_or("").to_string();
        t(a).cmp(&t(b)).then_with(|| id(a).cmp(&id(b)))
    });
    Ok(out)
}

/// The components compared across sessions: label, JSON pointer.
pub const COMPONENTS: &[(&str, &str)] = &[
    ("score", "/score"),
    ("review cycles avg", "/quality/review_cycles_avg"),
    ("retries", "/quality/retries_total"),
    ("critical", "/quality/security_findings/critical"),
    ("important", "/quality/security_findings/important"),
    ("scope violations", "/quality/scope_violations"),
    ("escaped defects", "/quality/escaped_defects"),
    ("regressions", "/quality/post_merge_regressions"),
    ("lessons", "/lessons_generated"),
];

/// A component's value (missing counts are 0; a missing review average is 1).
pub fn component(card: &Value, pointer: &str) -> f64 {
    card.pointer(pointer).and_then(Value::as_f64).unwrap_or(
        if pointer == "/quality/review_cycles_avg" {
            1.0
        } else {
            0.0
        },
    )
}

/// Trend of one component: (first, last, mean) over the cards.
pub fn trend(cards: &[Value], pointer: &str) -> Option<(f64, f64, f64)> {
    let vals: Vec<f64> = cards.iter().map(|c| component(c, pointer)).collect();
    let first = *vals.first()?;
    let last = *vals.last()?;
    Some((first, last, vals.iter().sum::<f64>() / vals.len() as f64))
}
