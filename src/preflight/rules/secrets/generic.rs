//! `generic-secret-assignment`: a high-entropy literal assigned to a name that says it is a
//! secret (`password`, `api_key`, `client_secret`, `token`, …), for credentials with no
//! recognisable format of their own. It reads the assignment forms configuration files use
//! (`.env`, YAML plain and block scalars, docker-compose `environment:` lists, Dockerfile
//! `ENV`/`ARG`, PHP `define()`, subscripts such as `app.config['SECRET_KEY'] =`) and judges a
//! base64 value by the text it decodes to.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::{decode, report};

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
Values are read quoted, and unquoted where the format allows it: `.env`, `.properties`, \
`.ini`, `.npmrc`, `.conf`, YAML (plain scalars, and `|`/`>` block scalars whose value is on the \
next line), docker-compose `environment:` lists (`- DB_PASSWORD=…`) and Dockerfile `ENV`/`ARG` \
(`ENV A=1 DB_PASSWORD=… B=2`, `ENV API_TOKEN value`). PHP `define('DB_PASSWORD', '…')` and \
subscript assignments (`app.config['SECRET_KEY'] = '…'`) count as assignments. A base64 value \
that decodes to text is judged by that text, so base64 of `changeme` or of a test fixture's \
name is not reported; Kubernetes SealedSecret ciphertext, SOPS `ENC[…]` values and \
ansible-vault blocks are not secrets in the clear. Published test vectors used as keys (the \
RFC 4231 HMAC keys, the NIST SP 800-38A AES keys such as `2b7e151628aed2a6abf7158809cf4f3c`, \
the FIPS-197 appendix C keys) and Stripe's documented test keys are not reported.\n\n\
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
    let quoted_name = i < bytes.len() && matches!(bytes[i], b'"' | b'\'');
    if quoted_name {
        i += 1;
        // `config['SECRET_KEY'] = …`
        if bytes.get(i) == Some(&b']') {
            i += 1;
        }
    }
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    match bytes.get(i..i + 2) {
        Some(b":=") | Some(b"=>") => i += 2,
        _ if matches!(bytes.get(i), Some(b'=') | Some(b':')) => i += 1,
        // PHP `define('DB_PASSWORD', '…')`.
        _ if quoted_name && bytes.get(i) == Some(&b',') && line[..name_end].contains("define(") => {
            i += 1
        }
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
        Some(_) if bare => rest
            .split([' ', '\t', '#', ';', ','])
            .next()?
            .trim_end_matches(['"', '\'']),
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

/// A UUID: an identifier, not generated key material.
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        .expect("compiles")
});

/// A password passed to a credential constructor: .NET `new NetworkCredential("user", "…")`,
/// Java `new PasswordAuthentication("user", "…".toCharArray())`.
static CREDENTIAL_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\b(?:NetworkCredential|PasswordAuthentication|UsernamePasswordCredentials?)\(\s*"[^"]*"\s*,\s*"([^"]{8,200})""#)
        .expect("compiles")
});

/// A call (`get_key(settings)`, `os.urandom(32)`) rather than a value.
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_.:]*\(.*\)$").expect("compiles"));

/// Whether `value` reads like a generated secret rather than a word, a reference or a path.
pub(crate) fn looks_random(value: &str) -> bool {
    if is_placeholder(value)
        || value.contains("://")
        || value.contains("${")
        || value.starts_with('/')
        || value.starts_with("ENC[")
        || value.starts_with('!')
        || UUID.is_match(value)
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
    if !digit || !(lower || upper) || CALL.is_match(value) || WORD_NUMBER.is_match(value) {
        return false;
    }
    let e = entropy(value);
    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return value.len() >= 32 && e >= 3.0;
    }
    let classes = [lower, upper, digit, symbol].iter().filter(|c| **c).count();
    (value.len() >= 16 && classes >= 3 && e >= 3.5) || (value.len() >= 24 && e >= 4.0)
}

/// Names that announce a credential, lower case. None contains another, and none starts
/// with another, so the leftmost match is also the one that ends first: the same matches as
/// the standard (report the first found) search, with the leftmost-first automaton's vectorised
/// prefilter, which is many times faster on text dense with names.
const NAME_LIST: [&str; 11] = [
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
    "_pass",
];

/// [`NAME_LIST`], searched in ASCII-lower-cased text (case-sensitive search on lower-cased
/// text is the same as a case-insensitive search, and several times faster).
static NAMES: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(NAME_LIST)
        .expect("compiles")
});

impl Rule for GenericSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["pass", "pwd", "secret", "key", "token", "credential"]
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: every credential name and constructor the rule reads contains a keyword,
    /// and so does `kind: SealedSecret`. A YAML block scalar's value is read from the file's
    /// next added line.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        if skipped(file.path()) {
            return;
        }
        let name = file.path().rsplit('/').next().unwrap_or_default();
        let env_style = name.starts_with(".env")
            || [".env", ".properties", ".ini", ".conf", ".cfg", "rc"]
                .iter()
                .any(|x| name.ends_with(x));
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        let dockerfile = name.starts_with("Dockerfile") || name.ends_with(".dockerfile");
        // Sealed-secrets ciphertext is meant to be committed.
        if yaml && lines.iter().any(|(_, l)| l.trim() == "kind: SealedSecret") {
            return;
        }
        // Each line lower-cased for the name search (offsets are those of the line).
        let mut lower = String::new();
        for &(n, text) in lines {
            let trimmed = text.trim_start();
            let bare = env_style
                || yaml
                || dockerfile
                || trimmed.starts_with("- ") && trimmed.contains('=');
            // Every form read here but Dockerfile `ENV NAME value` needs `=`, `:` or `,` after
            // the name: a line with none of them (prose, a long run of words) holds no value to
            // read, and is not scanned for names.
            let bytes = text.as_bytes();
            let separated = dockerfile || memchr::memchr3(b'=', b':', b',', bytes).is_some();
            let found = if separated {
                lower.clear();
                lower.push_str(text);
                lower.make_ascii_lowercase();
                NAMES.find_iter(lower.as_str()).find_map(|m| {
                    if names_an_id(text, m.end()) {
                        return None;
                    }
                    if let Some(v) = assigned_value(text, m.end(), bare) {
                        return Some((n, v));
                    }
                    if dockerfile {
                        return env_instruction_value(text, m.end()).map(|v| (n, v));
                    }
                    if yaml && block_scalar(text, m.end()) {
                        // The value is on the next added line.
                        let (next_n, next) = file.added_lines().find(|&(l, _)| l > n)?;
                        let v = next.trim();
                        return (next_n == n + 1
                            && (12..=200).contains(&v.len())
                            && !v.contains(char::is_whitespace))
                        .then_some((next_n, v));
                    }
                    None
                })
            } else {
                None
            };
            // Every constructor the pattern names contains one of these (checked first: most
            // lines hold none, and a capture search allocates).
            let found = found.or_else(|| {
                (text.contains("Credential") || text.contains("PasswordAuthentication"))
                    .then_some(())?;
                CREDENTIAL_CALL
                    .captures(text)
                    .and_then(|c| c.get(1))
                    .map(|m| (n, m.as_str()))
            });
            let Some((line, value)) = found else {
                continue;
            };
            let random = match decode::printable_base64(value) {
                Some(text) if text != value => looks_random(&text),
                _ => looks_random(value),
            };
            if random {
                report(&META, META.severity, file, line, value, "a random-looking literal is assigned to a credential name: rotate it and load it at run time".into(), out);
            }
        }
    }
}

/// The value of a Dockerfile `ENV NAME value` or `ARG NAME value` (the form without `=`),
/// when the credential name ending at `name_end` is the instruction's key.
fn env_instruction_value(line: &str, name_end: usize) -> Option<&str> {
    let t = line.trim_start();
    if !(t.starts_with("ENV ") || t.starts_with("ARG ")) {
        return None;
    }
    let mut words = t[4..].split_whitespace();
    let (key, value) = (words.next()?, words.next()?);
    let key_start = line.len() - t.len() + 4 + t[4..].find(key)?;
    let inside = key_start < name_end && name_end <= key_start + key.len();
    (inside && !key.contains('=') && words.next().is_none() && (12..=200).contains(&value.len()))
        .then_some(value)
}

/// Whether the identifier the credential name ends in names an identifier of the key rather
/// than the key (`private_key_id`, `secretKeyId`).
fn names_an_id(line: &str, name_end: usize) -> bool {
    // Compared in place: this runs on every credential name of a line, and long lines hold
    // hundreds of them.
    let rest = &line.as_bytes()[name_end..];
    let ident_end = rest
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
        .unwrap_or(rest.len());
    let tail = &rest[..ident_end];
    let ends_with = |suffix: &[u8]| {
        tail.len() >= suffix.len() && tail[tail.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    tail.eq_ignore_ascii_case(b"_id")
        || tail.eq_ignore_ascii_case(b"id")
        || ends_with(b"key_id")
        || ends_with(b"keyid")
}

/// Whether the credential name ending at `name_end` opens a YAML block scalar (`key: |`,
/// `key: >-`), whose value is on the next line.
fn block_scalar(line: &str, name_end: usize) -> bool {
    let rest = line[name_end..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let rest = rest.trim_start_matches(['"', '\'']).trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    matches!(rest.trim(), "|" | "|-" | "|+" | ">" | ">-" | ">+")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::{generated_texts, run};

    /// The name search finds, in the same order, the matches a standard case-insensitive
    /// search of the original line finds: on text built from overlapping names and fragments
    /// in every case.
    #[test]
    fn the_name_search_finds_what_a_case_insensitive_standard_search_finds() {
        let standard = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(NAME_LIST)
            .unwrap();
        let pieces = [
            "pass", "word", "wd", "_", "PASS", "Pw", "d", "secret", "SeCrEt", "api", "key", "-",
            "KEY", "token", "TOK", "en", "private", "é", " ", "=", "p", "a", "s",
        ];
        let mut found = 0;
        for text in generated_texts(&pieces, 15, 5000) {
            let want: Vec<(usize, usize)> = standard
                .find_iter(&text)
                .map(|m| (m.start(), m.end()))
                .collect();
            let lower = text.to_ascii_lowercase();
            let got: Vec<(usize, usize)> = NAMES
                .find_iter(&lower)
                .map(|m| (m.start(), m.end()))
                .collect();
            assert_eq!(got, want, "{text}");
            found += want.len();
        }
        assert!(found > 1000, "{found}");
    }

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
    fn configuration_forms() {
        assert!(fires(
            "docker-compose.yml",
            "      - POSTGRES_PASSWORD=Hq7vR2mX9kLp4sTz"
        ));
        assert!(fires(
            "docker-compose.yml",
            r#"      - "API_KEY=Hq7vR2mX9kLp4sTzW3nB""#
        ));
        assert!(fires(
            "Dockerfile",
            "ENV A=1 DB_PASSWORD=Hq7vR2mX9kLp4sTz B=2"
        ));
        assert!(fires("Dockerfile", "ENV API_TOKEN Hq7vR2mX9kLp4sTzW3nB"));
        assert!(!fires("Dockerfile", "ENV API_TOKEN ${API_TOKEN}"));
        assert!(fires(
            "config/app.yml",
            "password: >-\n  Hq7vR2mX9kLp4sTzW3nB"
        ));
        assert!(fires(
            "config/database.yml",
            "  password: Hq7vR2mX9kLp4sTzW3nB"
        ));
        assert!(fires(
            "wp-config.php",
            "define( 'DB_PASSWORD', 'Hq7vR2mX9kLp4sTz' );"
        ));
        assert!(fires(
            "app.py",
            "app.config['SECRET_KEY'] = 'Hq7vR2mX9kLp4sTz'"
        ));
        // base64 of `fake-token-for-tests`
        assert!(!fires(
            "k8s/s.yaml",
            "  api-token: ZmFrZS10b2tlbi1mb3ItdGVzdHM="
        ));
        assert!(!fires(
            "a.yml",
            "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256"
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
