//! `jwt`: JSON Web Tokens committed in code or configuration.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::report;

pub(crate) struct Jwt;

static META: RuleMeta = RuleMeta {
    id: "jwt",
    title: "JSON Web Token",
    category: Category::Secret,
    severity: Severity::Important,
    description: "A JSON Web Token: three base64url segments whose first decodes to a JSON header \
with an `alg`. A signed token is a bearer credential until it expires, and long-lived service \
tokens often never do. Tokens with `alg: none` are reported too.\n\n\
Fix: revoke the token or rotate the signing key, and mint tokens at run time.",
    fails: "const auth = \"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsInNjb3BlIjoiYWRtaW4ifQ.Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo\";",
    passes: "const auth = `Bearer ${await tokenProvider.get()}`;",
    example_path: "src/client.ts",
};

static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(eyJ[A-Za-z0-9_-]{10,})\.(eyJ[A-Za-z0-9_-]{10,})\.([A-Za-z0-9_-]{16,})")
        .expect("compiles")
});

/// Decode base64url without padding; `None` on any invalid character.
fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

impl Rule for Jwt {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["eyj"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: a token starts with `eyJ`.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            for caps in TOKEN.captures_iter(text) {
                let header = base64url(&caps[1])
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
