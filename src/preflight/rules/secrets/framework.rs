//! `framework-secret-key`: the signing and encryption keys web frameworks generate for each
//! application: WordPress's authentication keys and salts, Laravel's `APP_KEY`, Rails's
//! `secret_key_base`, Django's and Flask's `SECRET_KEY`. Whoever holds one can forge sessions,
//! cookies and password-reset links, so they are reported with their own explanation rather
//! than as a generic assignment.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::generic::looks_random;
use super::{decode, report};

pub(crate) struct FrameworkKey;

static META: RuleMeta = RuleMeta {
    id: "framework-secret-key",
    title: "Web framework signing key",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "An application's framework secret committed in the clear: WordPress \
`define('AUTH_KEY', '…')` and the other seven keys and salts of `wp-config.php`, a Laravel \
`APP_KEY=base64:…` (in `.env` or `config/app.php`), a Rails `secret_key_base` (128 hex \
digits, in `secrets.yml`, credentials or code) and a Django or Flask `SECRET_KEY`. With it \
anyone can forge session cookies, signed URLs and password-reset tokens, and, for Rails and \
Laravel, decrypt what the application encrypted. WordPress's `put your unique phrase here`, \
environment reads (`env('APP_KEY')`, `<%= ENV[\"SECRET_KEY_BASE\"] %>`, \
`os.environ[\"SECRET_KEY\"]`) and placeholders such as `django-insecure-change-me` are not \
reported.\n\n\
Fix: generate a new key (existing sessions end), and load it from the environment or a secret \
store.",
    fails: "define( 'SECURE_AUTH_KEY',  'x]4Pq-7#Lm2@zR9!bV1^Kt8&Nw3*Hc6(Yf0)Ud5_Gs2+Ja7|Xe4~Qo9<Ri1>Tz6' );",
    passes: "define( 'SECURE_AUTH_KEY',  'put your unique phrase here' );",
    example_path: "wp-config.php",
};

static WORDPRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"define\(\s*['"](?:SECURE_)?(?:AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)['"]\s*,\s*(?:'([^']{32,})'|"([^"]{32,})")"#)
        .expect("compiles")
});
static LARAVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:APP_KEY\s*=\s*|['"]key['"]\s*=>\s*)["']?base64:([A-Za-z0-9+/]{40,}={0,2})"#)
        .expect("compiles")
});
static RAILS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)secret_key_base["']?\s*[:=]\s*["']?([0-9a-f]{64,})\b"#).expect("compiles")
});
static DJANGO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bSECRET_KEY["']?\]?\s*=\s*(?:'([^']{24,})'|"([^"]{24,})")"#).expect("compiles")
});

impl Rule for FrameworkKey {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "auth_key",
            "auth_salt",
            "logged_in_",
            "nonce_",
            "base64:",
            "secret_key",
        ]
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: every key name the patterns accept contains a keyword.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            let patterns: [(&Regex, &str); 4] = [
                (&WORDPRESS, "WordPress authentication key or salt"),
                (&LARAVEL, "Laravel application key"),
                (&RAILS, "Rails secret_key_base"),
                (&DJANGO, "SECRET_KEY"),
            ];
            for (re, what) in patterns {
                for caps in re.captures_iter(text) {
                    let Some(key) = caps.get(1).or_else(|| caps.get(2)).map(|m| m.as_str()) else {
                        continue;
                    };
                    let credible = match what {
                        "WordPress authentication key or salt" => {
                            !is_placeholder(key) && !key.contains(' ')
                        }
                        "SECRET_KEY" => {
                            let body = key.strip_prefix("django-insecure-").unwrap_or(key);
                            !is_placeholder(key) && looks_random(body)
                        }
                        _ => !is_placeholder(key),
                    };
                    if credible {
                        report(
                            &META,
                            META.severity,
                            file,
                            n,
                            key,
                            format!("{what} committed: generate a new one and load it at run time"),
                            out,
                        );
                    }
                }
            }
        }
    }
}
