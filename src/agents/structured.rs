//! Structured answers: the schema is requested but never trusted. The JSON is extracted from
//! the answer, validated with the contracts (schema and semantic checks), and on failure the
//! agent is asked once more with the violations, in the same agent session where the CLI can
//! resume one.

use serde_json::Value;

use std::time::Duration;

use super::{Agent, AgentError, AgentRequest, AgentResponse, Role, call, for_role};
use crate::contracts::{self, Contract};
use crate::state::StateDir;
use crate::workflow::{AdapterKind, Backoff, PhaseName, Workflow};

/// One structured call of a role: who answers, for which phase, under which contract.
pub struct Call<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub role: Role,
    pub phase: PhaseName,
    pub contract: Contract,
    /// `--agent` and `--model` of the command, over the role's configuration.
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// Used when the role sets no timeout.
    pub timeout: Duration,
}

/// Run `prompt` through the role's agent in the repository of `call.state` (read-only tools for
/// planners and reviewers), asking for `call.contract`'s schema: the answer must pass the
/// contract and `extra`, with one corrected retry; usage goes to the log and the session.
pub fn ask_role(
    call: &Call<'_>,
    prompt: String,
    extra: &dyn Fn(&Value) -> Vec<String>,
) -> Result<Value, AgentError> {
    let (agent, cfg) = for_role(call.workflow, call.role, call.adapter, call.model.clone())?;
    let schema: Value =
        serde_json::from_str(call.contract.schema_text()).expect("embedded schema is JSON");
    let req = AgentRequest {
        role: call.role,
        prompt,
        workdir: call.state.repo(),
        scratch: call.state.root().join("runs").join("agent"),
        schema: Some(schema),
        resume: None,
        timeout: cfg.timeout(call.timeout),
        model: cfg.model.clone(),
        commands: Vec::new(),
    };
    let (value, _) = ask(
        agent.as_ref(),
        &req,
        call.contract,
        extra,
        &call.workflow.backoff,
        call.phase.as_str(),
        Some(call.state),
    )?;
    Ok(value)
}

/// The JSON object in an agent's answer: the whole text, a fenced ```json block, or the first
/// balanced `{…}` that parses.
pub fn extract_json(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(t)
        && v.is_object()
    {
        return Some(v);
    }
    let mut rest = t;
    while let Some(i) = rest.find("```") {
        let after = &rest[i + 3..];
        let body_start = after.find('\n').map(|n| n + 1).unwrap_or(0);
        let Some(end) = after[body_start..].find("```") else {
            break;
        };
        let body = &after[body_start..body_start + end];
        if let Ok(v) = serde_json::from_str::<Value>(body.trim())
            && v.is_object()
        {
            return Some(v);
        }
        rest = &after[body_start + end + 3..];
    }
    for (start, _) in t.match_indices('{') {
        let mut stream = serde_json::Deserializer::from_str(&t[start..]).into_iter::<Value>();
        if let Some(Ok(v)) = stream.next()
            && v.is_object()
        {
            return Some(v);
        }
    }
    None
}

/// The violations of `value`, one per line, with extra checks the caller adds.
pub fn violations(
    contract: Contract,
    value: &Value,
    extra: &dyn Fn(&Value) -> Vec<String>,
) -> Vec<String> {
    let mut v: Vec<String> = contracts::validate(contract, value, contracts::Context::default())
        .into_iter()
        .map(|v| {
            let at = if v.pointer.is_empty() {
                "(document)"
            } else {
                &v.pointer
            };
            format!("{} at {at}: {}", v.code, v.message)
        })
        .collect();
    if v.is_empty() {
        v = extra(value);
    }
    v
}

/// The text appended to the prompt (or sent alone into a resumed session) after a miss.
pub fn correction(contract: Contract, problems: &[String]) -> String {
    format!(
        "Your previous answer was rejected: it does not satisfy the {} contract.\nViolations:\n{}\nAnswer again with only the corrected JSON object, nothing else.",
        contract.name(),
        problems
            .iter()
            .map(|p| format!("- {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Ask for a document satisfying `contract`; one corrected retry. Each call's usage goes to
/// the session ledger (when `state` has a session).
pub fn ask(
    agent: &dyn Agent,
    req: &AgentRequest,
    contract: Contract,
    extra: &dyn Fn(&Value) -> Vec<String>,
    backoff: &Backoff,
    phase: &str,
    state: Option<&StateDir>,
) -> Result<(Value, Vec<AgentResponse>), AgentError> {
    let mut responses = Vec::new();
    let mut request = req.clone();
    for attempt in 1..=2 {
        let r = call(agent, &request, backoff, phase, state)?;
        let parsed = r.json.clone().or_else(|| extract_json(&r.text));
        let problems = match &parsed {
            Some(v) => violations(contract, v, extra),
            None => vec!["the answer holds no JSON object".to_string()],
        };
        let session = r.session_id.clone();
        responses.push(r);
        if problems.is_empty() {
            return Ok((parsed.expect("checked above"), responses));
        }
        if attempt == 2 {
            if parsed.is_none() {
                return Err(AgentError::NotJson {
                    agent: agent.name().into(),
                    detail: "no JSON object in the answer, twice".into(),
                });
            }
            return Err(AgentError::SchemaInvalid {
                agent: agent.name().into(),
                contract: contract.name().into(),
                violations: problems.join("\n"),
            });
        }
        tracing::info!(
            target: "factory::event",
            phase,
            action = "validate",
            tool = "factory",
            status = "invalid",
            detail = format!("{} violation(s) of {}; asking once more with them", problems.len(), contract.name()),
            decision = "retry once with the validation errors"
        );
        let fix = correction(contract, &problems);
        match session.filter(|_| agent.supports_resume()) {
            Some(sid) => {
                request.resume = Some(sid);
                request.prompt = fix;
            }
            None => request.prompt = format!("{}\n\n{fix}", req.prompt),
        }
    }
    unreachable!("the loop returns on its second attempt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_bare_fenced_or_embedded() {
        assert_eq!(extract_json(r#"{"a":1}"#), Some(serde_json::json!({"a":1})));
        assert_eq!(
            extract_json("Here:\n```json\n{\"a\":2}\n```\nbye"),
            Some(serde_json::json!({"a":2}))
        );
        assert_eq!(
            extract_json("The plan is {\"a\":{\"b\":3}} as asked"),
            Some(serde_json::json!({"a":{"b":3}}))
        );
        assert_eq!(extract_json("no json {here"), None);
    }

    #[test]
    fn the_correction_lists_every_violation() {
        let c = correction(
            Contract::StrategicPlan,
            &["SCHEMA at /tasks: missing".into()],
        );
        assert!(c.contains("- SCHEMA at /tasks: missing"));
        assert!(c.contains("strategic-plan"));
    }
}
