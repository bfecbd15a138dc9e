//! Renderers: one file per output format. They take a [`Report`] (findings plus run summary
//! and the documentation of the rules that ran) and return text; they know nothing of where
//! the findings came from, so `review` commands reuse them.

pub mod github;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Category, Finding, Severity};

/// A file the run did not judge, and why (binary files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Documentation of a rule, for SARIF `tool.driver.rules` and help texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub id: String,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub severity: Severity,
    /// Link to the rule's documentation page, if known.
    pub help_uri: Option<String>,
}

/// Everything a renderer needs.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Tool name and version, e.g. ("factory", "0.1.0").
    pub tool: &'a str,
    pub version: &'a str,
    pub findings: &'a [Finding],
    pub rules: &'a [RuleDoc],
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped: &'a [Skipped],
    pub suppressed: u64,
    pub baselined: u64,
    /// What the dependency audit did; `None` where no audit applies (a review's own report).
    pub audit: Option<&'a crate::findings::audit::AuditStatus>,
}

impl Report<'_> {
    /// Counts per severity, always with all three keys.
    pub fn by_severity(&self) -> BTreeMap<&'static str, u64> {
        let mut m: BTreeMap<&'static str, u64> =
            [Severity::Critical, Severity::Important, Severity::Advisory]
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect();
        for f in self.findings {
            *m.entry(f.severity.as_str()).or_default() += 1;
        }
        m
    }

    /// Counts per category, only categories that occur.
    pub fn by_category(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for f in self.findings {
            *m.entry(f.category.as_str()).or_default() += 1;
        }
        m
    }

    /// "2 critical, 1 important, 0 advisory".
    pub fn counts_line(&self) -> String {
        let c = self.by_severity();
        format!(
            "{} critical, {} important, {} advisory",
            c["critical"], c["important"], c["advisory"]
        )
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Github,
}

/// Render a report in a format. `color` only affects `text`.
pub fn render(format: Format, report: &Report<'_>, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}
