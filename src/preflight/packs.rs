//! Heuristics packs: extra regex line rules loaded from JSON at run time (`--pack FILE`).
//!
//! A pack's `preflight_patterns` array holds entries
//! `{id, title, regex, severity, message, paths?, languages?}`; each becomes a
//! [`RegexLineRule`] that reports every added line the regex matches, in files matching
//! `paths` (globs) and with an extension in `languages`, when those are given.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::Deserialize;

use crate::findings::{Category, Finding, Severity, fingerprint, redact};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

#[derive(Debug, Deserialize)]
struct Pack {
    #[serde(default)]
    preflight_patterns: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternEntry {
    id: String,
    title: String,
    regex: String,
    severity: String,
    message: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
}

/// A rule that reports added lines matching a regex.
pub struct RegexLineRule {
    meta: RuleMeta,
    regex: Regex,
    message: String,
    paths: Option<GlobSet>,
    languages: Vec<String>,
}

fn leak(s: String) -> &'static str {
    // Packs are loaded once per process; their metadata lives as long as the rules.
    Box::leak(s.into_boxed_str())
}

impl RegexLineRule {
    fn applies_to(&self, file: &FileDiff) -> bool {
        if let Some(paths) = &self.paths
            && !paths.is_match(file.path())
        {
            return false;
        }
        if !self.languages.is_empty() {
            return file
                .extension()
                .is_some_and(|ext| self.languages.iter().any(|l| l == &ext));
        }
        true
    }
}

impl Rule for RegexLineRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if !self.applies_to(file) {
            return;
        }
        let path = file.path();
        for (line, text) in file.added_lines() {
            if let Some(m) = self.regex.find(text) {
                out.push(Finding {
                    rule_id: self.meta.id.to_string(),
                    category: self.meta.category,
                    severity: self.meta.severity,
                    path: path.to_string(),
                    line,
                    message: self.message.clone(),
                    fingerprint: fingerprint(self.meta.id, path, m.as_str()),
                    redacted: redact(m.as_str()),
                });
            }
        }
    }
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Load a pack's `preflight_patterns` as rules. Errors name the file and the entry index.
pub fn load(path: &Path) -> anyhow::Result<Vec<Box<dyn Rule>>> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read pack {source}: {e}"))?;
    let pack: Pack = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{source}: line {}, column {}: not a heuristics pack: {e}",
            e.line(),
            e.column()
        )
    })?;
    let mut rules: Vec<Box<dyn Rule>> = Vec::new();
    for (i, value) in pack.preflight_patterns.into_iter().enumerate() {
        let at = format!("{source}: preflight_patterns[{i}]");
        let entry: PatternEntry =
            serde_json::from_value(value).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        if !is_kebab(&entry.id) {
            anyhow::bail!("{at}: id `{}` must be kebab-case (a-z, 0-9, -)", entry.id);
        }
        let severity: Severity = entry
            .severity
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{at}: {e}"))?;
        let regex = Regex::new(&entry.regex)
            .map_err(|e| anyhow::anyhow!("{at} (`{}`): invalid regex: {e}", entry.id))?;
        let paths = if entry.paths.is_empty() {
            None
        } else {
            let mut b = GlobSetBuilder::new();
            for p in &entry.paths {
                b.add(Glob::new(p).map_err(|e| anyhow::anyhow!("{at}: invalid glob `{p}`: {e}"))?);
            }
            Some(b.build()?)
        };
        let languages = entry
            .languages
            .iter()
            .map(|l| l.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        let meta = RuleMeta {
            id: leak(entry.id),
            title: leak(entry.title),
            category: Category::Pattern,
            severity,
            description: leak(format!("{} (from pack {source})", entry.message)),
            fails: "",
            passes: "",
            example_path: "",
        };
        rules.push(Box::new(RegexLineRule {
            meta,
            regex,
            message: entry.message,
            paths,
            languages,
        }));
    }
    Ok(rules)
}
