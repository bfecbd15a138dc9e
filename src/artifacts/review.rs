//! `artifacts/reviews/<pr>-<cycle>.json`: one review of one pull request (the review-output
//! contract, docs/contracts.md#review-output), as the readers of a stored review see it. The
//! review engine builds and checks the document; reports, status, lessons and merge read it
//! back through [`Review`].

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    #[serde(rename = "APPROVE")]
    Approve,
    #[serde(rename = "REQUEST_CHANGES")]
    RequestChanges,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "APPROVE",
            Verdict::RequestChanges => "REQUEST_CHANGES",
        }
    }
}

/// How bad a finding is, worst first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Important,
    Advisory,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Important, Severity::Advisory];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Important => "important",
            Severity::Advisory => "advisory",
        }
    }
}

/// One finding of a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub category: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u64>,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub recommendation: String,
    /// The reviewer sees no clear fix: a critical one goes to a person, not back to the agent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_clear_fix: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preventive_rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusability_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Finding {
    /// `file:line`, or the file alone when the finding has no line.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The scope verdict of a review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeCompliance {
    #[serde(default)]
    pub in_scope_match: bool,
    #[serde(default)]
    pub out_of_scope_violation: bool,
    #[serde(default)]
    pub scope_expansion_detected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A stored review, the fields its readers use (the document has more: security assessment,
/// test coverage, the coverage of a chunked review).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub pr_number: u64,
    pub verdict: Verdict,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub scope_compliance: ScopeCompliance,
    #[serde(default)]
    pub summary: String,
}

impl Review {
    /// A review from a document that passed the review-output contract.
    pub fn from_value(doc: &Value) -> Result<Review, serde_json::Error> {
        Review::deserialize(doc)
    }

    /// Read a stored review; the error names the file.
    pub fn load(path: &Path) -> Result<Review, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The verdict of a stored review and how many findings it has: all `factory status` shows,
/// read without the rest of the document.
#[derive(Debug, Clone, Deserialize)]
pub struct Headline {
    pub verdict: Verdict,
    #[serde(default)]
    findings: Vec<serde::de::IgnoredAny>,
}

impl Headline {
    /// Read the headline of a stored review; the error names the file.
    pub fn load(path: &Path) -> Result<Headline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn findings(&self) -> usize {
        self.findings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_valid_review_reads_as_a_review() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("evals/plans/valid-review-output.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let r = Review::from_value(&doc).unwrap();
        assert_eq!(r.verdict.as_str(), doc["verdict"].as_str().unwrap());
        assert_eq!(r.pr_number, doc["pr_number"].as_u64().unwrap());
        assert_eq!(r.findings.len(), doc["findings"].as_array().unwrap().len());
        assert!(!r.findings.is_empty(), "the example has findings to read");
        assert_eq!(Review::load(&path).unwrap(), r);
    }

    #[test]
    fn severities_sort_worst_first_and_verdicts_keep_their_spelling() {
        let mut s = vec![Severity::Advisory, Severity::Critical, Severity::Important];
        s.sort();
        assert_eq!(s, Severity::ALL);
        let r: Review = serde_json::from_value(serde_json::json!({
            "pr_number": 4, "verdict": "REQUEST_CHANGES",
            "findings": [{"severity": "critical", "category": "secrets", "file": "a.py", "line": 3,
                          "description": "key", "recommendation": "remove"}],
            "scope_compliance": {"in_scope_match": true, "out_of_scope_violation": false},
            "summary": "s"
        }))
        .unwrap();
        assert_eq!(r.verdict, Verdict::RequestChanges);
        assert_eq!(r.count(Severity::Critical), 1);
        assert_eq!(r.findings[0].location(), "a.py:3");
    }
}
