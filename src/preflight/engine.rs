//! The preflight engine: streams a diff through the rules, scope checks, suppressions and the
//! dependency collector, one file at a time.
//!
//! Keyword rules are prefiltered like gitleaks does: one aho-corasick automaton over every
//! rule's keywords scans the file's lower-cased added text once, and only rules whose keywords
//! occur run their (more expensive) regexes. As a guard the engine drops any rule finding whose
//! line is not an added line of the file.

use std::io::BufRead;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::findings::render::Skipped;
use crate::findings::{Category, Finding, redact};
use crate::preflight::dependencies::{self, AuditError, AuditSource, PackageChange};
use crate::preflight::diff::{DiffError, DiffParser, FileDiff};
use crate::preflight::rules::{Rule, RuleMeta};
use crate::preflight::scope::Scope;
use crate::preflight::suppress;

/// Why a preflight run could not complete (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(
        "the input ({bytes} bytes) contains no file diff: expected `git diff` or `diff -u` output \
         (lines starting with `diff --git` or `---`/`+++` pairs)"
    )]
    NotADiff { bytes: u64 },
    /// The audit error is part of this message and not its source, so it is printed once.
    #[error("dependency audit failed: {0}; `--audit off` skips the audit")]
    Audit(AuditError),
}

impl From<AuditError> for PreflightError {
    fn from(e: AuditError) -> Self {
        PreflightError::Audit(e)
    }
}

/// What one run found.
#[derive(Debug, Default)]
pub struct ScanReport {
    pub findings: Vec<Finding>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped: Vec<Skipped>,
    pub packages: Vec<PackageChange>,
    /// Findings dropped by an inline `factory:allow … -- reason`.
    pub suppressed: u64,
    /// Findings dropped because the baseline already knows them.
    pub baselined: u64,
    /// What the dependency audit did (set by [`finish`]).
    pub audit: dependencies::AuditStatus,
}

/// Rules plus their keyword prefilter and the optional scope.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    /// Rules without keywords: they run on every file.
    always: Vec<usize>,
    prefilter: Option<AhoCorasick>,
    /// For each prefilter pattern, the rules that declared it.
    keyword_rules: Vec<Vec<usize>>,
    scope: Option<Scope>,
}

impl Engine {
    pub fn new(rules: Vec<Box<dyn Rule>>, scope: Option<Scope>) -> Engine {
        let mut always = Vec::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.keywords().is_empty() {
                always.push(i);
                continue;
            }
            for kw in rule.keywords() {
                let kw = kw.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == kw) {
                    Some(p) => keyword_rules[p].push(i),
                    None => {
                        keywords.push(kw);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let prefilter = if keywords.is_empty() {
            None
        } else {
            Some(
                // A DFA keeps the overlapping scan at one table lookup per byte; with over a
                // hundred keywords the automatic choice would be a slower NFA.
                AhoCorasickBuilder::new()
                    .kind(Some(AhoCorasickKind::DFA))
                    .match_kind(MatchKind::Standard)
                    .build(&keywords)
                    .expect("keywords build an automaton"),
            )
        };
        Engine {
            rules,
            always,
            prefilter,
            keyword_rules,
            scope,
        }
    }

    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| r.meta())
    }

    /// Which rules run on this file: keyword-less rules always, keyword rules when one of
    /// their keywords occurs in the lower-cased added text.
    fn active_rules(&self, file: &FileDiff) -> Vec<bool> {
        let mut active = vec![false; self.rules.len()];
        for &i in &self.always {
            active[i] = true;
        }
        if let Some(ac) = &self.prefilter {
            let mut text = Vec::new();
            for (_, line) in file.added_lines() {
                text.extend(line.bytes().map(|b| b.to_ascii_lowercase()));
                text.push(b'\n');
            }
            let mut remaining = self.keyword_rules.len();
            let mut seen = vec![false; self.keyword_rules.len()];
            for m in ac.find_overlapping_iter(&text) {
                let p = m.pattern().as_usize();
                if !seen[p] {
                    seen[p] = true;
                    for &r in &self.keyword_rules[p] {
                        active[r] = true;
                    }
                    remaining -= 1;
                    if remaining == 0 {
                        break;
                    }
                }
            }
        }
        active
    }

    /// Judge one file and add what it finds to the report.
    pub fn check_file(&self, file: &FileDiff, report: &mut ScanReport) {
        report.files_scanned += 1;
        if let Some(scope) = &self.scope {
            scope.check(file, &mut report.findings);
        }
        if file.binary {
            report.skipped.push(Skipped {
                path: file.path().to_string(),
                reason: "binary file".to_string(),
            });
            return;
        }
        let added: Vec<(u32, &str)> = file.added_lines().collect();
        if added.is_empty() {
            return;
        }
        let active = self.active_rules(file);
        let mut found = Vec::new();
        for (rule, on) in self.rules.iter().zip(active) {
            if on {
                rule.check(file, &mut found);
            }
        }
        crate::preflight::rules::secrets::dedupe_secret_findings(&mut found);
        let path = file.path();
        crate::preflight::context::apply(path, &mut found);
        for mut f in found {
            // Guard: a secret finding's excerpt must be redacted; re-redact one that is not.
            if f.category == Category::Secret
                && !f.redacted.is_empty()
                && !f.redacted.ends_with("********")
            {
                f.redacted = redact(&f.redacted);
            }
            // Guard: rules only report on added lines of this file.
            let Ok(idx) = added.binary_search_by_key(&f.line, |(n, _)| *n) else {
                continue;
            };
            if f.path != path {
                continue;
            }
            if suppress::allows(added[idx].1, &f.rule_id) {
                report.suppressed += 1;
                continue;
            }
            report.findings.push(f);
        }
        for &(n, line) in &added {
            suppress::missing_reason(path, n, line, &mut report.findings);
        }
        report.packages.extend(dependencies::extract(file));
    }

    /// Stream a diff through the engine. Dependency audit and baseline are separate steps
    /// ([`finish`]).
    pub fn scan<R: BufRead>(&self, reader: R) -> Result<ScanReport, PreflightError> {
        let mut report = ScanReport::default();
        let mut parser = DiffParser::new(reader);
        while let Some(file) = parser.next() {
            let file = file?;
            self.check_file(&file, &mut report);
            report.bytes_scanned = parser.bytes_read();
        }
        report.bytes_scanned = parser.bytes_read();
        if report.files_scanned == 0 && parser.ignored_lines() > 0 {
            return Err(PreflightError::NotADiff {
                bytes: report.bytes_scanned,
            });
        }
        Ok(report)
    }
}

/// Audit the collected package changes once, apply the baseline, sort and de-duplicate.
pub fn finish(
    report: &mut ScanReport,
    audit: &AuditSource,
    baseline: Option<&crate::preflight::baseline::Baseline>,
) -> Result<(), PreflightError> {
    let (found, status) = dependencies::audit_reporting(&report.packages, audit)?;
    report.findings.extend(found);
    report.audit = status;
    if let Some(baseline) = baseline {
        report.baselined += baseline.filter(&mut report.findings) as u64;
    }
    sort_findings(&mut report.findings);
    Ok(())
}

/// Order findings by path, line, rule; drop exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (
            a.path.as_str(),
            a.line,
            a.rule_id.as_str(),
            a.fingerprint.as_str(),
        )
            .cmp(&(
                b.path.as_str(),
                b.line,
                b.rule_id.as_str(),
                b.fingerprint.as_str(),
            ))
    });
    findings.dedup();
}
