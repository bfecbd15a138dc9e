//! Redaction of free text before it is stored in `.factory/` (log details, decisions).
//!
//! Two passes: cheap patterns for the shapes secrets usually take in messages (known token
//! prefixes, `key=value` with a secret-sounding key, bearer tokens, URL passwords, JWTs, PEM
//! keys), masked with [`crate::findings::redact`]; then the preflight secret rules as a
//! backstop, which replace any line they still flag.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

use crate::findings::{Category, redact};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, secrets};

struct Patterns {
    pem: Regex,
    /// Group 1 is the secret.
    whole: Vec<Regex>,
    /// Group 1 is the prefix kept, group 2 the secret.
    keyed: Vec<Regex>,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        pem: Regex::new(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
        )
        .expect("pem pattern"),
        whole: [
            r"\b(gh[pousr]_[A-Za-z0-9]{20,})",
            r"\b(github_pat_[A-Za-z0-9_]{20,})",
            r"\b(glpat-[A-Za-z0-9_-]{20,})",
            r"\b(xox[abposr]-[A-Za-z0-9-]{10,})",
            r"\b(sk-[A-Za-z0-9_-]{20,})",
            r"\b((?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})",
            r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b",
            r"\b(AIza[0-9A-Za-z_-]{35})",
            r"\b(npm_[A-Za-z0-9]{36})",
            r"\b(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("token pattern"))
        .collect(),
        keyed: [
            r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})",
            r"(?i)(\bbasic\s+)([A-Za-z0-9+/=]{8,})",
            r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)@",
            // `key=value`, `key: value`, `"key": "value"`; a bare `key:value` is left alone, as
            // it is how finding fingerprints (`rule:path:hash`) look.
            r#"(?i)(\b[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|authorization)[a-z0-9_.-]*["']?(?:\s*=\s*["']?|\s*:\s+["']?|\s*:["']))([^\s"',;&]{4,})"#,
        ]
        .iter()
        .map(|p| Regex::new(p).expect("keyed pattern"))
        .collect(),
    })
}

fn secret_rules() -> &'static [Box<dyn Rule>] {
    static RULES: OnceLock<Vec<Box<dyn Rule>>> = OnceLock::new();
    RULES.get_or_init(secrets::rules)
}

/// A plain word of lowercase letters (a hyphen allowed), as prose has after "bearer" or
/// "basic"; a token after those schemes has digits, capitals or symbols.
fn is_word(s: &str) -> bool {
    s.len() < 24 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// Is this already a mask (so a second pass leaves it alone)?
fn is_masked(s: &str) -> bool {
    s.ends_with("********")
}

/// A value next to a secret-sounding key that is not a secret: a count (`max_tokens=4096`) or
/// the name of an environment variable (`secret_name=GH_TOKEN`).
fn looks_harmless(value: &str) -> bool {
    let is_count = value.bytes().all(|b| b.is_ascii_digit());
    let is_env_name = value.contains('_')
        && value.starts_with(|c: char| c.is_ascii_uppercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    is_count || is_env_name
}

/// Redact secret-looking values in `text`. Text without anything secret comes back unchanged.
pub fn scrub(text: &str) -> String {
    let quick = scrub_patterns(text);
    scrub_with_rules(&quick).into_owned()
}

/// Every string inside `value` (keys left alone) scrubbed: agent outputs and intake records
/// are stored in `.factory/` only with secret-looking values masked.
pub fn scrub_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let clean = scrub(s);
            if clean != *s {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub_json),
        _ => {}
    }
}

/// The pattern pass alone: cheap enough to run on every line `factory log` prints.
pub fn scrub_patterns(text: &str) -> String {
    let p = patterns();
    let mut out: Cow<'_, str> = p.pem.replace_all(text, "[redacted private key]");
    for re in &p.whole {
        if let Cow::Owned(s) = re.replace_all(&out, |c: &Captures<'_>| redact(&c[1])) {
            out = Cow::Owned(s);
        }
    }
    for re in &p.keyed {
        let replaced = re.replace_all(&out, |c: &Captures<'_>| {
            let scheme = c[1].trim().to_ascii_lowercase();
            // "bearer credentials", "basic authentication": prose, not a token.
            let prose = (scheme == "bearer" || scheme == "basic") && is_word(&c[2]);
            if is_masked(&c[2]) || looks_harmless(&c[2]) || prose {
                c[0].to_string()
            } else {
                format!("{}{}", &c[1], redact(&c[2]))
            }
        });
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
    }
    out.into_owned()
}

/// Backstop: run the preflight secret rules over the text and replace every line they flag.
fn scrub_with_rules(text: &str) -> Cow<'_, str> {
    if text.is_empty() {
        return Cow::Borrowed(text);
    }
    let file = FileDiff::new_file("factory-event.txt", text);
    let mut found = Vec::new();
    for rule in secret_rules() {
        rule.check(&file, &mut found);
    }
    let mut flagged: Vec<(u32, String)> = found
        .into_iter()
        .filter(|f| f.category == Category::Secret)
        .map(|f| (f.line, f.rule_id))
        .collect();
    if flagged.is_empty() {
        return Cow::Borrowed(text);
    }
    flagged.sort();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(
            |(i, line)| match flagged.iter().find(|(n, _)| *n as usize == i + 1) {
                Some((_, rule)) => format!("[redacted line: {rule}]"),
                None => line.to_string(),
            },
        )
        .collect();
    Cow::Owned(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_tokens_keyed_values_and_url_passwords() {
        let gh = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let out = scrub(&format!("pushed with {gh} ok"));
        assert!(!out.contains(gh), "{out}");
        assert!(out.contains("ghp_********"), "{out}");

        let out = scrub(r#"{"api_key": "abcd1234efgh", "pwd":"s3cret!!"}"#);
        assert!(
            !out.contains("abcd1234efgh") && !out.contains("s3cret!!"),
            "{out}"
        );

        let out = scrub("login failed: password=hunter2hunter2 for alice");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("password=") && out.contains("alice"), "{out}");

        let out = scrub("GET https://bob:s3cr3tpass@example.com/x");
        assert!(!out.contains("s3cr3tpass"), "{out}");

        let out = scrub("header Authorization: Bearer abcdefghijklmnop1234");
        assert!(!out.contains("abcdefghijklmnop1234"), "{out}");

        let out = scrub(
            "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nend",
        );
        assert!(!out.contains("MIIEow"), "{out}");
        assert!(out.ends_with("end"), "{out}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "Reset tokens are bearer credentials sent by e-mail",
            "HTTP basic authentication is not used",
            "classified as feature: new endpoint, no infra files",
            "review cycle 2 of 3; author=alice; commit 3f9a1c2b",
            "tokens used: 1200",
            "max_tokens=4096 input_tokens: 1200",
            "secret_name=GH_TOKEN",
            "fingerprint generic-secret-assignment:src/a.rs:0123456789abcdef",
            "merged as 3f9a1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c",
            "",
        ] {
            assert_eq!(scrub(text), text);
        }
    }

    #[test]
    fn the_secret_rules_catch_what_the_patterns_miss() {
        // A Slack webhook URL: no quick pattern knows it, the slack-webhook rule does.
        let line = "notify https://hooks.slack.com/services/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";
        assert_eq!(scrub_patterns(line), line);
        let out = scrub(&format!("first line\n{line}"));
        assert!(!out.contains("U7xvOdLMfxM1YvSOmqFiQmA5"), "{out}");
        assert_eq!(out, "first line\n[redacted line: slack-webhook]");
    }
}
