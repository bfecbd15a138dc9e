//! Preflight rules, one file per rule family. Every rule carries its own documentation (what
//! it catches, an example that fails, one that passes); `docs/rules/` is generated from it and
//! the examples run as tests, so the docs never drift from the code.

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;

/// Documentation and identity of a rule.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// Stable kebab-case id, e.g. `github-pat`; used in findings, suppressions and baselines.
    pub id: &'static str,
    /// Short human title, e.g. "GitHub personal access token".
    pub title: &'static str,
    pub category: Category,
    pub severity: Severity,
    /// Markdown: what the rule catches and why it matters.
    pub description: &'static str,
    /// An added line (or block) that must produce this rule's finding, as it would appear in a
    /// file called `example_path`.
    pub fails: &'static str,
    /// A similar added line (or block) that must not produce it.
    pub passes: &'static str,
    /// The file the examples are placed in (the extension matters for language-aware rules).
    pub example_path: &'static str,
}

/// A rule judges one file's diff and appends findings. Rules must only report on added lines
/// (scope rules excepted) and must redact anything secret before building a finding.
pub trait Rule: Send + Sync {
    fn meta(&self) -> &RuleMeta;

    /// Cheap lower-case keywords; when non-empty the engine only runs the rule on files whose
    /// added text contains at least one of them (aho-corasick prefilter).
    fn keywords(&self) -> &[&'static str] {
        &[]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>);

    /// Judge the file knowing which added lines hold one of [`keywords`](Rule::keywords):
    /// `lines` are those lines (new-file number, text), in file order, never empty, plus every
    /// added line with non-ASCII text (where a case-insensitive pattern may match a Unicode case
    /// variant of a keyword). The engine calls this instead of [`check`](Rule::check) for rules
    /// with keywords.
    ///
    /// The default judges the whole file with `check`: right for rules that read context
    /// (neighbouring lines, a workflow's structure, a variable built on one line and used on
    /// another). Override it to judge `lines` only when a finding on a line can come from that
    /// line's text (and the file's path) alone, AND that text always contains one of the
    /// keywords (ASCII case-insensitive) when it produces a finding; `check` must then report
    /// the same as this method given every added line.
    ///
    /// For a rule that [reads decoded lines](Rule::reads_decoded), each line in `lines` is
    /// followed by its decoded form (same number) when that differs, and a line is passed when
    /// a keyword occurs in either form.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        let _ = lines;
        self.check(file, out);
    }

    /// Whether [`check_lines`](Rule::check_lines) judges lines decoded too (literal
    /// concatenation joined, JSON escapes undone: `secrets::decode`). The engine decodes each
    /// added line once per file for all such rules instead of every rule decoding the file.
    fn reads_decoded(&self) -> bool {
        false
    }

    /// How every finding's match begins ([`lead::Lead`]), when the rule reports only matches
    /// of one pattern. The engine then hands the rule a line only where one of its keywords
    /// stands inside such a beginning (on ASCII text); a rule without a lead gets every line
    /// that holds a keyword.
    fn lead(&self) -> Option<&lead::Lead> {
        None
    }
}

pub mod lead;
pub mod patterns;
pub mod secrets;

/// Every built-in rule, in documentation order. Each family exposes `rules()`.
pub fn builtin() -> Vec<Box<dyn Rule>> {
    let mut all = secrets::rules();
    all.extend(patterns::rules());
    all
}
