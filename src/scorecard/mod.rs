//! The spec-to-ship scorecard: the formula (docs/METRICS.md) lives with the scorecard
//! contract so the scorecard command, the contract check and the reports compute it the same way; `from_session`
//! computes it from a session's records and `complete` runs phase 8.

pub mod complete;
pub mod from_session;
pub mod history;

pub use crate::contracts::scorecard_formula::{Band, ScoreInputs, band, score};
pub use complete::{CompleteOptions, Completion, ForgeHook, complete};
pub use from_session::{ScorecardError, SessionRecord};
