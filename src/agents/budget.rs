//! The session budget: before every agent call, what the session has spent (the cost ledger in
//! `session.json`) is compared with `budget` in workflow.yaml. A session at or over its budget
//! makes no further call; the phase stops with a `budget-exceeded` escalation before it writes
//! anything, so nothing is left half done.

use super::AgentError;
use crate::state::StateDir;
use crate::state::ledger::{Spent, spent};
use crate::workflow::{Budget, load};

/// Which limit `spent` has reached, if any, as a sentence.
pub fn exceeded(budget: &Budget, spent: &Spent) -> Option<String> {
    if let Some(usd) = budget.usd
        && spent.cost_usd >= usd
    {
        return Some(format!(
            "the session has spent ${:.4} of its ${usd:.2} budget",
            spent.cost_usd
        ));
    }
    if let Some(tokens) = budget.tokens
        && spent.tokens >= tokens
    {
        return Some(format!(
            "the session has used {} of its {tokens} token budget",
            spent.tokens
        ));
    }
    None
}

/// Refuse the next call when the current session is at or over the budget of the workflow in
/// `state` (.factory/workflow.yaml over the built-in default). Without a session, or without a
/// budget, every call may go ahead.
pub fn check(state: &StateDir, phase: &str, agent: &str) -> Result<(), AgentError> {
    let io = |detail: String| AgentError::Io {
        agent: agent.to_string(),
        detail,
    };
    let Some(session) = state.load_session().map_err(|e| io(format!("{e:#}")))? else {
        return Ok(());
    };
    let workflow = load::load(&state.root().join(load::OVERRIDE_FILE))
        .map_err(|e| io(format!("{e:#}")))?
        .workflow;
    let spent = spent(&session);
    match exceeded(&workflow.budget, &spent) {
        None => Ok(()),
        Some(why) => {
            tracing::info!(
                target: "factory::event",
                phase,
                action = "budget",
                tool = "factory",
                status = "exceeded",
                detail = format!("{why}; no further agent call is made"),
                decision = "stop: the budget in workflow.yaml is a hard cap"
            );
            Err(AgentError::BudgetExceeded { detail: why })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ledger::by_phase;
    use crate::state::{Session, UsageEntry};

    fn entry(phase: &str, input: u64, output: u64, cost: Option<f64>) -> UsageEntry {
        UsageEntry {
            phase: phase.into(),
            agent: "claude".into(),
            model: None,
            input_tokens: input,
            cached_input_tokens: 0,
            output_tokens: output,
            reasoning_tokens: 0,
            cost_usd: cost,
        }
    }

    fn session(usage: Vec<UsageEntry>) -> Session {
        let mut s = Session::new(
            "r".into(),
            crate::workflow::ChangeClass::Feature,
            crate::workflow::Trigger::User,
            vec![],
        );
        s.usage = usage;
        s
    }

    #[test]
    fn spending_is_summed_per_session_and_per_phase() {
        let s = session(vec![
            entry("strategic_plan", 100, 50, Some(0.5)),
            entry("code_review", 10, 5, None),
            entry("strategic_plan", 1, 1, Some(0.25)),
        ]);
        let total = spent(&s);
        assert_eq!(total.calls, 3);
        assert_eq!(total.tokens, 167);
        assert!((total.cost_usd - 0.75).abs() < 1e-9);
        let phases = by_phase(&s);
        assert_eq!(phases["strategic_plan"].calls, 2);
        assert_eq!(phases["code_review"].tokens, 15);
    }

    #[test]
    fn a_budget_is_reached_at_its_limit_not_after() {
        let b = Budget {
            usd: Some(1.0),
            tokens: None,
        };
        let under = spent(&session(vec![entry("p", 1, 1, Some(0.99))]));
        assert_eq!(exceeded(&b, &under), None);
        let at = spent(&session(vec![entry("p", 1, 1, Some(1.0))]));
        assert!(exceeded(&b, &at).unwrap().contains("$1.0000 of its $1.00"));
        let t = Budget {
            usd: None,
            tokens: Some(100),
        };
        assert!(exceeded(&t, &spent(&session(vec![entry("p", 60, 40, None)]))).is_some());
        assert!(
            exceeded(&Budget::default(), &at).is_none(),
            "no budget, no cap"
        );
    }
}
