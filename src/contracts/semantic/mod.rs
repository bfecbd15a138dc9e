//! Checks a schema cannot express, one file per contract. Each violation carries a stable code
//! documented in docs/contracts.md.

mod commands;
mod heuristics_pack;
mod lesson;
mod review_output;
mod scorecard;
mod strategic_plan;
mod tactical_plan;

use serde::Serialize;
use serde_json::Value;

use super::Contract;

/// One reason a document breaks its contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// `SCHEMA` for schema errors, otherwise the semantic check's code (e.g. `SP005`).
    pub code: &'static str,
    /// JSON pointer to the offending value (`""` for the whole document).
    pub pointer: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(
        code: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Violation {
            code,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// The string items of a JSON array (non-strings and non-arrays give nothing).
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Documents other than the one checked that some checks need.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context<'a> {
    /// The strategic plan a tactical plan belongs to (for scope containment).
    pub strategic_plan: Option<&'a Value>,
}

/// Semantic checks of a document that already passed its schema.
pub fn check(contract: Contract, document: &Value, context: Context<'_>) -> Vec<Violation> {
    match contract {
        Contract::StrategicPlan => strategic_plan::check(document),
        Contract::TacticalPlan => tactical_plan::check(document, context.strategic_plan),
        Contract::ReviewOutput => review_output::check(document),
        Contract::Scorecard => scorecard::check(document),
        Contract::HeuristicsPack => heuristics_pack::check(document),
        Contract::Lesson => lesson::check(document),
        Contract::Intake
        | Contract::IntakeClassification
        | Contract::Session
        | Contract::Workflow
        | Contract::ApplyArtifact => Vec::new(),
    }
}

/// Every semantic code with a one-line summary, for `factory validate --explain` and docs.
pub const CODES: &[(&str, &str)] = &[
    (
        "SCHEMA",
        "the document does not match the contract's JSON Schema",
    ),
    ("SP001", "two tasks share an id"),
    ("SP002", "a dependency names a task that does not exist"),
    ("SP003", "the dependencies form a cycle"),
    (
        "SP004",
        "a task depends on a task in the same or a later wave",
    ),
    ("SP005", "two tasks of one wave can change the same file"),
    ("SP006", "a validation command is a placeholder"),
    (
        "SP007",
        "a feature or risky-infra plan has no threat assessment",
    ),
    (
        "SP008",
        "a risky-infra plan has no architectural decision record",
    ),
    ("SP009", "a file scope glob is malformed"),
    (
        "TP001",
        "the tactical scope reaches outside its task's scope",
    ),
    ("TP002", "the task id is not in the strategic plan"),
    (
        "TP003",
        "the tactical scope includes files its task excludes",
    ),
    ("TP004", "a validation command is a placeholder"),
    (
        "TP005",
        "an implementation step changes a file outside the handoff scope",
    ),
    ("TP006", "a file scope glob is malformed"),
    (
        "RV001",
        "the verdict approves a change with a critical finding",
    ),
    ("RV002", "a finding's location is malformed"),
    ("RV003", "the security assessment contradicts the findings"),
    ("SC001", "the stored score differs from the formula"),
    ("SC002", "the stored band differs from the score's band"),
    ("SC003", "completed and failed tasks exceed the total"),
    ("LS001", "the lesson was last seen before it was created"),
    ("HP001", "a preflight pattern's regex does not compile"),
    ("HP002", "two preflight patterns share an id"),
    ("HP003", "a preflight pattern's path glob is malformed"),
];
