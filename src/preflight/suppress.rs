//! Inline suppressions: `factory:allow <rule-id> -- <reason>` on the flagged line, in any
//! comment syntax. The reason is required; a suppression without one does not suppress and
//! is itself reported (`suppression-missing-reason`, advisory).

use crate::findings::{Category, Finding, Severity, fingerprint};
use crate::preflight::rules::RuleMeta;

pub const MARKER: &str = "factory:allow";

pub const SUPPRESSION_MISSING_REASON: RuleMeta = RuleMeta {
    id: "suppression-missing-reason",
    title: "Inline suppression without a reason",
    category: Category::Pattern,
    severity: Severity::Advisory,
    description: "An added line carries `factory:allow <rule-id>` without ` -- <reason>`. \
Suppressions must say why the finding is acceptable so reviewers can judge it later; without a \
reason the suppression is ignored and the original finding is still reported.",
    fails: "password = load()  # factory:allow generic-secret",
    passes: "password = load()  # factory:allow generic-secret -- loaded from the vault at runtime",
    example_path: "app/config.py",
};

/// One parsed suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression<'a> {
    pub rule_id: &'a str,
    pub reason: Option<&'a str>,
}

/// Every suppression on a line (a line may allow several rules).
pub fn parse(line: &str) -> Vec<Suppression<'_>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(pos) = rest.find(MARKER) {
        let after = &rest[pos + MARKER.len()..];
        rest = after;
        if !after.starts_with([' ', '\t']) {
            continue;
        }
        let after = after.trim_start();
        let id_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        if id_len == 0 {
            continue;
        }
        let rule_id = &after[..id_len];
        let tail = after[id_len..].trim_start();
        let reason = tail.strip_prefix("--").map(|r| {
            let r = r.trim();
            // Stop at a following suppression and at common comment terminators.
            let r = r.split(MARKER).next().unwrap_or("").trim();
            r.trim_end_matches("*/")
                .trim_end_matches("-->")
                .trim_end_matches("#}")
                .trim()
        });
        let reason = reason.filter(|r| !r.is_empty());
        out.push(Suppression { rule_id, reason });
    }
    out
}

/// Whether `line` suppresses `rule_id` with a reason.
pub fn allows(line: &str, rule_id: &str) -> bool {
    line.contains(MARKER)
        && parse(line)
            .iter()
            .any(|s| s.rule_id == rule_id && s.reason.is_some())
}

/// The advisory finding for suppressions without a reason on one added line.
pub fn missing_reason(path: &str, line_no: u32, line: &str, out: &mut Vec<Finding>) {
    if !line.contains(MARKER) {
        return;
    }
    for s in parse(line) {
        if s.reason.is_none() {
            let meta = &SUPPRESSION_MISSING_REASON;
            out.push(Finding {
                rule_id: meta.id.to_string(),
                category: meta.category,
                severity: meta.severity,
                path: path.to_string(),
                line: line_no,
                message: format!(
                    "`factory:allow {}` has no reason, so it suppresses nothing; write \
                     `factory:allow {} -- <why this is acceptable>`",
                    s.rule_id, s.rule_id
                ),
                fingerprint: fingerprint(meta.id, path, s.rule_id),
                redacted: String::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reason_and_comment_syntaxes() {
        assert_eq!(
            parse("x = 1 // factory:allow aws-access-key-id -- test fixture"),
            vec![Suppression {
                rule_id: "aws-access-key-id",
                reason: Some("test fixture")
            }]
        );
        assert_eq!(
            parse("<!-- factory:allow a -- because -->")[0].reason,
            Some("because")
        );
        assert_eq!(parse("# factory:allow a")[0].reason, None);
        assert_eq!(parse("# factory:allow a --   ")[0].reason, None);
        assert!(parse("# factory:allowed a -- x").is_empty());
    }

    #[test]
    fn allows_only_the_named_rule_with_a_reason() {
        let line = "k = 'v' # factory:allow rule-a -- fixture";
        assert!(allows(line, "rule-a"));
        assert!(!allows(line, "rule-b"));
        assert!(!allows("k # factory:allow rule-a", "rule-a"));
    }
}
