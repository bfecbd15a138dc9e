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
//!     "suppressed": 0, "baselined": 0
//!   }
//! }
//! ```

use serde_json::json;

use super::Report;

pub const VERSION: u32 = 1;

pub fn value(report: &Report<'_>) -> serde_json::Value {
    json!({
        "version": VERSION,
        "tool": {"name": report.tool, "version": report.version},
        "findings": report.findings,
        "summary": {
            "total": report.findings.len(),
            "by_severity": report.by_severity(),
            "by_category": report.by_category(),
            "files_scanned": report.files_scanned,
            "bytes_scanned": report.bytes_scanned,
            "skipped": report.skipped,
            "suppressed": report.suppressed,
            "baselined": report.baselined,
        }
    })
}

pub fn render(report: &Report<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&value(report)).expect("serialisable");
    s.push('\n');
    s
}
