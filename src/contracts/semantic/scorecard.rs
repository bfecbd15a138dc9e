//! Scorecard: the stored score and band equal the formula in docs/METRICS.md.

use serde_json::Value;

use crate::contracts::scorecard_formula::{ScoreInputs, band, score};

use super::Violation;

pub(crate) fn check(card: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let expected = score(&ScoreInputs::from_scorecard(card));
    if let Some(stored) = card["score"].as_u64()
        && stored != u64::from(expected)
    {
        out.push(Violation::new(
            "SC001",
            "/score",
            format!("expected {expected} from the formula (docs/METRICS.md), found {stored}"),
        ));
    }
    if let Some(stored) = card["band"].as_str() {
        let want = band(expected).as_str();
        if stored != want {
            out.push(Violation::new(
                "SC002",
                "/band",
                format!("expected `{want}` for score {expected}, found `{stored}`"),
            ));
        }
    }
    let tasks = &card["tasks"];
    let n = |k: &str| tasks[k].as_u64().unwrap_or(0);
    if n("completed") + n("failed") > n("total") {
        out.push(Violation::new(
            "SC003",
            "/tasks",
            format!(
                "completed ({}) + failed ({}) exceed total ({})",
                n("completed"),
                n("failed"),
                n("total")
            ),
        ));
    }
    out
}
