//! Lesson: dates in order.

use serde_json::Value;

use super::Violation;

pub(crate) fn check(lesson: &Value) -> Vec<Violation> {
    let parse = |k: &str| {
        lesson[k]
            .as_str()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    };
    match (parse("ts"), parse("last_seen")) {
        (Some(created), Some(last)) if last < created => vec![Violation::new(
            "LS001",
            "/last_seen",
            format!("expected a time at or after ts ({created}), found {last}"),
        )],
        _ => Vec::new(),
    }
}
