//! The unified-diff model every rule reads. The parser yields one [`FileDiff`] at a time so
//! memory stays bounded by the largest single file, not by the whole diff.

mod model;
pub mod parser;

pub use model::{ChangeKind, DiffLine, FileDiff, Hunk, LineKind};
pub use parser::{DiffError, DiffParser, parse_str};
