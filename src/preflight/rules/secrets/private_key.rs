//! `private-key`: PEM private key blocks, multi-line or escaped into one line (service-account
//! JSON files carry them with `\n` escapes).

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::report;

pub(crate) struct PrivateKey;

static META: RuleMeta = RuleMeta {
    id: "private-key",
    title: "Private key",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A PEM private key (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted PKCS#8, PGP) whose \
`-----BEGIN … PRIVATE KEY-----` line and key material are added by the change, either as a \
multi-line block or escaped into one line as in Google service-account JSON files. The finding \
points at the BEGIN line. A BEGIN line with no key material after it (documentation, a parser's \
constant) is not reported.\n\n\
Fix: revoke or rotate the key pair, remove it from history, and load keys from a secret store or \
a mounted file outside the repository.",
    fails: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBqUWmnbr0zVYxJ3Kk9KjS8nX5vCk4Fv0nH9s3nq0Wt3wAAAJgAAAAAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    passes: "const PEM_HEADER: &str = \"-----BEGIN RSA PRIVATE KEY-----\";",
    example_path: "deploy/id_ed25519",
};

static BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")
        .expect("compiles")
});
/// Key material: a long run of base64 characters.
static MATERIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/=]{40,}").expect("compiles"));

impl Rule for PrivateKey {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["private key"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        for hunk in &file.hunks {
            let lines = &hunk.lines;
            for (i, line) in lines.iter().enumerate() {
                if line.kind != LineKind::Added {
                    continue;
                }
                let Some(m) = BEGIN.find(&line.text) else {
                    continue;
                };
                let Some(n) = line.new_line else { continue };
                // One-line form: material after an escaped newline on the same line.
                let rest = &line.text[m.end()..];
                let material = if let Some(mat) = MATERIAL.find(rest) {
                    Some(mat.as_str().to_string())
                } else {
                    // Block form: the next added line carries the material.
                    lines[i + 1..]
                        .iter()
                        .take_while(|l| l.kind == LineKind::Added)
                        .take(3)
                        .find_map(|l| {
                            MATERIAL
                                .find(l.text.trim())
                                .map(|mat| mat.as_str().to_string())
                        })
                };
                if let Some(material) = material {
                    report(
                        &META,
                        META.severity,
                        file,
                        n,
                        &material,
                        "private key committed: rotate the key pair and keep it out of the repository".into(),
                        out,
                    );
                }
            }
        }
    }
}
