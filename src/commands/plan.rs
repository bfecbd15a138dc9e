//! `factory plan strategic` and `factory plan tactical --issue N`: phases 2 and 4 on their own,
//! with the planner agent.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::Outcome;
use crate::agents::strategic::{self, PlanInput};
use crate::agents::tactical;
use crate::forge::open_forge;
use crate::phases::tactical_plan::plan_issue::{PlanIssue, plan_issue};
use crate::workflow::{AdapterKind, ChangeClass, PhaseName};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Phase 2: ask the planner agent for the strategic plan and validate it.
    Strategic(StrategicArgs),
    /// Phase 4: ask the planner agent for the tactical plan of one issue and validate it.
    Tactical(TacticalArgs),
}

#[derive(Debug, Args)]
pub struct TacticalArgs {
    /// The issue to plan: a task issue of the current session.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub issue: u64,
    #[command(flatten)]
    pub planner: PlannerArgs,
}

#[derive(Debug, Args)]
pub struct StrategicArgs {
    /// The request [default: the current session's request].
    #[arg(long, conflicts_with = "request_file")]
    pub request: Option<String>,
    /// Read the request from this file.
    #[arg(long)]
    pub request_file: Option<PathBuf>,
    /// Change class [default: the session's, else feature].
    #[arg(long, value_parser = |s: &str| s.parse::<ChangeClass>())]
    pub class: Option<ChangeClass>,
    #[command(flatten)]
    pub planner: PlannerArgs,
}

/// The flags both planning commands take.
#[derive(Debug, Args)]
pub struct PlannerArgs {
    /// The agent CLI: claude, codex or command [default: agents.planner.adapter].
    #[arg(long, value_parser = |s: &str| s.parse::<AdapterKind>())]
    pub agent: Option<AdapterKind>,
    /// The model [default: agents.planner.model].
    #[arg(long)]
    pub model: Option<String>,
    /// Where to write the plan [default: .factory/artifacts/strategic-plan.json, or
    /// tactical/<issue>.json for a tactical plan]. `--out` is the old spelling, still accepted.
    #[arg(long = "output", visible_alias = "out")]
    pub out: Option<PathBuf>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(cmd: PlanCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PlanCommand::Strategic(args) => strategic_cmd(args),
        PlanCommand::Tactical(args) => tactical_cmd(args),
    }
}

fn tactical_cmd(args: TacticalArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = super::intake::open(args.planner.state_dir)?;
    let session = state.load_session()?.ok_or_else(|| {
        anyhow::anyhow!(
            "no session in {}: start one with `factory intake` and plan it with `factory plan strategic` first",
            state.root().display()
        )
    })?;
    crate::state::log::set_session(&session.id);
    let strategic = tactical::load_strategic(&state)?;
    let forge = open_forge(&state, &state.repo())?;
    let eff = workflow.effective(session.change_class, PhaseName::TacticalPlan, &session.id);
    let (plan, out) = plan_issue(&PlanIssue {
        state: &state,
        workflow: &workflow,
        session: &session,
        strategic: &strategic,
        forge: forge.as_ref(),
        issue: args.issue,
        retry_context: None,
        adapter: args.planner.agent,
        model: args.planner.model,
        timeout: eff.timeout,
        out: args.planner.out,
    })?;
    let steps = plan["implementation_steps"].as_array().map_or(0, Vec::len);
    println!(
        "tactical plan for issue #{} ({}) written to {} ({steps} step(s), valid against tactical-plan and inside the task's scope)",
        args.issue,
        plan["task_id"].as_str().unwrap_or(""),
        out.display()
    );
    Ok(Outcome::Clean)
}

fn strategic_cmd(args: StrategicArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = super::intake::open(args.planner.state_dir)?;
    let session = state.load_session()?;
    if let Some(s) = &session {
        crate::state::log::set_session(&s.id);
    }
    let request = match (&args.request, &args.request_file) {
        (Some(r), _) => r.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| {
            anyhow::anyhow!("cannot read the request file {}: {e}", f.display())
        })?,
        (None, None) => session.as_ref().map(|s| s.request.clone()).ok_or_else(|| {
            anyhow::anyhow!(
                "no request: give --request or --request-file, or start a session with `factory intake`"
            )
        })?,
    };
    let class = args
        .class
        .or(session.as_ref().map(|s| s.change_class))
        .unwrap_or(ChangeClass::Feature);
    let eff = workflow.effective(class, PhaseName::StrategicPlan, "plan");
    let input = PlanInput {
        state: &state,
        workflow: &workflow,
        request: &request,
        class,
        adr: eff.step.as_ref().is_some_and(|s| s.adr) || class == ChangeClass::RiskyInfra,
        retry_context: None,
        adapter: args.planner.agent,
        model: args.planner.model,
        timeout: eff.timeout,
    };
    let plan = strategic::plan(&input)?;
    let out = args
        .planner
        .out
        .unwrap_or_else(|| state.root().join("artifacts/strategic-plan.json"));
    strategic::write(&out, &plan)?;
    let tasks = plan
        .get("tasks")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    println!(
        "strategic plan written to {} ({tasks} task(s), valid against strategic-plan)",
        out.display()
    );
    Ok(Outcome::Clean)
}
