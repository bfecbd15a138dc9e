//! What the implementer of one issue works from: the issue (untrusted), its task in the
//! strategic plan or its tactical plan, the scope the change must stay in, and the validation
//! commands factory runs afterwards.

use std::path::Path;

use serde_json::{Value, json};

use super::ImplementError;
use crate::agents::context;
use crate::contracts::{self, Contract, input};
use crate::forge::issues::{self, Plan, Task, code};
use crate::forge::verify::Check;
use crate::forge::{Forge, State};
use crate::state::{Session, StateDir};
use crate::templates::Templates;
use crate::workflow::branch::branch_name;
use crate::workflow::{ChangeClass, PhaseName, Workflow};

/// The task id of an issue made inline (routes without issue creation).
pub const INLINE_TASK: &str = "inline";

/// Everything known about one issue before the agent starts.
#[derive(Debug, Clone)]
pub struct IssueWork {
    pub number: u64,
    pub task_id: Option<String>,
    /// The issue's title and body as the forge has them: untrusted.
    pub title: String,
    pub body: String,
    pub branch: String,
    pub change_class: ChangeClass,
    pub task: Option<Task>,
    /// The tactical plan (`artifacts/tactical/<N>.json`), when phase 4 wrote one.
    pub tactical: Option<Value>,
    /// Every task of the plan, for an inline issue of a route that planned (refactor).
    pub plan_tasks: Vec<Task>,
    pub in_scope: Vec<String>,
    pub out_of_scope: Vec<String>,
    /// Where the scope came from, for messages.
    pub scope_source: String,
    pub validation: Vec<Check>,
}

/// The tactical plan of issue `number`, checked against its contract, if there is one.
pub fn tactical_plan(state: &StateDir, number: u64) -> Result<Option<Value>, ImplementError> {
    let path = crate::agents::tactical::artifact_path(state, number);
    if !path.is_file() {
        return Ok(None);
    }
    let doc = input::read_json(&path).map_err(|e| ImplementError::BadTactical {
        path: path.display().to_string(),
        problems: e.to_string(),
    })?;
    let strategic = input::read_json(&state.artifacts_dir().join(issues::PLAN_ARTIFACT)).ok();
    let violations = contracts::validate(
        Contract::TacticalPlan,
        &doc,
        contracts::Context {
            strategic_plan: strategic.as_ref(),
        },
    );
    if !violations.is_empty() {
        return Err(ImplementError::BadTactical {
            path: path.display().to_string(),
            problems: violations
                .iter()
                .map(|v| format!("{}: [{}] {}", v.pointer, v.code, v.message))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(Some(doc))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Gather the work for issue `number` of `session`.
pub fn gather(
    state: &StateDir,
    workflow: &Workflow,
    forge: &dyn Forge,
    session: &Session,
    number: u64,
) -> Result<IssueWork, ImplementError> {
    let reference = session
        .issues
        .iter()
        .find(|i| i.number == number && i.task_id.is_some())
        .ok_or(ImplementError::NotInSession(number))?;
    let issue = forge.get_issue(number)?;
    if issue.state != State::Open {
        return Err(ImplementError::IssueClosed(number));
    }
    let plan_path = state.artifacts_dir().join(issues::PLAN_ARTIFACT);
    let plan: Option<Plan> = if plan_path.exists() {
        Some(issues::load_plan(state)?)
    } else if session.route.contains(&PhaseName::StrategicPlan) {
        return Err(ImplementError::NoPlan(plan_path.display().to_string()));
    } else {
        None
    };
    let tactical = tactical_plan(state, number)?;
    let task_id = reference.task_id.clone();
    let task = plan.as_ref().and_then(|p| {
        p.tasks
            .iter()
            .find(|t| Some(&t.id) == task_id.as_ref())
            .cloned()
    });
    let inline = task_id.as_deref() == Some(INLINE_TASK);
    let plan_tasks = match (&plan, inline) {
        (Some(p), true) => p.tasks.clone(),
        _ => Vec::new(),
    };

    let (in_scope, out_of_scope, scope_source) = if let Some(t) = &tactical {
        (
            strings(&t["handoff"]["in_scope_files"]),
            strings(&t["handoff"]["out_of_scope_files"]),
            format!("the tactical plan artifacts/tactical/{number}.json"),
        )
    } else if let Some(t) = &task {
        (
            t.files_in_scope.clone(),
            t.files_out_of_scope.clone(),
            format!("{} in the strategic plan", t.id),
        )
    } else if !plan_tasks.is_empty() {
        // One inline issue for the whole plan: the union of the tasks' scopes. The tasks'
        // exclusions are left out, as one task's exclusion may be another's scope.
        let mut all: Vec<String> = Vec::new();
        for t in &plan_tasks {
            for f in &t.files_in_scope {
                if !all.contains(f) {
                    all.push(f.clone());
                }
            }
        }
        (
            all,
            Vec::new(),
            "every task of the strategic plan".to_string(),
        )
    } else {
        (Vec::new(), Vec::new(), "the route has no plan".to_string())
    };

    let mut validation = validation_commands(workflow, tactical.as_ref(), plan.as_ref());
    if validation.is_empty() {
        // Nothing planned or configured: what the repository itself declares.
        let Some(found) = super::detect::validation(&state.repo()) else {
            return Err(ImplementError::NoValidation(number));
        };
        let detail = format!(
            "#{number}: no plan or workflow gives validation commands; using {} (set phases.implementation.validation to choose)",
            found.why
        );
        tracing::info!(target: "factory::event", phase = PhaseName::Implementation.as_str(), action = "validation_detected", tool = "factory", status = "ok", detail);
        validation = found.checks;
    }
    let change_class = task
        .as_ref()
        .map(|t| t.change_class)
        .unwrap_or(session.change_class);
    let branch = reference.branch.clone().unwrap_or_else(|| {
        let title = task
            .as_ref()
            .map(|t| t.title.as_str())
            .unwrap_or(&issue.title);
        branch_name(change_class, number, title)
    });
    Ok(IssueWork {
        number,
        task_id,
        title: issue.title,
        body: issue.body,
        branch,
        change_class,
        task,
        tactical,
        plan_tasks,
        in_scope,
        out_of_scope,
        scope_source,
        validation,
    })
}

/// The validation commands: the tactical plan's (build, test, smoke), else the strategic
/// plan's (build, test, lint, e2e, others), else `phases.implementation.validation`.
pub fn validation_commands(
    workflow: &Workflow,
    tactical: Option<&Value>,
    plan: Option<&Plan>,
) -> Vec<Check> {
    if let Some(cmds) = tactical.and_then(|t| t["handoff"]["validation_commands"].as_object()) {
        let mut out = Vec::new();
        for name in ["build", "test", "smoke"] {
            if let Some(c) = cmds.get(name).and_then(Value::as_str) {
                out.push(Check {
                    name: name.into(),
                    command: c.into(),
                });
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    if let Some(p) = plan {
        let out: Vec<Check> = p
            .ordered_validation()
            .into_iter()
            .map(|(name, command)| Check { name, command })
            .collect();
        if !out.is_empty() {
            return out;
        }
    }
    workflow
        .phases
        .get(&PhaseName::Implementation)
        .map(|p| {
            p.validation
                .iter()
                .map(|(name, command)| Check {
                    name: name.clone(),
                    command: command.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the agent is told beyond the issue: the task, the tactical steps, or the plan's tasks.
fn plan_text(work: &IssueWork) -> String {
    let mut out = String::new();
    let task_text = |t: &Task| {
        let mut s = format!("Task {}: {}\n{}\n", t.id, t.title, t.description);
        if !t.acceptance_criteria.is_empty() {
            s.push_str("Acceptance criteria:\n");
            for c in &t.acceptance_criteria {
                s.push_str(&format!("- {c}\n"));
            }
        }
        if let Some(n) = &t.security_notes {
            s.push_str(&format!("Security notes: {n}\n"));
        }
        s
    };
    if let Some(t) = &work.task {
        out.push_str(&task_text(t));
    }
    for t in &work.plan_tasks {
        out.push_str(&task_text(t));
        out.push('\n');
    }
    if let Some(tp) = &work.tactical {
        out.push_str("\nSteps of the tactical plan:\n");
        for step in tp["implementation_steps"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "{}. {} `{}`: {}\n",
                step["order"],
                step["action"].as_str().unwrap_or(""),
                step["file"].as_str().unwrap_or(""),
                step["description"].as_str().unwrap_or("")
            ));
        }
        for check in tp["security_checks"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "Security check: {}\n",
                check["check"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("- {}", code(i)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The implementation prompt (CODEX_IMPLEMENT.md, overridable in `.factory/templates/`).
pub fn prompt(
    state: &StateDir,
    workflow: &Workflow,
    work: &IssueWork,
    worktree: &Path,
    retry_context: Option<&str>,
    rework: Option<&str>,
) -> Result<String, ImplementError> {
    let templates = Templates::with_overrides(crate::templates::override_dir(state.root()));
    let globs = if work.in_scope.is_empty() {
        vec!["**".to_string()]
    } else {
        work.in_scope.clone()
    };
    let plan = plan_text(work);
    let files_in_scope = if work.in_scope.is_empty() {
        format!(
            "(no list: {}; keep the change as small as the issue needs)",
            work.scope_source
        )
    } else {
        list(&work.in_scope)
    };
    let validation = work
        .validation
        .iter()
        .map(|c| format!("- {}: `{}`", c.name, code(&c.command)))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(templates.render(
        "CODEX_IMPLEMENT.md",
        json!({
            "issue_number": work.number,
            "branch": work.branch,
            "change_class": work.change_class.as_str(),
            "files_in_scope": files_in_scope,
            "files_out_of_scope": if work.out_of_scope.is_empty() { "(none)".to_string() } else { list(&work.out_of_scope) },
            "validation_commands": validation,
            "agents_md": context::agents_md(worktree),
            "lessons": context::relevant_lessons(state.root(), &globs, workflow.limits.lessons_in_prompt as usize),
            "packs": context::pack_guidance(state.root()),
            "plan": if plan.is_empty() { None } else { Some(context::fence("the plan for this issue", &plan)) },
            "issue": context::fence("the issue", &format!("#{} {}\n\n{}", work.number, work.title, work.body)),
            "retry_context": retry_context.map(|t| context::fence("errors of the previous attempt", t)),
            "rework": rework.map(|t| context::fence("review findings to address", t)),
        }),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactical_commands_win_over_the_plan_and_the_workflow() {
        let mut wf = crate::workflow::default_workflow();
        wf.phases
            .entry(PhaseName::Implementation)
            .or_default()
            .validation
            .insert("test".into(), "make test".into());
        assert_eq!(validation_commands(&wf, None, None)[0].command, "make test");
        let tp = json!({"handoff": {"validation_commands": {"build": "b", "test": "t"}}});
        let got: Vec<String> = validation_commands(&wf, Some(&tp), None)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(got, vec!["build", "test"]);
    }
}
