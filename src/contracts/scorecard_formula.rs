//! The scorecard formula (docs/METRICS.md). It belongs to the scorecard contract: the contract
//! check, the scorecard command and the reports all compute the score here.
//!
//! score = 100 − (review_cycles_avg − 1)·10 − retries·5 − critical·20 − important·5
//!             − scope_violations·15 − escaped_defects·25 − post_merge_regressions·25
//!             + lessons_extracted·2, rounded to the nearest integer and clamped to 0–100.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the formula reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreInputs {
    /// Average review cycles per pull request; 1 (no penalty) when nothing was reviewed.
    pub review_cycles_avg: f64,
    pub retries: u64,
    pub critical: u64,
    pub important: u64,
    pub scope_violations: u64,
    pub escaped_defects: u64,
    pub post_merge_regressions: u64,
    pub lessons_extracted: u64,
}

impl ScoreInputs {
    /// Read the inputs from a scorecard document (missing counts are 0, a missing average 1).
    pub fn from_scorecard(doc: &Value) -> ScoreInputs {
        let q = &doc["quality"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        ScoreInputs {
            review_cycles_avg: q["review_cycles_avg"].as_f64().unwrap_or(1.0),
            retries: n(&q["retries_total"]),
            critical: n(&q["security_findings"]["critical"]),
            important: n(&q["security_findings"]["important"]),
            scope_violations: n(&q["scope_violations"]),
            escaped_defects: n(&q["escaped_defects"]),
            post_merge_regressions: n(&q["post_merge_regressions"]),
            lessons_extracted: n(&doc["lessons_generated"]),
        }
    }
}

/// The score, 0–100.
pub fn score(i: &ScoreInputs) -> u8 {
    let raw = 100.0
        - (i.review_cycles_avg - 1.0) * 10.0
        - i.retries as f64 * 5.0
        - i.critical as f64 * 20.0
        - i.important as f64 * 5.0
        - i.scope_violations as f64 * 15.0
        - i.escaped_defects as f64 * 25.0
        - i.post_merge_regressions as f64 * 25.0
        + i.lessons_extracted as f64 * 2.0;
    raw.round().clamp(0.0, 100.0) as u8
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Excellent,
    Good,
    Fair,
    Poor,
    Critical,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Excellent => "excellent",
            Band::Good => "good",
            Band::Fair => "fair",
            Band::Poor => "poor",
            Band::Critical => "critical",
        }
    }
}

/// ≥ 90 excellent, ≥ 75 good, ≥ 60 fair, ≥ 40 poor, below critical.
pub fn band(score: u8) -> Band {
    match score {
        90.. => Band::Excellent,
        75..=89 => Band::Good,
        60..=74 => Band::Fair,
        40..=59 => Band::Poor,
        _ => Band::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ScoreInputs {
        ScoreInputs {
            review_cycles_avg: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn perfect_run_scores_100_and_lessons_cannot_exceed_it() {
        assert_eq!(score(&base()), 100);
        assert_eq!(
            score(&ScoreInputs {
                lessons_extracted: 10,
                ..base()
            }),
            100
        );
    }

    #[test]
    fn each_term_weighs_as_documented() {
        assert_eq!(
            score(&ScoreInputs {
                review_cycles_avg: 2.5,
                ..base()
            }),
            85
        );
        assert_eq!(
            score(&ScoreInputs {
                retries: 2,
                ..base()
            }),
            90
        );
        assert_eq!(
            score(&ScoreInputs {
                critical: 1,
                ..base()
            }),
            80
        );
        assert_eq!(
            score(&ScoreInputs {
                important: 3,
                ..base()
            }),
            85
        );
        assert_eq!(
            score(&ScoreInputs {
                scope_violations: 1,
                ..base()
            }),
            85
        );
        assert_eq!(
            score(&ScoreInputs {
                escaped_defects: 1,
                ..base()
            }),
            75
        );
        assert_eq!(
            score(&ScoreInputs {
                post_merge_regressions: 1,
                ..base()
            }),
            75
        );
        assert_eq!(
            score(&ScoreInputs {
                important: 2,
                lessons_extracted: 1,
                ..base()
            }),
            92
        );
    }

    #[test]
    fn clamps_at_zero_and_rounds() {
        assert_eq!(
            score(&ScoreInputs {
                critical: 9,
                ..base()
            }),
            0
        );
        assert_eq!(
            score(&ScoreInputs {
                review_cycles_avg: 1.33,
                ..base()
            }),
            97
        );
        assert_eq!(
            score(&ScoreInputs {
                review_cycles_avg: 0.0,
                ..base()
            }),
            100
        );
    }

    #[test]
    fn bands_have_inclusive_lower_bounds() {
        assert_eq!(band(100), Band::Excellent);
        assert_eq!(band(90), Band::Excellent);
        assert_eq!(band(89), Band::Good);
        assert_eq!(band(75), Band::Good);
        assert_eq!(band(74), Band::Fair);
        assert_eq!(band(60), Band::Fair);
        assert_eq!(band(59), Band::Poor);
        assert_eq!(band(40), Band::Poor);
        assert_eq!(band(39), Band::Critical);
        assert_eq!(band(0), Band::Critical);
    }
}
