//! A phase run by a program named in workflow.yaml (`phases.<name>.command`).
//!
//! The program gets no shell, a cleared environment (a short allow-list, the variables the
//! phase config names, and the FACTORY_* protocol variables), a hard timeout that kills its
//! whole process group, and capped output capture. Its exit status is the protocol:
//! 0 done, 3 needs a human (reason in the FACTORY_ESCALATE file), 75 tool unavailable, anything
//! else failed.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::phase::{Phase, PhaseContext, PhaseOutcome};
use crate::state::EscalationReason;

/// Exit status meaning "a person must decide".
pub const EXIT_NEEDS_HUMAN: i32 = 3;
/// Exit status meaning "a tool is unavailable, try again later" (sysexits EX_TEMPFAIL).
pub const EXIT_UNAVAILABLE: i32 = 75;

/// Output kept from each stream; the rest is counted and dropped.
const OUTPUT_CAP: usize = 256 * 1024;
/// How much of the output tail goes into the retry context and the log.
const TAIL: usize = 2000;

/// Variables a phase program inherits whatever the config says: enough to find programs and
/// behave like a normal process, nothing that carries a credential.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "TERM",
    "USER",
    "SYSTEMROOT",
];

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

        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in INHERITED
            .iter()
            .copied()
            .chain(ctx.phase.env.iter().map(String::as_str))
        {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        let state_root = std::path::absolute(ctx.state.root())
            .unwrap_or_else(|_| ctx.state.root().to_path_buf());
        cmd.env("FACTORY_STATE_DIR", &state_root)
            .env("FACTORY_SESSION_ID", &ctx.session.id)
            .env("FACTORY_PHASE", ctx.phase.phase.as_str())
            .env("FACTORY_CHANGE_CLASS", ctx.session.change_class.as_str())
            .env("FACTORY_ATTEMPT", ctx.attempt.to_string())
            .env("FACTORY_ESCALATE", &escalate_file);
        if let Some(a) = &ctx.artifact {
            cmd.env("FACTORY_ARTIFACT", a);
        }
        match &ctx.retry_context {
            Some(text) => {
                crate::state::write_atomic(&context_file, text.as_bytes())
                    .with_context(|| format!("cannot write {}", context_file.display()))?;
                cmd.env("FACTORY_RETRY_CONTEXT", &context_file);
            }
            None => {
                let _ = std::fs::remove_file(&context_file);
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }

        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PhaseOutcome::Unavailable {
                    detail: format!(
                        "`{program}` was not found on PATH: install it or fix phases.{}.command in workflow.yaml",
                        ctx.phase.phase
                    ),
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot start `{program}`")),
        };
        let stdout = capture(child.stdout.take());
        let stderr = capture(child.stderr.take());
        let status = wait_with_timeout(&mut child, ctx.phase.timeout)?;
        let out = stdout.join().unwrap_or_default();
        let err = stderr.join().unwrap_or_default();
        let output = tail(&format!("{out}{err}"));

        let Some(status) = status else {
            return Ok(PhaseOutcome::Failed {
                detail: format!(
                    "`{program}` timed out after {}s and was killed{}",
                    ctx.phase.timeout.as_secs(),
                    suffix(&output)
                ),
            });
        };
        Ok(match status.code() {
            Some(0) => PhaseOutcome::Done {
                detail: first_line(&out).unwrap_or_else(|| format!("`{program}` finished")),
            },
            Some(EXIT_NEEDS_HUMAN) => {
                let (reason, detail) = read_escalation(&escalate_file, &output);
                PhaseOutcome::NeedsHuman { reason, detail }
            }
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

fn suffix(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", output.trim())
    }
}

fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect())
}

/// The last [`TAIL`] bytes of the output, cut at a character boundary.
fn tail(text: &str) -> String {
    if text.len() <= TAIL {
        return text.to_string();
    }
    let mut start = text.len() - TAIL;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

fn capture(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let Some(mut stream) = stream else {
            return String::new();
        };
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Wait for the child; on timeout kill its whole process group and return `None`.
fn wait_with_timeout(
    child: &mut Child,
    timeout: Duration,
) -> anyhow::Result<Option<std::process::ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot wait for the phase program")?
        {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            kill_group(child);
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    // The child leads its own process group (process_group(0)), so this reaches every
    // process it started.
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
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
        .or_else(|| first_line(output))
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
