//! Human-readable text: one block per finding, notes for skipped files, a summary line.
//! Colour only when asked (the caller decides: a TTY and `NO_COLOR` unset).

use std::fmt::Write;

use super::Report;
use crate::findings::Severity;

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn render(report: &Report<'_>, color: bool) -> String {
    let mut out = String::new();
    for f in report.findings {
        let code = match f.severity {
            Severity::Critical => "1;31",
            Severity::Important => "33",
            Severity::Advisory => "36",
        };
        let loc = if f.line > 0 {
            format!("{}:{}", f.path, f.line)
        } else {
            f.path.clone()
        };
        let _ = writeln!(
            out,
            "{} [{}] {}: {}",
            paint(f.severity.as_str(), code, color),
            f.rule_id,
            paint(&loc, "1", color),
            f.message
        );
        if !f.redacted.is_empty() {
            let _ = writeln!(out, "    match: {}", f.redacted);
        }
    }
    for s in report.skipped {
        let _ = writeln!(out, "note: skipped {} ({})", s.path, s.reason);
    }
    let total = report.findings.len();
    let _ = write!(
        out,
        "{} finding{} ({}) in {} file{}, {} bytes of diff",
        total,
        if total == 1 { "" } else { "s" },
        report.counts_line(),
        report.files_scanned,
        if report.files_scanned == 1 { "" } else { "s" },
        report.bytes_scanned
    );
    if !report.skipped.is_empty() {
        let _ = write!(out, ", {} skipped", report.skipped.len());
    }
    if report.suppressed > 0 {
        let _ = write!(out, ", {} suppressed inline", report.suppressed);
    }
    if report.baselined > 0 {
        let _ = write!(out, ", {} in baseline", report.baselined);
    }
    out.push('\n');
    out
}
