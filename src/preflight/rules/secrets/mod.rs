//! Secret rules: provider-specific token formats, private keys, connection strings with
//! passwords, JWTs, private JWKs, framework signing keys and base64 data of Kubernetes
//! Secrets. Every rule judges added lines only (with literal concatenation joined and JSON
//! escapes undone, see `decode`), builds its finding from the matched secret's hash and a
//! redacted prefix, and never prints the value. Published example values are never reported,
//! and one secret value found by several rules is reported once, by the most specific rule.

mod allowlist;
mod checksum;
mod connection_string;
pub(crate) mod decode;
mod framework;
mod generic;
mod jwk;
mod jwt;
mod kubernetes;
mod private_key;
mod providers;

use crate::findings::{Finding, Severity, fingerprint, redact};
use crate::preflight::diff::FileDiff;

use super::{Rule, RuleMeta};

/// All secret rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    let mut all = line_rules();
    all.push(Box::new(kubernetes::KubernetesSecret));
    all
}

/// The rules that judge text as written: all but the Kubernetes rule, which runs these on
/// the values it decodes.
pub(crate) fn line_rules() -> Vec<Box<dyn Rule>> {
    let mut all: Vec<Box<dyn Rule>> = providers::rules();
    all.push(Box::new(private_key::PrivateKey));
    all.push(Box::new(jwk::PrivateJwk));
    all.push(Box::new(framework::FrameworkKey));
    all.push(Box::new(connection_string::ConnectionString));
    all.push(Box::new(connection_string::AzureSharedKey));
    all.push(Box::new(jwt::Jwt));
    all.push(Box::new(generic::GenericSecret));
    all
}

/// How specific a secret rule is: the generic assignment rule knows least, connection strings
/// and JWTs know the format but not the issuer, the rest name the provider or key type.
fn specificity(rule_id: &str) -> u8 {
    match rule_id {
        "generic-secret-assignment" => 0,
        kubernetes::ID => 1,
        "connection-string-password" | "jwt" => 2,
        _ => 3,
    }
}

/// Whether two findings on one line are about the same value: the Kubernetes rule decodes
/// the whole value of its line; otherwise the visible prefixes of the redacted excerpts agree.
fn same_value(kept: &Finding, other: &Finding) -> bool {
    if kept.rule_id == kubernetes::ID {
        return true;
    }
    let a = kept.redacted.trim_end_matches('*');
    let b = other.redacted.trim_end_matches('*');
    a.is_empty() || b.is_empty() || a.starts_with(b) || b.starts_with(a)
}

/// One finding per secret value: when several secret rules report the same value on the same
/// line of the same file (a provider token assigned to `api_key`, a password found in the
/// line as written and in its normalised form), keep the most specific rule's finding.
pub fn dedupe_secret_findings(findings: &mut Vec<Finding>) {
    use crate::findings::Category;
    let secret = |f: &Finding| f.category == Category::Secret;
    if findings.iter().filter(|f| secret(f)).count() < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| {
        let f = &findings[i];
        (
            f.path.clone(),
            f.line,
            std::cmp::Reverse(specificity(&f.rule_id)),
            i,
        )
    });
    let mut drop = vec![false; findings.len()];
    for (pos, &i) in order.iter().enumerate() {
        let f = &findings[i];
        if !secret(f) {
            continue;
        }
        drop[i] = order[..pos].iter().any(|&k| {
            let g = &findings[k];
            !drop[k]
                && secret(g)
                && g.path == f.path
                && g.line == f.line
                && (g.fingerprint == f.fingerprint
                    || (g.rule_id == f.rule_id
                        || specificity(&g.rule_id) > specificity(&f.rule_id))
                        && same_value(g, f))
        });
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// Build a secret finding. `secret` is hashed into the fingerprint and redacted in the excerpt.
pub(crate) fn report(
    meta: &RuleMeta,
    severity: Severity,
    file: &FileDiff,
    line: u32,
    secret: &str,
    message: String,
    out: &mut Vec<Finding>,
) {
    if allowlist::is_published_example(secret) {
        return;
    }
    out.push(Finding {
        rule_id: meta.id.to_string(),
        category: meta.category,
        severity,
        path: file.path().to_string(),
        line,
        message,
        fingerprint: fingerprint(meta.id, file.path(), secret),
        redacted: redact(secret),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::{assert_examples, run};

    #[test]
    fn every_secret_rule_documents_examples_that_behave() {
        let rules = rules();
        assert!(rules.len() >= 20, "{} rules", rules.len());
        for rule in &rules {
            assert_examples(rule.as_ref());
        }
    }

    fn finding(rule: &str, line: u32, redacted: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            category: crate::findings::Category::Secret,
            severity: Severity::Critical,
            path: "a.py".into(),
            line,
            message: String::new(),
            fingerprint: format!("{rule}:{line}:{redacted}"),
            redacted: redacted.into(),
        }
    }

    #[test]
    fn one_finding_per_value_and_the_most_specific_rule_wins() {
        let mut found = vec![
            finding("generic-secret-assignment", 1, "ghp_********"),
            finding("github-token", 1, "ghp_********"),
            finding("aws-access-key-id", 2, "AKIA********"),
            finding("aws-secret-access-key", 2, "wk3J********"),
            finding("generic-secret-assignment", 2, "wk3J********"),
            finding("generic-secret-assignment", 3, "Zp4Q********"),
            finding("connection-string-password", 3, "Vq8r********"),
        ];
        dedupe_secret_findings(&mut found);
        let kept: Vec<(&str, u32)> = found.iter().map(|f| (f.rule_id.as_str(), f.line)).collect();
        assert_eq!(
            kept,
            [
                ("github-token", 1),
                ("aws-access-key-id", 2),
                ("aws-secret-access-key", 2),
                ("generic-secret-assignment", 3),
                ("connection-string-password", 3),
            ]
        );
    }

    #[test]
    fn findings_never_contain_the_secret() {
        for rule in rules() {
            let meta = rule.meta();
            for finding in run(rule.as_ref(), meta.example_path, meta.fails) {
                let json = serde_json::to_string(&finding).unwrap();
                for token in meta
                    .fails
                    .split(|c: char| !(c.is_ascii_alphanumeric() || "_-+/=.".contains(c)))
                {
                    if token.len() >= 16 {
                        assert!(
                            !json.contains(token),
                            "{}: finding leaks `{token}`",
                            meta.id
                        );
                    }
                }
            }
        }
    }
}
