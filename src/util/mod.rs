//! Helpers every layer shares, with no knowledge of the pipeline: sanitising untrusted text,
//! factory's hidden markers, one-line text, error messages and the Actions step summary. Nothing here imports another
//! module of the crate.

pub mod errors;
pub mod markers;
pub mod sanitize;
pub mod step_summary;
pub mod text;
