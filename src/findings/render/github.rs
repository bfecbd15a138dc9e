//! GitHub Actions workflow-command annotations:
//! `::error file=PATH,line=N,title=TITLE::MESSAGE`.
//!
//! Escaping follows the runner's rules: in the message `%`, `\r`, `\n` become `%25`, `%0D`,
//! `%0A`; in property values `:` and `,` are also escaped (`%3A`, `%2C`).

use std::fmt::Write;

use super::Report;
use crate::findings::Severity;

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Important => "warning",
        Severity::Advisory => "notice",
    }
}

pub fn render(report: &Report<'_>) -> String {
    let mut out = String::new();
    for f in report.findings {
        let mut props = format!("file={}", escape_property(&f.path));
        if f.line > 0 {
            let _ = write!(props, ",line={}", f.line);
        }
        let title = format!("{} ({})", f.rule_id, f.severity);
        let _ = write!(props, ",title={}", escape_property(&title));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            command(f.severity),
            props,
            escape_data(&f.message)
        );
    }
    for s in report.skipped {
        let _ = writeln!(
            out,
            "::notice file={}::{}",
            escape_property(&s.path),
            escape_data(&format!("preflight skipped this file ({})", s.reason))
        );
    }
    if let Some(audit) = report.audit.filter(|a| a.is_unavailable()) {
        let _ = writeln!(
            out,
            "::warning title=factory dependency audit::{}",
            escape_data(&audit.line())
        );
    }
    let _ = writeln!(
        out,
        "factory preflight: {} finding(s): {}",
        report.findings.len(),
        report.counts_line()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn unescape(s: &str) -> String {
        s.replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }

    proptest! {
        #[test]
        fn property_escaping_is_safe_and_reversible(s in "[a-z%:,\r\n ]{0,40}") {
            let e = escape_property(&s);
            prop_assert!(!e.contains([':', ',', '\r', '\n']));
            prop_assert_eq!(unescape(&e), s.clone());
            let d = escape_data(&s);
            prop_assert!(!d.contains(['\r', '\n']));
        }
    }
}
