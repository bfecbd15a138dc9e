//! Contracts between phases: embedded JSON Schemas (compiled once, never resolved over the
//! network) plus semantic checks a schema cannot express.

pub mod glob;
pub mod input;
mod registry;
pub mod schema;
pub mod scorecard_formula;
pub mod semantic;

pub use registry::Contract;

use std::path::Path;

use serde_json::Value;

pub use semantic::{Context, Violation};

/// Validate a document: its schema first; the semantic checks run once the shape is right
/// (they rely on it), so a document reports either schema or semantic violations.
pub fn validate(contract: Contract, document: &Value, context: Context<'_>) -> Vec<Violation> {
    let violations = schema::check(contract, document);
    if !violations.is_empty() {
        return violations;
    }
    semantic::check(contract, document, context)
}

/// Which contract a document is, from its `$schema`, its file name or its directory
/// (`strategic-plan.json`, `x.review-output.json`, `tactical/12.json`, `pack-web.json`).
pub fn detect(path: &Path, document: &Value) -> Option<Contract> {
    if let Some(uri) = document.get("$schema").and_then(Value::as_str) {
        let last = uri.rsplit('/').next().unwrap_or(uri);
        if let Some(c) = Contract::from_name(last) {
            return Some(c);
        }
    }
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    let by_suffix = Contract::ALL
        .iter()
        .filter(|c| {
            stem == c.name()
                || stem.ends_with(&format!(".{}", c.name()))
                || stem.ends_with(&format!("-{}", c.name()))
        })
        .max_by_key(|c| c.name().len());
    if let Some(c) = by_suffix {
        return Some(*c);
    }
    if stem.starts_with("pack-") {
        return Some(Contract::HeuristicsPack);
    }
    let dir = path.parent()?.file_name()?.to_str()?;
    match dir {
        "tactical" => Some(Contract::TacticalPlan),
        "reviews" => Some(Contract::ReviewOutput),
        "scorecards" => Some(Contract::Scorecard),
        "lessons" => Some(Contract::Lesson),
        "packs" => Some(Contract::HeuristicsPack),
        _ => None,
    }
}
