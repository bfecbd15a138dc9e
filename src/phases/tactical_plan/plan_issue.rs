//! Phase 4 against the forge: the issue is read from the forge (closed issues are refused), the
//! planner is asked through [`crate::agents::tactical`], and the plan is written atomically.
//! `factory plan tactical --issue N` plans one issue; the `tactical_plan` phase
//! ([`crate::phases::tactical_plan`]) plans every open task issue of the current wave that has
//! no valid plan yet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::agents::strategic::{self, PlanError};
use crate::agents::tactical::{self, IssueText, TacticalError, TacticalInput};
use crate::forge::{Forge, State};
use crate::state::{Session, StateDir};
use crate::workflow::{AdapterKind, Workflow};

/// How one issue is planned.
pub struct PlanIssue<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub session: &'a Session,
    pub strategic: &'a Value,
    pub forge: &'a dyn Forge,
    pub issue: u64,
    pub retry_context: Option<&'a str>,
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    pub timeout: Duration,
    /// Where to write the plan [default: `artifacts/tactical/<issue>.json`].
    pub out: Option<PathBuf>,
}

/// Why an issue was not planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanIssueError {
    #[error(transparent)]
    Refused(#[from] TacticalError),
    #[error(transparent)]
    Forge(#[from] crate::forge::ForgeError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Write(anyhow::Error),
}

/// Plan `p.issue`; the plan and where it was written.
pub fn plan_issue(p: &PlanIssue<'_>) -> Result<(Value, PathBuf), PlanIssueError> {
    let task = tactical::task_of(p.session, p.strategic, p.issue)?;
    let issue = p.forge.get_issue(p.issue)?;
    if issue.state != State::Open {
        return Err(TacticalError::Closed(p.issue).into());
    }
    let text = IssueText {
        number: issue.number,
        title: issue.title,
        body: issue.body,
    };
    let plan = tactical::plan(&TacticalInput {
        state: p.state,
        workflow: p.workflow,
        strategic: p.strategic,
        task: &task,
        issue: &text,
        retry_context: p.retry_context,
        adapter: p.adapter,
        model: p.model.clone(),
        timeout: p.timeout,
    })?;
    let out = p
        .out
        .clone()
        .unwrap_or_else(|| tactical::artifact_path(p.state, p.issue));
    strategic::write(&out, &plan).map_err(PlanIssueError::Write)?;
    let steps = plan["implementation_steps"].as_array().map_or(0, Vec::len);
    tracing::info!(
        target: "factory::event",
        phase = crate::workflow::PhaseName::TacticalPlan.as_str(),
        action = crate::state::log::vocab::PLAN_WRITTEN,
        tool = "factory",
        status = "ok",
        detail = format!("tactical plan for issue #{} ({}): {steps} step(s)", p.issue, task["id"].as_str().unwrap_or("")),
        refs = json!({"issue": p.issue, "task": task["id"], "artifact": shown(p.state, &out)}).to_string()
    );
    Ok((plan, out))
}

fn shown(state: &StateDir, path: &Path) -> String {
    path.strip_prefix(state.root())
        .map(|p| format!(".factory/{}", p.display()))
        .unwrap_or_else(|_| path.display().to_string())
}
