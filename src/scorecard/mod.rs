//! The spec-to-ship scorecard: the formula (docs/METRICS.md) lives here so the scorecard
//! command, the contract check and the reports compute it the same way.

mod formula;

pub use formula::{Band, ScoreInputs, band, score};
