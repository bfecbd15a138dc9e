//! Contracts between phases: embedded JSON Schemas (compiled once, never resolved over the
//! network) plus semantic checks a schema cannot express.

mod registry;

pub use registry::Contract;
