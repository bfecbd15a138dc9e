//! Pipeline self-evals: fixtures with known answers, run through the real detection code, so a
//! change to a schema, rule or pack that weakens detection fails CI.
//!
//! A suite reads its fixtures from the eval directory (`evals/` by default) and returns one
//! [`CaseResult`] per case. Suites are registered in [`SUITES`]; adding one is one entry there
//! plus its file.
//! A broken fixture (missing file, unreadable manifest, bad scope) is an [`EvalError`], not a
//! failed case: the eval itself cannot be trusted, so the run stops with exit 2.

pub mod diffs;
pub mod embedded;
pub mod idioms;
pub mod intake;
pub mod packs;
pub mod plans;
pub mod report;
pub mod reviews;
pub mod rules;
pub mod templates;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::findings::Finding;
use crate::preflight::rules::{Rule, builtin};

/// A fixture the evals cannot use. Every variant names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(
        "eval directory {0} does not exist; run from the repository root or pass --dir DIR \
         (a directory with plans/, diffs/ and packs/)"
    )]
    NoDir(PathBuf),
    #[error("broken fixture {path}: {message}")]
    Fixture { path: PathBuf, message: String },
    #[error("unknown suite `{0}`: expected one of {names} or all", names = suite_names().join(", "))]
    UnknownSuite(String),
    #[error(
        "`{0}` is not a built-in rule; see `factory rules list` (scope, suppression and \
         dependency checks cannot be removed)"
    )]
    UnknownRule(String),
}

impl EvalError {
    pub(crate) fn fixture(path: &Path, message: impl fmt::Display) -> EvalError {
        EvalError::Fixture {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// Builds the rule set detection runs with. The default is [`builtin`]; the mutation checks
/// swap in a weakened set to prove the evals notice.
pub type RuleSet = Box<dyn Fn() -> Vec<Box<dyn Rule>> + Send + Sync>;

/// What a run needs to know.
pub struct Config {
    /// The eval directory: `plans/`, `diffs/`, `packs/`, `rules.json`.
    pub dir: PathBuf,
    /// More directories whose `*.json` files the packs suite checks (e.g. the repo's `packs/`).
    pub extra_pack_dirs: Vec<PathBuf>,
    /// The preflight rules under test.
    pub rules: RuleSet,
    /// Where the templates suite reads templates (falling back to the built-in ones per
    /// file); `None` checks the built-in templates.
    pub templates_dir: Option<PathBuf>,
}

impl Config {
    /// The bundled rules, fixtures from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Config {
        Config {
            dir: dir.into(),
            extra_pack_dirs: Vec::new(),
            rules: Box::new(builtin),
            templates_dir: None,
        }
    }

    /// Detection without the given built-in rules: what the evals would see had they been
    /// deleted.
    pub fn without_rules(mut self, ids: &[String]) -> Result<Config, EvalError> {
        let known: Vec<&'static str> = builtin().iter().map(|r| r.meta().id).collect();
        if let Some(bad) = ids.iter().find(|id| !known.contains(&id.as_str())) {
            return Err(EvalError::UnknownRule(bad.clone()));
        }
        let ids = ids.to_vec();
        self.rules = Box::new(move || {
            builtin()
                .into_iter()
                .filter(|r| !ids.iter().any(|id| id == r.meta().id))
                .collect()
        });
        Ok(self)
    }
}

/// One registered suite.
pub struct Suite {
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub about: &'static str,
    pub run: fn(&Config) -> Result<Vec<CaseResult>, EvalError>,
}

/// Every suite, in run order.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "plans",
        about: "plan and contract fixtures: expected verdict and violation codes",
        run: plans::run,
    },
    Suite {
        name: "diffs",
        about: "adversarial diffs: the exact findings each must produce, nothing else",
        run: diffs::run,
    },
    Suite {
        name: "packs",
        about: "every heuristics pack valid against its contract, its rules compile",
        run: packs::run,
    },
    Suite {
        name: "rules",
        about: "every rule's documented failing example fires it, its passing example does not",
        run: rules::run,
    },
    Suite {
        name: "templates",
        about: "every template renders strictly with its caller's context and keeps its required sections",
        run: templates::run,
    },
    Suite {
        name: "reviews",
        about: "recorded reviewer answers through validation and merge: expected verdict and counts, or rejection",
        run: reviews::run,
    },
    Suite {
        name: "intake",
        about: "labelled natural requests through intake: accuracy, risky-infra and hotfix recall against their goals",
        run: intake::run,
    },
    Suite {
        name: "idioms",
        about: "labelled code in the idioms real repositories use: recall and precision per kind (secrets, SQL, command and Actions injection) and per family against 0.97",
        run: idioms::run,
    },
];

/// The registered suite names.
pub fn suite_names() -> Vec<&'static str> {
    SUITES.iter().map(|s| s.name).collect()
}

/// Pass, fail or skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not run, with the reason (e.g. the fixture directory has no OSV database).
    Skip(String),
}

/// The outcome of one case. `expected` and `actual` are one item per line (findings as
/// `rule-id path:line severity`, violation codes, problems) so failures print side by side.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub status: Status,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
    /// Lines shown under the case whatever its result (a confusion matrix, the misses).
    pub detail: Vec<String>,
}

impl CaseResult {
    /// Pass when `expected == actual`.
    pub fn compare(name: impl Into<String>, expected: Vec<String>, actual: Vec<String>) -> Self {
        let status = if expected == actual {
            Status::Pass
        } else {
            Status::Fail
        };
        CaseResult {
            name: name.into(),
            status,
            expected,
            actual,
            detail: Vec::new(),
        }
    }

    pub fn skip(name: impl Into<String>, reason: impl Into<String>) -> Self {
        CaseResult {
            name: name.into(),
            status: Status::Skip(reason.into()),
            expected: Vec::new(),
            actual: Vec::new(),
            detail: Vec::new(),
        }
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// One suite's results.
#[derive(Debug, Clone)]
pub struct SuiteResult {
    pub suite: &'static str,
    pub cases: Vec<CaseResult>,
    pub elapsed: Duration,
}

/// A whole run.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub suites: Vec<SuiteResult>,
}

impl EvalReport {
    pub fn cases(&self) -> impl Iterator<Item = (&'static str, &CaseResult)> {
        self.suites
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (s.suite, c)))
    }

    pub fn failed(&self) -> usize {
        self.cases().filter(|(_, c)| c.failed()).count()
    }

    pub fn skipped(&self) -> usize {
        self.cases()
            .filter(|(_, c)| matches!(c.status, Status::Skip(_)))
            .count()
    }

    pub fn total(&self) -> usize {
        self.cases().count()
    }
}

/// Run the named suite (`all` for every one).
pub fn run(config: &Config, suite: &str) -> Result<EvalReport, EvalError> {
    if !config.dir.is_dir() {
        return Err(EvalError::NoDir(config.dir.clone()));
    }
    let selected: Vec<&Suite> = if suite == "all" {
        SUITES.iter().collect()
    } else {
        vec![
            SUITES
                .iter()
                .find(|s| s.name == suite)
                .ok_or_else(|| EvalError::UnknownSuite(suite.to_string()))?,
        ]
    };
    let mut report = EvalReport::default();
    for s in selected {
        let start = Instant::now();
        let cases = (s.run)(config)?;
        report.suites.push(SuiteResult {
            suite: s.name,
            cases,
            elapsed: start.elapsed(),
        });
    }
    Ok(report)
}

/// A suite's `manifest.json`: an optional description and its cases.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest<C> {
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    pub cases: Vec<C>,
}

/// Read and parse a JSON fixture; any problem is a broken fixture naming the file.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, EvalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvalError::fixture(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        EvalError::fixture(
            path,
            format!("line {}, column {}: {e}", e.line(), e.column()),
        )
    })
}

/// A finding as the evals compare it: rule, location, severity. Messages and fingerprints
/// may change freely; these four may not.
pub(crate) fn finding_key(f: &Finding) -> String {
    format!("{} {}:{} {}", f.rule_id, f.path, f.line, f.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_suite_rule_and_directory_are_errors() {
        assert!(matches!(
            run(&Config::new("evals"), "nosuch"),
            Err(EvalError::UnknownSuite(_))
        ));
        assert!(matches!(
            run(&Config::new("no/such/dir"), "all"),
            Err(EvalError::NoDir(_))
        ));
        assert!(matches!(
            Config::new("evals").without_rules(&["scope-outside".into()]),
            Err(EvalError::UnknownRule(_))
        ));
    }

    #[test]
    fn without_rules_removes_exactly_those_rules() {
        let config = Config::new("evals")
            .without_rules(&["jwt".into(), "sql-injection".into()])
            .unwrap();
        let ids: Vec<&str> = (config.rules)().iter().map(|r| r.meta().id).collect();
        assert_eq!(ids.len(), builtin().len() - 2);
        assert!(!ids.contains(&"jwt") && !ids.contains(&"sql-injection"));
    }

    #[test]
    fn duplicate_diff_case_names_are_a_broken_fixture() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("diffs")).unwrap();
        std::fs::write(dir.path().join("diffs/a.diff"), "").unwrap();
        std::fs::write(
            dir.path().join("diffs/manifest.json"),
            r#"{"version": 1, "cases": [{"name": "x", "diff": "a.diff", "expected": []},
                {"name": "x", "diff": "a.diff", "expected": []}]}"#,
        )
        .unwrap();
        let err = run(&Config::new(dir.path()), "diffs").unwrap_err();
        assert!(err.to_string().contains("`x` is used twice"), "{err}");
    }

    #[test]
    fn a_valid_flag_that_contradicts_the_codes_is_a_broken_fixture() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plans")).unwrap();
        std::fs::write(
            dir.path().join("plans/manifest.json"),
            r#"{"cases": [{"file": "p.json", "contract": "strategic-plan", "valid": true, "codes": ["SP001"]}]}"#,
        )
        .unwrap();
        let err = run(&Config::new(dir.path()), "plans").unwrap_err();
        assert!(err.to_string().contains("`valid` is true"), "{err}");
    }
}
