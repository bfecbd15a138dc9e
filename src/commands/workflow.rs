//! `factory workflow show|check|agent`: the effective pipeline, validation of an override, and
//! which agent CLI a role needs (what the actions install before a phase).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::Outcome;
use crate::commands::state_dir;
use crate::workflow::load::{self, OVERRIDE_FILE, WorkflowError, shown};
use crate::workflow::{AdapterKind, ArtifactPath, ChangeClass, PhaseName, Role, Workflow};

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Print the effective pipeline: the route of each class and how each phase runs.
    Show(ShowArgs),
    /// Validate .factory/workflow.yaml (or FILE) merged over the built-in default.
    Check(CheckArgs),
    /// Print the built-in default workflow.yaml, to start an override from.
    Default,
    /// Print the agent CLI that plays ROLE: claude, codex, command (a program of yours), or
    /// none when --phase runs a phase program instead. The actions install only what it names.
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// planner, implementer or reviewer.
    #[arg(value_parser = parse_role)]
    pub role: Role,
    /// The phase about to run: a phase with its own `command` runs no agent.
    #[arg(long, value_parser = parse_phase)]
    pub phase: Option<PhaseName>,
    /// The state directory holding workflow.yaml [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    [Role::Planner, Role::Implementer, Role::Reviewer]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown role '{s}': expected planner, implementer or reviewer"))
}

fn parse_phase(s: &str) -> Result<PhaseName, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Only this change class.
    #[arg(long, value_parser = parse_class)]
    pub class: Option<ChangeClass>,
    /// The state directory holding workflow.yaml [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The override to check [default: workflow.yaml in the state directory].
    pub file: Option<PathBuf>,
    /// The state directory holding workflow.yaml [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
}

pub(crate) fn parse_class(s: &str) -> Result<ChangeClass, String> {
    s.parse()
}

pub fn run(cmd: WorkflowCommand) -> anyhow::Result<Outcome> {
    match cmd {
        WorkflowCommand::Show(args) => show(args),
        WorkflowCommand::Check(args) => check(args),
        WorkflowCommand::Default => {
            print!("{}", load::DEFAULT_YAML);
            Ok(Outcome::Clean)
        }
        WorkflowCommand::Agent(args) => agent(args),
    }
}

fn agent(args: AgentArgs) -> anyhow::Result<Outcome> {
    let path = state_dir(args.state_dir).join(OVERRIDE_FILE);
    let workflow = load::load(&path)?.workflow;
    let phase_program = args
        .phase
        .and_then(|p| workflow.phases.get(&p))
        .is_some_and(|c| c.command.is_some());
    let name = if phase_program {
        "none"
    } else {
        match workflow.agents.role(args.role).adapter {
            AdapterKind::Claude => "claude",
            AdapterKind::Codex => "codex",
            AdapterKind::Command => "command",
        }
    };
    println!("{name}");
    Ok(Outcome::Clean)
}

fn show(args: ShowArgs) -> anyhow::Result<Outcome> {
    let path = state_dir(args.state_dir).join(OVERRIDE_FILE);
    let loaded = load::load(&path)?;
    let classes: Vec<ChangeClass> = match args.class {
        Some(c) => vec![c],
        None => ChangeClass::ALL.to_vec(),
    };
    let w = &loaded.workflow;
    match args.format {
        ShowFormat::Json => {
            let routes: serde_json::Map<String, Value> = classes
                .iter()
                .map(|c| (c.to_string(), route_json(w, *c)))
                .collect();
            let out = json!({
                "override": loaded.override_path.as_ref().map(|p| p.display().to_string()),
                "routes": routes,
                "limits": w.limits,
                "backoff": w.backoff,
                "forge": w.forge,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ShowFormat::Text => {
            match &loaded.override_path {
                Some(p) => println!("workflow: built-in default + {}", shown(p)),
                None => println!("workflow: built-in default (no {} found)", shown(&path)),
            }
            for class in classes {
                println!();
                print_route(w, class);
            }
            let l = &w.limits;
            println!();
            println!(
                "limits: review cycles {}, implementation retries {}, planning retries {}, concurrent issues {}, recurrence {}",
                l.max_review_cycles,
                l.max_implementation_retries,
                l.max_planning_retries,
                l.max_concurrent_issues,
                l.recurrence_limit
            );
            let b = &w.backoff;
            println!(
                "tool unavailable: retry after {}s, ×{} each time, at most {}s a wait, {} attempts",
                b.base_seconds, b.factor, b.max_seconds, b.max_attempts
            );
            println!(
                "GitHub waits: rate limits and server errors waited out for at most {}s per phase attempt",
                w.forge.time_budget_seconds
            );
            let a = &w.agents;
            let show = |r: &crate::workflow::AgentRole| {
                let name = serde_json::to_value(r.adapter)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                match &r.model {
                    Some(m) => format!("{name} ({m})"),
                    None => name,
                }
            };
            println!(
                "agents: planner {}, implementer {}, reviewer {}",
                show(&a.planner),
                show(&a.implementer),
                show(&a.reviewer)
            );
        }
    }
    Ok(Outcome::Clean)
}

fn step_options(w: &Workflow, class: ChangeClass, i: usize) -> Vec<String> {
    let s = &w.route(class)[i];
    let mut opts = Vec::new();
    if s.inline_issue {
        opts.push("inline issue".to_string());
    }
    if s.adr {
        opts.push("ADR".to_string());
    }
    if let Some(r) = s.review {
        opts.push(format!(
            "{} review",
            serde_json::to_value(r).unwrap().as_str().unwrap_or("")
        ));
    }
    if s.verify {
        opts.push("post-merge verify".to_string());
    }
    if s.approval {
        opts.push("human approval".to_string());
    }
    opts
}

fn route_json(w: &Workflow, class: ChangeClass) -> Value {
    let steps: Vec<Value> = w
        .route_phases(class)
        .into_iter()
        .map(|phase| {
            let e = w.effective(class, phase, "{sid}");
            json!({
                "number": phase.number(),
                "phase": phase,
                "options": e.step,
                "gate": e.gate.map(|g| g.name()),
                "artifact": e.artifact.as_ref().map(artifact_text),
                "retries": e.retries,
                "timeout_seconds": e.timeout.as_secs(),
                "runs": e.command.as_ref().map_or_else(|| "built-in".to_string(), |c| c.join(" ")),
            })
        })
        .collect();
    Value::Array(steps)
}

fn artifact_text(a: &ArtifactPath) -> String {
    match a {
        ArtifactPath::File(p) => p.clone(),
        ArtifactPath::Dir(p) => format!("{p}/"),
    }
}

fn print_route(w: &Workflow, class: ChangeClass) {
    let phases = w.route_phases(class);
    let chain: Vec<String> = phases.iter().map(|p| p.number().to_string()).collect();
    println!("{class}: {}", chain.join(" → "));
    println!(
        "  {:<3} {:<15} {:<15} {:<30} {:>7} {:>8}  options",
        "#", "phase", "gate", "artifact", "retries", "timeout"
    );
    for phase in phases {
        let e = w.effective(class, phase, "{sid}");
        let mut opts = match w.route(class).iter().position(|s| s.phase == phase) {
            Some(i) => step_options(w, class, i),
            None => Vec::new(),
        };
        if let Some(cmd) = &e.command {
            opts.push(format!("runs `{}`", cmd.join(" ")));
        }
        println!(
            "  {:<3} {:<15} {:<15} {:<30} {:>7} {:>7}s  {}",
            phase.number(),
            phase.as_str(),
            e.gate.map_or("—", |g| g.name()),
            e.artifact
                .as_ref()
                .map_or_else(|| "—".to_string(), artifact_text),
            e.retries,
            e.timeout.as_secs(),
            opts.join(", ")
        );
    }
}

fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let path = match args.file {
        Some(p) => {
            if !p.exists() {
                anyhow::bail!(
                    "{} does not exist: give the path of a workflow.yaml override",
                    p.display()
                );
            }
            p
        }
        None => {
            let p = state_dir(args.state_dir).join(OVERRIDE_FILE);
            if !p.exists() {
                println!(
                    "no override at {}: the built-in default is in effect, and it is valid",
                    p.display()
                );
                return Ok(Outcome::Clean);
            }
            p
        }
    };
    match load::load(&path) {
        Ok(_) => {
            println!(
                "{}: valid (merged over the built-in default)",
                path.display()
            );
            Ok(Outcome::Clean)
        }
        Err(err @ WorkflowError::Invalid { .. }) => {
            eprintln!("{err}");
            Ok(Outcome::Findings)
        }
        Err(err) => Err(err).with_context(|| format!("checking {}", path.display())),
    }
}
