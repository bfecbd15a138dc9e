//! The hybrid review: machine findings (preflight) and the reviewer agent's findings merged into
//! one review, de-duplicated, with a verdict the findings decide: any critical finding requests
//! changes, whatever the agent said.

pub mod chunk;
pub mod fingerprint;
pub mod ledger;
pub mod pipeline;
pub mod post;
pub mod pr;

use serde_json::{Value, json};

#[cfg(test)]
use crate::findings::Severity;
use crate::findings::{Category, Finding};

/// The review-output category of a preflight finding.
fn category(f: &Finding) -> &'static str {
    match f.category {
        Category::Secret => "secrets",
        Category::Scope => "scope",
        Category::Dependency => "dependency",
        Category::Contract => "quality",
        Category::Pattern => {
            let id = f.rule_id.to_lowercase();
            if id.contains("tls") || id.contains("crypto") || id.contains("hash") {
                "crypto"
            } else if id.contains("sql") {
                "database"
            } else {
                "injection"
            }
        }
    }
}

/// A preflight finding as a review finding (carrying its fingerprint, never the secret).
pub fn machine_finding(f: &Finding) -> Value {
    let mut v = json!({
        "severity": f.severity.as_str(),
        "category": category(f),
        "file": f.path,
        "description": format!("[{}] {}", f.rule_id, f.message),
        "evidence": f.redacted,
        "recommendation": recommendation(f),
        "fingerprint": f.fingerprint,
    });
    if f.line > 0 {
        v["line"] = json!(f.line);
    }
    v
}

fn recommendation(f: &Finding) -> &'static str {
    match f.category {
        Category::Secret => {
            "Remove the secret from the change, rotate it, and load it from the environment or a secret store."
        }
        Category::Scope => {
            "Keep the change inside the issue's files_in_scope, or update the plan first."
        }
        Category::Dependency => {
            "Upgrade to a version without the advisory, or justify the exception."
        }
        _ => "Fix the flagged code as the rule describes.",
    }
}

/// The diff with every added line that holds a secret finding replaced by a placeholder, so
/// the secret never reaches the agent (or its provider's logs).
pub fn withhold_secrets(diff: &str, findings: &[Finding]) -> String {
    let secret_at = |path: &str, line: u32| {
        findings
            .iter()
            .find(|f| f.category == Category::Secret && f.path == path && f.line == line)
    };
    let mut out = String::with_capacity(diff.len());
    let mut path = String::new();
    let mut new_line = 0u32;
    for raw in diff.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some(p) = line.strip_prefix("+++ ") {
            path = p.strip_prefix("b/").unwrap_or(p).to_string();
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@
            new_line = rest
                .split_whitespace()
                .find_map(|t| t.strip_prefix('+'))
                .and_then(|t| t.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if line.starts_with('+') {
            if let Some(f) = secret_at(&path, new_line) {
                out.push_str(&format!(
                    "+[line withheld by factory: {} finding {}]\n",
                    f.rule_id, f.fingerprint
                ));
                new_line += 1;
                continue;
            }
            new_line += 1;
        } else if line.starts_with(' ') {
            new_line += 1;
        }
        out.push_str(raw);
    }
    out
}

/// Key for de-duplication: the fingerprint when present, else file, line and category.
fn key(f: &Value) -> String {
    if let Some(fp) = f.get("fingerprint").and_then(Value::as_str) {
        return format!("fp:{fp}");
    }
    format!(
        "{}:{}:{}",
        f.get("file").and_then(Value::as_str).unwrap_or(""),
        f.get("line").and_then(Value::as_u64).unwrap_or(0),
        f.get("category").and_then(Value::as_str).unwrap_or("")
    )
}

fn severity_rank(f: &Value) -> u8 {
    match f.get("severity").and_then(Value::as_str) {
        Some("critical") => 3,
        Some("important") => 2,
        _ => 1,
    }
}

/// Merge the machine findings into the agent's review and decide the verdict. Agent findings
/// lose any fingerprint they carry; [`fingerprint::assign`] gives every finding its own.
///
/// Machine findings come first and are never dropped; an agent finding at the same place and
/// category (or with the same fingerprint) is merged into it, keeping the higher severity. The
/// counts, `security_assessment.passed` and the verdict are recomputed from the merged list.
pub fn merge(machine: &[Finding], llm: &Value, pr_number: u64) -> Value {
    let mut merged: Vec<Value> = Vec::new();
    let add = |f: Value, merged: &mut Vec<Value>| {
        let k = key(&f);
        let place = |x: &Value| {
            (
                x.get("file").cloned(),
                x.get("line").cloned(),
                x.get("category").cloned(),
            )
        };
        if let Some(existing) = merged
            .iter_mut()
            .find(|e| key(e) == k || place(e) == place(&f))
        {
            if severity_rank(&f) > severity_rank(existing) {
                existing["severity"] = f["severity"].clone();
            }
            return;
        }
        merged.push(f);
    };
    for f in machine {
        add(machine_finding(f), &mut merged);
    }
    for f in llm
        .get("findings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        // Factory computes every fingerprint itself (see `fingerprint`); one the agent wrote
        // is never trusted.
        let mut f = f;
        if let Some(o) = f.as_object_mut() {
            o.remove("fingerprint");
        }
        add(f, &mut merged);
    }
    let count = |s: &str| {
        merged
            .iter()
            .filter(|f| f.get("severity").and_then(Value::as_str) == Some(s))
            .count()
    };
    let (critical, important, advisory) =
        (count("critical"), count("important"), count("advisory"));
    let agent_verdict = llm
        .get("verdict")
        .and_then(Value::as_str)
        .unwrap_or("APPROVE");
    let verdict = if critical > 0 || agent_verdict == "REQUEST_CHANGES" {
        "REQUEST_CHANGES"
    } else {
        "APPROVE"
    };
    let mut out = llm.clone();
    out["schema_version"] = json!("1.0");
    out["pr_number"] = json!(pr_number);
    out["verdict"] = json!(verdict);
    out["findings"] = Value::Array(merged);
    out["security_assessment"] = json!({
        "passed": critical == 0,
        "findings_count": {"critical": critical, "important": important, "advisory": advisory},
    });
    let acknowledged: Vec<Value> = machine
        .iter()
        .map(|f| json!(format!("{}:{}:{}", f.rule_id, f.path, f.fingerprint)))
        .collect();
    if !acknowledged.is_empty() {
        out["machine_findings_acknowledged"] = Value::Array(acknowledged);
    }
    // The scope check is deterministic: an out-of-scope path is a violation whatever the
    // reviewer wrote (the scorecard and the lessons read this flag).
    if machine
        .iter()
        .any(|f| f.category == crate::findings::Category::Scope)
    {
        out["scope_compliance"]["in_scope_match"] = json!(false);
        out["scope_compliance"]["out_of_scope_violation"] = json!(true);
    }
    if critical > 0 && agent_verdict == "APPROVE" {
        let summary = out.get("summary").and_then(Value::as_str).unwrap_or("");
        out["summary"] = json!(format!(
            "Changes requested: {critical} critical finding(s) from the machine checks override the reviewer's approval. {summary}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Finding {
        Finding {
            rule_id: "secret-aws-access-key".into(),
            category: Category::Secret,
            severity: Severity::Critical,
            path: "src/config.rs".into(),
            line: 3,
            message: "AWS access key".into(),
            fingerprint: "abcd".into(),
            redacted: "AKIA****".into(),
        }
    }

    fn approve() -> Value {
        json!({"schema_version":"1.0","pr_number":1,"verdict":"APPROVE","findings":[
            {"severity":"advisory","category":"secrets","file":"src/config.rs","line":3,"description":"key","recommendation":"x"},
            {"severity":"advisory","category":"testing","file":"src/a.rs","description":"t","recommendation":"y"}],
            "scope_compliance":{"in_scope_match":true,"out_of_scope_violation":false},
            "security_assessment":{"passed":true},"test_coverage":{},"summary":"fine"})
    }

    #[test]
    fn a_machine_scope_finding_marks_the_review_out_of_scope() {
        let mut f = secret();
        f.rule_id = "scope-out-of-scope".into();
        f.category = crate::findings::Category::Scope;
        f.severity = crate::findings::Severity::Important;
        let m = merge(&[f], &approve(), 3);
        assert_eq!(m["scope_compliance"]["out_of_scope_violation"], true);
        assert_eq!(m["scope_compliance"]["in_scope_match"], false);
        let clean = merge(&[], &approve(), 3);
        assert_eq!(clean["scope_compliance"]["out_of_scope_violation"], false);
    }

    #[test]
    fn a_critical_machine_finding_overrides_an_approval() {
        let m = merge(&[secret()], &approve(), 7);
        assert_eq!(m["verdict"], "REQUEST_CHANGES");
        assert_eq!(m["pr_number"], 7);
        assert_eq!(m["security_assessment"]["passed"], false);
        let findings = m["findings"].as_array().unwrap();
        assert_eq!(
            findings.len(),
            2,
            "the agent's duplicate merged into the machine finding"
        );
        assert_eq!(findings[0]["severity"], "critical");
        assert!(
            crate::contracts::validate(
                crate::contracts::Contract::ReviewOutput,
                &m,
                Default::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn secret_lines_are_withheld_from_the_agent() {
        let diff = "diff --git a/src/config.rs b/src/config.rs\n--- a/src/config.rs\n+++ b/src/config.rs\n@@ -1,1 +1,3 @@\n fn a() {}\n+let ok = 1;\n+let key = \"AKIAQYLPMN5HHHFPZAM2\";\n";
        let out = withhold_secrets(diff, &[secret()]);
        assert!(!out.contains("AKIA"), "{out}");
        assert!(out.contains("+let ok = 1;"));
        assert!(out.contains("line withheld by factory: secret-aws-access-key"));
    }

    #[test]
    fn without_critical_findings_the_agent_verdict_stands() {
        let m = merge(&[], &approve(), 1);
        assert_eq!(m["verdict"], "APPROVE");
        assert_eq!(m["security_assessment"]["findings_count"]["advisory"], 2);
    }
}
