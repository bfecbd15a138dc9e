//! The `templates` suite: every embedded template rendered strictly with the context its caller
//! really passes (a fixture per template), and the sections the pipeline relies on asserted in
//! the output. A template that drops a section, or uses a variable its caller does not bind,
//! fails its case.
//!
//! Templates come from [`Config::templates_dir`] when set (the repository's `templates/` in a
//! local run, so editing a template is checked before it is built in), else the built-in ones.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::{CaseResult, Config, EvalError, Manifest, read_json};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Unique case name, shown in reports.
    name: String,
    /// The template file name, e.g. `PULL_REQUEST_TEMPLATE.md`.
    template: String,
    /// The render context (JSON), relative to the manifest.
    context: String,
    /// Text the rendered output must contain, one item per section or field.
    required: Vec<String>,
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let dir = config.dir.join("templates");
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.exists() {
        return Ok(Vec::new());
    }
    let manifest: Manifest<Case> = read_json(&manifest_path)?;
    let templates = match &config.templates_dir {
        Some(d) => Templates::with_overrides(d),
        None => Templates::builtin(),
    };
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for case in manifest.cases {
        if !seen.insert(case.name.clone()) {
            return Err(EvalError::fixture(
                &manifest_path,
                format!("case name `{}` is used twice", case.name),
            ));
        }
        if case.required.is_empty() {
            return Err(EvalError::fixture(
                &manifest_path,
                format!(
                    "case `{}`: `required` is empty; list the sections the output must hold",
                    case.name
                ),
            ));
        }
        let context: Value = read_json(&dir.join(&case.context))?;
        let actual = match templates.render(&case.template, &context) {
            Ok(text) => case
                .required
                .iter()
                .map(|r| {
                    if text.contains(r.as_str()) {
                        r.clone()
                    } else {
                        format!("MISSING {r}")
                    }
                })
                .collect(),
            Err(e @ TemplateError::Unknown(..)) => {
                return Err(EvalError::fixture(
                    &manifest_path,
                    format!("case `{}`: {e}", case.name),
                ));
            }
            Err(e) => vec![format!("render error: {e}")],
        };
        results.push(CaseResult::compare(case.name, case.required, actual));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/c.json"), "{}").unwrap();
        std::fs::write(dir.path().join("templates/manifest.json"), manifest).unwrap();
        dir
    }

    #[test]
    fn an_unknown_template_is_a_broken_fixture() {
        let dir = fixture(
            r#"{"cases": [{"name": "x", "template": "NOPE.md", "context": "c.json", "required": ["a"]}]}"#,
        );
        let err = run(&Config::new(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains("NOPE.md") && err.contains("manifest.json"),
            "{err}"
        );
    }

    #[test]
    fn an_unbound_variable_fails_the_case() {
        let dir = fixture(
            r#"{"cases": [{"name": "pr", "template": "PULL_REQUEST_TEMPLATE.md", "context": "c.json", "required": ["1. Summary"]}]}"#,
        );
        let results = run(&Config::new(dir.path())).unwrap();
        assert!(results[0].failed());
        assert!(
            results[0].actual[0].starts_with("render error:"),
            "{:?}",
            results[0].actual
        );
    }
}
