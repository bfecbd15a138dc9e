//! The `reviews` suite: recorded reviewer-agent answers run through the real review path, with
//! no agent process: the JSON is extracted from the answer and validated against the
//! review-output contract as `factory review` does ([`structured`]), the diff's machine
//! findings come from preflight, and [`review::merge`] decides the final verdict. A case
//! expects either the final verdict and finding counts, or that the answer is rejected with
//! the given violation codes.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{CaseResult, Config, EvalError, Manifest, read_json};
use crate::agents::structured;
use crate::contracts::Contract;
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine};
use crate::review;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Unique case name, shown in reports.
    name: String,
    /// The recorded agent answer (text, as the agent printed it), relative to the manifest.
    output: String,
    /// The diff under review, whose preflight findings are the machine findings.
    #[serde(default)]
    diff: Option<String>,
    #[serde(default = "default_pr")]
    pr_number: u64,
    expected: Expected,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

fn default_pr() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "outcome", rename_all = "lowercase")]
enum Expected {
    /// The answer passes the contract; the merged review has this verdict and these counts.
    Accepted {
        verdict: String,
        critical: usize,
        important: usize,
        advisory: usize,
    },
    /// The answer is refused; `violations` are the codes (`SCHEMA`, `RV001`, …, or `NO_JSON`).
    Rejected { violations: Vec<String> },
}

impl Expected {
    fn lines(&self) -> Vec<String> {
        match self {
            Expected::Accepted {
                verdict,
                critical,
                important,
                advisory,
            } => vec![
                "accepted".into(),
                format!("verdict {verdict}"),
                format!("critical {critical} important {important} advisory {advisory}"),
            ],
            Expected::Rejected { violations } => {
                let mut v = vec!["rejected".to_string()];
                v.extend(violations.iter().cloned().collect::<BTreeSet<_>>());
                v
            }
        }
    }
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let dir = config.dir.join("reviews");
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.exists() {
        return Ok(Vec::new());
    }
    let manifest: Manifest<Case> = read_json(&manifest_path)?;
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for case in manifest.cases {
        if !seen.insert(case.name.clone()) {
            return Err(EvalError::fixture(
                &manifest_path,
                format!("case name `{}` is used twice", case.name),
            ));
        }
        if let Expected::Rejected { violations } = &case.expected
            && violations.is_empty()
        {
            return Err(EvalError::fixture(
                &manifest_path,
                format!(
                    "case `{}`: a rejected answer lists at least one violation code",
                    case.name
                ),
            ));
        }
        let output_path = dir.join(&case.output);
        let text = std::fs::read_to_string(&output_path)
            .map_err(|e| EvalError::fixture(&output_path, format!("cannot read: {e}")))?;
        let machine = match &case.diff {
            Some(d) => {
                let diff_path = dir.join(d);
                let bytes = std::fs::read(&diff_path)
                    .map_err(|e| EvalError::fixture(&diff_path, format!("cannot read: {e}")))?;
                let engine = Engine::new((config.rules)(), None);
                let mut report = engine
                    .scan(bytes.as_slice())
                    .map_err(|e| EvalError::fixture(&diff_path, e))?;
                engine::finish(&mut report, &AuditSource::Off, None)
                    .map_err(|e| EvalError::fixture(&diff_path, e))?;
                report.findings
            }
            None => Vec::new(),
        };
        let actual = match structured::extract_json(&text) {
            None => vec!["rejected".to_string(), "NO_JSON".to_string()],
            Some(llm) => {
                let problems =
                    structured::violations(Contract::ReviewOutput, &llm, &|_| Vec::new());
                if problems.is_empty() {
                    let merged = review::merge(&machine, &llm, case.pr_number);
                    let invalid =
                        structured::violations(Contract::ReviewOutput, &merged, &|_| Vec::new());
                    let counts = &merged["security_assessment"]["findings_count"];
                    let mut v = vec![
                        "accepted".to_string(),
                        format!("verdict {}", merged["verdict"].as_str().unwrap_or("")),
                        format!(
                            "critical {} important {} advisory {}",
                            counts["critical"], counts["important"], counts["advisory"]
                        ),
                    ];
                    // The merged review must itself satisfy the contract it is stored under.
                    v.extend(invalid.into_iter().map(|p| format!("merged review: {p}")));
                    v
                } else {
                    let mut v = vec!["rejected".to_string()];
                    v.extend(
                        problems
                            .iter()
                            .map(|p| p.split_whitespace().next().unwrap_or("").to_string())
                            .collect::<BTreeSet<_>>(),
                    );
                    v
                }
            }
        };
        results.push(CaseResult::compare(
            case.name,
            case.expected.lines(),
            actual,
        ));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_without_codes_is_a_broken_fixture() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reviews")).unwrap();
        std::fs::write(dir.path().join("reviews/a.txt"), "no json").unwrap();
        std::fs::write(
            dir.path().join("reviews/manifest.json"),
            r#"{"cases": [{"name": "x", "output": "a.txt", "expected": {"outcome": "rejected", "violations": []}}]}"#,
        )
        .unwrap();
        let err = run(&Config::new(dir.path())).unwrap_err().to_string();
        assert!(err.contains("at least one violation code"), "{err}");
    }

    #[test]
    fn the_bundled_cases_pass() {
        let results = run(&Config::new("evals")).unwrap();
        assert!(results.len() >= 5);
        assert!(results.iter().all(|r| !r.failed()), "{results:?}");
    }
}
