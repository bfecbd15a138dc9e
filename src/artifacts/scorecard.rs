//! `scorecards/<sid>.json`: the spec-to-ship scorecard of a completed session (the scorecard
//! contract, docs/METRICS.md), as reports read it back. `crate::scorecard` builds the document;
//! the formula is `crate::contracts::scorecard_formula`.

use serde::Deserialize;

/// Findings by severity, as the scorecard counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct SeverityCounts {
    #[serde(default)]
    pub critical: u64,
    #[serde(default)]
    pub important: u64,
    #[serde(default)]
    pub advisory: u64,
}

/// The inputs of the formula.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Quality {
    #[serde(default)]
    pub review_cycles_total: u64,
    #[serde(default = "one")]
    pub review_cycles_avg: f64,
    #[serde(default)]
    pub retries_total: u64,
    #[serde(default)]
    pub security_findings: SeverityCounts,
    #[serde(default)]
    pub scope_violations: u64,
    #[serde(default)]
    pub escaped_defects: u64,
    #[serde(default)]
    pub post_merge_regressions: u64,
}

fn one() -> f64 {
    1.0
}

/// A stored scorecard, the fields its readers use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Scorecard {
    pub session_id: String,
    pub feature_title: String,
    #[serde(default)]
    pub change_class: Option<String>,
    pub completed_at: String,
    pub quality: Quality,
    pub score: u64,
    #[serde(default)]
    pub band: Option<String>,
    #[serde(default)]
    pub lessons_generated: u64,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

impl Scorecard {
    /// A scorecard from a document that passed its contract.
    pub fn from_value(doc: &serde_json::Value) -> Result<Scorecard, serde_json::Error> {
        Scorecard::deserialize(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scorecard_reads_with_its_formula_inputs() {
        let card = Scorecard::from_value(&serde_json::json!({
            "schema_version": "1.0", "session_id": "s1", "feature_title": "Reset tokens",
            "completed_at": "2026-12-01T10:00:00Z", "timing": {}, "tasks": {},
            "quality": {"review_cycles_avg": 1.5, "retries_total": 2,
                        "security_findings": {"critical": 0, "important": 1}},
            "score": 83, "band": "good", "lessons_generated": 1
        }))
        .unwrap();
        assert_eq!(card.score, 83);
        assert_eq!(card.quality.review_cycles_avg, 1.5);
        assert_eq!(card.quality.security_findings.important, 1);
        assert_eq!(card.quality.security_findings.advisory, 0);
        assert_eq!(card.band.as_deref(), Some("good"));
        let bare = Scorecard::from_value(&serde_json::json!({
            "session_id": "s2", "feature_title": "t", "completed_at": "x", "quality": {}, "score": 100
        }))
        .unwrap();
        assert_eq!(
            bare.quality.review_cycles_avg, 1.0,
            "absent means one cycle"
        );
    }
}
