//! Markdown step summary (`--summary FILE`, `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write;

use super::Report;

/// Escape characters that would break a Markdown table cell or inline formatting.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    let status = if report.findings.is_empty() {
        "✅ no findings"
    } else {
        "⚠️ findings"
    };
    let _ = writeln!(out, "## factory preflight: {status}\n");
    let c = report.by_severity();
    let _ = writeln!(out, "| critical | important | advisory | files | bytes |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        c["critical"], c["important"], c["advisory"], report.files_scanned, report.bytes_scanned
    );
    if !report.findings.is_empty() {
        let _ = writeln!(out, "| severity | rule | location | message |");
        let _ = writeln!(out, "|---|---|---|---|");
        for f in report.findings {
            let loc = if f.line > 0 {
                format!("{}:{}", f.path, f.line)
            } else {
                f.path.clone()
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}` | {} |",
                f.severity,
                cell(&f.rule_id),
                cell(&loc),
                cell(&f.message)
            );
        }
        out.push('\n');
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            out,
            "Skipped: {}\n",
            report
                .skipped
                .iter()
                .map(|s| format!("`{}` ({})", cell(&s.path), s.reason))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(audit) = report.audit {
        let mark = if audit.is_unavailable() {
            "⚠️ "
        } else {
            ""
        };
        let _ = writeln!(out, "{mark}{}\n", cell(&audit.sentence()));
    }
    if report.suppressed > 0 || report.baselined > 0 {
        let _ = writeln!(
            out,
            "{} suppressed inline, {} known from the baseline.\n",
            report.suppressed, report.baselined
        );
    }
    out
}
