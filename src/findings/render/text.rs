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

/// Replace control characters (terminal escapes in file names or messages) with `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
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
            format!("{}:{}", clean(&f.path), f.line)
        } else {
            clean(&f.path)
        };
        let _ = writeln!(
            out,
            "{} [{}] {}: {}",
            paint(f.severity.as_str(), code, color),
            f.rule_id,
            paint(&loc, "1", color),
            clean(&f.message)
        );
        if !f.redacted.is_empty() {
            let _ = writeln!(out, "    match: {}", clean(&f.redacted));
        }
    }
    for s in report.skipped {
        let _ = writeln!(out, "note: skipped {} ({})", clean(&s.path), s.reason);
    }
    // An audit that could not run is said; one that ran, or had nothing to check, is not news.
    if let Some(audit) = report.audit.filter(|a| a.is_unavailable()) {
        let _ = writeln!(
            out,
            "{}: {}",
            paint("warning", "33", color),
            clean(&audit.line())
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Category, Finding};

    #[test]
    fn colour_only_when_asked_and_escapes_are_neutralised() {
        let findings = vec![Finding {
            rule_id: "r".into(),
            category: Category::Scope,
            severity: Severity::Critical,
            path: "evil\x1b[31m.txt".into(),
            line: 0,
            message: "m".into(),
            fingerprint: "f".into(),
            redacted: String::new(),
        }];
        let report = Report {
            tool: "factory",
            version: "0",
            findings: &findings,
            rules: &[],
            files_scanned: 1,
            bytes_scanned: 10,
            skipped: &[],
            suppressed: 0,
            baselined: 0,
            audit: None,
        };
        let plain = render(&report, false);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(plain.contains("evil?[31m.txt"));
        assert!(plain.ends_with(
            "1 finding (1 critical, 0 important, 0 advisory) in 1 file, 10 bytes of diff\n"
        ));
        assert!(render(&report, true).contains("\x1b[1;31mcritical\x1b[0m"));
    }
}
