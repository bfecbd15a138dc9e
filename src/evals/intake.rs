//! The `intake` suite: labelled requests written the way people write them (issues, tickets,
//! chat; Sentry, PagerDuty and drift payloads too) through the real intake, and the change class
//! it picks held to the goals: accuracy, risky-infra recall and hotfix recall. The confusion
//! matrix and every miss are printed with the results; docs/accuracy.md keeps the figures.
//!
//! Fixture: `intake/requests.jsonl`, one case a line:
//! `{"id", "class", "trigger", "domain", "request", "payload"?}`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{CaseResult, Config, EvalError};
use crate::intake::classify::vocabulary::{self, Family, Term};
use crate::intake::{IntakeRequest, build_record_with};
use crate::workflow::{ChangeClass, Trigger};

/// The fixture, below the eval directory.
pub const FIXTURE: &str = "intake/requests.jsonl";
/// The cases the classifier is known to miss, with why; any other miss fails the suite.
pub const KNOWN_MISSES: &str = "intake/known-misses.json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownMisses {
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    misses: Vec<KnownMiss>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownMiss {
    id: String,
    #[allow(dead_code)]
    why: String,
}

/// The ids of the known misses (none when the file is absent).
pub fn known_misses(dir: &Path) -> Result<Vec<String>, EvalError> {
    let path = dir.join(KNOWN_MISSES);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let k: KnownMisses = super::read_json(&path)?;
    Ok(k.misses.into_iter().map(|m| m.id).collect())
}

/// The misses of `c` that are not known.
pub fn new_misses(c: &Confusion, known: &[String]) -> Vec<String> {
    c.rows
        .iter()
        .filter(|(id, e, g)| e != g && !known.contains(id))
        .map(|(id, e, g)| format!("{id}: {e} classified {g}"))
        .collect()
}

/// The goals the suite holds the classifier to.
pub const ACCURACY_GOAL: f64 = 0.95;
pub const INFRA_RECALL_GOAL: f64 = 0.97;
pub const HOTFIX_RECALL_GOAL: f64 = 0.95;

/// One labelled request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub class: ChangeClass,
    pub trigger: Trigger,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub request: String,
    /// A webhook payload (Sentry, PagerDuty) or a drift report, for `incident` and
    /// `runtime-drift` cases.
    #[serde(default)]
    pub payload: Option<Value>,
}

/// Read the fixture; any line that is not a case is a broken fixture naming the line.
pub fn read_cases(path: &Path) -> Result<Vec<Case>, EvalError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EvalError::fixture(path, format!("cannot read: {e}")))?;
    let mut cases: Vec<Case> = Vec::new();
    let mut ids = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case = serde_json::from_str(line)
            .map_err(|e| EvalError::fixture(path, format!("line {}: {e}", n + 1)))?;
        if !ids.insert(case.id.clone()) {
            return Err(EvalError::fixture(
                path,
                format!("line {}: id `{}` is used twice", n + 1, case.id),
            ));
        }
        cases.push(case);
    }
    Ok(cases)
}

/// The class intake picks for `case` with `terms` as its vocabulary.
pub fn classify(case: &Case, terms: &[Term], repo: &Path) -> Result<(ChangeClass, String), String> {
    let req = IntakeRequest {
        request: case.request.clone(),
        class: None,
        trigger: case.trigger,
        payload: case.payload.as_ref().map(|p| {
            (
                PathBuf::from(format!("{}.json", case.id)),
                serde_json::to_vec(p).expect("a Value serialises"),
            )
        }),
        packs: Vec::new(),
    };
    build_record_with(&req, repo, "eval", jiff::Timestamp::UNIX_EPOCH, terms)
        .map(|r| (r.change_class, r.classification.rationale))
        .map_err(|e| e.to_string())
}

/// Predictions against labels.
#[derive(Debug, Clone, Default)]
pub struct Confusion {
    /// `(expected, got)` per case, with the case id.
    pub rows: Vec<(String, ChangeClass, ChangeClass)>,
    /// The rationale of each case, by id, for the misses.
    pub why: std::collections::BTreeMap<String, String>,
}

impl Confusion {
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn correct(&self) -> usize {
        self.rows.iter().filter(|(_, e, g)| e == g).count()
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Of the cases labelled `class`, how many got it: (right, labelled).
    pub fn recall(&self, class: ChangeClass) -> (usize, usize) {
        let labelled = self.rows.iter().filter(|(_, e, _)| *e == class);
        let n = labelled.clone().count();
        (labelled.filter(|(_, _, g)| *g == class).count(), n)
    }

    /// Of the cases classified `class`, how many were: (right, classified).
    pub fn precision(&self, class: ChangeClass) -> (usize, usize) {
        let got = self.rows.iter().filter(|(_, _, g)| *g == class);
        let n = got.clone().count();
        (got.filter(|(_, e, _)| *e == class).count(), n)
    }

    /// The matrix as text lines: one row per expected class, one column per class got.
    pub fn matrix(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{:<12} {}",
            "expected",
            ChangeClass::ALL
                .iter()
                .map(|c| format!("{:>12}", c.as_str()))
                .collect::<String>()
        )];
        for e in ChangeClass::ALL {
            let cells: String = ChangeClass::ALL
                .iter()
                .map(|g| {
                    let n = self
                        .rows
                        .iter()
                        .filter(|(_, x, y)| *x == e && y == g)
                        .count();
                    format!("{n:>12}")
                })
                .collect();
            out.push(format!("{:<12} {cells}", e.as_str()));
        }
        out
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Classify every case with `families`.
pub fn confusion(cases: &[Case], families: &[Family], repo: &Path) -> Result<Confusion, String> {
    let terms = vocabulary::compile(families);
    let mut c = Confusion::default();
    for case in cases {
        let (got, why) =
            classify(case, &terms, repo).map_err(|e| format!("case `{}`: {e}", case.id))?;
        c.rows.push((case.id.clone(), case.class, got));
        c.why.insert(case.id.clone(), why);
    }
    Ok(c)
}

/// Whether `c` meets every goal of the suite.
pub fn meets_goals(c: &Confusion) -> bool {
    let recall = |class| {
        let (ok, n) = c.recall(class);
        ratio(ok, n)
    };
    c.accuracy() + 1e-9 >= ACCURACY_GOAL
        && recall(ChangeClass::RiskyInfra) + 1e-9 >= INFRA_RECALL_GOAL
        && recall(ChangeClass::Hotfix) + 1e-9 >= HOTFIX_RECALL_GOAL
}

/// A case that passes when `value` reaches `goal`, with `detail` printed under it.
pub(super) fn goal_case(name: String, goal: f64, value: f64, detail: Vec<String>) -> CaseResult {
    let expected = vec![format!("≥ {goal:.2}")];
    let mut r = if value + 1e-9 >= goal {
        CaseResult::compare(name, expected.clone(), expected)
    } else {
        CaseResult::compare(name, expected, vec![format!("{value:.3}")])
    };
    r.detail = detail;
    r
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let path = config.dir.join(FIXTURE);
    if !path.exists() {
        // Like the other suites: no fixture, no cases (the bundled fixtures leave it out).
        return Ok(Vec::new());
    }
    let cases = read_cases(&path)?;
    let known = known_misses(&config.dir)?;
    if let Some(id) = known.iter().find(|id| !cases.iter().any(|c| &c.id == *id)) {
        return Err(EvalError::fixture(
            &config.dir.join(KNOWN_MISSES),
            format!("`{id}` is not a case of {FIXTURE}"),
        ));
    }
    // The fixture's own directory stands for the repository: it holds no infrastructure, so
    // only the requests decide.
    let repo = path.parent().unwrap_or(Path::new("."));
    let c =
        confusion(&cases, vocabulary::FAMILIES, repo).map_err(|e| EvalError::fixture(&path, e))?;
    let misses: Vec<String> = c
        .rows
        .iter()
        .filter(|(_, e, g)| e != g)
        .map(|(id, e, g)| {
            let why = c.why.get(id).map(String::as_str).unwrap_or("");
            format!(
                "miss {id}: {e} classified {g}: {}",
                crate::util::text::first_line(why, 160)
            )
        })
        .collect();
    let (infra_ok, infra_n) = c.recall(ChangeClass::RiskyInfra);
    let (hot_ok, hot_n) = c.recall(ChangeClass::Hotfix);
    let mut detail = c.matrix();
    for class in ChangeClass::ALL {
        let (r, rn) = c.recall(class);
        let (p, pn) = c.precision(class);
        detail.push(format!(
            "{:<12} recall {:.3} ({r}/{rn}), precision {:.3} ({p}/{pn})",
            class.as_str(),
            ratio(r, rn),
            ratio(p, pn)
        ));
    }
    detail.extend(misses);
    let fixed: Vec<&String> = known
        .iter()
        .filter(|id| c.rows.iter().any(|(x, e, g)| x == *id && e == g))
        .collect();
    if !fixed.is_empty() {
        detail.push(format!(
            "now right, remove from {KNOWN_MISSES}: {}",
            fixed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let unexpected = CaseResult::compare(
        format!("no miss outside {KNOWN_MISSES}"),
        Vec::new(),
        new_misses(&c, &known),
    );
    Ok(vec![
        goal_case(
            format!(
                "accuracy {:.3} ({} of {})",
                c.accuracy(),
                c.correct(),
                c.total()
            ),
            ACCURACY_GOAL,
            c.accuracy(),
            detail,
        ),
        goal_case(
            format!(
                "risky-infra recall {:.3} ({infra_ok} of {infra_n})",
                ratio(infra_ok, infra_n)
            ),
            INFRA_RECALL_GOAL,
            ratio(infra_ok, infra_n),
            Vec::new(),
        ),
        goal_case(
            format!(
                "hotfix recall {:.3} ({hot_ok} of {hot_n})",
                ratio(hot_ok, hot_n)
            ),
            HOTFIX_RECALL_GOAL,
            ratio(hot_ok, hot_n),
            Vec::new(),
        ),
        unexpected,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_counts_recall_and_precision() {
        let c = Confusion {
            why: Default::default(),
            rows: vec![
                ("a".into(), ChangeClass::Hotfix, ChangeClass::Hotfix),
                ("b".into(), ChangeClass::Hotfix, ChangeClass::Feature),
                ("c".into(), ChangeClass::Feature, ChangeClass::Feature),
                ("d".into(), ChangeClass::RiskyInfra, ChangeClass::RiskyInfra),
            ],
        };
        assert_eq!(c.accuracy(), 0.75);
        assert_eq!(c.recall(ChangeClass::Hotfix), (1, 2));
        assert_eq!(c.precision(ChangeClass::Feature), (1, 2));
        let m = c.matrix();
        assert_eq!(m.len(), 5);
        assert!(m[1].starts_with("hotfix"), "{m:?}");
        assert!(m[0].ends_with(" risky-infra"), "columns apart: {m:?}");
    }

    #[test]
    fn a_broken_line_names_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        std::fs::write(
            &p,
            "{\"id\": \"a\", \"class\": \"feature\", \"trigger\": \"user\", \"request\": \"x\"}\n{\"id\": \"b\", \"class\": \"nope\"}\n",
        )
        .unwrap();
        let e = read_cases(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}

#[cfg(test)]
mod mutation {
    use super::*;

    /// Removing any one vocabulary family must fail the suite (a goal missed, or a case missed
    /// that is not a known miss): a family the labelled requests do not need would be
    /// untested vocabulary.
    #[test]
    fn the_suite_fails_without_any_one_vocabulary_family() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("evals")
            .join(FIXTURE);
        let cases = read_cases(&path).unwrap();
        let repo = path.parent().unwrap();
        let known = known_misses(repo.parent().unwrap()).unwrap();
        let full = confusion(&cases, vocabulary::FAMILIES, repo).unwrap();
        assert!(meets_goals(&full), "the full vocabulary meets the goals");
        assert!(
            new_misses(&full, &known).is_empty(),
            "and misses nothing new"
        );
        let mut unnoticed = Vec::new();
        for (i, family) in vocabulary::FAMILIES.iter().enumerate() {
            let fewer: Vec<Family> = vocabulary::FAMILIES
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, f)| Family {
                    name: f.name,
                    points: f.points,
                    terms: f.terms,
                })
                .collect();
            let c = confusion(&cases, &fewer, repo).unwrap();
            if meets_goals(&c) && new_misses(&c, &known).is_empty() {
                unnoticed.push(format!("{} (accuracy {:.3})", family.name, c.accuracy()));
            }
        }
        assert!(
            unnoticed.is_empty(),
            "the intake suite still meets its goals without: {}",
            unnoticed.join(", ")
        );
    }
}
