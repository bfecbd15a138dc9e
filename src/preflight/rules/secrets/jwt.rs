//! `jwt`: JSON Web Tokens committed in code or configuration.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::{decode, report};

pub(crate) struct Jwt;

static META: RuleMeta = RuleMeta {
    id: "jwt",
    title: "JSON Web Token",
    category: Category::Secret,
    severity: Severity::Important,
    description: "A JSON Web Token: three base64url segments whose first decodes to a JSON header \
with an `alg`. A signed token is a bearer credential until it expires, and long-lived service \
tokens often never do. Tokens with `alg: none` are reported too. The published example \
tokens are not reported: the jwt.io default token (`eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.…`, and its variant \
with `\"admin\": true`) and the example JWT of RFC 7519 section 3.1, matched exactly.\n\n\
Fix: revoke the token or rotate the signing key, and mint tokens at run time.",
    fails: "const auth = \"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsInNjb3BlIjoiYWRtaW4ifQ.Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo\";",
    passes: "const auth = `Bearer ${await tokenProvider.get()}`;",
    example_path: "src/client.ts",
};

static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(eyJ[A-Za-z0-9_-]{10,})\.(eyJ[A-Za-z0-9_-]{10,})\.([A-Za-z0-9_-]{16,})")
        .expect("compiles")
});

impl Rule for Jwt {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["eyj"]
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: a token starts with `eyJ`.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            for caps in TOKEN.captures_iter(text) {
                let header = decode::base64(&caps[1])
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
                if header.as_ref().and_then(|h| h.get("alg")).is_none() {
                    continue;
                }
                let token = caps.get(0).map_or("", |m| m.as_str());
                report(
                    &META,
                    META.severity,
                    file,
                    n,
                    token,
                    "JSON Web Token committed: revoke it or rotate the signing key".into(),
                    out,
                );
            }
        }
    }
}
