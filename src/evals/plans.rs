//! The `plans` suite: every document in `plans/manifest.json` validated against its contract;
//! the verdict (valid or not) and the exact set of violation codes must match.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{CaseResult, Config, EvalError, Manifest, read_json};
use crate::contracts::{self, Context, Contract};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The document, relative to the manifest.
    file: String,
    /// Contract name, e.g. `strategic-plan`.
    contract: String,
    valid: bool,
    /// Every violation code the document must produce (`SCHEMA` for schema errors).
    codes: Vec<String>,
    /// The strategic plan a tactical plan is checked against.
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

fn read_doc(path: &Path) -> Result<Value, EvalError> {
    contracts::input::read_json(path).map_err(|e| EvalError::fixture(path, e))
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let dir = config.dir.join("plans");
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.exists() {
        return Ok(Vec::new());
    }
    let manifest: Manifest<Case> = read_json(&manifest_path)?;
    let mut results = Vec::new();
    for case in manifest.cases {
        let contract = Contract::from_name(&case.contract).ok_or_else(|| {
            EvalError::fixture(
                &manifest_path,
                format!(
                    "case `{}`: unknown contract `{}`; use a name from `factory schema list`",
                    case.file, case.contract
                ),
            )
        })?;
        if case.valid != case.codes.is_empty() {
            return Err(EvalError::fixture(
                &manifest_path,
                format!(
                    "case `{}`: `valid` is {} but `codes` lists {} code(s); a valid document has none",
                    case.file,
                    case.valid,
                    case.codes.len()
                ),
            ));
        }
        let document = read_doc(&dir.join(&case.file))?;
        let plan = case
            .plan
            .as_ref()
            .map(|p| read_doc(&dir.join(p)))
            .transpose()?;
        let violations = contracts::validate(
            contract,
            &document,
            Context {
                strategic_plan: plan.as_ref(),
            },
        );
        let verdict = |valid: bool| if valid { "valid" } else { "invalid" }.to_string();
        let mut expected = vec![verdict(case.valid)];
        expected.extend(case.codes.iter().cloned().collect::<BTreeSet<_>>());
        let mut actual = vec![verdict(violations.is_empty())];
        actual.extend(
            violations
                .iter()
                .map(|v| v.code.to_string())
                .collect::<BTreeSet<_>>(),
        );
        results.push(CaseResult::compare(case.file, expected, actual));
    }
    Ok(results)
}
