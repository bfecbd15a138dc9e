//! Renderers for an eval run: a text table (failures with expected and actual side by side),
//! JSON, and JUnit XML for CI test reporting (one `testsuite` per suite).

use std::fmt::Write;

use serde_json::{Value, json};

use super::{CaseResult, EvalReport, Status};

/// Output formats of `factory evals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

pub fn render(format: Format, report: &EvalReport) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_value(report)).expect("JSON value");
            s.push('\n');
            s
        }
        Format::Junit => junit(report),
    }
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skip(_) => "skip",
    }
}

fn summary_line(report: &EvalReport) -> String {
    let per_suite: Vec<String> = report
        .suites
        .iter()
        .map(|s| format!("{} {}", s.suite, s.cases.len()))
        .collect();
    let elapsed: f64 = report.suites.iter().map(|s| s.elapsed.as_secs_f64()).sum();
    format!(
        "{} case(s): {} passed, {} failed, {} skipped ({}) in {:.2}s",
        report.total(),
        report.total() - report.failed() - report.skipped(),
        report.failed(),
        report.skipped(),
        per_suite.join(", "),
        elapsed
    )
}

/// Expected and actual as two columns: items on both sides share a row, items on one side
/// only are marked with `*`.
fn side_by_side(case: &CaseResult) -> String {
    let mut rows: Vec<&String> = case.expected.iter().chain(&case.actual).collect();
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert(*r));
    let width = case
        .expected
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(9, 72);
    let mut s = String::new();
    let _ = writeln!(s, "    {:<width$} | actual", "expected");
    if rows.is_empty() {
        let _ = writeln!(s, "    {:<width$} | (nothing)", "(nothing)");
    }
    for row in rows {
        let l = if case.expected.contains(row) {
            row.as_str()
        } else {
            ""
        };
        let r = if case.actual.contains(row) {
            row.as_str()
        } else {
            ""
        };
        let mark = if l.is_empty() || r.is_empty() {
            '*'
        } else {
            ' '
        };
        let l = if l.is_empty() && case.expected.is_empty() {
            "(nothing)"
        } else {
            l
        };
        let r = if r.is_empty() && case.actual.is_empty() {
            "(nothing)"
        } else {
            r
        };
        let _ = writeln!(s, "  {mark} {l:<width$} | {r}");
    }
    s
}

pub fn text(report: &EvalReport) -> String {
    let mut s = String::new();
    let suite_w = report
        .suites
        .iter()
        .map(|x| x.suite.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let case_w = report
        .cases()
        .map(|(_, c)| c.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    let _ = writeln!(s, "{:<suite_w$}  {:<case_w$}  result", "suite", "case");
    for (suite, case) in report.cases() {
        let _ = write!(
            s,
            "{suite:<suite_w$}  {:<case_w$}  {}",
            case.name,
            status_word(&case.status)
        );
        if let Status::Skip(reason) = &case.status {
            let _ = write!(s, " ({reason})");
        }
        s.push('\n');
        for line in &case.detail {
            let _ = writeln!(s, "{:suite_w$}    {line}", "");
        }
    }
    let failures: Vec<_> = report.cases().filter(|(_, c)| c.failed()).collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "\nfailures:");
        for (suite, case) in failures {
            let _ = writeln!(s, "\n{suite} / {}", case.name);
            s.push_str(&side_by_side(case));
        }
    }
    let _ = writeln!(s, "\n{}", summary_line(report));
    s
}

pub fn json_value(report: &EvalReport) -> Value {
    let suites: Vec<Value> = report
        .suites
        .iter()
        .map(|suite| {
            let cases: Vec<Value> = suite
                .cases
                .iter()
                .map(|c| {
                    let mut v = json!({
                        "name": c.name,
                        "status": match c.status { Status::Pass => "pass", Status::Fail => "fail", Status::Skip(_) => "skip" },
                        "expected": c.expected,
                        "actual": c.actual,
                    });
                    if let Status::Skip(reason) = &c.status {
                        v["reason"] = Value::from(reason.as_str());
                    }
                    if !c.detail.is_empty() {
                        v["detail"] = json!(c.detail);
                    }
                    v
                })
                .collect();
            json!({
                "suite": suite.suite,
                "elapsed_ms": suite.elapsed.as_millis() as u64,
                "cases": cases,
            })
        })
        .collect();
    json!({
        "passed": report.failed() == 0,
        "total": report.total(),
        "failed": report.failed(),
        "skipped": report.skipped(),
        "suites": suites,
    })
}

/// Escape text for XML attributes and content; characters XML 1.0 cannot carry are dropped.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn junit(report: &EvalReport) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_time: f64 = report.suites.iter().map(|x| x.elapsed.as_secs_f64()).sum();
    let _ = writeln!(
        s,
        "<testsuites name=\"factory evals\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{total_time:.3}\">",
        report.total(),
        report.failed(),
        report.skipped()
    );
    for suite in &report.suites {
        let failed = suite.cases.iter().filter(|c| c.failed()).count();
        let skipped = suite
            .cases
            .iter()
            .filter(|c| matches!(c.status, Status::Skip(_)))
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_escape(suite.suite),
            suite.cases.len(),
            suite.elapsed.as_secs_f64()
        );
        for case in &suite.cases {
            let _ = write!(
                s,
                "    <testcase classname=\"evals.{}\" name=\"{}\"",
                xml_escape(suite.suite),
                xml_escape(&case.name)
            );
            match &case.status {
                Status::Pass => s.push_str("/>\n"),
                Status::Skip(reason) => {
                    let _ = writeln!(
                        s,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(reason)
                    );
                }
                Status::Fail => {
                    let message = format!(
                        "expected [{}], got [{}]",
                        case.expected.join("; "),
                        case.actual.join("; ")
                    );
                    let _ = writeln!(
                        s,
                        ">\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n    </testcase>",
                        xml_escape(&message),
                        xml_escape(&side_by_side(case))
                    );
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::evals::SuiteResult;

    fn report() -> EvalReport {
        EvalReport {
            suites: vec![SuiteResult {
                suite: "diffs",
                elapsed: Duration::from_millis(12),
                cases: vec![
                    CaseResult::compare("ok", vec!["a".into()], vec!["a".into()]),
                    CaseResult::compare(
                        "bad <&> \"case\"",
                        vec!["sql-injection app/x.py:3 critical".into()],
                        vec![],
                    ),
                    CaseResult::skip("later", "no\u{1}db"),
                ],
            }],
        }
    }

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{0}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\n"
        );
    }

    #[test]
    fn junit_has_one_testsuite_and_escaped_failures() {
        let xml = junit(&report());
        assert!(xml.contains("<testsuite name=\"diffs\" tests=\"3\" failures=\"1\""));
        assert!(xml.contains("name=\"bad &lt;&amp;&gt; &quot;case&quot;\""));
        assert!(
            xml.contains(
                "<failure message=\"expected [sql-injection app/x.py:3 critical], got []\""
            )
        );
        assert!(xml.contains("<skipped message=\"nodb\"/>"));
        assert!(!xml.contains('\u{1}'));
    }

    #[test]
    fn text_shows_expected_and_actual_side_by_side() {
        let t = text(&report());
        assert!(t.contains("FAIL"), "{t}");
        assert!(
            t.contains("* sql-injection app/x.py:3 critical | (nothing)"),
            "{t}"
        );
        assert!(
            t.contains("3 case(s): 1 passed, 1 failed, 1 skipped"),
            "{t}"
        );
    }
}
