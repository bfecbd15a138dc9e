//! The cost ledger: every agent call's tokens and cost, kept in `session.json` (`usage`), summed
//! per session and per phase for the budget, REPORT.md, the scorecard and `factory status`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Session, UsageEntry};

/// Tokens and dollars spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spent {
    /// Calls made.
    pub calls: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// Input plus output tokens: what the token budget counts.
    pub tokens: u64,
    pub cost_usd: f64,
}

impl Spent {
    fn add(&mut self, u: &UsageEntry) {
        self.calls += 1;
        self.input_tokens += u.input_tokens;
        self.cached_input_tokens += u.cached_input_tokens;
        self.output_tokens += u.output_tokens;
        self.reasoning_tokens += u.reasoning_tokens;
        self.tokens += u.input_tokens + u.output_tokens;
        self.cost_usd += u.cost_usd.unwrap_or(0.0).max(0.0);
    }
}

/// Everything the session spent.
pub fn spent(session: &Session) -> Spent {
    let mut total = Spent::default();
    for u in &session.usage {
        total.add(u);
    }
    total
}

/// What each phase (or command) spent, by the name recorded in the ledger.
pub fn by_phase(session: &Session) -> BTreeMap<String, Spent> {
    let mut map: BTreeMap<String, Spent> = BTreeMap::new();
    for u in &session.usage {
        map.entry(u.phase.clone()).or_default().add(u);
    }
    map
}
