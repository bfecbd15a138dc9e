//! Agent adapters: Claude Code, Codex and any command that reads a prompt on stdin. Each runs
//! through the shared process runner with least privilege (read-only tools for planning and
//! review, no forge token), and each call's usage and cost is logged and kept in the session.

pub mod budget;
pub mod claude;
pub mod codex;
pub mod command;
pub mod context;
pub mod errors;
pub mod process;
pub mod strategic;
pub mod strict_schema;
pub mod structured;
pub mod tactical;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use errors::AgentError;

pub use crate::workflow::Role;
use crate::workflow::{AdapterKind, AgentRole, Backoff, Workflow};

/// One invocation.
#[derive(Debug, Clone)]
pub struct AgentRequest {
    pub role: Role,
    pub prompt: String,
    /// The repository the agent works in.
    pub workdir: PathBuf,
    /// Where the adapter may put its files (schema, last message).
    pub scratch: PathBuf,
    /// The JSON Schema the answer is asked to follow (never trusted: see [`structured`]).
    pub schema: Option<Value>,
    /// Continue this agent session (a corrected retry), where the CLI supports it.
    pub resume: Option<String>,
    pub timeout: Duration,
    pub model: Option<String>,
    /// Commands an implementer may run to check its own work (the validation
    /// commands): allowed by name where the CLI asks permission per command (Claude Code).
    pub commands: Vec<String>,
}

/// Tokens used by one invocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }
}

/// What an agent answered.
#[derive(Debug, Clone, Default)]
pub struct AgentResponse {
    /// The final message.
    pub text: String,
    /// Structured output the CLI returned itself (Claude's structured_output), if any.
    pub json: Option<Value>,
    pub usage: Usage,
    /// In US dollars: reported by the CLI (Claude) or computed from the price table (Codex).
    pub cost_usd: Option<f64>,
    pub session_id: Option<String>,
    pub num_turns: Option<u32>,
    pub model: Option<String>,
    /// What went wrong but did not fail the call (Codex reconnecting, then finishing).
    pub warnings: Vec<String>,
    /// Tool uses the CLI refused (Claude's `permission_denials`): tool and file or command.
    pub denials: Vec<String>,
    /// Files the agent says it changed (Codex's `file_change` items), for the log.
    pub files_changed: Vec<String>,
    /// Commands the agent says it ran, with their exit codes (Codex's `command_execution`
    /// items), for the log: what it checked before handing over.
    pub commands_run: Vec<String>,
}

/// An agent CLI.
pub trait Agent {
    /// "claude", "codex" or the command's program name.
    fn name(&self) -> &str;
    /// The tool name in the event log ("claude_code", "codex", ...).
    fn tool(&self) -> &str;
    /// Whether [`AgentRequest::resume`] is honoured.
    fn supports_resume(&self) -> bool;
    /// Run once; no retries here.
    fn invoke(&self, req: &AgentRequest) -> Result<AgentResponse, AgentError>;
}

/// The adapter for `role` as configured, with `adapter`/`model` flags taking precedence.
pub fn for_role(
    workflow: &Workflow,
    role: Role,
    adapter: Option<AdapterKind>,
    model: Option<String>,
) -> Result<(Box<dyn Agent>, AgentRole), AgentError> {
    let mut cfg = workflow.agents.role(role).clone();
    if let Some(a) = adapter {
        cfg.adapter = a;
    }
    if model.is_some() {
        cfg.model = model;
    }
    let agent: Box<dyn Agent> = match cfg.adapter {
        AdapterKind::Claude => Box::new(claude::Claude {
            program: cfg.program.clone().unwrap_or_else(|| "claude".into()),
            env: cfg.env.clone(),
        }),
        AdapterKind::Codex => Box::new(codex::Codex {
            program: cfg.program.clone().unwrap_or_else(|| "codex".into()),
            env: cfg.env.clone(),
            prices: workflow.agents.prices.clone(),
        }),
        AdapterKind::Command => {
            let argv = cfg.command.clone().filter(|c| !c.is_empty()).ok_or_else(|| {
                AgentError::Io {
                    agent: "command".into(),
                    detail: format!(
                        "agents.{}.adapter is `command` but agents.{}.command is empty; set it in .factory/workflow.yaml",
                        role.as_str(),
                        role.as_str()
                    ),
                }
            })?;
            Box::new(command::CommandAgent {
                argv,
                env: cfg.env.clone(),
            })
        }
    };
    Ok((agent, cfg))
}

/// Run `req` with the retry policy for transient failures: network trouble waits on the
/// workflow's exponential backoff, a rate limit waits as long as the service asked (capped by
/// the backoff maximum). Every attempt is logged with its usage and cost.
pub fn invoke_with_retries(
    agent: &dyn Agent,
    req: &AgentRequest,
    backoff: &Backoff,
    phase: &str,
) -> Result<AgentResponse, AgentError> {
    let mut tries = 0u32;
    loop {
        tries += 1;
        let started = std::time::Instant::now();
        let result = agent.invoke(req);
        let ms = started.elapsed().as_millis() as u64;
        log_invocation(agent, req, phase, ms, &result);
        match result {
            Err(e) if e.is_transient() && tries < backoff.max_attempts.max(1) => {
                let wait = match &e {
                    AgentError::RateLimited {
                        retry_after: Some(d),
                        ..
                    } => (*d).min(Duration::from_secs_f64(backoff.max_seconds.max(0.0))),
                    _ => backoff.delay(tries),
                };
                tracing::info!(
                    target: "factory::event",
                    phase,
                    action = "backoff",
                    tool = agent.tool(),
                    status = "waiting",
                    detail = format!("{}; waiting {:.1}s before try {}", e.kind(), wait.as_secs_f64(), tries + 1)
                );
                std::thread::sleep(wait);
                if process::interrupted() {
                    return Err(AgentError::Cancelled {
                        agent: agent.name().into(),
                    });
                }
            }
            other => return other,
        }
    }
}

fn log_invocation(
    agent: &dyn Agent,
    req: &AgentRequest,
    phase: &str,
    ms: u64,
    result: &Result<AgentResponse, AgentError>,
) {
    let (status, detail, refs) = match result {
        Ok(r) => (
            "ok",
            format!(
                "{} as {}: {} input, {} cached, {} output tokens{}{}",
                agent.name(),
                req.role.as_str(),
                r.usage.input_tokens,
                r.usage.cached_input_tokens,
                r.usage.output_tokens,
                r.cost_usd.map(|c| format!(", ${c:.4}")).unwrap_or_default(),
                if r.warnings.is_empty() {
                    String::new()
                } else {
                    format!("; {}", r.warnings.join("; "))
                }
            ),
            json!({
                "role": req.role.as_str(),
                "model": r.model,
                "session_id": r.session_id,
                "num_turns": r.num_turns,
                "input_tokens": r.usage.input_tokens,
                "cached_input_tokens": r.usage.cached_input_tokens,
                "output_tokens": r.usage.output_tokens,
                "reasoning_tokens": r.usage.reasoning_tokens,
                "cost_usd": r.cost_usd,
                "warnings": r.warnings,
                "denied": r.denials,
                "files_changed": r.files_changed,
                "commands_run": r.commands_run,
            }),
        ),
        Err(e) => (
            e.kind(),
            errors::first_line(&e.to_string()),
            json!({"role": req.role.as_str()}),
        ),
    };
    let refs = refs.to_string();
    tracing::info!(
        target: "factory::event",
        phase,
        action = crate::state::log::vocab::INVOKE_AGENT,
        tool = agent.tool(),
        status,
        duration_ms = ms,
        detail,
        refs
    );
}

/// One agent call as every phase makes it: refused when the session is over its budget, run
/// with the retry policy of [`invoke_with_retries`], and recorded in the session's cost ledger.
/// Without `state` (no session) only the call itself happens.
pub fn call(
    agent: &dyn Agent,
    req: &AgentRequest,
    backoff: &Backoff,
    phase: &str,
    state: Option<&crate::state::StateDir>,
) -> Result<AgentResponse, AgentError> {
    if let Some(s) = state {
        budget::check(s, phase, agent.name())?;
    }
    let r = invoke_with_retries(agent, req, backoff, phase)?;
    if let Some(s) = state {
        record_usage(s, phase, agent, &r).map_err(|e| AgentError::Io {
            agent: agent.name().into(),
            detail: format!("{e:#}"),
        })?;
    }
    Ok(r)
}

/// Add one call to the session's cost ledger, if a session exists.
fn record_usage(
    state: &crate::state::StateDir,
    phase: &str,
    agent: &dyn Agent,
    response: &AgentResponse,
) -> anyhow::Result<()> {
    if state.load_session()?.is_none() {
        return Ok(());
    }
    state.update_session(|s| {
        s.usage.push(crate::state::UsageEntry {
            phase: phase.to_string(),
            agent: agent.name().to_string(),
            model: response.model.clone(),
            input_tokens: response.usage.input_tokens,
            cached_input_tokens: response.usage.cached_input_tokens,
            output_tokens: response.usage.output_tokens,
            reasoning_tokens: response.usage.reasoning_tokens,
            cost_usd: response.cost_usd,
        })
    })?;
    Ok(())
}

/// Map a spawn failure to an agent error.
pub(crate) fn spawn_error(agent: &str, install_hint: &str, e: process::ProcessError) -> AgentError {
    match e {
        process::ProcessError::NotFound(program) => AgentError::NotInstalled {
            program,
            hint: install_hint.into(),
        },
        other => AgentError::Io {
            agent: agent.into(),
            detail: other.to_string(),
        },
    }
}

/// Map a timeout or Ctrl-C to an agent error; `None` for a normal exit.
pub(crate) fn exit_error(
    agent: &str,
    req: &AgentRequest,
    out: &process::Output,
) -> Option<AgentError> {
    match out.exit {
        process::Exit::TimedOut => Some(AgentError::Timeout {
            agent: agent.into(),
            seconds: req.timeout.as_secs(),
        }),
        process::Exit::Cancelled => Some(AgentError::Cancelled {
            agent: agent.into(),
        }),
        process::Exit::Status(_) => None,
    }
}
