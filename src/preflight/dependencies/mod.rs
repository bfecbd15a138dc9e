//! Dependency audit: packages added or changed in lockfiles, checked against OSV advisories.
//!
//! Unlike line rules this works across the whole diff: `extract` collects package changes per
//! file as the diff streams by, and `audit` queries the advisory source once, in batches.

use crate::findings::Finding;
use crate::preflight::diff::FileDiff;

/// A package version that the diff adds or changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageChange {
    /// OSV ecosystem name: `crates.io`, `npm`, `PyPI`, `Go`, `RubyGems`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// The lockfile and the line (new file) that introduced the version.
    pub path: String,
    pub line: u32,
}

/// Where advisories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSource {
    /// No dependency audit.
    Off,
    /// The OSV API (`querybatch`), at this base URL (default `https://api.osv.dev`).
    Osv { base_url: String },
    /// An offline OSV database directory (one JSON advisory per file, per ecosystem folder).
    Offline { dir: std::path::PathBuf },
}

/// Package changes a lockfile diff introduces; empty for files that are not lockfiles.
pub fn extract(_file: &FileDiff) -> Vec<PackageChange> {
    Vec::new()
}

/// Check package changes against the advisory source and report the vulnerable ones.
pub fn audit(
    _changes: &[PackageChange],
    _source: &AuditSource,
) -> Result<Vec<Finding>, AuditError> {
    Ok(Vec::new())
}

/// Why an audit could not complete.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("advisory database unavailable: {0}")]
    Unavailable(String),
}
