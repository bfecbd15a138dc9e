//! SARIF 2.1.0 for GitHub code scanning: `tool.driver.rules` with help texts, one result per
//! finding with `ruleId`, `level`, a physical location (`artifactLocation.uri` +
//! `region.startLine`, at least 1 as GitHub requires) and `partialFingerprints`.

use serde_json::{Value, json};

use super::Report;
use crate::findings::Severity;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Important => "warning",
        Severity::Advisory => "note",
    }
}

/// GitHub's `security-severity` scale (0.0–10.0) for security findings.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.0",
        Severity::Important => "7.0",
        Severity::Advisory => "3.0",
    }
}

/// Relative URI of a repository path: percent-encode what is not allowed in a URI path.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches("./").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn value(report: &Report<'_>) -> Value {
    let mut rule_ids: Vec<&str> = report.rules.iter().map(|r| r.id.as_str()).collect();
    let mut rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let mut rule = json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.description},
                "help": {"text": r.description, "markdown": format!("**{}**\n\n{}", r.title, r.description)},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "tags": [r.category.as_str(), "security"],
                    "security-severity": security_severity(r.severity),
                }
            });
            if let Some(help) = &r.help_uri {
                rule["helpUri"] = json!(help);
            }
            rule
        })
        .collect();
    // Findings of rules without documentation (e.g. from a review) still need a rule entry.
    for f in report.findings {
        if !rule_ids.contains(&f.rule_id.as_str()) {
            rule_ids.push(&f.rule_id);
            rules.push(json!({
                "id": f.rule_id,
                "shortDescription": {"text": f.rule_id},
                "defaultConfiguration": {"level": level(f.severity)},
            }));
        }
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = rule_ids.iter().position(|id| *id == f.rule_id).unwrap_or(0);
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line.max(1)}
                    }
                }],
                "partialFingerprints": {"factoryFingerprint/v1": f.fingerprint},
                "properties": {"category": f.category.as_str(), "severity": f.severity.as_str()}
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .skipped
        .iter()
        .map(|s| {
            json!({
                "level": "note",
                "message": {"text": format!("skipped {} ({})", s.path, s.reason)},
            })
        })
        .chain(report.audit.filter(|a| a.is_unavailable()).map(|a| {
            json!({
                "level": "warning",
                "descriptor": {"id": "dependency-audit-unavailable"},
                "message": {"text": a.line()},
            })
        }))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool,
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": "https://github.com/software-factory/factory",
                "rules": rules,
            }},
            "automationDetails": {"id": "factory/preflight/"},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

pub fn render(report: &Report<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&value(report)).expect("serialisable");
    s.push('\n');
    s
}
