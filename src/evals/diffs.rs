//! The `diffs` suite: adversarial diffs through the preflight engine. Each case lists the exact
//! findings (rule id, path, line, severity) it must produce; unless a case says otherwise,
//! nothing else may fire.

use std::path::Path;

use serde::Deserialize;

use super::{CaseResult, Config, EvalError, finding_key, read_json};
use crate::findings::Severity;
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine};
use crate::preflight::packs;
use crate::preflight::scope::Scope;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    cases: Vec<Case>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The unified diff, relative to the manifest.
    diff: String,
    /// A scope file (`files_in_scope`, `files_out_of_scope`, `change_class`).
    #[serde(default)]
    scope: Option<String>,
    /// Heuristics packs whose `preflight_patterns` join the rules.
    #[serde(default)]
    packs: Vec<String>,
    /// An offline OSV database directory for the dependency audit.
    #[serde(default)]
    osv: Option<String>,
    /// The findings must be exactly `expected` (the default); `false` only requires them.
    #[serde(default = "yes")]
    nothing_else_fires: bool,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    expected: Vec<Expected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule_id: String,
    path: String,
    line: u32,
    severity: Severity,
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let dir = config.dir.join("diffs");
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.exists() {
        return Ok(Vec::new());
    }
    let manifest: Manifest = read_json(&manifest_path)?;
    let plain = Engine::new((config.rules)(), None);
    let mut results = Vec::new();
    let mut names = std::collections::HashSet::new();
    for case in &manifest.cases {
        if !names.insert(case.name.as_str()) {
            return Err(EvalError::fixture(
                &manifest_path,
                format!("case name `{}` is used twice", case.name),
            ));
        }
        results.push(run_case(config, &dir, case, &plain)?);
    }
    Ok(results)
}

fn run_case(
    config: &Config,
    dir: &Path,
    case: &Case,
    plain: &Engine,
) -> Result<CaseResult, EvalError> {
    let diff_path = dir.join(&case.diff);
    let text = std::fs::read(&diff_path)
        .map_err(|e| EvalError::fixture(&diff_path, format!("cannot read: {e}")))?;
    // A case with a scope or packs needs its own engine; the rest share one.
    let custom;
    let engine = if case.scope.is_some() || !case.packs.is_empty() {
        let scope = match &case.scope {
            Some(s) => {
                let path = dir.join(s);
                Some(Scope::load(&path).map_err(|e| EvalError::fixture(&path, format!("{e:#}")))?)
            }
            None => None,
        };
        let mut rules = (config.rules)();
        for p in &case.packs {
            let path = dir.join(p);
            rules.extend(packs::load(&path).map_err(|e| EvalError::fixture(&path, e))?);
        }
        custom = Engine::new(rules, scope);
        &custom
    } else {
        plain
    };
    let audit = match &case.osv {
        Some(o) => {
            let path = dir.join(o);
            if !path.is_dir() {
                return Err(EvalError::fixture(
                    &path,
                    "the case's `osv` must name an OSV database directory",
                ));
            }
            AuditSource::Offline { dir: path }
        }
        None => AuditSource::Off,
    };
    let mut report = engine
        .scan(text.as_slice())
        .map_err(|e| EvalError::fixture(&diff_path, e))?;
    engine::finish(&mut report, &audit, None).map_err(|e| EvalError::fixture(&diff_path, e))?;

    let mut expected: Vec<String> = case
        .expected
        .iter()
        .map(|e| format!("{} {}:{} {}", e.rule_id, e.path, e.line, e.severity))
        .collect();
    expected.sort();
    let mut actual: Vec<String> = report.findings.iter().map(finding_key).collect();
    actual.sort();
    if !case.nothing_else_fires {
        // Only the expected findings are judged; others are left out of the comparison.
        actual.retain(|a| expected.contains(a));
    }
    Ok(CaseResult::compare(case.name.clone(), expected, actual))
}
