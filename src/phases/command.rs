//! A phase run by a program named in workflow.yaml (`phases.<name>.command`).
//!
//! The program runs through the shared runner ([`crate::agents::process`]): no shell, a cleared environment (a short allow-list, the variables the
//! phase config names, and the FACTORY_* protocol variables), a hard timeout that kills its
//! whole process group, and capped output capture. Its exit status is the protocol:
//! 0 done, 3 needs a human (reason in the FACTORY_ESCALATE file) or sends work back to an
//! earlier phase (`send_back` in that file), 75 tool unavailable, anything else failed.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context as _;

use crate::agents::process;
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome, SendBackReason};
use crate::state::EscalationReason;
use crate::util::text::{first_line, first_line_or};

/// Exit status meaning "a person must decide".
pub const EXIT_NEEDS_HUMAN: i32 = 3;
/// Exit status meaning "a tool is unavailable, try again later" (sysexits EX_TEMPFAIL).
pub const EXIT_UNAVAILABLE: i32 = 75;

/// How much of the output tail goes into the retry context and the log.
const TAIL: usize = 2000;

pub struct CommandPhase {
    pub argv: Vec<String>,
}

impl Phase for CommandPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let (program, args) = self
            .argv
            .split_first()
            .context("the phase command is empty")?;
        let escalate_file = ctx
            .state
            .root()
            .join("runs")
            .join(format!("{}.escalate", ctx.phase.phase));
        let context_file = ctx
            .state
            .root()
            .join("runs")
            .join(format!("{}.retry-context.txt", ctx.phase.phase));
        std::fs::create_dir_all(ctx.state.root().join("runs")).with_context(|| {
            format!("cannot create {}", ctx.state.root().join("runs").display())
        })?;
        let _ = std::fs::remove_file(&escalate_file);
        let rework_file = ctx
            .state
            .root()
            .join("runs")
            .join(format!("{}.rework.txt", ctx.phase.phase));

        let mut spec = process::Spec::new(program.clone(), args.to_vec(), ctx.phase.timeout);
        spec.allow_env = ctx.phase.env.clone();
        let state_root = std::path::absolute(ctx.state.root())
            .unwrap_or_else(|_| ctx.state.root().to_path_buf());
        let mut set = |k: &str, v: OsString| spec.set_env.push((k.to_string(), v));
        set("FACTORY_STATE_DIR", state_root.into_os_string());
        set("FACTORY_SESSION_ID", ctx.session.id.clone().into());
        set("FACTORY_PHASE", ctx.phase.phase.as_str().into());
        set(
            "FACTORY_CHANGE_CLASS",
            ctx.session.change_class.as_str().into(),
        );
        set("FACTORY_ATTEMPT", ctx.attempt.to_string().into());
        set("FACTORY_ESCALATE", escalate_file.clone().into_os_string());
        if let Some(a) = &ctx.artifact {
            set("FACTORY_ARTIFACT", a.clone().into_os_string());
        }
        match &ctx.retry_context {
            Some(text) => {
                crate::state::write_atomic(&context_file, text.as_bytes())
                    .with_context(|| format!("cannot write {}", context_file.display()))?;
                set(
                    "FACTORY_RETRY_CONTEXT",
                    context_file.clone().into_os_string(),
                );
            }
            None => {
                let _ = std::fs::remove_file(&context_file);
            }
        }

        match ctx.rework {
            Some(rework) => {
                crate::state::write_atomic(&rework_file, rework.detail.as_bytes())
                    .with_context(|| format!("cannot write {}", rework_file.display()))?;
                set("FACTORY_REWORK", rework_file.clone().into_os_string());
                set("FACTORY_REVIEW_CYCLE", rework.cycle.to_string().into());
            }
            None => {
                let _ = std::fs::remove_file(&rework_file);
            }
        }

        let result = match process::run(&spec) {
            Ok(r) => r,
            Err(process::ProcessError::NotFound(_)) => {
                return Ok(PhaseOutcome::Unavailable {
                    detail: format!(
                        "`{program}` was not found on PATH: install it or fix phases.{}.command in workflow.yaml",
                        ctx.phase.phase
                    ),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let out = result.stdout.clone();
        let err = result.stderr.clone();
        let output = tail(&format!("{out}{err}"));

        let status = match result.exit {
            process::Exit::Status(s) => s,
            process::Exit::TimedOut => {
                return Ok(PhaseOutcome::Failed {
                    detail: format!(
                        "`{program}` timed out after {}s and was killed{}",
                        ctx.phase.timeout.as_secs(),
                        suffix(&output)
                    ),
                });
            }
            process::Exit::Cancelled => {
                anyhow::bail!("interrupted: `{program}` was stopped by Ctrl-C")
            }
        };
        Ok(match status.code() {
            Some(0) => PhaseOutcome::Done {
                detail: first_line_or(&out, 200, &format!("`{program}` finished")),
            },
            Some(EXIT_NEEDS_HUMAN) => match read_send_back(&escalate_file)? {
                Some((to, detail)) => PhaseOutcome::SendBack {
                    to,
                    detail,
                    issues: Vec::new(),
                    why: SendBackReason::ChangesRequested,
                },
                None => {
                    let (reason, detail) = read_escalation(&escalate_file, &output);
                    PhaseOutcome::NeedsHuman { reason, detail }
                }
            },
            Some(EXIT_UNAVAILABLE) => PhaseOutcome::Unavailable {
                detail: format!("`{program}` reports a tool unavailable{}", suffix(&output)),
            },
            Some(code) => PhaseOutcome::Failed {
                detail: format!("`{program}` exited with {code}{}", suffix(&output)),
            },
            None => PhaseOutcome::Failed {
                detail: format!("`{program}` was killed by a signal{}", suffix(&output)),
            },
        })
    }
}

/// The last [`TAIL`] bytes of the output.
fn tail(text: &str) -> String {
    process::tail(text, TAIL)
}

fn suffix(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", output.trim())
    }
}

/// Work the phase sends back: `{"send_back": "<earlier phase>", "detail": "..."}` in the
/// FACTORY_ESCALATE file. An unknown phase name is an error in the phase program, reported as
/// such rather than guessed.
fn read_send_back(path: &Path) -> anyhow::Result<Option<(crate::workflow::PhaseName, String)>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(None);
    };
    let Some(to) = v.get("send_back") else {
        return Ok(None);
    };
    let name = to.as_str().unwrap_or_default();
    let to = name.parse::<crate::workflow::PhaseName>().map_err(|e| {
        anyhow::anyhow!(
            "{}: `send_back` must name an earlier phase of the route: {e}",
            path.display()
        )
    })?;
    let detail = v
        .get("detail")
        .and_then(|d| d.as_str())
        .unwrap_or("the phase asked for the work to be redone")
        .to_string();
    Ok(Some((to, detail)))
}

/// The escalation a phase asked for: `{"reason": "...", "detail": "..."}` or a bare reason in
/// the FACTORY_ESCALATE file; without one, a scope decision with the output as detail.
fn read_escalation(path: &Path, output: &str) -> (EscalationReason, String) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (reason, detail) = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => (
            v.get("reason").and_then(|r| r.as_str()).map(str::to_string),
            v.get("detail").and_then(|d| d.as_str()).map(str::to_string),
        ),
        Err(_) => (
            Some(text.trim().to_string()).filter(|t| !t.is_empty()),
            None,
        ),
    };
    let parsed = reason
        .as_deref()
        .and_then(|r| r.parse::<EscalationReason>().ok());
    let detail = detail
        .or_else(|| Some(first_line(output, 200)).filter(|l| !l.is_empty()))
        .unwrap_or_else(|| "the phase asked for a human decision".to_string());
    match (parsed, reason) {
        (Some(r), _) => (r, detail),
        (None, Some(unknown)) => (
            EscalationReason::ScopeDecision,
            format!(
                "{detail} (the phase gave an unknown reason `{}`)",
                unknown.chars().take(60).collect::<String>()
            ),
        ),
        (None, None) => (EscalationReason::ScopeDecision, detail),
    }
}
