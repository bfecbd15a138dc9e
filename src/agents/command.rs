//! Any CLI that reads a prompt on stdin and prints its answer (text or JSON) on stdout.
//! It gets the schema path in FACTORY_AGENT_SCHEMA and its role in FACTORY_AGENT_ROLE.

use super::errors::{AgentError, classify, first_line};
use super::process::{self, FORGE_SECRETS, Spec};
use super::{Agent, AgentRequest, AgentResponse};

pub struct CommandAgent {
    pub argv: Vec<String>,
    /// Variable names it may inherit (its own credentials).
    pub env: Vec<String>,
}

impl Agent for CommandAgent {
    fn name(&self) -> &str {
        let p = &self.argv[0];
        p.rsplit('/').next().unwrap_or(p)
    }
    fn tool(&self) -> &str {
        self.name()
    }
    fn supports_resume(&self) -> bool {
        false
    }

    fn invoke(&self, req: &AgentRequest) -> Result<AgentResponse, AgentError> {
        let name = self.name().to_string();
        let mut spec = Spec::new(self.argv[0].clone(), self.argv[1..].to_vec(), req.timeout);
        spec.cwd = Some(req.workdir.clone());
        spec.stdin = Some(req.prompt.clone().into_bytes());
        spec.allow_env = self.env.clone();
        spec.deny_env = FORGE_SECRETS.iter().map(|s| s.to_string()).collect();
        spec.set_env
            .push(("FACTORY_AGENT_ROLE".into(), req.role.as_str().into()));
        if let Some(schema) = &req.schema {
            std::fs::create_dir_all(&req.scratch).ok();
            let f = req.scratch.join("agent-output-schema.json");
            std::fs::write(&f, schema.to_string()).map_err(|e| AgentError::Io {
                agent: name.clone(),
                detail: format!("cannot write {}: {e}", f.display()),
            })?;
            spec.set_env
                .push(("FACTORY_AGENT_SCHEMA".into(), f.into_os_string()));
        }
        let out = process::run(&spec).map_err(|e| {
            super::spawn_error(
                &name,
                "install it or fix agents.<role>.command in .factory/workflow.yaml",
                e,
            )
        })?;
        if let Some(e) = super::exit_error(&name, req, &out) {
            return Err(e);
        }
        if out.code() != Some(0) {
            let text = format!("{}\n{}", out.stderr, out.stdout);
            return Err(classify(
                &name,
                &text,
                "give the command its credentials through agents.<role>.env",
            )
            .unwrap_or(AgentError::Reported {
                agent: name.clone(),
                detail: format!("exit {}: {}", out.code().unwrap_or(-1), first_line(&text)),
            }));
        }
        Ok(AgentResponse {
            text: out.stdout,
            ..AgentResponse::default()
        })
    }
}
