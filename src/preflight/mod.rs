//! Preflight: the deterministic gate that judges a diff before any LLM sees it.
//!
//! It knows nothing of agents, forges or the CLI: input is a unified diff, output is findings.
//! `diff` parses the diff into [`diff::FileDiff`]s one file at a time; `rules` holds one file per
//! rule family; `engine` runs them with the scope, suppression and baseline steps.

pub mod baseline;
pub mod context;
pub mod dependencies;
pub mod diff;
pub mod engine;
pub mod keywords;
pub mod packs;
pub mod rules;
pub mod scope;
pub mod suppress;
