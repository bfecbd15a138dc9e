//! Claude Code in print mode: `claude -p --output-format json`, prompt on stdin, one result
//! object on stdout.

use serde_json::Value;

use super::errors::{AgentError, classify, first_line};
use super::process::{self, FORGE_SECRETS, Spec};
use super::{Agent, AgentRequest, AgentResponse, Usage};

const LOGIN_HINT: &str = "run `claude` once and log in with /login, or set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`) in the environment factory runs in";
const INSTALL_HINT: &str =
    "install it with `npm install -g @anthropic-ai/claude-code` (tested with 2.1.197)";

/// Credentials and settings Claude Code reads; nothing else from the environment.
pub const ENV: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
];

/// Tools for roles that only read.
pub const READ_ONLY_TOOLS: &str = "Read,Grep,Glob";
/// Tools for the implementer.
pub const WRITE_TOOLS: &str = "Read,Grep,Glob,Edit,Write,Bash";

pub struct Claude {
    pub program: String,
    pub env: Vec<String>,
}

impl Claude {
    /// The arguments for one call; the prompt goes on stdin.
    pub fn argv(&self, req: &AgentRequest) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-p".into(),
            "--output-format".into(),
            "json".into(),
            "--strict-mcp-config".into(),
            "--permission-mode".into(),
        ];
        if req.role.writes() {
            a.extend(["acceptEdits".into(), "--tools".into(), WRITE_TOOLS.into()]);
        } else {
            a.extend(["dontAsk".into(), "--tools".into(), READ_ONLY_TOOLS.into()]);
        }
        if let Some(m) = &req.model {
            a.extend(["--model".into(), m.clone()]);
        }
        if let Some(schema) = &req.schema {
            a.extend(["--json-schema".into(), schema.to_string()]);
        }
        if let Some(sid) = &req.resume {
            a.extend(["--resume".into(), sid.clone()]);
        }
        a
    }
}

impl Agent for Claude {
    fn name(&self) -> &str {
        "claude"
    }
    fn tool(&self) -> &str {
        "claude_code"
    }
    fn supports_resume(&self) -> bool {
        true
    }

    fn invoke(&self, req: &AgentRequest) -> Result<AgentResponse, AgentError> {
        let mut spec = Spec::new(self.program.clone(), self.argv(req), req.timeout);
        spec.cwd = Some(req.workdir.clone());
        spec.stdin = Some(req.prompt.clone().into_bytes());
        spec.allow_env = ENV
            .iter()
            .map(|s| s.to_string())
            .chain(self.env.iter().cloned())
            .collect();
        spec.deny_env = FORGE_SECRETS.iter().map(|s| s.to_string()).collect();
        let out = process::run(&spec).map_err(|e| super::spawn_error("claude", INSTALL_HINT, e))?;
        if let Some(e) = super::exit_error("claude", req, &out) {
            return Err(e);
        }
        parse(&out.stdout, &out.stderr, out.code())
    }
}

/// Read Claude's result object. `is_error` is checked even when `subtype` is success.
pub fn parse(stdout: &str, stderr: &str, code: Option<i32>) -> Result<AgentResponse, AgentError> {
    let trimmed = stdout.trim();
    let value: Option<Value> = serde_json::from_str(trimmed).ok().or_else(|| {
        // Some versions print warnings before the object: take the last JSON line.
        trimmed
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .filter(Value::is_object)
    });
    let Some(v) = value.filter(Value::is_object) else {
        let text = format!("{stderr}\n{stdout}");
        if let Some(e) = classify("claude", &text, LOGIN_HINT) {
            return Err(e);
        }
        if code != Some(0) {
            return Err(AgentError::Reported {
                agent: "claude".into(),
                detail: format!("exit {}: {}", code.unwrap_or(-1), first_line(&text)),
            });
        }
        return Err(AgentError::NotJson {
            agent: "claude".into(),
            detail: format!(
                "stdout is not the result object: {}",
                first_line(&process::tail(trimmed, 300))
            ),
        });
    };
    let result = v.get("result").and_then(Value::as_str).unwrap_or("");
    let subtype = v.get("subtype").and_then(Value::as_str).unwrap_or("");
    let is_error = v.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    if is_error || (subtype != "success" && !subtype.is_empty()) {
        let message = if result.is_empty() {
            format!("{subtype} {stderr}")
        } else {
            result.to_string()
        };
        if let Some(e) = classify("claude", &message, LOGIN_HINT) {
            return Err(e);
        }
        let detail = match subtype {
            "error_max_turns" => "it ran out of turns (error_max_turns)".to_string(),
            "error_during_execution" => format!("error during execution: {}", first_line(&message)),
            _ => first_line(&message),
        };
        return Err(AgentError::Reported {
            agent: "claude".into(),
            detail,
        });
    }
    let u = v.get("usage").cloned().unwrap_or(Value::Null);
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let usage = Usage {
        input_tokens: n("input_tokens") + n("cache_creation_input_tokens"),
        cached_input_tokens: n("cache_read_input_tokens"),
        output_tokens: n("output_tokens"),
        reasoning_tokens: 0,
    };
    let model = v
        .get("modelUsage")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned());
    Ok(AgentResponse {
        text: result.to_string(),
        json: v.get("structured_output").filter(|s| !s.is_null()).cloned(),
        usage,
        cost_usd: v.get("total_cost_usd").and_then(Value::as_f64),
        session_id: v
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        num_turns: v.get("num_turns").and_then(Value::as_u64).map(|n| n as u32),
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_result_gives_text_usage_cost_and_session() {
        let out = r#"{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1","num_turns":3,"total_cost_usd":0.0123,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":20},"structured_output":{"a":1}}"#;
        let r = parse(out, "", Some(0)).unwrap();
        assert_eq!(r.text, "done");
        assert_eq!(r.session_id.as_deref(), Some("s-1"));
        assert_eq!(r.usage.input_tokens, 15);
        assert_eq!(r.usage.cached_input_tokens, 100);
        assert_eq!(r.cost_usd, Some(0.0123));
        assert_eq!(r.json, Some(serde_json::json!({"a":1})));
    }

    #[test]
    fn is_error_counts_even_with_subtype_success() {
        let out = r#"{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key · Please run /login"}"#;
        assert!(matches!(
            parse(out, "", Some(1)),
            Err(AgentError::NotAuthenticated { .. })
        ));
        let out = r#"{"type":"result","subtype":"error_max_turns","is_error":true,"result":""}"#;
        assert!(matches!(
            parse(out, "", Some(1)),
            Err(AgentError::Reported { .. })
        ));
    }

    #[test]
    fn text_that_is_not_the_result_object_is_not_json() {
        assert!(matches!(
            parse("hello", "", Some(0)),
            Err(AgentError::NotJson { .. })
        ));
    }
}
