//! Phase 4, the tactical plan: for one issue of the session, the planner agent (read-only
//! tools) gets the task from the strategic plan, the issue text fenced as data and a fresh,
//! capped context, and answers with a plan that must pass the tactical-plan contract with the
//! strategic plan as context (TP001: its scope lies inside the task's scope) before it is
//! written to `artifacts/tactical/<issue>.json`.
//!
//! The forge is not reached from here: the caller reads the issue and passes its text in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::strategic::PlanError;
use super::{Role, context, structured};
use crate::contracts::{self, Contract};
use crate::state::{Session, StateDir};
use crate::templates::Templates;
use crate::workflow::{AdapterKind, PhaseName, Workflow};

/// The strategic plan's file, relative to the artifacts directory.
pub const STRATEGIC_PLAN: &str = "strategic-plan.json";

/// Why a tactical plan cannot be asked for: its inputs are missing or wrong (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TacticalError {
    #[error(
        "no strategic plan at {0}: phase 4 plans an issue of the strategic plan; run `factory plan strategic` (phase 2) and `factory issues create` (phase 3) first"
    )]
    NoStrategicPlan(String),
    #[error("{path}: the strategic plan is invalid: {detail}; run `factory plan strategic` again")]
    InvalidStrategicPlan { path: String, detail: String },
    #[error(
        "issue #{issue} is not a task issue of this session ({known}); create the issues with `factory issues create` and pass one of them"
    )]
    NotInSession { issue: u64, known: String },
    #[error(
        "issue #{issue} belongs to task `{task}`, which the strategic plan does not have; run `factory issues create` again after re-planning"
    )]
    UnknownTask { issue: u64, task: String },
    #[error("issue #{0} is closed: only open issues are planned; reopen it first")]
    Closed(u64),
}

/// The issue as the forge shows it (untrusted text).
#[derive(Debug, Clone)]
pub struct IssueText {
    pub number: u64,
    pub title: String,
    pub body: String,
}

/// What one tactical planning call needs.
pub struct TacticalInput<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub strategic: &'a Value,
    /// The task of the strategic plan the issue was made for.
    pub task: &'a Value,
    pub issue: &'a IssueText,
    pub retry_context: Option<&'a str>,
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// Used when the planner role sets no timeout.
    pub timeout: Duration,
}

/// Where the tactical plan of `issue` is written.
pub fn artifact_path(state: &StateDir, issue: u64) -> PathBuf {
    state
        .artifacts_dir()
        .join("tactical")
        .join(format!("{issue}.json"))
}

/// The strategic plan, which must exist and pass its contract.
pub fn load_strategic(state: &StateDir) -> Result<Value, TacticalError> {
    let path = state.artifacts_dir().join(STRATEGIC_PLAN);
    let shown = path.display().to_string();
    let bytes = crate::state::read_capped(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TacticalError::NoStrategicPlan(shown.clone()),
        _ => TacticalError::InvalidStrategicPlan {
            path: shown.clone(),
            detail: e.to_string(),
        },
    })?;
    let plan: Value =
        serde_json::from_slice(&bytes).map_err(|e| TacticalError::InvalidStrategicPlan {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
    if let Some(v) = contracts::validate(Contract::StrategicPlan, &plan, Default::default()).first()
    {
        return Err(TacticalError::InvalidStrategicPlan {
            path: shown,
            detail: format!("{} at {}: {}", v.code, v.pointer, v.message),
        });
    }
    Ok(plan)
}

/// The task of the strategic plan that session issue `issue` was made for.
pub fn task_of(session: &Session, strategic: &Value, issue: u64) -> Result<Value, TacticalError> {
    let task_id = session
        .issues
        .iter()
        .find(|i| i.number == issue)
        .and_then(|i| i.task_id.clone())
        .ok_or_else(|| TacticalError::NotInSession {
            issue,
            known: known_issues(session),
        })?;
    strategic["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == task_id.as_str())
        .cloned()
        .ok_or(TacticalError::UnknownTask {
            issue,
            task: task_id,
        })
}

fn known_issues(session: &Session) -> String {
    let list: Vec<String> = session
        .issues
        .iter()
        .filter_map(|i| i.task_id.as_ref().map(|t| format!("#{} {t}", i.number)))
        .collect();
    if list.is_empty() {
        "the session has no task issues yet".into()
    } else {
        format!("its task issues: {}", list.join(", "))
    }
}

/// The checks on top of the schema: the semantic checks with the strategic plan as context, and
/// the plan's issue and task being the ones asked for.
pub fn checks<'a>(
    strategic: &'a Value,
    issue: u64,
    task_id: &'a str,
) -> impl Fn(&Value) -> Vec<String> + 'a {
    move |plan: &Value| {
        let context = contracts::Context {
            strategic_plan: Some(strategic),
        };
        let mut v: Vec<String> = contracts::validate(Contract::TacticalPlan, plan, context)
            .into_iter()
            .map(|x| format!("{} at {}: {}", x.code, x.pointer, x.message))
            .collect();
        if plan["issue_number"].as_u64() != Some(issue) {
            v.push(format!(
                "ROUTE at /issue_number: this plan is for issue {issue}, found {}",
                plan["issue_number"]
            ));
        }
        if plan["task_id"].as_str() != Some(task_id) {
            v.push(format!(
                "ROUTE at /task_id: issue {issue} belongs to task `{task_id}`, found {}",
                plan["task_id"]
            ));
        }
        v
    }
}

/// Whether `issue` already has a tactical plan that passes every check.
pub fn has_valid_plan(state: &StateDir, strategic: &Value, issue: u64, task_id: &str) -> bool {
    crate::state::read_capped(&artifact_path(state, issue))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|plan| {
            structured::violations(
                Contract::TacticalPlan,
                &plan,
                &checks(strategic, issue, task_id),
            )
            .is_empty()
        })
}

/// The tactical planning prompt.
pub fn prompt(input: &TacticalInput<'_>, root: &Path) -> Result<String, PlanError> {
    let templates = Templates::with_overrides(input.state.root().join("templates"));
    let map = context::repo_map(root, context::MAP_CAP);
    let scope: Vec<String> = input.task["files_in_scope"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect();
    let issue_text = format!("{}\n\n{}", input.issue.title, input.issue.body);
    Ok(templates.render(
        "CLAUDE_TACTICAL.md",
        json!({
            "issue_number": input.issue.number,
            "task_id": input.task["id"].as_str().unwrap_or(""),
            "task": serde_json::to_string_pretty(input.task).expect("a Value serialises"),
            "validation_commands": serde_json::to_string_pretty(&input.strategic["validation_commands"]).expect("a Value serialises"),
            "agents_md": context::agents_md(root),
            "map_cut": map.contains("more files not listed"),
            "repo_map": map,
            "lessons": context::relevant_lessons(input.state.root(), &scope, input.workflow.limits.lessons_in_prompt as usize),
            "packs": context::pack_guidance(input.state.root()),
            "issue": context::fence("the issue title and body", &issue_text),
            "retry_context": input.retry_context.map(|t| context::fence("errors of the previous attempt", t)),
        }),
    )?)
}

/// Ask the planner for a tactical plan that passes the contract and stays in the task's scope.
pub fn plan(input: &TacticalInput<'_>) -> Result<Value, PlanError> {
    let root = input.state.repo();
    let call = structured::Call {
        state: input.state,
        workflow: input.workflow,
        role: Role::Planner,
        phase: PhaseName::TacticalPlan,
        contract: Contract::TacticalPlan,
        adapter: input.adapter,
        model: input.model.clone(),
        timeout: input.timeout,
    };
    let task_id = input.task["id"].as_str().unwrap_or("");
    Ok(structured::ask_role(
        &call,
        prompt(input, &root)?,
        &checks(input.strategic, input.issue.number, task_id),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategic() -> Value {
        json!({"tasks": [{"id": "task-001", "files_in_scope": ["src/api/"], "files_out_of_scope": []}]})
    }

    fn tactical(issue: u64, task: &str, scope: &str) -> Value {
        json!({"schema_version": "1.0", "issue_number": issue, "task_id": task,
            "implementation_steps": [{"order": 1, "file": scope, "action": "modify", "description": "x"}],
            "test_strategy": {"unit_tests": []}, "security_checks": [], "context_files_for_implementer": [],
            "handoff": {"in_scope_files": [scope], "out_of_scope_files": [],
                "validation_commands": {"build": "cargo build", "test": "cargo test"}, "rollback": "revert"}})
    }

    #[test]
    fn the_checks_hold_the_plan_to_its_issue_task_and_scope() {
        let s = strategic();
        let check = checks(&s, 4, "task-001");
        assert!(check(&tactical(4, "task-001", "src/api/a.rs")).is_empty());
        let wrong = check(&tactical(5, "task-001", "src/db.rs"));
        assert!(wrong.iter().any(|v| v.starts_with("TP001")), "{wrong:?}");
        assert!(
            wrong.iter().any(|v| v.contains("/issue_number")),
            "{wrong:?}"
        );
    }
}
