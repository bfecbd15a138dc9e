//! `kubernetes-secret-data`: Kubernetes `Secret` manifests hold their values base64-encoded
//! under `data:`, which hides every credential format from the line rules. This rule decodes
//! each value that decodes to text (including `.dockerconfigjson` and the base64 `auth` inside
//! it) and runs the other secret rules on `key: "decoded value"`, reporting one finding per
//! value. `stringData:` values are plain text, which the line rules read directly.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity, fingerprint};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::decode::printable_base64;
use super::{line_rules, specificity};

pub(crate) const ID: &str = "kubernetes-secret-data";

pub(crate) struct KubernetesSecret;

static META: RuleMeta = RuleMeta {
    id: ID,
    title: "Credential in the base64 data of a Kubernetes Secret",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A value under `data:` of a Kubernetes `Secret` manifest (YAML or JSON) whose \
base64 decodes to a credential: a random-looking password under a credential key, a \
connection string, a provider token or a private key, and the registry password inside a \
`.dockerconfigjson` (also when only its base64 `auth` holds it). Base64 is an encoding, not \
encryption: anyone who can read the repository can read the value. Values that decode to \
ordinary text (a configuration file, a host name, `true`), to placeholders or to certificates \
are not reported, and neither are SealedSecret ciphertexts.\n\n\
Fix: rotate the credential, and create the Secret from a secret store (External Secrets, \
Sealed Secrets, SOPS) instead of committing it.",
    fails: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\ndata:\n  DATABASE_URL: cG9zdGdyZXM6Ly9vcmRlcnM6VjhxelIydE54NG1MOXBLd0BkYi5wcm9kLmludGVybmFsOjU0MzIvb3JkZXJz",
    passes: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\ndata:\n  DATABASE_HOST: ZGIucHJvZC5pbnRlcm5hbA==",
    example_path: "k8s/orders-secret.yaml",
};

/// `key: value` (YAML) or `"key": "value"` (JSON) with a base64-looking value.
static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*["']?([A-Za-z0-9_.-]+)["']?\s*:\s*["']?([A-Za-z0-9+/_-]{8,}={0,2})["']?,?\s*$"#,
    )
    .expect("compiles")
});
/// A base64 `auth` of a Docker config: `user:password`.
static DOCKER_AUTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""auth"\s*:\s*"([A-Za-z0-9+/]{8,}={0,2})""#).expect("compiles"));

static INNER: LazyLock<Vec<Box<dyn Rule>>> = LazyLock::new(line_rules);

/// Whether the added text declares a Kubernetes Secret.
fn is_secret_manifest(lines: &[(u32, &str)]) -> bool {
    lines.iter().any(|(_, l)| {
        let t = l.trim().trim_end_matches(',');
        t == "kind: Secret" || t.replace(' ', "") == "\"kind\":\"Secret\""
    })
}

/// The text the inner rules read for one decoded value.
fn synthetic(key: &str, decoded: &str) -> String {
    let mut text = String::new();
    if !decoded.contains('\n') && !decoded.contains('"') {
        text.push_str(&format!("{key}: \"{decoded}\"\n"));
    } else {
        text.push_str(decoded);
        text.push('\n');
    }
    for caps in DOCKER_AUTH.captures_iter(decoded) {
        let auth = printable_base64(&caps[1]).unwrap_or_default();
        if let Some((_, password)) = auth.split_once(':')
            && !password.contains('"')
        {
            text.push_str(&format!("registry_password: \"{password}\"\n"));
        }
    }
    text
}

/// The most specific finding of the line rules on `text`.
fn judge(path: &str, text: &str) -> Option<Finding> {
    let file = FileDiff::new_file(path, text);
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    for rule in INNER.iter() {
        let kws = rule.keywords();
        if kws.is_empty() || kws.iter().any(|k| lower.contains(k)) {
            rule.check(&file, &mut found);
        }
    }
    found
        .into_iter()
        .filter(|f| f.category == Category::Secret)
        .max_by_key(|f| (specificity(&f.rule_id), f.severity))
}

impl Rule for KubernetesSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "kind: secret",
            "\"kind\": \"secret\"",
            "\"kind\":\"secret\"",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        if !is_secret_manifest(&lines) {
            return;
        }
        // The `data:` block: lines indented deeper than its key (YAML), or up to the closing
        // brace (JSON).
        let mut data_indent: Option<usize> = None;
        for &(n, text) in &lines {
            let indent = text.len() - text.trim_start().len();
            let t = text.trim();
            if let Some(d) = data_indent {
                if t.is_empty() {
                    continue;
                }
                if indent <= d || t.starts_with('}') {
                    data_indent = None;
                }
            }
            if t == "data:" || t.starts_with("\"data\"") && t.ends_with('{') {
                data_indent = Some(indent);
                continue;
            }
            if data_indent.is_none() {
                continue;
            }
            let Some(caps) = ENTRY.captures(text) else {
                continue;
            };
            let (key, value) = (&caps[1], &caps[2]);
            let Some(decoded) = printable_base64(value) else {
                continue;
            };
            let Some(inner) = judge(file.path(), &synthetic(key, &decoded)) else {
                continue;
            };
            let title = INNER
                .iter()
                .map(|r| r.meta())
                .find(|m| m.id == inner.rule_id)
                .map_or("credential", |m| m.title);
            out.push(Finding {
                rule_id: ID.to_string(),
                category: META.category,
                severity: inner.severity.max(Severity::Important),
                path: file.path().to_string(),
                line: n,
                message: format!(
                    "the base64 value of `{key}` in a Kubernetes Secret decodes to: {title} \
                     (`{}`); rotate it and create the Secret from a secret store",
                    inner.rule_id
                ),
                fingerprint: fingerprint(ID, file.path(), &decoded),
                redacted: inner.redacted,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn manifest(kind: &str, entries: &[(&str, &str)]) -> String {
        let mut text = format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\ndata:\n");
        for (k, v) in entries {
            text.push_str(&format!("  {k}: {v}\n"));
        }
        text
    }

    #[test]
    fn registry_auth_inside_dockerconfigjson_is_decoded_twice() {
        // {"auths":{"r.io":{"auth":base64("ci:Wq8vLz3KpR7xTm2N")}}}
        let auth = "Y2k6V3E4dkx6M0twUjd4VG0yTg==";
        let json = format!(r#"{{"auths":{{"r.io":{{"auth":"{auth}"}}}}}}"#);
        let encoded: String = {
            const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for chunk in json.as_bytes().chunks(3) {
                let n = chunk.iter().fold(0u32, |a, b| a << 8 | u32::from(*b))
                    << (8 * (3 - chunk.len()));
                for i in 0..4 {
                    out.push(if i <= chunk.len() {
                        B64[(n >> (18 - 6 * i) & 63) as usize] as char
                    } else {
                        '='
                    });
                }
            }
            out
        };
        let text = manifest("Secret", &[(".dockerconfigjson", &encoded)]);
        let found = run(&KubernetesSecret, "k8s/pull.yaml", &text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            !serde_json::to_string(&found)
                .unwrap()
                .contains("Wq8vLz3KpR7xTm2N")
        );
    }

    #[test]
    fn ordinary_text_and_other_kinds_are_not_reported() {
        // base64 of "log_level: info\nport: 8080\n", "true" and "changeme".
        let data = [
            ("config.yaml", "bG9nX2xldmVsOiBpbmZvCnBvcnQ6IDgwODAK"),
            ("tls", "dHJ1ZQ=="),
            ("password", "Y2hhbmdlbWU="),
        ];
        assert!(run(&KubernetesSecret, "k8s/s.yaml", &manifest("Secret", &data)).is_empty());
        // The same connection string as the documented example, in a ConfigMap.
        let url = META.fails.rsplit("DATABASE_URL: ").next().unwrap();
        let cm = manifest("ConfigMap", &[("DATABASE_URL", url)]);
        assert!(run(&KubernetesSecret, "k8s/cm.yaml", &cm).is_empty());
    }
}
