//! `private-jwk`: a JSON Web Key with its private part: `d` of an RSA, EC or OKP key, or `k`
//! of a symmetric (`oct`) key. A public JWK (no `d`) is published on purpose, so the rule
//! looks for the private member, and only in text that declares a key type (`kty`).

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::{decode, report};

pub(crate) struct PrivateJwk;

static META: RuleMeta = RuleMeta {
    id: "private-jwk",
    title: "Private JSON Web Key",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A JSON Web Key (RFC 7517) that carries private key material: the `d` member of \
an RSA, EC or OKP key, or the `k` member of a symmetric `oct` key, in JSON, a JWKS document or \
a code literal, next to a `kty`. One finding per key, on the line of `d` (or `k`). Public keys \
(`n` and `e`, or `x` and `y`, without `d`) are not reported.\n\n\
Fix: retire the key (remove it from the JWKS, rotate the signing key), and load private keys \
from a secret store or a key management service.",
    fails: "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"q3Zr9sXv0LfT6mWc1bHn8KpYd2Ge5JoA4uRi7VwQz0E\",\"y\":\"Lw5Nc8Xe2RbV7tKq0PmZ3hYd6GsJ9oAf1iUr4WnTk8M\",\"d\":\"Hf3Xq8Lc1Zv6Tn0Rb4Mw9Ks2Yj7Gd5Pe1Ua8Ni3Wo6Q\"}",
    passes: "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"q3Zr9sXv0LfT6mWc1bHn8KpYd2Ge5JoA4uRi7VwQz0E\",\"y\":\"Lw5Nc8Xe2RbV7tKq0PmZ3hYd6GsJ9oAf1iUr4WnTk8M\"}",
    example_path: "config/signing-key.json",
};

/// The private member: `"d": "…"`, `d: '…'`, `d="…"` (and `k` for `oct` keys).
static PRIVATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[^A-Za-z0-9_$.])["']?([dk])["']?\s*[:=]\s*["']([A-Za-z0-9_-]{22,})["']"#)
        .expect("compiles")
});

impl Rule for PrivateJwk {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    /// The `kty` member name as a key: quoted, or followed by `:`, `=`, a space or an escape.
    /// A bare `kty` inside a random token (minified bundles are full of them) is not a JWK.
    fn keywords(&self) -> &[&'static str] {
        &["kty\"", "kty'", "kty:", "kty=", "kty ", "kty\t", "kty\\"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines = decode::added_lines(file);
        let symmetric = lines.iter().any(|(_, l)| l.contains("oct"));
        for (n, text) in &lines {
            // The member needs `:` or `=` and a quoted value: lines without both (most lines
            // of a long file) are passed over without a regex pass.
            let b = text.as_bytes();
            if !((b.contains(&b':') || b.contains(&b'='))
                && (b.contains(&b'"') || b.contains(&b'\'')))
            {
                continue;
            }
            for caps in PRIVATE.captures_iter(text) {
                let value = &caps[2];
                if &caps[1] == "k" && !symmetric || is_placeholder(value) {
                    continue;
                }
                report(
                    &META,
                    META.severity,
                    file,
                    *n,
                    value,
                    "private JSON Web Key committed: retire the key and keep it in a secret store"
                        .into(),
                    out,
                );
            }
        }
    }
}
