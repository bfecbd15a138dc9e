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

/// The value assigned after a credential name ending at `name_end`: skips the rest of the
/// identifier and a closing quote, expects `=`, `:`, `:=` or `=>`, then reads a quoted value, or
/// (when `bare` is allowed, as in `.env` files) an unquoted one up to whitespace.
fn assigned_value(line: &str, name_end: usize, bare: bool) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut i = name_end;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    if i < bytes.len() && matches!(bytes[i], b'"' | b'\'') {
        i += 1;
    }
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    match bytes.get(i..i + 2) {
        Some(b":=") | Some(b"=>") => i += 2,
        _ if matches!(bytes.get(i), Some(b'=') | Some(b':')) => i += 1,
        _ => return None,
    }
    if bytes.get(i) == Some(&b'=') {
        return None; // `==` is a comparison
    }
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let rest = &line[i..];
    let value = match rest.as_bytes().first() {
        Some(q @ (b'"' | b'\'')) => {
            let inner = &rest[1..];
            &inner[..inner.find(*q as char)?]
        }
        Some(_) if bare => rest.split([' ', '\t', '#', ';', ',']).next()?,
        _ => return None,
    };
    (12..=200)
        .contains(&value.len())
        .then_some(value)
        .filter(|v| !v.contains(char::is_whitespace))
}

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

/// A word and a number (`handler-67429`, `release_2024`): names, not generated material.
static WORD_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z]+[-_.]?[0-9]+$|^[0-9]+[-_.]?[A-Za-z]+$").expect("compiles")
});

/// Whether `value` reads like a generated secret rather than a word, a reference or a path.
fn looks_random(value: &str) -> bool {
    if is_placeholder(value)
        || value.contains("://")
        || value.contains("${")
        || value.starts_with('/')
    {
        return false;
    }
    let has = |f: fn(&u8) -> bool| value.as_bytes().iter().any(f);
    let (lower, upper, digit) = (
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
    );
    let symbol = has(|b| !b.is_ascii_alphanumeric());
    // Lower-case text with `/` or `.` is a path, a key name or a host.
    if !upper && value.contains(['/', '.']) {
        return false;
    }
    if !digit || !(lower || upper) || value.contains(['(', ')']) || WORD_NUMBER.is_match(value) {
        return false;
    }
    let e = entropy(value);
    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return value.len() >= 32 && e >= 3.0;
    }
    let classes = [lower, upper, digit, symbol].iter().filter(|c| **c).count();
    (value.len() >= 16 && classes >= 3 && e >= 3.5) || (value.len() >= 24 && e >= 4.0)
}

/// Names that announce a credential, matched case-insensitively before any regex runs.
static NAMES: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "password",
            "passwd",
            "pwd",
            "secret",
            "apikey",
            "api_key",
            "api-key",
            "token",
            "private_key",
            "private-key",
        ])
        .expect("compiles")
});

impl Rule for GenericSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["pass", "pwd", "secret", "key", "token"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: every credential name the rule looks for contains a keyword.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        if skipped(file.path()) {
            return;
        }
        let env_style = file.path().rsplit('/').next().is_some_and(|n| {
            n.starts_with(".env")
                || n.ends_with(".env")
                || n.ends_with(".properties")
                || n.ends_with(".ini")
        });
        for &(n, text) in lines {
            let Some(value) = NAMES
                .find_iter(text)
                .find_map(|m| assigned_value(text, m.end(), env_style))
            else {
                continue;
            };
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
        assert!(!fires("a.yml", r#"  secret_limit: "handler-67429""#));
        assert!(!fires("a.py", r#"password = "Summer2024""#));
        assert!(!fires(
            "Cargo.lock",
            r#"checksum = "3f9a7c2e8b1d4f6a0c5e9b2d7a4f1c8e3f9a7c2e8b1d4f6a""#
        ));
        assert!(!fires("a.py", r#"api_key = "<your-api-key-here>""#));
    }
}
