//! The `rules` suite: every documented rule's failing example must fire it and its passing
//! example must not: the same examples `factory rules doc` publishes, so the documentation
//! users read is also a test. A `rules.json` in the eval directory pins the rule registry:
//! a rule that disappears (or appears without being listed) fails the `registry` case.
//!
//! The examples come from the documented registry ([`builtin`] plus the dependency, scope
//! and suppression checks); detection runs with [`Config::rules`], so a weakened rule set
//! fails here even though its documentation is unchanged.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::{CaseResult, Config, EvalError, finding_key, read_json};
use crate::findings::Finding;
use crate::preflight::dependencies::{self, AuditSource};
use crate::preflight::diff::FileDiff;
use crate::preflight::engine::{self, Engine, ScanReport};
use crate::preflight::rules::{RuleMeta, builtin};
use crate::preflight::scope::{self, Scope};
use crate::preflight::suppress;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registry {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    rules: Vec<String>,
}

/// Every documented rule, in `factory rules list` order.
fn documented() -> Vec<RuleMeta> {
    let mut metas: Vec<RuleMeta> = builtin().iter().map(|r| r.meta().clone()).collect();
    metas.push(dependencies::rule_meta().clone());
    metas.extend(scope::metas().into_iter().cloned());
    metas.push(suppress::SUPPRESSION_MISSING_REASON.clone());
    metas
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let rules = (config.rules)();
    let mut present: BTreeSet<String> = rules.iter().map(|r| r.meta().id.to_string()).collect();
    present.insert(dependencies::rule_meta().id.to_string());
    present.extend(scope::metas().iter().map(|m| m.id.to_string()));
    present.insert(suppress::SUPPRESSION_MISSING_REASON.id.to_string());
    let engine = Engine::new(rules, None);
    let osv = config.dir.join("osv");

    let mut results = Vec::new();
    let registry_path = config.dir.join("rules.json");
    if registry_path.exists() {
        let registry: Registry = read_json(&registry_path)?;
        let pinned: BTreeSet<String> = registry.rules.into_iter().collect();
        let mut problems: Vec<String> = pinned
            .difference(&present)
            .map(|id| format!("`{id}` is pinned in rules.json but not in the registry"))
            .collect();
        problems.extend(
            present
                .difference(&pinned)
                .map(|id| format!("`{id}` is in the registry but not pinned in rules.json")),
        );
        results.push(CaseResult::compare("registry", Vec::new(), problems));
    }

    for meta in documented() {
        let id = meta.id;
        for (kind, text, should_fire) in
            [("fails", meta.fails, true), ("passes", meta.passes, false)]
        {
            let name = format!("{id} {kind}");
            let fired = if meta.category == crate::findings::Category::Scope {
                match scope_example(&meta, text) {
                    Some(f) => f,
                    None => {
                        // An example the evals cannot run would silently drop coverage.
                        results.push(CaseResult::compare(
                            name,
                            vec![format!("`{id}` example runs")],
                            vec![format!(
                                "the example is not `key: JSON; the diff modifies PATH`: {text}"
                            )],
                        ));
                        continue;
                    }
                }
            } else if id == dependencies::rule_meta().id {
                if !osv.is_dir() {
                    results.push(CaseResult::skip(
                        name,
                        "no osv/ directory (offline OSV database) in the eval directory",
                    ));
                    continue;
                }
                let mut report = ScanReport::default();
                engine.check_file(&FileDiff::new_file(meta.example_path, text), &mut report);
                engine::finish(
                    &mut report,
                    &AuditSource::Offline { dir: osv.clone() },
                    None,
                )
                .map_err(|e| EvalError::fixture(&osv, e))?;
                report.findings
            } else {
                let mut report = ScanReport::default();
                engine.check_file(&FileDiff::new_file(meta.example_path, text), &mut report);
                report.findings
            };
            let of_rule: Vec<String> = fired
                .iter()
                .filter(|f| f.rule_id == id)
                .map(finding_key)
                .collect();
            let expected = vec![if should_fire {
                format!("`{id}` fires")
            } else {
                format!("`{id}` is silent")
            }];
            let actual = match (should_fire, of_rule.is_empty()) {
                (true, false) => expected.clone(),
                (_, true) => vec![format!("`{id}` is silent")],
                (false, false) => of_rule,
            };
            results.push(CaseResult::compare(name, expected, actual));
        }
    }
    Ok(results)
}

/// Run a scope rule's documented example, written as `key: JSON; the diff modifies PATH`
/// (`files_in_scope: ["src/api/**"]; the diff modifies src/billing/invoice.rs`).
fn scope_example(meta: &RuleMeta, text: &str) -> Option<Vec<Finding>> {
    let (setting, path) = text.split_once("; the diff modifies ")?;
    let (key, value) = setting.split_once(':')?;
    let value: Value = serde_json::from_str(value.trim()).ok()?;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (mut in_scope, mut out_of_scope, mut class) = (Vec::new(), Vec::new(), None);
    match key.trim() {
        "files_in_scope" => in_scope = strings(&value),
        "files_out_of_scope" => out_of_scope = strings(&value),
        "change_class" => class = value.as_str().map(String::from),
        _ => return None,
    }
    let scope = Scope::new(&in_scope, &out_of_scope, class, meta.id).ok()?;
    let mut out = Vec::new();
    scope.check(&FileDiff::new_file(path.trim(), "changed\n"), &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_examples_run_and_malformed_ones_are_reported() {
        for meta in scope::metas() {
            let fails = scope_example(meta, meta.fails).unwrap();
            assert!(fails.iter().any(|f| f.rule_id == meta.id), "{}", meta.id);
            let passes = scope_example(meta, meta.passes).unwrap();
            assert!(!passes.iter().any(|f| f.rule_id == meta.id), "{}", meta.id);
        }
        assert!(scope_example(scope::metas()[0], "the diff modifies x").is_none());
        assert!(scope_example(scope::metas()[0], "colour: [1]; the diff modifies x").is_none());
    }
}
