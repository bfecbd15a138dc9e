//! Codex non-interactive: `codex exec --json`, prompt on stdin, JSONL events on stdout, the
//! final message in the `-o` file. Codex reports tokens but no cost: the cost comes from the
//! price table in workflow.yaml (`agents.prices`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::{AgentError, classify, first_line};
use super::process::{self, FORGE_SECRETS, Spec};
use super::{Agent, AgentRequest, AgentResponse, Usage};
use crate::workflow::Price;

const LOGIN_HINT: &str = "set CODEX_API_KEY (or OPENAI_API_KEY) in the environment factory runs in, or run `codex login` once on this machine";
const INSTALL_HINT: &str = "install it with `npm install -g @openai/codex` (tested with 0.171.0)";

/// Credentials and settings Codex reads; nothing else from the environment.
pub const ENV: &[&str] = &[
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CODEX_HOME",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
];

pub struct Codex {
    pub program: String,
    pub env: Vec<String>,
    pub prices: BTreeMap<String, Price>,
}

impl Codex {
    /// The arguments for one call; `-` reads the prompt from stdin.
    pub fn argv(&self, req: &AgentRequest, last: &str, schema: Option<&str>) -> Vec<String> {
        let sandbox = if req.role.writes() {
            "workspace-write"
        } else {
            "read-only"
        };
        let mut a: Vec<String> = vec![
            "exec".into(),
            "--json".into(),
            "--sandbox".into(),
            sandbox.into(),
            "--skip-git-repo-check".into(),
            "-C".into(),
            req.workdir.display().to_string(),
            "--output-last-message".into(),
            last.into(),
        ];
        if let Some(s) = schema {
            a.extend(["--output-schema".into(), s.into()]);
        }
        if let Some(m) = &req.model {
            a.extend(["--model".into(), m.clone()]);
        }
        a.push("-".into());
        a
    }

    fn cost(&self, model: Option<&str>, u: &Usage) -> Option<f64> {
        let p = model
            .and_then(|m| self.prices.get(m))
            .or_else(|| self.prices.get("default"))?;
        let uncached = u.input_tokens.saturating_sub(u.cached_input_tokens) as f64;
        Some(
            (uncached * p.input_per_mtok
                + u.cached_input_tokens as f64 * p.cached_input_per_mtok
                + u.output_tokens as f64 * p.output_per_mtok)
                / 1_000_000.0,
        )
    }
}

impl Agent for Codex {
    fn name(&self) -> &str {
        "codex"
    }
    fn tool(&self) -> &str {
        "codex"
    }
    fn supports_resume(&self) -> bool {
        // `codex exec resume` exists but takes no --output-schema or --sandbox: a corrected
        // retry runs as a fresh call with the errors in the prompt.
        false
    }

    fn invoke(&self, req: &AgentRequest) -> Result<AgentResponse, AgentError> {
        let io = |e: std::io::Error| AgentError::Io {
            agent: "codex".into(),
            detail: format!("cannot write to {}: {e}", req.scratch.display()),
        };
        std::fs::create_dir_all(&req.scratch).map_err(io)?;
        let last = req.scratch.join("codex-last-message.txt");
        let _ = std::fs::remove_file(&last);
        let schema_file = match &req.schema {
            Some(s) => {
                let f = req.scratch.join("codex-output-schema.json");
                std::fs::write(&f, s.to_string()).map_err(io)?;
                Some(f.display().to_string())
            }
            None => None,
        };
        let argv = self.argv(req, &last.display().to_string(), schema_file.as_deref());
        let mut spec = Spec::new(self.program.clone(), argv, req.timeout);
        spec.cwd = Some(req.workdir.clone());
        spec.stdin = Some(req.prompt.clone().into_bytes());
        spec.allow_env = ENV
            .iter()
            .map(|s| s.to_string())
            .chain(self.env.iter().cloned())
            .collect();
        spec.deny_env = FORGE_SECRETS.iter().map(|s| s.to_string()).collect();
        let out = process::run(&spec).map_err(|e| super::spawn_error("codex", INSTALL_HINT, e))?;
        if let Some(e) = super::exit_error("codex", req, &out) {
            return Err(e);
        }
        let last_message = std::fs::read_to_string(&last).ok();
        let mut r = parse(&out.stdout, &out.stderr, out.code(), last_message)?;
        r.model = req.model.clone();
        r.cost_usd = self.cost(req.model.as_deref(), &r.usage);
        Ok(r)
    }
}

/// Read Codex's JSONL events: usage from every `turn.completed`, failures from `turn.failed`
/// and `error`, the final message from the `-o` file or the last `agent_message` item.
pub fn parse(
    stdout: &str,
    stderr: &str,
    code: Option<i32>,
    last_message: Option<String>,
) -> Result<AgentResponse, AgentError> {
    let mut usage = Usage::default();
    let mut session = None;
    let mut failure: Option<String> = None;
    let mut last_item: Option<String> = None;
    let mut events = 0;
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        events += 1;
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "thread.started" => {
                session = v
                    .get("thread_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
            "turn.completed" => {
                let u = v.get("usage").cloned().unwrap_or(Value::Null);
                let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
                usage.add(&Usage {
                    input_tokens: n("input_tokens"),
                    cached_input_tokens: n("cached_input_tokens"),
                    output_tokens: n("output_tokens"),
                    reasoning_tokens: n("reasoning_output_tokens"),
                });
            }
            "turn.failed" => {
                failure = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or(Some("turn failed".into()))
            }
            "error" => {
                failure = v
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or(failure)
            }
            "item.completed"
                if v.pointer("/item/type").and_then(Value::as_str) == Some("agent_message") =>
            {
                last_item = v
                    .pointer("/item/text")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            _ => {}
        }
    }
    if let Some(message) = failure {
        if let Some(e) = classify("codex", &message, LOGIN_HINT) {
            return Err(e);
        }
        return Err(AgentError::Reported {
            agent: "codex".into(),
            detail: first_line(&message),
        });
    }
    if events == 0 || code != Some(0) {
        let text = format!("{stderr}\n{stdout}");
        if let Some(e) = classify("codex", &text, LOGIN_HINT) {
            return Err(e);
        }
        if code != Some(0) {
            return Err(AgentError::Reported {
                agent: "codex".into(),
                detail: format!("exit {}: {}", code.unwrap_or(-1), first_line(&text)),
            });
        }
        return Err(AgentError::NotJson {
            agent: "codex".into(),
            detail: "stdout holds no JSONL events; is this `codex exec --json`?".into(),
        });
    }
    let text = last_message
        .filter(|t| !t.trim().is_empty())
        .or(last_item)
        .unwrap_or_default();
    Ok(AgentResponse {
        text,
        json: None,
        usage,
        cost_usd: None,
        session_id: session,
        num_turns: None,
        model: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"type":"thread.started","thread_id":"t-1"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"i0","type":"agent_message","text":"hi"}}
{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":400,"output_tokens":50}}
"#;

    #[test]
    fn usage_session_and_last_message_are_read() {
        let r = parse(OK, "", Some(0), None).unwrap();
        assert_eq!(r.text, "hi");
        assert_eq!(r.session_id.as_deref(), Some("t-1"));
        assert_eq!(r.usage.input_tokens, 1000);
        assert_eq!(r.usage.cached_input_tokens, 400);
        let r = parse(OK, "", Some(0), Some("from file".into())).unwrap();
        assert_eq!(r.text, "from file");
    }

    #[test]
    fn cost_comes_from_the_price_table() {
        let mut prices = BTreeMap::new();
        prices.insert(
            "default".to_string(),
            Price {
                input_per_mtok: 1.0,
                cached_input_per_mtok: 0.1,
                output_per_mtok: 10.0,
            },
        );
        let c = Codex {
            program: "codex".into(),
            env: vec![],
            prices,
        };
        let u = Usage {
            input_tokens: 1_000_000,
            cached_input_tokens: 500_000,
            output_tokens: 100_000,
            reasoning_tokens: 0,
        };
        let cost = c.cost(None, &u).unwrap();
        assert!((cost - (0.5 + 0.05 + 1.0)).abs() < 1e-9);
    }

    #[test]
    fn a_failed_turn_is_classified() {
        let out = r#"{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}"#;
        assert!(matches!(
            parse(out, "", Some(1), None),
            Err(AgentError::RateLimited { .. })
        ));
    }
}
