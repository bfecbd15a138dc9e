//! The preflight engine: streams a diff through the rules, scope checks, suppressions and the
//! dependency collector, one file at a time.
//!
//! Keyword rules are prefiltered like gitleaks does: one ASCII-case-insensitive aho-corasick
//! automaton over every rule's keywords scans each added line once, and a rule runs only when
//! one of its keywords occurs. It runs through [`Rule::check_lines`] with the lines that hold a
//! keyword: rules that judge each line on its own look at those lines only, rules that need
//! context judge the whole file. Each added line is decoded once (`secrets::decode`: literal
//! concatenation joined, JSON escapes undone); the rules that read decoded lines get both forms
//! and are activated by a keyword in either. As a guard the engine drops any rule finding whose
//! line is not an added line of the file.

use std::io::BufRead;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::findings::render::Skipped;
use crate::findings::{Category, Finding, redact};
use crate::preflight::dependencies::{self, AuditError, AuditSource, PackageChange};
use crate::preflight::diff::{DiffError, DiffParser, FileDiff};
use crate::preflight::keywords::Keywords;
use crate::preflight::rules::lead::Lead;
use crate::preflight::rules::secrets::decode;
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
    /// Per rule: it has no keywords, so it runs on every file.
    always: Vec<bool>,
    /// Per rule: it reads decoded lines ([`Rule::reads_decoded`]).
    reads_decoded: Vec<bool>,
    /// Some rule reads decoded lines, so the engine decodes every added line.
    decoding: bool,
    prefilter: Option<Keywords>,
    /// For each prefilter pattern, the rules that declared it.
    keyword_rules: Vec<Vec<KeywordRule>>,
    /// Per rule: its lead, when the engine checks it at keyword occurrences.
    leads: Vec<Option<Lead>>,
    scope: Option<Scope>,
    /// Where the time goes, when [`Engine::profiled`] asked for it (the benchmark does).
    profile: Option<Mutex<Profile>>,
}

/// Where a keyword stands in a lead: `(literal, offset)` pairs.
type Places = Vec<(usize, usize)>;

/// A rule that declared a prefilter keyword, and where the keyword stands in the rule's
/// lead. With no places, any occurrence of the keyword activates the
/// rule on its line; with some, only an occurrence where the lead admits a match.
struct KeywordRule {
    rule: usize,
    in_lead: Places,
}

/// Time spent per stage of [`Engine::scan`]: the benchmark prints it to show which part of
/// the engine a speed-up has to come from. Only kept when [`Engine::profiled`] is on.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    /// Reading and parsing the diff.
    pub parse: Duration,
    /// Decoding added lines (`secrets::decode::normalise`).
    pub decode: Duration,
    /// The keyword prefilter over added lines and their decoded forms.
    pub prefilter: Duration,
    /// Each rule's own time, by rule id, in the engine's rule order.
    pub rules: Vec<(&'static str, Duration)>,
    /// Everything after the rules: de-duplication, context, guards, suppressions, packages.
    pub after: Duration,
}

/// The rule's lead and, for each of its (lower-cased) keywords, where the keyword stands in
/// the lead's literals, when the engine can check the lead at keyword occurrences: every
/// literal holds one of the keywords at a fixed place, so every match holds an occurrence the
/// lead is checked at.
fn keyword_places(rule: &dyn Rule, keywords: &[String]) -> Option<(Lead, Vec<Places>)> {
    let lead = rule.lead()?;
    let places: Vec<Places> = keywords
        .iter()
        .map(|k| {
            (0..lead.literal_count())
                .flat_map(|l| lead.keyword_offsets(l, k).into_iter().map(move |o| (l, o)))
                .collect()
        })
        .collect();
    (0..lead.literal_count())
        .all(|l| places.iter().flatten().any(|&(at, _)| at == l))
        .then(|| (lead.clone(), places))
}

impl Engine {
    pub fn new(rules: Vec<Box<dyn Rule>>, scope: Option<Scope>) -> Engine {
        let mut always = vec![false; rules.len()];
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<KeywordRule>> = Vec::new();
        let mut leads: Vec<Option<Lead>> = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            let rule_keywords: Vec<String> = rule
                .keywords()
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect();
            let (lead, mut places) = match keyword_places(rule.as_ref(), &rule_keywords) {
                Some((lead, places)) => (Some(lead), places),
                None => (None, vec![Vec::new(); rule_keywords.len()]),
            };
            leads.push(lead);
            if rule_keywords.is_empty() {
                always[i] = true;
                continue;
            }
            for (j, kw) in rule_keywords.into_iter().enumerate() {
                let in_lead = std::mem::take(&mut places[j]);
                let entry = KeywordRule { rule: i, in_lead };
                match keywords.iter().position(|k| *k == kw) {
                    Some(p) => keyword_rules[p].push(entry),
                    None => {
                        keywords.push(kw);
                        keyword_rules.push(vec![entry]);
                    }
                }
            }
        }
        let prefilter = Keywords::new(&keywords);
        let reads_decoded: Vec<bool> = rules.iter().map(|r| r.reads_decoded()).collect();
        Engine {
            decoding: reads_decoded.contains(&true),
            reads_decoded,
            rules,
            always,
            prefilter,
            keyword_rules,
            leads,
            scope,
            profile: None,
        }
    }

    /// Keep a [`Profile`] of every scan from now on (a little slower: a clock read per rule
    /// and file).
    pub fn profiled(mut self) -> Engine {
        let rules = self.rules.iter().map(|r| (r.meta().id, Duration::ZERO));
        self.profile = Some(Mutex::new(Profile {
            rules: rules.collect(),
            ..Profile::default()
        }));
        self
    }

    /// The time spent so far per stage, when [`profiled`](Engine::profiled).
    pub fn profile(&self) -> Option<Profile> {
        self.profile
            .as_ref()
            .map(|p| p.lock().expect("profile lock").clone())
    }

    /// Add to the profile, when there is one.
    fn charge(&self, f: impl FnOnce(&mut Profile)) {
        if let Some(p) = &self.profile {
            f(&mut p.lock().expect("profile lock"));
        }
    }

    /// A clock reading when profiling, else nothing (no system call).
    fn clock(&self) -> Option<Instant> {
        self.profile.as_ref().map(|_| Instant::now())
    }

    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| r.meta())
    }

    /// The keyword prefilter alone: how many keyword occurrences the engine's automaton finds
    /// in `haystack` (overlapping). The benchmark's ceiling, on the same bytes as [`scan`].
    ///
    /// [`scan`]: Engine::scan
    pub fn keyword_scan(&self, haystack: &[u8]) -> usize {
        self.prefilter.as_ref().map_or(0, |k| k.count(haystack))
    }

    /// What the rules report on one file, before the engine's guards: keyword-less rules judge
    /// the whole file; a keyword rule runs only when one of its keywords occurs on an added line,
    /// and gets those lines ([`Rule::check_lines`]), with their decoded forms when it
    /// [reads them](Rule::reads_decoded). Rules run in their order.
    fn run_rules(&self, file: &FileDiff, added: &[(u32, &str)]) -> Vec<Finding> {
        let started = self.clock();
        // Each added line decoded once, for every rule that reads decoded lines.
        let decoded: Vec<Option<String>> = if self.decoding {
            added
                .iter()
                .map(|(_, text)| decode::normalise(text))
                .collect()
        } else {
            Vec::new()
        };
        let decoded_at = |k: usize| decoded.get(k).and_then(Option::as_deref);
        let started = started.map(|t| {
            let now = Instant::now();
            self.charge(|p| p.decode += now - t);
            now
        });
        // For every keyword rule, the indices of the added lines that hold one of its keywords
        // (in either form, for a rule that reads decoded lines). Lines with non-ASCII text go
        // to every rule that runs: a case-insensitive pattern can match a Unicode case variant
        // (`ſ` for `s`, `K` for `k`) that no ASCII keyword finds.
        let mut hits: Vec<Vec<usize>> = vec![Vec::new(); self.rules.len()];
        let mut non_ascii: Vec<usize> = Vec::new();
        if let Some(ac) = &self.prefilter {
            // A long line repeats the same keywords hundreds of times: the rules of a keyword
            // are marked on its first occurrence in each form of a line only (for a rule with
            // a lead, on its first occurrence where the lead admits a match). `seen[p]` is the
            // last (line, form) stamp at which pattern `p` was settled for all its rules.
            let mut seen = vec![usize::MAX; self.keyword_rules.len()];
            // Leads leave out what only non-ASCII text can match: they are checked on ASCII
            // text only (`ascii`).
            let mut mark = |k: usize, text: &str, decoded_form: bool, ascii: bool| {
                let stamp = 2 * k + usize::from(decoded_form);
                let bytes = text.as_bytes();
                ac.each(bytes, |p, start| {
                    if seen[p] == stamp {
                        return;
                    }
                    let mut unsettled = false;
                    for entry in &self.keyword_rules[p] {
                        let r = entry.rule;
                        if (decoded_form && !self.reads_decoded[r]) || hits[r].last() == Some(&k) {
                            continue;
                        }
                        if ascii
                            && let Some(lead) = &self.leads[r]
                            && !entry
                                .in_lead
                                .iter()
                                .any(|&(l, o)| start >= o && lead.admits(l, bytes, start - o))
                        {
                            unsettled = true;
                            continue;
                        }
                        hits[r].push(k);
                    }
                    if !unsettled {
                        seen[p] = stamp;
                    }
                });
            };
            for (k, &(_, text)) in added.iter().enumerate() {
                let ascii = text.is_ascii();
                if !ascii {
                    non_ascii.push(k);
                }
                mark(k, text, false, ascii);
                if let Some(normal) = decoded_at(k) {
                    mark(k, normal, true, normal.is_ascii());
                }
            }
        }
        if let Some(t) = started {
            self.charge(|p| p.prefilter += t.elapsed());
        }
        let mut found = Vec::new();
        let mut lines: Vec<(u32, &str)> = Vec::new();
        // One rule as the prefilter decided: the whole file, its keyword lines, or nothing.
        let mut judge = |i: usize, rule: &dyn Rule| {
            if self.always[i] {
                rule.check(file, &mut found);
                return;
            }
            if hits[i].is_empty() {
                return;
            }
            let merged: Vec<usize>;
            let at = if non_ascii.is_empty() {
                &hits[i]
            } else {
                let mut all = [hits[i].as_slice(), &non_ascii].concat();
                all.sort_unstable();
                all.dedup();
                merged = all;
                &merged
            };
            lines.clear();
            for &k in at {
                lines.push(added[k]);
                if self.reads_decoded[i]
                    && let Some(normal) = decoded_at(k)
                {
                    lines.push((added[k].0, normal));
                }
            }
            rule.check_lines(file, &lines, &mut found);
        };
        for (i, rule) in self.rules.iter().enumerate() {
            let started = self.clock();
            judge(i, rule.as_ref());
            if let Some(t) = started {
                self.charge(|p| p.rules[i].1 += t.elapsed());
            }
        }
        found
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
        let mut found = self.run_rules(file, &added);
        let started = self.clock();
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
        if let Some(t) = started {
            self.charge(|p| p.after += t.elapsed());
        }
    }

    /// Stream a diff through the engine. Dependency audit and baseline are separate steps
    /// ([`finish`]).
    pub fn scan<R: BufRead>(&self, reader: R) -> Result<ScanReport, PreflightError> {
        let mut report = ScanReport::default();
        let mut parser = DiffParser::new(reader);
        loop {
            let started = self.clock();
            let Some(file) = parser.next() else { break };
            if let Some(t) = started {
                self.charge(|p| p.parse += t.elapsed());
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::builtin;

    /// What the engine ran before line activation: every rule with a keyword anywhere in the
    /// file's lower-cased added text (decoded too, for a rule that reads decoded lines) judges
    /// the whole file.
    fn whole_file(rules: &[Box<dyn Rule>], file: &FileDiff) -> Vec<Finding> {
        let text: String = file
            .added_lines()
            .map(|(_, l)| l.to_ascii_lowercase() + "\n")
            .collect();
        let decoded: String = decode::added_lines(file)
            .iter()
            .map(|(_, l)| l.to_ascii_lowercase() + "\n")
            .collect();
        let mut out = Vec::new();
        for rule in rules {
            let kws = rule.keywords();
            let text = if rule.reads_decoded() {
                &decoded
            } else {
                &text
            };
            if kws.is_empty() || kws.iter().any(|k| text.contains(&k.to_ascii_lowercase())) {
                rule.check(file, &mut out);
            }
        }
        out
    }

    fn key(f: &Finding) -> (String, u32, String, String) {
        (
            f.rule_id.clone(),
            f.line,
            f.fingerprint.clone(),
            f.message.clone(),
        )
    }

    fn assert_same(engine: &Engine, rules: &[Box<dyn Rule>], file: &FileDiff) {
        let added: Vec<(u32, &str)> = file.added_lines().collect();
        let mut got: Vec<_> = engine.run_rules(file, &added).iter().map(key).collect();
        let mut want: Vec<_> = whole_file(rules, file).iter().map(key).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{}", file.path());
    }

    /// Rules with a lead (provider tokens, pack rules) report through the engine exactly what
    /// they report when run on every line, on files dense with near misses: every example
    /// value cut short, lower-cased, upper-cased and run into its neighbours, several to a
    /// line, as in minified bundles and generated fixtures.
    #[test]
    fn leads_turn_away_no_match() {
        use crate::preflight::rules::patterns::test_support::generated_texts;
        let pack: serde_json::Value =
            serde_json::from_str(include_str!("../../bench/preflight-pack.json")).unwrap();
        let with_pack = || {
            let mut rules = builtin();
            rules.extend(
                crate::preflight::rules::patterns::pack::from_pack(&pack, "bench").unwrap(),
            );
            rules
        };
        let rules = with_pack();
        let engine = Engine::new(with_pack(), None);
        let led: Vec<&str> = rules
            .iter()
            .filter(|r| r.lead().is_some())
            .map(|r| r.meta().id)
            .collect();
        assert!(led.len() > 40 && led.contains(&"bench-aws-key"), "{led:?}");
        let examples: Vec<String> = rules
            .iter()
            .filter(|r| r.lead().is_some() && r.meta().fails.is_ascii())
            .map(|r| r.meta().fails.to_string())
            .filter(|e| e.len() > 2)
            .chain(["AKIAAU4PCZL6HT4DTCBS".to_string(), "eval(x)".to_string()])
            .collect();
        let mut owned: Vec<String> = Vec::new();
        for e in &examples {
            let trimmed = e.trim_end_matches(['"', '\'']);
            owned.push(trimmed[..trimmed.len() - 1].to_string());
            owned.push(e.to_ascii_lowercase());
            owned.push(e.to_ascii_uppercase());
            owned.push(e[e.len() / 2..].to_string());
        }
        let mut pieces: Vec<&str> = examples.iter().chain(&owned).map(String::as_str).collect();
        pieces.extend([
            " ", " ", "\"", "'", "=", ",", ";", "-", "_", "x", "Q", "9", "é",
        ]);
        let texts: Vec<String> = generated_texts(&pieces, 10, 2400).collect();
        let mut found = 0;
        for (n, chunk) in texts.chunks(60).enumerate() {
            let path = ["a.py", "a.js", ".env", "config.yml", "a.ts"][n % 5];
            let file = FileDiff::new_file(path, &chunk.join("\n"));
            let added: Vec<(u32, &str)> = file.added_lines().collect();
            let mut got: Vec<_> = engine
                .run_rules(&file, &added)
                .iter()
                .filter(|f| led.contains(&f.rule_id.as_str()))
                .map(key)
                .collect();
            let mut want = Vec::new();
            for rule in rules.iter().filter(|r| r.lead().is_some()) {
                rule.check(&file, &mut want);
            }
            let mut want: Vec<_> = want.iter().map(key).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{path}");
            found += want.len();
        }
        assert!(found > 1000, "{found}");
    }

    #[test]
    fn line_activation_reports_what_whole_file_activation_reports() {
        let rules = builtin();
        let engine = Engine::new(builtin(), None);
        let mut together: std::collections::BTreeMap<&str, String> = Default::default();
        for rule in &rules {
            let meta = rule.meta();
            for text in [meta.fails, meta.passes] {
                assert_same(
                    &engine,
                    &rules,
                    &FileDiff::new_file(meta.example_path, text),
                );
                let all = together.entry(meta.example_path).or_default();
                all.push_str(text);
                all.push('\n');
            }
        }
        // Every example in every kind of file, so keywords of one rule sit on lines that hold
        // another rule's match; then the same with the lines in reverse order.
        let every: String = together.values().cloned().collect();
        let reversed: String = every.lines().rev().map(|l| format!("{l}\n")).collect();
        for path in together
            .keys()
            .copied()
            .chain(["a.py", "a.js", "a.rb", "a.cs", ".env"])
        {
            assert_same(&engine, &rules, &FileDiff::new_file(path, &every));
            assert_same(&engine, &rules, &FileDiff::new_file(path, &reversed));
        }
        // A keyword on one line and a match that needs no keyword on another: rules whose
        // keywords do not cover every spelling they accept still judge the whole file.
        for text in [
            "# datadog\nDDAPIKEY=0926f6967e7893f57fd14c1604d115ce\n",
            "// eval\nconst f = new  Function(req.body.code);\n",
            // `ſ` and `K` fold to `s` and `k` in case-insensitive patterns.
            "# aws\nawſ_secret_access_key = \"wkEJ3PEVVIPcP4Y7p4tD14z4gzM/jppZxO4z7Kdc\"\n",
            "h = hashlib.sha1(x)\nh = hashlib.ſha1(password)\n",
        ] {
            for path in ["a.js", ".env", "a.py"] {
                assert_same(&engine, &rules, &FileDiff::new_file(path, text));
            }
        }
    }
}
