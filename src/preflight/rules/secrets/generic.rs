//! `generic-secret-assignment`: a high-entropy literal assigned to a name that says it is a
//! secret (`password`, `api_key`, `client_secret`, `token`, …), for credentials with no
//! recognisable format of their own.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::report;

pub(crate) struct GenericSecret;

static META: RuleMeta = RuleMeta {
    id: "generic-secret-assignment",
    title: "High-entropy secret assigned in code or configuration",
    category: Category::Secret,
    severity: Severity::Important,
    description: "A quoted literal (or an unquoted value in `.env`-style files) assigned to a key \
named like a credential (`password`, `passwd`, `secret`, `api_key`, `access_token`, \
`auth_token`, `client_secret`, `private_key`, `token`) whose characters look random: at least \
12 characters with Shannon entropy of at least 3.5 bits per character (hexadecimal values: at \
least 32 characters and 3.0 bits), mixing letters and digits. Placeholders, references \
(`${VAR}`, `{{ secrets.X }}`), URLs and paths are not reported, nor are lockfiles.\n\n\
This rule is deliberately conservative: a provider-specific rule reports known formats with \
more confidence. Fix: rotate the value and load it from the environment or a secret store.",
    fails: "DB_PASSWORD = \"q8Zr2vLx9TmK4pWn7Yc3\"",
    passes: "DB_PASSWORD = os.environ[\"DB_PASSWORD\"]",
    example_path: "app/settings.py",
};

static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key|token)[A-Za-z0-9_]*["']?\s*(?::=|=>|=|:)\s*(?:"([^"\s]{12,200})"|'([^'\s]{12,200})'|([^"'\s,;#]{12,200})\s*$)"#,
    )
    .expect("compiles")
});

/// Files where long random-looking values are expected: lockfiles and checksums.
fn skipped(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.ends_with(".lock")
        || matches!(
            name,
            "go.sum"
                | "package-lock.json"
                | "npm-shrinkwrap.json"
                | "pnpm-lock.yaml"
                | "yarn.lock"
                | "Cargo.lock"
        )
        || name.ends_with(".sum")
        || name.ends_with(".min.js")
}

fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether `value` reads like a generated secret rather than a word, a reference or a path.
fn looks_random(value: &str) -> bool {
    if is_placeholder(value)
        || value.contains("://")
        || value.contains("${")
        || value.starts_with('/')
    {
        return false;
    }
    // Lower-case text with `/` or `.` is a path, a key name or a host, not generated material.
    let upper = value.bytes().any(|b| b.is_ascii_uppercase());
    if !upper && value.contains(['/', '.']) {
        return false;
    }
    let letters = value.bytes().any(|b| b.is_ascii_alphabetic());
    let digits = value.bytes().any(|b| b.is_ascii_digit());
    if !(letters && digits) {
        return false;
    }
    // Calls, member accesses and identifiers are code, not values.
    if value.contains('(')
        || value.contains(')')
        || value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && value.contains('_')
            && value.bytes().filter(|b| b.is_ascii_uppercase()).count() == 0
            && entropy(value) < 4.0
    {
        return false;
    }
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        return value.len() >= 32 && entropy(value) >= 3.0;
    }
    entropy(value) >= 3.5
}

impl Rule for GenericSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["pass", "pwd", "secret", "key", "token"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if skipped(file.path()) {
            return;
        }
        let env_style = file.path().rsplit('/').next().is_some_and(|n| {
            n.starts_with(".env")
                || n.ends_with(".env")
                || n.ends_with(".properties")
                || n.ends_with(".ini")
        });
        for (n, text) in file.added_lines() {
            let Some(caps) = ASSIGNMENT.captures(text) else {
                continue;
            };
            let value = caps
                .get(1)
                .or_else(|| caps.get(2))
                .or_else(|| if env_style { caps.get(3) } else { None })
                .map(|m| m.as_str());
            let Some(value) = value else { continue };
            if looks_random(value) {
                report(&META, META.severity, file, n, value, "a random-looking literal is assigned to a credential name: rotate it and load it at run time".into(), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&GenericSecret, path, text).is_empty()
    }

    #[test]
    fn random_values_under_secret_names() {
        assert!(fires("a.py", r#"api_key = "h7Gk2Lp9Qz4Xv8Rt1Wm5""#));
        assert!(fires(
            "config.yml",
            r#"client_secret: "3f9a7c2e8b1d4f6a0c5e9b2d7a4f1c8e""#
        ));
        assert!(fires(".env", "JWT_SECRET=Zp4Qv8Lm2Tx7Rk9Wc3Hn"));
        assert!(fires(
            "a.js",
            r#"const authToken = 'Yv3Kp8Qz1Lm6Tx9Rc2Wn';"#
        ));
    }

    #[test]
    fn references_words_and_hashes_pass() {
        assert!(!fires("a.py", r#"password = os.environ["DB_PASSWORD"]"#));
        assert!(!fires("a.py", r#"password = "correct horse battery""#));
        assert!(!fires("a.py", r#"api_key = "${API_KEY}""#));
        assert!(!fires(
            "a.py",
            r#"token_url = "https://auth.example.com/oauth/token""#
        ));
        assert!(!fires("a.py", r#"secret_name = "prod/db/credentials_v2""#));
        assert!(!fires(
            "a.py",
            r#"password_field = "password_confirmation""#
        ));
        assert!(!fires("a.py", r#"api_key = get_api_key(settings_v2)"#));
        assert!(!fires("a.py", r#"token = "0123456789abcdef0123""#));
        assert!(!fires(
            "Cargo.lock",
            r#"checksum = "3f9a7c2e8b1d4f6a0c5e9b2d7a4f1c8e3f9a7c2e8b1d4f6a""#
        ));
        assert!(!fires("a.py", r#"api_key = "<your-api-key-here>""#));
    }
}
