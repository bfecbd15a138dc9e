//! Claude Code in print mode: `claude -p --output-format json`, prompt on stdin, one result
//! object on stdout.

use serde_json::Value;

use super::errors::{AgentError, classify, first_line};
use super::process::{self, FORGE_SECRETS, Spec};
use super::{Agent, AgentRequest, AgentResponse, Usage};

const LOGIN_HINT: &str = "run `claude` once and log in with /login, or set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`) in the environment factory runs in";
const INSTALL_HINT: &str =
    "install it with `npm install -g @anthropic-ai/claude-code` (tested with 2.1.332)";

/// Settings Claude Code reads one by one: its configuration directory, telemetry switches,
/// proxies and certificate authorities (a corporate proxy's CA in `NODE_EXTRA_CA_CERTS`).
pub const ENV: &[&str] = &[
    "CLAUDE_CONFIG_DIR",
    "DISABLE_TELEMETRY",
    "DISABLE_ERROR_REPORTING",
    "DISABLE_AUTOUPDATER",
    "DISABLE_BUG_COMMAND",
    "DISABLE_COST_WARNINGS",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS",
    "MAX_THINKING_TOKENS",
    "BASH_DEFAULT_TIMEOUT_MS",
    "BASH_MAX_TIMEOUT_MS",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Families of variables Claude Code reads, by prefix: its own settings (`CLAUDE_CODE_*`,
/// among them `CLAUDE_CODE_USE_BEDROCK` and `_VERTEX`) and the API's (`ANTHROPIC_*`: key, base
/// URL, model, custom headers).
pub const ENV_FAMILIES: &[&str] = &["CLAUDE_CODE_", "ANTHROPIC_"];

/// The cloud credentials Claude Code needs when the user turned a provider on: Bedrock's AWS
/// variables with `CLAUDE_CODE_USE_BEDROCK`, Vertex's Google ones with `CLAUDE_CODE_USE_VERTEX`.
pub const PROVIDER_FAMILIES: &[(&str, &[&str])] = &[
    ("CLAUDE_CODE_USE_BEDROCK", &["AWS_"]),
    (
        "CLAUDE_CODE_USE_VERTEX",
        &["GOOGLE_", "CLOUDSDK_", "CLOUD_ML_REGION", "VERTEX_REGION_"],
    ),
];

/// Defaults factory sets for its calls unless the environment says otherwise: no telemetry,
/// no nonessential traffic (without it every call also asks the model for a title, sending the
/// whole prompt again), and few retries inside Claude Code — left alone it retries even a 401
/// for more than a minute, and factory has its own backoff for what is worth retrying.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("CLAUDE_CODE_MAX_RETRIES", "2"),
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
            // acceptEdits refuses every command that is not read-only: the validation commands
            // are allowed by name, so the implementer can run the tests it must pass.
            for rule in bash_rules(&req.commands) {
                a.extend(["--allowedTools".into(), rule]);
            }
        } else {
            // The repository under review may carry `.claude/settings.json` with hooks: a
            // planner or reviewer loads no settings file at all, only what factory passes.
            a.extend([
                "dontAsk".into(),
                "--tools".into(),
                READ_ONLY_TOOLS.into(),
                "--setting-sources".into(),
                String::new(),
            ]);
        }
        if let Some(m) = &req.model {
            a.extend(["--model".into(), m.clone()]);
        }
        if let Some(schema) = &req.schema {
            a.extend(["--json-schema".into(), for_claude(schema).to_string()]);
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
        spec.allow_prefixes = families(|name| std::env::var_os(name).is_some());
        spec.deny_env = FORGE_SECRETS.iter().map(|s| s.to_string()).collect();
        for (name, value) in DEFAULTS {
            spec.default_env(name, value);
        }
        let out = process::run(&spec).map_err(|e| super::spawn_error("claude", INSTALL_HINT, e))?;
        if let Some(e) = super::exit_error("claude", req, &out) {
            return Err(e);
        }
        let r = parse(&out.stdout, &out.stderr, out.code())?;
        // An implementer refused a write or a command did not do its work: say which.
        if req.role.writes() && !r.denials.is_empty() {
            return Err(AgentError::PermissionDenied {
                agent: "claude".into(),
                denied: r.denials.join("; "),
            });
        }
        Ok(r)
    }
}

/// The variable families passed to Claude Code: its own, and a cloud provider's credentials
/// only when `enabled` says the user turned that provider on.
pub fn families(enabled: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = ENV_FAMILIES.iter().map(|s| s.to_string()).collect();
    for (switch, prefixes) in PROVIDER_FAMILIES {
        if enabled(switch) {
            out.extend(prefixes.iter().map(|s| s.to_string()));
        }
    }
    out
}

/// Claude Code permission rules for `commands`: each exactly, and with anything after it
/// (`Bash(cargo test:*)` also allows `cargo test -p x`). A command that cannot be written as a
/// rule (parentheses, a line break) is left out: the implementer then cannot run it itself,
/// and factory still runs it after the agent.
pub fn bash_rules(commands: &[String]) -> Vec<String> {
    let mut rules = Vec::new();
    for c in commands {
        let c = c.trim();
        if c.is_empty() || c.contains(['(', ')', '\n', '\r']) {
            continue;
        }
        for rule in [format!("Bash({c})"), format!("Bash({c}:*)")] {
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    rules
}

/// The schema as Claude Code takes it: without the top-level `$schema` key. With a 2020-12
/// `$schema`, Claude Code offers the model no structured-output tool and answers in prose;
/// factory still validates the answer against the full contract.
pub fn for_claude(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
    }
    s
}

/// What each entry of `permission_denials` names: the tool and the file or command.
fn denials(v: &Value) -> Vec<String> {
    v.get("permission_denials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| {
            let tool = d.get("tool_name").and_then(Value::as_str).unwrap_or("tool");
            let input = d.get("tool_input").cloned().unwrap_or(Value::Null);
            let target = ["file_path", "path", "command", "pattern"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_str));
            match target {
                Some(t) => format!("{tool} {}", first_line(t)),
                None => tool.to_string(),
            }
        })
        .collect()
}

/// The error Claude's numeric `api_error_status` names, before any text is read.
fn by_status(status: u64, detail: &str) -> Option<AgentError> {
    let agent = "claude".to_string();
    let detail = format!("API status {status}: {}", first_line(detail));
    match status {
        401 | 403 => Some(AgentError::NotAuthenticated {
            agent,
            detail,
            hint: LOGIN_HINT.into(),
        }),
        429 => Some(AgentError::RateLimited {
            agent,
            detail,
            retry_after: None,
        }),
        500..=599 => Some(AgentError::Unavailable { agent, detail }),
        _ => None,
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
        // The structured fields first; the text only when they say nothing.
        if let Some(e) = v
            .get("api_error_status")
            .and_then(Value::as_u64)
            .and_then(|s| by_status(s, &message))
        {
            return Err(e);
        }
        if let Some(e) = classify("claude", &message, LOGIN_HINT) {
            return Err(e);
        }
        let reason = v.get("terminal_reason").and_then(Value::as_str);
        let detail = match subtype {
            "error_max_turns" => "it ran out of turns (error_max_turns)".to_string(),
            _ if reason.is_some() => format!(
                "{} (terminal reason: {})",
                first_line(&message),
                reason.unwrap_or_default()
            ),
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
        warnings: Vec::new(),
        denials: denials(&v),
        files_changed: Vec::new(),
        commands_run: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_status_decides_before_the_text() {
        let out = |status: u64| {
            format!(
                r#"{{"type":"result","subtype":"success","is_error":true,"result":"Something went wrong","api_error_status":{status}}}"#
            )
        };
        assert_eq!(
            parse(&out(401), "", Some(1)).unwrap_err().kind(),
            "not_authenticated"
        );
        assert_eq!(
            parse(&out(429), "", Some(1)).unwrap_err().kind(),
            "rate_limited"
        );
        assert_eq!(
            parse(&out(529), "", Some(1)).unwrap_err().kind(),
            "unavailable"
        );
        assert_eq!(
            parse(&out(400), "", Some(1)).unwrap_err().kind(),
            "agent_error"
        );
    }

    #[test]
    fn permission_denials_name_the_tool_and_the_path() {
        let out = r#"{"type":"result","subtype":"success","is_error":false,"result":"I could not edit the file.","permission_denials":[{"tool_name":"Edit","tool_use_id":"t1","tool_input":{"file_path":"/repo/.git/factory-worktrees/issue-4/src/a.ts"}},{"tool_name":"Bash","tool_use_id":"t2","tool_input":{"command":"python3 -m pytest"}}]}"#;
        let r = parse(out, "", Some(0)).unwrap();
        assert_eq!(
            r.denials,
            vec![
                "Edit /repo/.git/factory-worktrees/issue-4/src/a.ts".to_string(),
                "Bash python3 -m pytest".to_string()
            ]
        );
    }

    #[test]
    fn validation_commands_become_bash_rules_and_odd_ones_are_left_out() {
        let rules = bash_rules(&[
            "python3 -m pytest".into(),
            "sh check.sh build".into(),
            "echo $(id)".into(),
            "python3 -m pytest".into(),
        ]);
        assert_eq!(
            rules,
            vec![
                "Bash(python3 -m pytest)",
                "Bash(python3 -m pytest:*)",
                "Bash(sh check.sh build)",
                "Bash(sh check.sh build:*)"
            ]
        );
    }

    #[test]
    fn the_schema_goes_to_claude_without_its_dialect() {
        let s = serde_json::json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"});
        assert_eq!(for_claude(&s), serde_json::json!({"type": "object"}));
    }

    #[test]
    fn cloud_credentials_pass_only_for_the_provider_turned_on() {
        let none = families(|_| false);
        assert_eq!(
            none,
            vec!["CLAUDE_CODE_".to_string(), "ANTHROPIC_".to_string()]
        );
        let bedrock = families(|n| n == "CLAUDE_CODE_USE_BEDROCK");
        assert!(bedrock.contains(&"AWS_".to_string()));
        assert!(!bedrock.contains(&"GOOGLE_".to_string()));
        let vertex = families(|n| n == "CLAUDE_CODE_USE_VERTEX");
        assert!(
            vertex.contains(&"GOOGLE_".to_string())
                && vertex.contains(&"CLOUD_ML_REGION".to_string())
        );
        assert!(!vertex.contains(&"AWS_".to_string()));
    }

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
