//! The unified-diff model every rule reads. The parser yields one [`FileDiff`] at a time so
//! memory stays bounded by the largest single file, not by the whole diff.

mod model;

pub use model::{ChangeKind, DiffLine, FileDiff, Hunk, LineKind};
