//! `connection-string-password`: credentials inside connection strings of every shape: URLs of
//! any scheme with a password in the user-info part (`redis://:pw@`, `amqps://`, `ldap://`,
//! `sftp://`, `https://user:pass@` index URLs), credential query parameters (`?password=`,
//! `&api_key=`, JDBC's `;password=`), ADO.NET strings (`Server=…;Password=…`) and the
//! `.npmrc` `_auth` (base64 `user:password`).
//!
//! `azure-shared-access-key`: Azure Service Bus and Event Hubs shared access keys and the
//! signatures of shared access signature (SAS) URLs. (Storage account keys have their own
//! provider rule, `azure-storage-account-key`.)

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::decode;
use super::generic::looks_random;
use super::report;

pub(crate) struct ConnectionString;

static META: RuleMeta = RuleMeta {
    id: "connection-string-password",
    title: "Connection string with a password",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A password inside a connection string: a URL of any scheme with one in its \
user-info part (`postgres://user:password@host`, `rediss://:password@host`, `amqps://`, \
`mongodb+srv://`, `mssql://`, `ldap://`, `ftp://`, `sftp://`, `smtp://`, and `https://` index \
URLs such as pip's `--extra-index-url`), a credential query parameter of a URL (`?password=`, \
`&api_key=`, `access_token=`, JDBC's `;password=`), an ADO.NET connection string \
(`Server=…;User Id=…;Password=…`, `Data Source=…;Pwd=…`) or an `.npmrc` `_auth` (base64 of \
`user:password`). Lines are read with same-line literal concatenation joined and JSON escapes \
(`\\/`) undone. Placeholders (`${DB_PASSWORD}`, `{password}`, `<password>`, `changeme`, \
`password`), empty passwords, documentation hosts (`example.com`) and local development \
defaults are not reported.\n\n\
Fix: change the password, and build the URL at run time from an environment variable or a \
secret store.",
    fails: "DATABASE_URL=postgres://app:Vq8rT2nLx4mZ9pKw@db.internal:5432/orders",
    passes: "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/orders",
    example_path: ".env.production",
};

/// `scheme://user:password@host`, the user possibly empty.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Za-z][A-Za-z0-9+.-]{1,24})://([^:@/\s'\x22`]*):([^@/\s'\x22`]+)@([^/\s'\x22`:?;,#]+)")
        .expect("compiles")
});

/// A credential query (or JDBC `;`) parameter.
static QUERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[?&;](password|passwd|pwd|api_?key|apikey|access_?token|auth_?token|client_secret|token)=([^&;\s'\x22`#<>]+)")
        .expect("compiles")
});

/// Whether [`URL`] can match `text`: some `://` is followed by `user:password@` with no byte
/// the pattern refuses in between. Checked first: on a long line (a minified bundle holds a
/// URL every few hundred bytes, few with a password) the pattern, which starts with a
/// character class, reads every byte.
fn may_hold_userinfo(text: &str) -> bool {
    let b = text.as_bytes();
    let ends = |c: u8| matches!(c, b'@' | b'/' | b'\'' | b'"' | b'`') || c.is_ascii_whitespace();
    memchr::memmem::find_iter(b, b"://").any(|at| {
        let rest = &b[at + 3..];
        let Some(colon) = rest.iter().position(|&c| c == b':' || ends(c)) else {
            return false;
        };
        if rest[colon] != b':' {
            return false;
        }
        let password = &rest[colon + 1..];
        password
            .iter()
            .position(|&c| ends(c))
            .is_some_and(|end| end > 0 && password[end] == b'@' && end + 1 < password.len())
    })
}

/// Whether [`QUERY`] can match ASCII `text`: some `=` closes a credential parameter name that
/// follows `?`, `&` or `;`. Text that is not ASCII goes to the pattern (its case-insensitive
/// names match Unicode case variants too).
fn may_hold_query_credential(text: &str) -> bool {
    const NAMES: [&[u8]; 11] = [
        b"password",
        b"passwd",
        b"pwd",
        b"api_key",
        b"apikey",
        b"access_token",
        b"accesstoken",
        b"auth_token",
        b"authtoken",
        b"client_secret",
        b"token",
    ];
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    memchr::memchr_iter(b'=', b).any(|eq| {
        let start = b[..eq]
            .iter()
            .rposition(|c| !(c.is_ascii_alphabetic() || *c == b'_'))
            .map_or(0, |i| i + 1);
        start > 0
            && matches!(b[start - 1], b'?' | b'&' | b';')
            && NAMES.iter().any(|n| n.eq_ignore_ascii_case(&b[start..eq]))
    })
}

/// An ADO.NET-style `Password=` or `Pwd=` in a `key=value;` connection string.
static ADO_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[;"'\s])(?:password|pwd)\s*=\s*([^;"'<\s][^;"'<]*)"#).expect("compiles")
});
static ADO_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:server|data source|host|initial catalog|database)\s*=[^;]*;")
        .expect("compiles")
});

/// `.npmrc` `_auth=` (base64 `user:password`).
static NPM_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|:)_auth\s*=\s*([A-Za-z0-9+/]{8,}={0,2})\s*$").expect("compiles")
});

/// Hosts of documentation (RFC 2606) and local development.
fn documentation_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || host.ends_with(".example")
        || host.ends_with(".test")
        || host.ends_with(".invalid")
}

fn local_host(host: &str) -> bool {
    matches!(
        host,
        "localhost" | "127.0.0.1" | "::1" | "db" | "postgres" | "mysql" | "redis" | "mongo"
    )
}

/// A template or placeholder, including `{password}` and `%(password)s` forms.
fn placeholder(value: &str) -> bool {
    is_placeholder(value)
        || value.starts_with('{') && value.ends_with('}')
        || value.starts_with('%')
        || value.starts_with('$')
        || value.contains("...")
}

/// A password only a sample or a test would use in a URL: `user:pass@`, `pass%20pass`, a short
/// word of letters. Tests of URL parsing are full of them; a real one has digits or length.
fn trivial(password: &str) -> bool {
    let decoded = password
        .replace("%20", " ")
        .replace("%23", "#")
        .replace("%25", "%");
    let lower = decoded.to_ascii_lowercase();
    let no_digit = !lower.bytes().any(|b| b.is_ascii_digit());
    decoded.len() < 8 && decoded.bytes().all(|b| b.is_ascii_alphabetic())
        || no_digit
            && ["pass", "pwd", "user", "secret"]
                .iter()
                .any(|w| lower.contains(w))
}

impl Rule for ConnectionString {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["://", "jdbc:", "password", "pwd", "_auth"]
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: a URL has `://` (JSON's `:\/\/` decodes to it), query parameters are
    /// read in URLs and JDBC strings only, an ADO.NET password is a `password` or `pwd`.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            let mut report_one = |secret: &str, message: String| {
                report(&META, META.severity, file, n, secret, message, out);
            };
            let mut found = false;
            // Each pattern below needs a literal the line may lack (`://`, `;`, `_auth`): a
            // substring search is far cheaper than a regex pass over a long line without it.
            let url = text.contains("://");
            if url && may_hold_userinfo(text) {
                for caps in URL.captures_iter(text) {
                    let password = &caps[3];
                    let host = &caps[4];
                    if placeholder(password)
                        || password.len() < 4
                        || documentation_host(host)
                        || trivial(password)
                    {
                        continue;
                    }
                    if local_host(host) && password.len() < 12 {
                        continue;
                    }
                    found = true;
                    report_one(
                        password,
                        format!("connection string for `{host}` embeds a password"),
                    );
                }
            }
            if (url || text.contains("jdbc:")) && may_hold_query_credential(text) {
                for caps in QUERY.captures_iter(text) {
                    let (name, value) = (caps[1].to_ascii_lowercase(), &caps[2]);
                    let password = name.starts_with("pass") || name == "pwd";
                    let credible = if password {
                        value.len() >= 6 && !placeholder(value)
                    } else {
                        value.len() >= 16 && !placeholder(value) && looks_random(value)
                    };
                    if credible {
                        found = true;
                        report_one(
                            value,
                            format!("URL carries a credential in its `{name}` parameter"),
                        );
                    }
                }
            }
            if !found
                && memchr::memchr(b';', text.as_bytes()).is_some()
                && ADO_CONTEXT.is_match(text)
            {
                for caps in ADO_PASSWORD.captures_iter(text) {
                    let value = caps[1].trim();
                    if value.len() >= 4 && !placeholder(value) {
                        report_one(value, "connection string embeds a password".into());
                    }
                }
            }
            if text.contains("_auth")
                && let Some(caps) = NPM_AUTH.captures(text)
                && let Some(decoded) = decode::printable_base64(&caps[1])
                && let Some((_, password)) = decoded.split_once(':')
                && password.len() >= 4
                && !placeholder(password)
            {
                report_one(
                    password,
                    "`_auth` holds a registry user name and password (base64)".into(),
                );
            }
        }
    }
}

pub(crate) struct AzureSharedKey;

static AZURE_META: RuleMeta = RuleMeta {
    id: "azure-shared-access-key",
    title: "Azure shared access key or SAS signature",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "An Azure Service Bus or Event Hubs `SharedAccessKey=` (in \
`Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…`) or the `sig=` signature of a \
shared access signature URL (`https://account.blob.core.windows.net/…?sv=…&sig=…`). Anyone \
holding the key can send, read and manage the namespace's queues and topics; a SAS grants its \
permissions until it expires. Placeholders (`<your-key>`, `${SB_KEY}`) are not reported.\n\n\
Fix: regenerate the key (or revoke the SAS through its stored access policy), and use a \
managed identity or a Key Vault reference instead of a key in configuration.",
    fails: "\"ServiceBus\": \"Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Tz4kq9WmP2vRb7xYc1LnD8sHf3Ga6JeQ0uKiMo5tNwE=\"",
    passes: "\"ServiceBus\": \"Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=<your-key>\"",
    example_path: "appsettings.json",
};

static AZURE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)SharedAccessKey\s*=\s*([A-Za-z0-9+/]{30,}={0,2})|[?&]sig=([A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})")
        .expect("compiles")
});

impl Rule for AzureSharedKey {
    fn meta(&self) -> &RuleMeta {
        &AZURE_META
    }

    fn keywords(&self) -> &[&'static str] {
        &["sharedaccesskey", "sig="]
    }

    fn reads_decoded(&self) -> bool {
        true
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        decode::judge_added_lines(file, |lines| self.check_lines(file, lines, out));
    }

    /// Line by line: a key follows `SharedAccessKey`, a signature is `sig=`.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            for caps in AZURE_KEY.captures_iter(text) {
                let Some(key) = caps.get(1).or_else(|| caps.get(2)) else {
                    continue;
                };
                let key = key.as_str();
                if placeholder(key) {
                    continue;
                }
                report(
                    &AZURE_META,
                    AZURE_META.severity,
                    file,
                    n,
                    key,
                    "Azure shared access key committed: regenerate it and use a managed identity or Key Vault".into(),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks before the URL and query patterns never turn away text a pattern matches:
    /// URLs and query strings assembled from pieces that are and are not allowed where they
    /// stand, at the start of a line and after other text.
    #[test]
    fn the_checks_pass_everything_the_patterns_match() {
        let schemes = ["postgres", "redis", "https", "x", "jdbc:mysql"];
        let users = ["", "app", "a b", "a/b", "a@b", "é", "a'b"];
        let passwords = ["Vq8r:T2n", "p", "", "p/q", "p q", "${PW}", "pé", "p\"q"];
        let hosts = ["db.internal:5432/x", "", "/", " h", "h?x"];
        let mut matched = 0;
        for scheme in schemes {
            for user in users {
                for password in passwords {
                    for host in hosts {
                        for before in ["", "url = '", "a://b c "] {
                            let text = format!("{before}{scheme}://{user}:{password}@{host}");
                            if URL.is_match(&text) {
                                assert!(may_hold_userinfo(&text), "{text}");
                                matched += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(matched > 100, "{matched}");
        assert!(!may_hold_userinfo(
            r#"fetch("https://api.example.com/v1/x?key="+a)"#
        ));

        let mut matched = 0;
        for sep in ["?", "&", ";", "/", "x", ""] {
            for name in [
                "password",
                "PASSWD",
                "pwd",
                "api_key",
                "apiKey",
                "access_token",
                "AccessToken",
                "auth_token",
                "client_secret",
                "token",
                "x_token",
                "tokens",
                "key",
            ] {
                for value in ["s3cr3tValue", "", "&x", "é"] {
                    for before in ["", "https://h/p", "jdbc:x://h;user=a", "é"] {
                        let text = format!("{before}{sep}{name}={value}");
                        if QUERY.is_match(&text) {
                            assert!(may_hold_query_credential(&text), "{text}");
                            matched += 1;
                        }
                    }
                }
            }
        }
        assert!(matched > 50, "{matched}");
        assert!(!may_hold_query_credential(
            "https://h/v1/x?key=1&a.password=e"
        ));
    }
}
