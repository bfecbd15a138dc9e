//! Phase 2, the strategic plan: the planner agent (read-only tools) gets the fenced request and
//! a fresh, capped context, answers with a plan, and the plan passes the strategic-plan
//! contract (schema and semantic checks: waves, disjoint scopes, threat assessment, ADR for
//! risky infrastructure) before it is written.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::{AgentError, Role, context, structured};
use crate::contracts::Contract;
use crate::state::StateDir;
use crate::templates::Templates;
use crate::workflow::{AdapterKind, ChangeClass, PhaseName, Workflow};

/// What one planning call needs.
pub struct PlanInput<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub request: &'a str,
    pub class: ChangeClass,
    /// The route asks for an architecture decision record.
    pub adr: bool,
    pub retry_context: Option<&'a str>,
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// Used when the planner role sets no timeout.
    pub timeout: Duration,
}

/// Why planning stopped.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
}

/// The planning prompt.
pub fn prompt(input: &PlanInput<'_>, root: &Path) -> Result<String, PlanError> {
    let templates = Templates::with_overrides(input.state.root().join("templates"));
    let map = context::repo_map(root, context::MAP_CAP);
    let adr_template = if input.adr {
        templates.render("ADR_TEMPLATE.md", json!({}))?
    } else {
        String::new()
    };
    Ok(templates.render(
        "CLAUDE_PLAN.md",
        json!({
            "change_class": input.class.as_str(),
            "adr": input.adr,
            "adr_template": adr_template,
            "agents_md": context::agents_md(root),
            "map_cut": map.contains("more files not listed"),
            "repo_map": map,
            "lessons": context::relevant_lessons(input.state.root(), &["**".to_string()], input.workflow.limits.lessons_in_prompt as usize),
            "packs": context::pack_guidance(input.state.root()),
            "request": context::fence("the request", input.request),
            "retry_context": input.retry_context.map(|t| context::fence("errors of the previous attempt", t)),
        }),
    )?)
}

/// Checks the route adds on top of the contract.
fn route_checks(adr: bool) -> impl Fn(&Value) -> Vec<String> {
    move |plan: &Value| {
        let mut v = Vec::new();
        let adrs = plan
            .get("architectural_decisions")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if adr && adrs == 0 {
            v.push("ROUTE at /architectural_decisions: this route requires at least one architectural decision record".into());
        }
        if plan.get("threat_assessment").is_none() {
            v.push("ROUTE at /threat_assessment: the plan must carry a threat assessment".into());
        }
        v
    }
}

/// Ask the planner for a plan that passes the contract.
pub fn plan(input: &PlanInput<'_>) -> Result<Value, PlanError> {
    let root = input.state.repo();
    let call = structured::Call {
        state: input.state,
        workflow: input.workflow,
        role: Role::Planner,
        phase: PhaseName::StrategicPlan,
        contract: Contract::StrategicPlan,
        adapter: input.adapter,
        model: input.model.clone(),
        timeout: input.timeout,
    };
    Ok(structured::ask_role(
        &call,
        prompt(input, &root)?,
        &route_checks(input.adr),
    )?)
}

/// Write a plan as pretty JSON, atomically.
pub fn write(path: &Path, plan: &Value) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // An agent's plan is stored with secret-looking values masked.
    let mut plan = plan.clone();
    crate::state::redact::scrub_json(&mut plan);
    crate::util::markers::neutralise_json(&mut plan);
    let text = serde_json::to_string_pretty(&plan).expect("a Value serialises") + "\n";
    crate::state::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
