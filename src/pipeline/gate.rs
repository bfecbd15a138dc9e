//! The contract gate after a phase: its artifact must exist and, when the phase has a gate,
//! satisfy that contract (schema and semantic checks) before the pipeline goes on.

use std::path::{Path, PathBuf};

use crate::contracts::{self, Context, Contract, input};
use crate::state::StateDir;
use crate::workflow::{ArtifactPath, EffectivePhase};

/// Why an artifact did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFailure {
    /// One line per problem, each naming the file (and JSON pointer, for violations).
    pub problems: Vec<String>,
    /// Whether the output exists but breaks its contract (as opposed to being absent).
    pub contract_invalid: bool,
}

impl GateFailure {
    pub fn text(&self) -> String {
        self.problems.join("\n")
    }
}

/// The absolute path of a phase's artifact.
pub fn artifact_path(state: &StateDir, phase: &EffectivePhase) -> Option<PathBuf> {
    phase
        .artifact
        .as_ref()
        .map(|a| state.root().join(a.relative()))
}

/// Check the output of `phase`. `Ok(None)` when the phase declares no artifact.
pub fn check(state: &StateDir, phase: &EffectivePhase) -> Result<Option<String>, GateFailure> {
    let Some(artifact) = &phase.artifact else {
        return Ok(None);
    };
    let path = state.root().join(artifact.relative());
    let files = match artifact {
        ArtifactPath::File(_) => {
            if !path.is_file() {
                return Err(missing(
                    &display(state, &path),
                    "the phase finished without writing its artifact",
                ));
            }
            vec![path.clone()]
        }
        ArtifactPath::Dir(_) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            if files.is_empty() {
                return Err(missing(
                    &display(state, &path),
                    "the phase finished without writing any .json file into its artifact directory",
                ));
            }
            files
        }
    };
    let strategic = phase
        .gate
        .filter(|g| *g == Contract::TacticalPlan)
        .and_then(|_| input::read_json(&state.artifacts_dir().join("strategic-plan.json")).ok());
    let mut problems = Vec::new();
    for file in &files {
        let doc = match input::read_json(file) {
            Ok(doc) => doc,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if let Some(contract) = phase.gate {
            let context = Context {
                strategic_plan: strategic.as_ref(),
            };
            for v in contracts::validate(contract, &doc, context) {
                let pointer = if v.pointer.is_empty() {
                    "/"
                } else {
                    &v.pointer
                };
                problems.push(format!(
                    "{}: {pointer}: [{}] {}",
                    display(state, file),
                    v.code,
                    v.message
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Some(artifact.relative().to_string()))
    } else {
        Err(GateFailure {
            problems,
            contract_invalid: true,
        })
    }
}

fn missing(path: &str, what: &str) -> GateFailure {
    GateFailure {
        problems: vec![format!("{path}: {what}")],
        contract_invalid: false,
    }
}

fn display(state: &StateDir, file: &Path) -> String {
    file.strip_prefix(state.root())
        .map(|p| format!(".factory/{}", p.display()))
        .unwrap_or_else(|_| file.display().to_string())
}
