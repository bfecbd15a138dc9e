//! Secret rules: provider-specific token formats, private keys, connection strings with
//! passwords and JWTs. Every rule judges added lines only, builds its finding from the
//! matched secret's hash and a redacted prefix, and never prints the value.

mod allowlist;
mod checksum;
mod connection_string;
mod generic;
mod jwt;
mod private_key;
mod providers;

use crate::findings::{Finding, Severity, fingerprint, redact};
use crate::preflight::diff::FileDiff;

use super::{Rule, RuleMeta};

/// All secret rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    let mut all: Vec<Box<dyn Rule>> = providers::rules();
    all.push(Box::new(private_key::PrivateKey));
    all.push(Box::new(connection_string::ConnectionString));
    all.push(Box::new(jwt::Jwt));
    all.push(Box::new(generic::GenericSecret));
    all
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
