//! Dependency audit: packages added or changed in lockfiles, checked against OSV advisories.
//!
//! Unlike line rules this works across the whole diff: `extract` collects package changes per
//! file as the diff streams by, and `audit` queries the advisory source once, in batches.

mod advisory;
mod lockfiles;
mod offline;
mod osv;
pub mod version;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::findings::audit::AuditStatus;
use crate::findings::{Category, Finding, Severity, fingerprint};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::RuleMeta;

use advisory::Advisory;

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
    Offline { dir: PathBuf },
    /// The default: the OSV API when it answers, else the offline database when one is
    /// configured, else no audit and an [`AuditStatus::Unavailable`] that every report shows.
    /// Unlike `Osv` and `Offline`, an unreachable source is not an error here.
    Auto {
        base_url: String,
        offline: Option<PathBuf>,
    },
}

/// The public OSV API.
pub const OSV_URL: &str = "https://api.osv.dev";

/// Network limits for the OSV API.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub connect_timeout: Duration,
    /// Whole-request limit, body included.
    pub request_timeout: Duration,
    /// Retries after the first attempt, on transport errors, 429 and 5xx.
    pub retries: u32,
    /// First retry delay; doubles each retry.
    pub backoff: Duration,
}

/// Why an audit could not complete. Each names what to check.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("advisory database unavailable: {0}")]
    Unavailable(String),
    #[error("OSV request to {url} failed with HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error(
        "OSV request to {url} failed: {message} (check the network, or audit from an OSV database export: --audit offline:DIR, audit.offline_db in workflow.yaml)"
    )]
    Transport { url: String, message: String },
    #[error("unexpected OSV response from {url}: {message}")]
    InvalidResponse { url: String, message: String },
    #[error("offline OSV database {}: {message}", path.display())]
    OfflineDb { path: PathBuf, message: String },
}

static META: RuleMeta = RuleMeta {
    id: "vulnerable-dependency",
    title: "Dependency with a known vulnerability",
    category: Category::Dependency,
    severity: Severity::Critical,
    description: "Reports a package version that the change adds or bumps in a lockfile \
(Cargo.lock, package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml, \
requirements*.txt, poetry.lock, uv.lock, pdm.lock, go.sum, Gemfile.lock) when an OSV advisory \
affects it. The severity follows the advisory: CRITICAL and HIGH are critical, MODERATE is \
important, LOW is advisory; without a label, the CVSS v3 base score decides (≥ 7 critical, \
≥ 4 important), and an advisory with neither is important. Versions that were already in the \
lockfile before the change are not re-reported.\n\n\
Fix: upgrade to the fixed version named in the message, or pin to an unaffected one.",
    fails: "    \"node_modules/lodash\": {\n      \"version\": \"4.17.20\",",
    passes: "    \"node_modules/lodash\": {\n      \"version\": \"4.17.21\",",
    example_path: "package-lock.json",
};

/// Documentation of the audit's one rule, for `factory rules` and docs/rules/.
pub fn rule_meta() -> &'static RuleMeta {
    &META
}

/// Package changes a lockfile diff introduces; empty for files that are not lockfiles.
pub fn extract(file: &FileDiff) -> Vec<PackageChange> {
    if file.binary || file.new_path.is_none() {
        return Vec::new();
    }
    lockfiles::extract(file)
}

/// Check package changes against the advisory source and report the vulnerable ones.
pub fn audit(changes: &[PackageChange], source: &AuditSource) -> Result<Vec<Finding>, AuditError> {
    audit_with(changes, source, &AuditOptions::default())
}

/// [`audit`], and what the audit did. `Osv` and `Offline` fail when their source does;
/// `Auto` falls back to the offline database, then to [`AuditStatus::Unavailable`].
pub fn audit_reporting(
    changes: &[PackageChange],
    source: &AuditSource,
) -> Result<(Vec<Finding>, AuditStatus), AuditError> {
    if *source == AuditSource::Off {
        return Ok((Vec::new(), AuditStatus::Off));
    }
    if changes.is_empty() {
        return Ok((Vec::new(), AuditStatus::NoLockfileChanges));
    }
    let packages = changes.len();
    let audited = |source: String| AuditStatus::Audited { source, packages };
    match source {
        AuditSource::Auto { base_url, offline } => {
            let osv = AuditSource::Osv {
                base_url: base_url.clone(),
            };
            let online = match audit_with(changes, &osv, &AuditOptions::auto()) {
                Ok(found) => return Ok((found, audited(format!("OSV ({base_url})")))),
                Err(e) => e,
            };
            let Some(dir) = offline else {
                return Ok((
                    Vec::new(),
                    AuditStatus::Unavailable {
                        reason: online.to_string(),
                    },
                ));
            };
            let local = AuditSource::Offline { dir: dir.clone() };
            match audit_with(changes, &local, &AuditOptions::default()) {
                Ok(found) => Ok((
                    found,
                    audited(format!(
                        "the offline database {} (OSV was unavailable: {online})",
                        dir.display()
                    )),
                )),
                Err(offline) => Ok((
                    Vec::new(),
                    AuditStatus::Unavailable {
                        reason: format!("{online}; and {offline}"),
                    },
                )),
            }
        }
        AuditSource::Osv { base_url } => audit_with(changes, source, &AuditOptions::default())
            .map(|found| (found, audited(format!("OSV ({base_url})")))),
        AuditSource::Offline { dir } => {
            audit_with(changes, source, &AuditOptions::default()).map(|found| {
                (
                    found,
                    audited(format!("the offline database {}", dir.display())),
                )
            })
        }
        AuditSource::Off => unreachable!("handled above"),
    }
}

/// [`audit`] with explicit network limits.
pub fn audit_with(
    changes: &[PackageChange],
    source: &AuditSource,
    options: &AuditOptions,
) -> Result<Vec<Finding>, AuditError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut findings = Vec::new();
    match source {
        AuditSource::Off | AuditSource::Auto { .. } => {
            return audit_reporting(changes, source).map(|(found, _)| found);
        }
        AuditSource::Offline { dir } => {
            let ecosystems: BTreeSet<String> =
                changes.iter().map(|c| c.ecosystem.clone()).collect();
            let db = offline::OfflineDb::open(dir, &ecosystems)?;
            for change in changes {
                for advisory in db.matching(&change.ecosystem, &change.name, &change.version) {
                    findings.push(finding(change, advisory));
                }
            }
        }
        AuditSource::Osv { base_url } => {
            let mut client = osv::OsvClient::new(base_url, options.clone());
            let ids = client.query(changes)?;
            for (change, ids) in changes.iter().zip(ids) {
                for id in ids {
                    let advisory = client.advisory(&id)?;
                    if advisory.withdrawn.is_none() {
                        findings.push(finding(change, &advisory));
                    }
                }
            }
        }
    }
    findings
        .sort_by(|a, b| (&a.path, a.line, &a.fingerprint).cmp(&(&b.path, b.line, &b.fingerprint)));
    Ok(findings)
}

fn finding(change: &PackageChange, advisory: &Advisory) -> Finding {
    let mut ids = vec![advisory.id.clone()];
    ids.extend(
        advisory
            .aliases
            .iter()
            .filter(|a| **a != advisory.id)
            .cloned(),
    );
    let summary = if advisory.summary.is_empty() {
        advisory
            .details
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect()
    } else {
        advisory.summary.clone()
    };
    let fix = match advisory.fixed_after(&change.ecosystem, &change.name, &change.version) {
        Some(v) => format!("; fixed in {v}"),
        None => "; no fixed version is published".to_string(),
    };
    let package = format!("{}@{}", change.name, change.version);
    Finding {
        rule_id: META.id.to_string(),
        category: Category::Dependency,
        severity: advisory.severity(),
        path: change.path.clone(),
        line: change.line,
        message: format!(
            "{package} ({}) is affected by {}: {summary}{fix}",
            change.ecosystem,
            ids.join(", ")
        ),
        fingerprint: fingerprint(
            META.id,
            &change.path,
            &format!("{}/{}/{}", change.ecosystem, package, advisory.id),
        ),
        redacted: package,
    }
}
