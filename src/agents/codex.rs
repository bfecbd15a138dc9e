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

/// Settings Codex reads one by one: proxies and certificate authorities.
pub const ENV: &[&str] = &[
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Families of variables Codex reads, by prefix: its own (`CODEX_API_KEY`, ...), OpenAI's and
/// Azure OpenAI's credentials. `CODEX_HOME` is always factory's own ([`home`]).
pub const ENV_FAMILIES: &[&str] = &["CODEX_", "OPENAI_", "AZURE_OPENAI_"];

/// The provider name factory gives a custom endpoint in its Codex configuration.
pub const PROVIDER: &str = "factory";

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
        // Codex sends the schema in strict mode: only a strict-compatible form goes out.
        let strict = req.schema.as_ref().and_then(super::strict_schema::strict);
        let schema_file = match &strict {
            Some(s) => {
                let f = req.scratch.join("codex-output-schema.json");
                std::fs::write(&f, s.to_string()).map_err(io)?;
                Some(f.display().to_string())
            }
            None => None,
        };
        let home = home(req).map_err(io)?;
        let argv = self.argv(req, &last.display().to_string(), schema_file.as_deref());
        let mut spec = Spec::new(self.program.clone(), argv, req.timeout);
        spec.cwd = Some(req.workdir.clone());
        spec.stdin = Some(req.prompt.clone().into_bytes());
        spec.allow_env = ENV
            .iter()
            .map(|s| s.to_string())
            .chain(self.env.iter().cloned())
            .collect();
        spec.allow_prefixes = ENV_FAMILIES.iter().map(|s| s.to_string()).collect();
        spec.deny_env = FORGE_SECRETS.iter().map(|s| s.to_string()).collect();
        spec.set_env
            .push(("CODEX_HOME".into(), home.path().as_os_str().to_owned()));
        let out = process::run(&spec).map_err(|e| super::spawn_error("codex", INSTALL_HINT, e))?;
        if let Some(e) = super::exit_error("codex", req, &out) {
            return Err(e);
        }
        let last_message = std::fs::read_to_string(&last).ok();
        let mut r = parse(&out.stdout, &out.stderr, out.code(), last_message)?;
        if let (Some(_), Some(full)) = (&strict, &req.schema) {
            r.json = super::structured::extract_json(&r.text).map(|mut v| {
                super::strict_schema::drop_optional_nulls(&mut v, full);
                v
            });
        }
        r.model = req.model.clone();
        r.cost_usd = self.cost(req.model.as_deref(), &r.usage);
        Ok(r)
    }
}

/// A configuration home of factory's own for one Codex call, removed after it: no user
/// `config.toml` (its MCP servers, profiles and hooks do not start in factory's calls), the
/// user's login copied in when there is one (`auth.json` of `$CODEX_HOME` or `~/.codex`), and
/// a custom endpoint when `OPENAI_BASE_URL` names one (Azure, a gateway), which Codex reads
/// only from its configuration.
pub fn home(req: &AgentRequest) -> std::io::Result<Home> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = Home(
        req.scratch
            .join(format!("codex-home-{}-{stamp}", std::process::id())),
    );
    std::fs::create_dir_all(dir.path())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    let user_home = std::env::var_os("CODEX_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".codex")));
    if let Some(auth) = user_home.map(|h| h.join("auth.json"))
        && auth.is_file()
    {
        let to = dir.path().join("auth.json");
        std::fs::copy(&auth, &to)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let base = std::env::var("OPENAI_BASE_URL")
        .ok()
        .filter(|b| !b.trim().is_empty());
    std::fs::write(dir.path().join("config.toml"), config(base.as_deref()))?;
    Ok(dir)
}

/// A configuration home of factory's, removed with everything in it when dropped.
pub struct Home(std::path::PathBuf);

impl Home {
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Codex's `config.toml` for factory's calls: a provider for `base_url` when one is given.
pub fn config(base_url: Option<&str>) -> String {
    let mut c = String::from("# Written by factory for one call; removed after it.\n");
    if let Some(url) = base_url {
        let key = if std::env::var_os("OPENAI_API_KEY").is_some() {
            "OPENAI_API_KEY"
        } else {
            "CODEX_API_KEY"
        };
        c.push_str(&format!(
            "model_provider = \"{PROVIDER}\"\n\n[model_providers.{PROVIDER}]\nname = \"OPENAI_BASE_URL\"\nbase_url = {}\nenv_key = \"{key}\"\nwire_api = \"responses\"\n",
            toml_string(url.trim())
        ));
    }
    c
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Read Codex's JSONL events as a stream with state: usage from every `turn.completed`; an
/// `error` event that a later `turn.completed` follows was recovered from (Codex reports its
/// reconnects that way, then finishes the turn) and is a warning; `turn.failed`, an error no
/// turn completed after, or a non-zero exit is the failure. The final message comes from the
/// `-o` file or the last `agent_message` item.
pub fn parse(
    stdout: &str,
    stderr: &str,
    code: Option<i32>,
    last_message: Option<String>,
) -> Result<AgentResponse, AgentError> {
    let mut usage = Usage::default();
    let mut session = None;
    let mut failure: Option<String> = None;
    // An `error` not yet followed by a completed turn.
    let mut unresolved: Option<String> = None;
    let mut warnings: Vec<String> = Vec::new();
    let mut completed = 0;
    let mut last_item: Option<String> = None;
    let mut files_changed: Vec<String> = Vec::new();
    let mut commands_run: Vec<String> = Vec::new();
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
                completed += 1;
                if let Some(recovered) = unresolved.take() {
                    warnings.push(format!("recovered: {}", first_line(&recovered)));
                }
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
                let message = v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string();
                if let Some(earlier) = unresolved.replace(message) {
                    warnings.push(format!("recovered: {}", first_line(&earlier)));
                }
            }
            "item.completed"
                if v.pointer("/item/type").and_then(Value::as_str) == Some("file_change") =>
            {
                for c in v
                    .pointer("/item/changes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = c.get("path").and_then(Value::as_str)
                        && !files_changed.iter().any(|f| f == p)
                    {
                        files_changed.push(p.to_string());
                    }
                }
            }
            "item.completed"
                if v.pointer("/item/type").and_then(Value::as_str) == Some("command_execution") =>
            {
                let command = v
                    .pointer("/item/command")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let exit = v
                    .pointer("/item/exit_code")
                    .and_then(Value::as_i64)
                    .map(|c| format!("exit {c}"))
                    .unwrap_or_else(|| "no exit code".into());
                commands_run.push(format!("{} ({exit})", first_line(command)));
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
    // An error after the last completed turn stands when the run did not end well.
    if let Some(message) = unresolved {
        if completed > 0 && code == Some(0) {
            warnings.push(format!("after the last turn: {}", first_line(&message)));
        } else {
            failure = failure.or(Some(message));
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
        num_turns: (completed > 0).then_some(completed),
        model: None,
        warnings,
        denials: Vec::new(),
        files_changed,
        commands_run,
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
    fn a_reconnect_that_completes_is_a_success_with_a_warning_and_every_turn_counts() {
        let out = r#"{"type":"thread.started","thread_id":"t-2"}
{"type":"turn.started"}
{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion)"}
{"type":"error","message":"Reconnecting... 2/5 (stream disconnected before completion)"}
{"type":"item.completed","item":{"id":"i0","type":"agent_message","text":"done"}}
{"type":"turn.completed","usage":{"input_tokens":700,"cached_input_tokens":100,"output_tokens":30}}
{"type":"turn.started"}
{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"output_tokens":20}}
"#;
        let r = parse(out, "", Some(0), None).unwrap();
        assert_eq!(r.text, "done");
        assert!(r.files_changed.is_empty() && r.commands_run.is_empty());
        assert_eq!(r.usage.input_tokens, 1000);
        assert_eq!(r.usage.output_tokens, 50);
        assert_eq!(r.num_turns, Some(2));
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        assert!(
            r.warnings[1].contains("Reconnecting... 2/5"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_turn_that_fails_or_an_error_no_turn_follows_is_the_failure() {
        let failed = r#"{"type":"error","message":"Reconnecting... 5/5 (high demand)"}
{"type":"turn.failed","error":{"message":"high demand"}}
"#;
        let e = parse(failed, "", Some(1), None).unwrap_err().to_string();
        assert!(e.contains("high demand"), "{e}");
        let dangling = r#"{"type":"thread.started","thread_id":"t"}
{"type":"error","message":"stream disconnected"}
"#;
        assert!(parse(dangling, "", Some(0), None).is_err());
        // The same error after a completed turn with exit 1 fails too.
        let late = r#"{"type":"turn.completed","usage":{"input_tokens":1}}
{"type":"error","message":"stream disconnected"}
"#;
        assert!(parse(late, "", Some(1), None).is_err());
    }

    #[test]
    fn changed_files_and_commands_run_are_read_from_their_items() {
        let out = r#"{"type":"thread.started","thread_id":"t"}
{"type":"item.completed","item":{"id":"i0","type":"command_execution","command":"cargo test","aggregated_output":"ok","exit_code":101,"status":"completed"}}
{"type":"item.completed","item":{"id":"i1","type":"file_change","changes":[{"path":"src/a.rs","kind":"update"},{"path":"src/b.rs","kind":"add"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"i2","type":"file_change","changes":[{"path":"src/a.rs","kind":"update"}],"status":"completed"}}
{"type":"turn.completed","usage":{"input_tokens":1}}
"#;
        let r = parse(out, "", Some(0), None).unwrap();
        assert_eq!(r.files_changed, vec!["src/a.rs", "src/b.rs"]);
        assert_eq!(r.commands_run, vec!["cargo test (exit 101)"]);
    }

    #[test]
    fn a_custom_endpoint_becomes_a_provider_in_factorys_configuration() {
        assert!(!config(None).contains("model_provider"));
        let c = config(Some("https://gw.example.com/openai/v1 "));
        assert!(c.contains("model_provider = \"factory\""), "{c}");
        assert!(c.contains("[model_providers.factory]"), "{c}");
        assert!(
            c.contains("base_url = \"https://gw.example.com/openai/v1\""),
            "{c}"
        );
        assert!(c.contains("wire_api = \"responses\""), "{c}");
        // A quote cannot end the TOML string early.
        assert!(
            config(Some("http://x\"\nmodel = \"evil"))
                .contains(r#"base_url = "http://x\"\u000Amodel = \"evil""#)
        );
    }

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
