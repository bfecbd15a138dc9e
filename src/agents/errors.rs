//! Why an agent call failed, and what the user does next.

use std::time::Duration;

/// A failed agent invocation. Each variant's message ends with the next step to take.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("`{program}` is not installed or not on PATH: {hint}")]
    NotInstalled { program: String, hint: String },
    #[error("{agent} is not authenticated ({detail}): {hint}")]
    NotAuthenticated {
        agent: String,
        detail: String,
        hint: String,
    },
    #[error(
        "{agent} could not reach its service ({detail}); factory retries with the workflow backoff; check the network or the provider's status page"
    )]
    Unavailable { agent: String, detail: String },
    #[error("{agent} is rate limited ({detail}); wait{} and run again, or lower the concurrency", .retry_after.map(|d| format!(" {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        agent: String,
        detail: String,
        retry_after: Option<Duration>,
    },
    #[error(
        "{agent} did not finish within {seconds}s and was killed with its process group; raise agents.<role>.timeout_seconds in .factory/workflow.yaml or narrow the task"
    )]
    Timeout { agent: String, seconds: u64 },
    #[error("interrupted: {agent} was stopped by Ctrl-C")]
    Cancelled { agent: String },
    #[error(
        "{agent} did not print the JSON factory asked for ({detail}); run again, or try another model with --model"
    )]
    NotJson { agent: String, detail: String },
    #[error(
        "{agent}'s output fails the {contract} contract after a corrected retry:\n{violations}\nfix the prompt template or the model, then run again"
    )]
    SchemaInvalid {
        agent: String,
        contract: String,
        violations: String,
    },
    #[error("{agent} reported an error: {detail}; read the message, fix the cause and run again")]
    Reported { agent: String, detail: String },
    #[error("cannot run {agent}: {detail}")]
    Io { agent: String, detail: String },
    #[error(
        "{agent} was refused what the implementation needed: {denied}; the change was not made. Check that the worktree is writable by the agent and that the validation commands are allowed (docs/agents.md#permissions-least-privilege)"
    )]
    PermissionDenied { agent: String, denied: String },
    #[error(
        "{detail}: no further agent call is made; raise `budget` in .factory/workflow.yaml, then `factory run --resume --acknowledge`"
    )]
    BudgetExceeded { detail: String },
}

impl AgentError {
    /// Worth trying again after a wait (the workflow's backoff, or the server's hint).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AgentError::Unavailable { .. } | AgentError::RateLimited { .. }
        )
    }

    /// A short machine name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentError::NotInstalled { .. } => "not_installed",
            AgentError::NotAuthenticated { .. } => "not_authenticated",
            AgentError::Unavailable { .. } => "unavailable",
            AgentError::RateLimited { .. } => "rate_limited",
            AgentError::Timeout { .. } => "timeout",
            AgentError::Cancelled { .. } => "cancelled",
            AgentError::NotJson { .. } => "not_json",
            AgentError::SchemaInvalid { .. } => "schema_invalid",
            AgentError::Reported { .. } => "agent_error",
            AgentError::Io { .. } => "io",
            AgentError::PermissionDenied { .. } => "permission_denied",
            AgentError::BudgetExceeded { .. } => "budget_exceeded",
        }
    }
}

/// Classify an agent's error text (stderr, or the message of an error event). `None` when it
/// names no known cause.
pub fn classify(agent: &str, text: &str, login_hint: &str) -> Option<AgentError> {
    let lower = text.to_lowercase();
    let detail = first_line(text);
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "not logged in",
        "please run /login",
        "invalid api key",
        "authentication",
        "unauthorized",
        "401",
        "login required",
        "api key",
        "api_key",
        "missing environment variable",
    ]) {
        return Some(AgentError::NotAuthenticated {
            agent: agent.into(),
            detail,
            hint: login_hint.into(),
        });
    }
    if has(&[
        "rate limit",
        "rate_limit",
        "429",
        "usage limit",
        "too many requests",
    ]) {
        return Some(AgentError::RateLimited {
            agent: agent.into(),
            detail,
            retry_after: retry_after(&lower),
        });
    }
    if has(&[
        "enotfound",
        "econnrefused",
        "econnreset",
        "etimedout",
        "network",
        "stream disconnected",
        "connection",
        "overloaded",
        "503",
        "529",
        "service unavailable",
    ]) {
        return Some(AgentError::Unavailable {
            agent: agent.into(),
            detail,
        });
    }
    None
}

/// "retry after 12", "try again in 12 seconds", "retry-after: 12".
fn retry_after(lower: &str) -> Option<Duration> {
    for key in ["retry after", "retry-after:", "retry-after", "try again in"] {
        if let Some(i) = lower.find(key) {
            let rest = lower[i + key.len()..].trim_start();
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(n) = digits.parse::<u64>() {
                return Some(Duration::from_secs(n));
            }
        }
    }
    None
}

/// The first line of an agent's message, for an error detail.
pub(crate) fn first_line(text: &str) -> String {
    crate::util::text::first_line_or(text, 300, "no message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_variable_is_not_authenticated() {
        let e = classify(
            "codex",
            "Missing environment variable: `OPENAI_API_KEY`.",
            "hint",
        )
        .unwrap();
        assert_eq!(e.kind(), "not_authenticated");
    }

    #[test]
    fn login_rate_limit_and_network_are_told_apart() {
        assert!(matches!(
            classify("claude", "Not logged in · Please run /login", "log in"),
            Some(AgentError::NotAuthenticated { .. })
        ));
        match classify("codex", "429 Too Many Requests: retry after 7 seconds", "") {
            Some(AgentError::RateLimited { retry_after, .. }) => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify("codex", "stream disconnected before completion", ""),
            Some(AgentError::Unavailable { .. })
        ));
        assert!(classify("codex", "something odd", "").is_none());
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let e = AgentError::Timeout {
            agent: "claude".into(),
            seconds: 1,
        };
        assert!(!e.is_transient());
        assert!(e.to_string().contains("timeout_seconds"));
    }
}
