//! Stable JSON output.
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": {"name": "factory", "version": "0.1.0"},
//!   "findings": [{"rule_id", "category", "severity", "path", "line", "message", "fingerprint", "redacted"}],
//!   "summary": {
//!     "total": 0,
//!     "by_severity": {"advisory": 0, "critical": 0, "important": 0},
//!     "by_category": {},
//!     "files_scanned": 0, "bytes_scanned": 0,
//!     "skipped": [{"path", "reason"}],
//!     "suppressed": 0, "baselined": 0,
//!     "dependency_audit": {"status": "audited", "source": "OSV (https://api.osv.dev)", "packages": 3}
//!   }
//! }
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Report, Skipped};
use crate::findings::Finding;

pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary<'a> {
    total: usize,
    by_severity: BTreeMap<&'static str, u64>,
    by_category: BTreeMap<&'static str, u64>,
    files_scanned: u64,
    bytes_scanned: u64,
    skipped: &'a [Skipped],
    suppressed: u64,
    baselined: u64,
    /// `off`, `no_lockfile_changes`, `audited` (with `source`, `packages`) or `unavailable`
    /// (with `reason`).
    #[serde(skip_serializing_if = "Option::is_none")]
    dependency_audit: Option<&'a crate::findings::audit::AuditStatus>,
}

/// Serialised straight from borrowed data: no intermediate JSON tree, so a report with many
/// findings costs little more than the findings themselves.
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: Tool<'a>,
    findings: &'a [Finding],
    summary: Summary<'a>,
}

fn build<'a>(report: &'a Report<'a>) -> JsonReport<'a> {
    JsonReport {
        version: VERSION,
        tool: Tool {
            name: report.tool,
            version: report.version,
        },
        findings: report.findings,
        summary: Summary {
            total: report.findings.len(),
            by_severity: report.by_severity(),
            by_category: report.by_category(),
            files_scanned: report.files_scanned,
            bytes_scanned: report.bytes_scanned,
            skipped: report.skipped,
            suppressed: report.suppressed,
            baselined: report.baselined,
            dependency_audit: report.audit,
        },
    }
}

pub fn value(report: &Report<'_>) -> serde_json::Value {
    serde_json::to_value(build(report)).expect("serialisable")
}

pub fn render(report: &Report<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&build(report)).expect("serialisable");
    s.push('\n');
    s
}
