//! Pattern rules contributed by heuristics packs (`preflight_patterns` in a pack file).
//!
//! Each entry: `{id, title, regex, severity, message, paths?, languages?}`. A pack rule fires on
//! an added line that matches `regex`, in a file that matches one of `paths` (globs) and whose
//! extension is one of `languages`, when those are given.

use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;
use serde_json::Value;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::lead::Lead;
use crate::preflight::rules::{Rule, RuleMeta};

/// A pack entry that cannot become a rule. Every variant names the pack and the entry.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{source_name}: `preflight_patterns` must be an array of objects")]
    NotAnArray { source_name: String },
    #[error("{source_name}: preflight_patterns[{index}].{field}: {problem}")]
    Field {
        source_name: String,
        index: usize,
        field: &'static str,
        problem: String,
    },
    #[error("{source_name}: preflight_patterns[{index}].id `{id}` is used twice in this pack")]
    DuplicateId {
        source_name: String,
        index: usize,
        id: String,
    },
}

struct PackRule {
    meta: RuleMeta,
    regex: Regex,
    message: String,
    paths: Option<GlobSet>,
    languages: Vec<String>,
    /// How every match begins, read from the pattern: its literals are the rule's prefilter
    /// keywords, so a pack rule reads only lines that could match, like a built-in one.
    lead: Option<Lead>,
    keywords: Vec<&'static str>,
}

/// Keywords shorter than this would activate the rule on most lines anyway.
const SHORTEST_KEYWORD: usize = 3;

impl Rule for PackRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn keywords(&self) -> &[&'static str] {
        &self.keywords
    }

    fn lead(&self) -> Option<&Lead> {
        self.lead.as_ref()
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: a match starts with one of the keywords (the pattern's literals).
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        if let Some(paths) = &self.paths
            && !paths.is_match(file.path())
        {
            return;
        }
        if !self.languages.is_empty() {
            let ext = file.extension().unwrap_or_default();
            if !self.languages.contains(&ext) {
                return;
            }
        }
        for &(n, text) in lines {
            if let Some(m) = self.regex.find(text) {
                // A pack rule may be matching a credential: only a redacted match is kept.
                out.push(Finding {
                    rule_id: self.meta.id.to_string(),
                    category: self.meta.category,
                    severity: self.meta.severity,
                    path: file.path().to_string(),
                    line: n,
                    message: self.message.clone(),
                    fingerprint: crate::findings::fingerprint(
                        self.meta.id,
                        file.path(),
                        m.as_str(),
                    ),
                    redacted: crate::findings::redact(m.as_str()),
                });
            }
        }
    }
}

/// Strings of a pack rule live as long as the process: packs are loaded once per run.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Build the pattern rules a pack declares. `source` names the pack in errors (its path).
pub fn from_pack(pack: &Value, source: &str) -> Result<Vec<Box<dyn Rule>>, PackError> {
    let Some(entries) = pack.get("preflight_patterns") else {
        return Ok(Vec::new());
    };
    let entries = entries.as_array().ok_or_else(|| PackError::NotAnArray {
        source_name: source.to_string(),
    })?;
    let mut rules: Vec<Box<dyn Rule>> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let field_err = |field: &'static str, problem: String| PackError::Field {
            source_name: source.to_string(),
            index,
            field,
            problem,
        };
        let text = |field: &'static str| -> Result<String, PackError> {
            entry
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| field_err(field, "required string is missing".into()))
        };
        let id = text("id")?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(field_err(
                "id",
                format!("`{id}` is not kebab-case (a-z, 0-9, -)"),
            ));
        }
        if seen.contains(&id) {
            return Err(PackError::DuplicateId {
                source_name: source.to_string(),
                index,
                id,
            });
        }
        // From here on, errors name the rule too.
        let field_err = |field: &'static str, problem: String| {
            field_err(field, format!("rule `{id}`: {problem}"))
        };
        let title = text("title")?;
        let pattern = text("regex")?;
        let regex = Regex::new(&pattern)
            .map_err(|e| field_err("regex", format!("does not compile: {e}")))?;
        let severity: Severity = text("severity")?
            .parse()
            .map_err(|e: String| field_err("severity", e))?;
        let message = text("message")?;
        let paths = match entry.get("paths") {
            None | Some(Value::Null) => None,
            Some(Value::Array(globs)) => {
                let mut builder = GlobSetBuilder::new();
                for g in globs {
                    let g = g
                        .as_str()
                        .ok_or_else(|| field_err("paths", "every entry must be a string".into()))?;
                    // `*` stays within one directory, as in scopes (docs/contracts.md).
                    let glob = globset::GlobBuilder::new(g)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| field_err("paths", format!("`{g}`: {e}")))?;
                    builder.add(glob);
                }
                Some(
                    builder
                        .build()
                        .map_err(|e| field_err("paths", e.to_string()))?,
                )
            }
            Some(_) => return Err(field_err("paths", "must be an array of globs".into())),
        };
        let languages = match entry.get("languages") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(langs)) => langs
                .iter()
                .map(|l| {
                    l.as_str()
                        .map(|s| s.trim_start_matches('.').to_ascii_lowercase())
                        .ok_or_else(|| {
                            field_err("languages", "every entry must be a string".into())
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(field_err(
                    "languages",
                    "must be an array of file extensions".into(),
                ));
            }
        };
        seen.push(id.clone());
        let lead = Lead::of(&pattern);
        let keywords = lead
            .as_ref()
            .and_then(|l| l.keywords(SHORTEST_KEYWORD))
            .map_or_else(Vec::new, |words| words.into_iter().map(leak).collect());
        let description = leak(format!(
            "{message}\n\nContributed by the heuristics pack `{source}`."
        ));
        rules.push(Box::new(PackRule {
            meta: RuleMeta {
                id: leak(id),
                title: leak(title),
                category: Category::Pattern,
                severity,
                description,
                fails: "",
                passes: "",
                example_path: "",
            },
            regex,
            message,
            paths,
            languages,
            lead,
            keywords,
        }));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::added_file;
    use serde_json::json;

    #[test]
    fn builds_rules_that_respect_paths_and_languages() {
        let pack = json!({"preflight_patterns": [{
            "id": "no-console-log", "title": "console.log left in", "regex": "console\\.log\\(",
            "severity": "advisory", "message": "remove debug logging",
            "paths": ["src/**"], "languages": ["ts", ".js"]
        }]});
        let rules = from_pack(&pack, "packs/web.json").unwrap();
        assert_eq!(rules.len(), 1);
        let mut out = Vec::new();
        rules[0].check(&added_file("src/a.ts", "console.log(x)"), &mut out);
        rules[0].check(&added_file("test/a.ts", "console.log(x)"), &mut out);
        rules[0].check(&added_file("src/a.py", "console.log(x)"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Advisory);
        assert_eq!(out[0].message, "remove debug logging");
    }

    #[test]
    fn errors_name_the_pack_entry_and_field() {
        let bad_regex = json!({"preflight_patterns": [{"id": "a", "title": "t", "regex": "(", "severity": "critical", "message": "m"}]});
        let err = from_pack(&bad_regex, "p.json").err().unwrap().to_string();
        assert!(
            err.starts_with("p.json: preflight_patterns[0].regex: rule `a`: does not compile"),
            "{err}"
        );
        let bad_sev = json!({"preflight_patterns": [{"id": "a", "title": "t", "regex": "x", "severity": "high", "message": "m"}]});
        let err = from_pack(&bad_sev, "p.json").err().unwrap().to_string();
        assert!(err.contains("[0].severity"), "{err}");
        let dup = json!({"preflight_patterns": [
            {"id": "a", "title": "t", "regex": "x", "severity": "critical", "message": "m"},
            {"id": "a", "title": "t", "regex": "y", "severity": "critical", "message": "m"}]});
        assert!(matches!(
            from_pack(&dup, "p.json"),
            Err(PackError::DuplicateId { index: 1, .. })
        ));
        assert!(
            from_pack(&json!({"name": "x"}), "p.json")
                .unwrap()
                .is_empty()
        );
    }
}
