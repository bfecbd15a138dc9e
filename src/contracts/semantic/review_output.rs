//! Review output: the verdict agrees with the findings, locations are well formed.

use serde_json::Value;

use super::Violation;

pub(crate) fn check(review: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let findings = review["findings"].as_array().cloned().unwrap_or_default();
    let count = |sev: &str| findings.iter().filter(|f| f["severity"] == sev).count() as u64;
    let critical = count("critical");

    if review["verdict"] == "APPROVE" && critical > 0 {
        out.push(Violation::new(
            "RV001",
            "/verdict",
            format!("expected REQUEST_CHANGES with {critical} critical finding(s), found APPROVE"),
        ));
    }

    for (i, f) in findings.iter().enumerate() {
        let file = f["file"].as_str().unwrap_or("");
        let bad_path = if file.trim().is_empty() {
            Some("is empty")
        } else if file.starts_with('/')
            || file.starts_with('\\')
            || file.get(1..3) == Some(":\\")
            || file.get(1..3) == Some(":/")
        {
            Some("is absolute; use a path relative to the repository root")
        } else if file.split(['/', '\\']).any(|seg| seg == "..") {
            Some("leaves the repository with `..`")
        } else {
            None
        };
        if let Some(why) = bad_path {
            out.push(Violation::new(
                "RV002",
                format!("/findings/{i}/file"),
                format!("finding path `{file}` {why}"),
            ));
        }
        let line = f["line"].as_i64();
        if let Some(l) = line
            && l < 1
        {
            out.push(Violation::new(
                "RV002",
                format!("/findings/{i}/line"),
                format!("expected a line number ≥ 1, found {l}"),
            ));
        }
        if let Some(end) = f["end_line"].as_i64() {
            match line {
                None => out.push(Violation::new(
                    "RV002",
                    format!("/findings/{i}/end_line"),
                    "end_line given without line",
                )),
                Some(l) if end < l => out.push(Violation::new(
                    "RV002",
                    format!("/findings/{i}/end_line"),
                    format!("expected end_line ≥ line ({l}), found {end}"),
                )),
                _ => {}
            }
        }
    }

    let assessment = &review["security_assessment"];
    if assessment["passed"] == true && critical > 0 {
        out.push(Violation::new(
            "RV003",
            "/security_assessment/passed",
            format!("expected false with {critical} critical finding(s), found true"),
        ));
    }
    if let Some(counts) = assessment["findings_count"].as_object() {
        for sev in ["critical", "important", "advisory"] {
            if let Some(stated) = counts.get(sev).and_then(Value::as_u64)
                && stated != count(sev)
            {
                out.push(Violation::new(
                    "RV003",
                    format!("/security_assessment/findings_count/{sev}"),
                    format!(
                        "expected {} (the {sev} findings listed), found {stated}",
                        count(sev)
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdict_locations_and_counts() {
        let r = json!({"verdict": "APPROVE", "findings": [
            {"severity": "critical", "file": "../etc/passwd", "line": 0},
            {"severity": "advisory", "file": "src/a.rs", "line": 5, "end_line": 3}],
            "security_assessment": {"passed": true, "findings_count": {"critical": 0, "advisory": 1}}});
        let codes: Vec<&str> = check(&r).iter().map(|v| v.code).collect();
        assert_eq!(
            codes,
            vec!["RV001", "RV002", "RV002", "RV002", "RV003", "RV003"]
        );
        let ok = json!({"verdict": "REQUEST_CHANGES", "findings": [{"severity": "critical", "file": "src/a.rs", "line": 2}],
            "security_assessment": {"passed": false, "findings_count": {"critical": 1}}});
        assert!(check(&ok).is_empty());
    }
}
