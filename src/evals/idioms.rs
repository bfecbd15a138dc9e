//! The `idioms` suite: labelled code written the way real repositories write it (credentials
//! in every encoding and language, SQL and shell execution across eight languages, workflow
//! expressions), each case a file's added lines through the whole rule set, scored per kind
//! and per idiom family against the goals: recall and precision of at least 0.97 for every
//! kind, no important-or-worse finding on ordinary code, one finding per secret value.
//!
//! Fixture: every `idioms/*.jsonl` file, one case a line:
//! `{"id", "kind", "family", "path", "added", "expect": "finding"|"clean", "secrets"?, "note"?}`.
//! `added` is the text the change adds to `path`; `secrets` is how many secret values a
//! `secret` case holds (1 by default); `note` says what the case is about.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{CaseResult, Config, EvalError};
use crate::findings::{Category, Finding, Severity};
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine};

/// The fixture directory, below the eval directory.
pub const FIXTURE_DIR: &str = "idioms";

/// Recall and precision every kind is held to.
pub const GOAL: f64 = 0.97;

/// What a case is about, and so which findings count for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Any finding of the secret category.
    Secret,
    /// `sql-injection`.
    SqlInjection,
    /// `shell-injection`.
    CommandInjection,
    /// `actions-script-injection`.
    ActionsInjection,
    /// Ordinary code: any important-or-worse finding is a false alarm.
    Ordinary,
}

impl Kind {
    pub const SCORED: [Kind; 4] = [
        Kind::Secret,
        Kind::SqlInjection,
        Kind::CommandInjection,
        Kind::ActionsInjection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::SqlInjection => "sql-injection",
            Kind::CommandInjection => "command-injection",
            Kind::ActionsInjection => "actions-injection",
            Kind::Ordinary => "ordinary",
        }
    }

    /// Whether `f` is a finding of this kind.
    pub fn counts(self, f: &Finding) -> bool {
        match self {
            Kind::Secret => f.category == Category::Secret,
            Kind::SqlInjection => f.rule_id == "sql-injection",
            Kind::CommandInjection => f.rule_id == "shell-injection",
            Kind::ActionsInjection => f.rule_id == "actions-script-injection",
            Kind::Ordinary => f.severity >= Severity::Important,
        }
    }
}

/// Whether a case must produce a finding of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Finding,
    Clean,
}

/// One labelled case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub kind: Kind,
    pub family: String,
    pub path: String,
    pub added: String,
    pub expect: Expect,
    /// Secret values in a `secret` case that expects a finding: the findings it must produce.
    #[serde(default)]
    pub secrets: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    pub note: String,
}

/// Every case of every `*.jsonl` file of `dir`, in file then line order; a line that is not a
/// case names its file and line.
pub fn read_cases(dir: &Path) -> Result<Vec<Case>, EvalError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EvalError::fixture(dir, format!("cannot read: {e}")))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut ids = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EvalError::fixture(&path, format!("cannot read: {e}")))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case: Case = serde_json::from_str(line)
                .map_err(|e| EvalError::fixture(&path, format!("line {}: {e}", n + 1)))?;
            if !ids.insert(case.id.clone()) {
                return Err(EvalError::fixture(
                    &path,
                    format!("line {}: id `{}` is used twice", n + 1, case.id),
                ));
            }
            if case.added.trim().is_empty() || case.path.trim().is_empty() {
                return Err(EvalError::fixture(
                    &path,
                    format!("line {}: `{}` needs a path and added text", n + 1, case.id),
                ));
            }
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The diff that adds `case.added` to a new file at `case.path`.
pub fn diff_of(case: &Case) -> String {
    let lines: Vec<&str> = case.added.lines().collect();
    let mut diff = format!(
        "diff --git a/{p} b/{p}\nnew file mode 100644\n--- /dev/null\n+++ b/{p}\n@@ -0,0 +1,{} @@\n",
        lines.len(),
        p = case.path
    );
    for line in lines {
        diff.push('+');
        diff.push_str(line);
        diff.push('\n');
    }
    diff
}

/// The findings the engine reports on a case.
pub fn findings(engine: &Engine, case: &Case) -> Result<Vec<Finding>, String> {
    let diff = diff_of(case);
    let mut report = engine
        .scan(std::io::BufReader::new(diff.as_bytes()))
        .map_err(|e| format!("case `{}`: {e}", case.id))?;
    engine::finish(&mut report, &AuditSource::Off, None)
        .map_err(|e| format!("case `{}`: {e}", case.id))?;
    Ok(report.findings)
}

/// What one case came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub kind: Kind,
    pub family: String,
    pub expect: Expect,
    /// Findings of the case's kind.
    pub fired: Vec<Finding>,
    /// For a secret case expecting findings: how many it should have produced.
    pub secrets: Option<usize>,
}

impl Outcome {
    pub fn hit(&self) -> bool {
        !self.fired.is_empty()
    }

    pub fn right(&self) -> bool {
        self.hit() == (self.expect == Expect::Finding)
    }

    /// A secret reported more than once (two rules on one value).
    pub fn duplicated(&self) -> bool {
        self.kind == Kind::Secret
            && self.expect == Expect::Finding
            && self.fired.len() > self.secrets.unwrap_or(1)
    }
}

/// True and false positives and negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub tp: usize,
    pub fn_: usize,
    pub fp: usize,
    pub tn: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        match (o.expect, o.hit()) {
            (Expect::Finding, true) => self.tp += 1,
            (Expect::Finding, false) => self.fn_ += 1,
            (Expect::Clean, true) => self.fp += 1,
            (Expect::Clean, false) => self.tn += 1,
        }
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// "recall 0.980 (49/50), precision 1.000 (49/49)".
    pub fn line(&self) -> String {
        format!(
            "recall {:.3} ({}/{}), precision {:.3} ({}/{})",
            self.recall(),
            self.tp,
            self.tp + self.fn_,
            self.precision(),
            self.tp,
            self.tp + self.fp
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Run every case.
pub fn outcomes(engine: &Engine, cases: &[Case]) -> Result<Vec<Outcome>, String> {
    cases
        .iter()
        .map(|case| {
            let fired = findings(engine, case)?
                .into_iter()
                .filter(|f| case.kind.counts(f))
                .collect();
            Ok(Outcome {
                id: case.id.clone(),
                kind: case.kind,
                family: case.family.clone(),
                expect: case.expect,
                fired,
                secrets: case.secrets,
            })
        })
        .collect()
}

fn describe(f: &Finding) -> String {
    format!("{} {} line {}", f.rule_id, f.severity, f.line)
}

/// "case-id: rule severity line N, …".
fn listed(o: &Outcome) -> String {
    format!(
        "{}: {}",
        o.id,
        o.fired.iter().map(describe).collect::<Vec<_>>().join(", ")
    )
}

fn goal_case(name: String, value: f64, detail: Vec<String>) -> CaseResult {
    super::intake::goal_case(name, GOAL, value, detail)
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let dir = config.dir.join(FIXTURE_DIR);
    if !dir.is_dir() {
        // Like the intake suite: the bundled fixtures leave the corpus out (binary size).
        return Ok(Vec::new());
    }
    let cases = read_cases(&dir)?;
    let engine = Engine::new((config.rules)(), None);
    let outcomes = outcomes(&engine, &cases).map_err(|e| EvalError::fixture(&dir, e))?;

    let mut by_kind: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut by_family: BTreeMap<(Kind, String), Tally> = BTreeMap::new();
    for o in &outcomes {
        by_kind.entry(o.kind).or_default().add(o);
        by_family
            .entry((o.kind, o.family.clone()))
            .or_default()
            .add(o);
    }
    let mut detail: Vec<String> = by_family
        .iter()
        .map(|((kind, family), t)| match kind {
            Kind::Ordinary => format!(
                "family ordinary / {family}: {} case(s), {} false alarm(s)",
                t.fp + t.tn,
                t.fp
            ),
            _ => format!(
                "family {} / {family}: {}/{} found, {} trap(s), {} false alarm(s)",
                kind.as_str(),
                t.tp,
                t.tp + t.fn_,
                t.fp + t.tn,
                t.fp
            ),
        })
        .collect();
    for o in outcomes.iter().filter(|o| !o.right()) {
        detail.push(match o.expect {
            Expect::Finding => format!("miss {} ({}): no finding", o.id, o.family),
            Expect::Clean => format!(
                "false alarm {} ({}): {}",
                o.id,
                o.family,
                o.fired.iter().map(describe).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut results = Vec::new();
    for kind in &Kind::SCORED {
        let Some(t) = by_kind.get(kind).copied() else {
            // A kind without cases measures nothing: that is a broken corpus, not a pass.
            results.push(CaseResult::compare(
                format!("{} cases", kind.as_str()),
                vec!["at least one".to_string()],
                vec!["none".to_string()],
            ));
            continue;
        };
        results.push(goal_case(
            format!(
                "{} recall {:.3} ({} of {})",
                kind.as_str(),
                t.recall(),
                t.tp,
                t.tp + t.fn_
            ),
            t.recall(),
            Vec::new(),
        ));
        results.push(goal_case(
            format!(
                "{} precision {:.3} ({} of {})",
                kind.as_str(),
                t.precision(),
                t.tp,
                t.tp + t.fp
            ),
            t.precision(),
            Vec::new(),
        ));
    }
    let ordinary: Vec<String> = outcomes
        .iter()
        .filter(|o| o.kind == Kind::Ordinary && o.hit())
        .map(listed)
        .collect();
    let ordinary_n = outcomes.iter().filter(|o| o.kind == Kind::Ordinary).count();
    results.push(CaseResult::compare(
        format!("no important-or-worse finding on ordinary code ({ordinary_n} cases)"),
        Vec::new(),
        ordinary,
    ));
    let duplicated: Vec<String> = outcomes
        .iter()
        .filter(|o| o.duplicated())
        .map(listed)
        .collect();
    results.push(CaseResult::compare(
        "one finding per secret value",
        Vec::new(),
        duplicated,
    ));
    // Per-family figures and every miss, under the first case.
    results[0].detail = detail;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_becomes_a_new_file_diff_of_its_added_lines() {
        let case: Case = serde_json::from_str(
            r#"{"id":"a","kind":"secret","family":"f","path":"x/y.env","added":"A=1\nB=2","expect":"clean"}"#,
        )
        .unwrap();
        assert_eq!(
            diff_of(&case),
            "diff --git a/x/y.env b/x/y.env\nnew file mode 100644\n--- /dev/null\n+++ b/x/y.env\n@@ -0,0 +1,2 @@\n+A=1\n+B=2\n"
        );
    }

    #[test]
    fn tallies_count_each_way_a_case_can_go() {
        let o = |expect, fired: usize| Outcome {
            id: "x".into(),
            kind: Kind::Secret,
            family: "f".into(),
            expect,
            fired: (0..fired)
                .map(|i| Finding {
                    rule_id: format!("r{i}"),
                    category: Category::Secret,
                    severity: Severity::Critical,
                    path: "p".into(),
                    line: 1,
                    message: String::new(),
                    fingerprint: String::new(),
                    redacted: String::new(),
                })
                .collect(),
            secrets: None,
        };
        let mut t = Tally::default();
        for x in [
            o(Expect::Finding, 1),
            o(Expect::Finding, 0),
            o(Expect::Clean, 1),
            o(Expect::Clean, 0),
        ] {
            t.add(&x);
        }
        assert_eq!(
            t,
            Tally {
                tp: 1,
                fn_: 1,
                fp: 1,
                tn: 1
            }
        );
        assert_eq!(t.line(), "recall 0.500 (1/2), precision 0.500 (1/2)");
        assert!(o(Expect::Finding, 2).duplicated());
        assert!(!o(Expect::Finding, 1).duplicated());
    }
}
