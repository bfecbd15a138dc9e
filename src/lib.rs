//! software-factory: the deterministic half of an AI-agent delivery pipeline.
//!
//! Library modules know nothing of the command line; `cli` and `commands` are the glue.
//! Dependency direction: `commands` → everything; `contracts`, `findings` and `preflight`
//! are leaves that never call an agent or a forge.

pub mod agents;
pub mod apply;
pub mod artifacts;
pub mod cli;
pub mod commands;
pub mod contracts;
pub mod dashboard;
pub mod evals;
pub mod findings;
pub mod forge;
pub mod init;
pub mod intake;
pub mod lessons;
pub mod packs;
pub mod phases;
pub mod pipeline;
pub mod preflight;
pub mod report;
pub mod review;
pub mod scorecard;
pub mod state;
pub mod templates;
pub mod util;
pub mod workflow;
