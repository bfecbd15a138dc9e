//! `artifacts/strategic-plan.json`: the planner's plan (the strategic-plan contract,
//! docs/contracts.md#strategic-plan) as the phases after it read it: tasks in waves, their
//! scopes, the validation commands. Deserialized once the contract has passed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::workflow::ChangeClass;

/// The fields of the strategic plan the later phases use (the contract has been checked first).
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    pub feature_title: String,
    pub problem_statement: String,
    pub solution_overview: String,
    #[serde(default)]
    pub root_cause: Option<String>,
    pub tasks: Vec<Task>,
    pub validation_commands: BTreeMap<String, String>,
    pub rollback: String,
}

/// One task of the plan.
#[derive(Debug, Clone, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: String,
    pub change_class: ChangeClass,
    #[serde(default = "default_priority")]
    pub priority: String,
    pub files_in_scope: Vec<String>,
    #[serde(default)]
    pub files_out_of_scope: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    pub acceptance_criteria: Vec<String>,
    #[serde(default)]
    pub preventive_controls: Vec<String>,
    pub security_risk_level: String,
    #[serde(default)]
    pub security_notes: Option<String>,
    #[serde(default)]
    pub estimated_complexity: Option<String>,
    pub wave: u32,
}

fn default_priority() -> String {
    "P2".into()
}

impl Plan {
    /// Validation commands in the order they should run: build, test, lint, e2e, then others.
    pub fn ordered_validation(&self) -> Vec<(String, String)> {
        let order = ["build", "test", "lint", "e2e"];
        let mut out: Vec<(String, String)> = order
            .iter()
            .filter_map(|k| {
                self.validation_commands
                    .get(*k)
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect();
        for (k, v) in &self.validation_commands {
            if !order.contains(&k.as_str()) {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }
}
