//! The finding: the one shape every deterministic check reports (preflight rules, contract
//! checks, review merges). Renderers for each output format live in `render/`.

pub mod audit;
pub mod render;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What kind of check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Secret,
    Scope,
    Dependency,
    Pattern,
    Contract,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Scope => "scope",
            Category::Dependency => "dependency",
            Category::Pattern => "pattern",
            Category::Contract => "contract",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. Ordered: `Advisory < Important < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Advisory,
    Important,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Advisory => "advisory",
            Severity::Important => "important",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "advisory" => Ok(Severity::Advisory),
            "important" => Ok(Severity::Important),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}`: expected critical, important or advisory"
            )),
        }
    }
}

/// The `--fail-on` threshold: findings at or above it make the command exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum FailOn {
    Critical,
    #[default]
    Important,
    Advisory,
    Never,
}

impl FailOn {
    /// Whether a finding of this severity fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Critical => severity >= Severity::Critical,
            FailOn::Important => severity >= Severity::Important,
            FailOn::Advisory => true,
            FailOn::Never => false,
        }
    }
}

/// One result of a deterministic check. Never holds a full secret value: `redacted` is the
/// only excerpt, and it is already redacted when the finding is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub category: Category,
    pub severity: Severity,
    pub path: String,
    /// 1-based line in the new file; 0 when the finding is about the whole file.
    pub line: u32,
    pub message: String,
    /// Stable identity across line moves (rule + path + a hash of what matched).
    pub fingerprint: String,
    /// A redacted excerpt of what matched, safe to print and store.
    pub redacted: String,
}

impl Finding {
    /// Whether this finding stops an agent's change before anyone reviews it: a change outside
    /// its scope, or a secret that is not merely advisory.
    pub fn blocks_change(&self) -> bool {
        self.category == Category::Scope
            || (self.category == Category::Secret && self.severity != Severity::Advisory)
    }
}

/// Build a fingerprint from the rule id, the path and the matched content. The content is
/// hashed, so the fingerprint never reveals it; line numbers are deliberately left out so the
/// fingerprint survives code moving up or down.
pub fn fingerprint(rule_id: &str, path: &str, matched: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(matched.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{rule_id}:{path}:{hex}")
}

/// Redact a secret value: keep at most the first four characters (enough to recognise a
/// provider prefix) and replace the rest with a fixed mask that does not reveal the length.
pub fn redact(secret: &str) -> String {
    let keep: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 8 {
        "********".to_string()
    } else {
        format!("{keep}********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_from_advisory_to_critical() {
        assert!(Severity::Advisory < Severity::Important);
        assert!(Severity::Important < Severity::Critical);
    }

    #[test]
    fn fail_on_thresholds() {
        assert!(FailOn::Important.fails(Severity::Critical));
        assert!(FailOn::Important.fails(Severity::Important));
        assert!(!FailOn::Important.fails(Severity::Advisory));
        assert!(!FailOn::Critical.fails(Severity::Important));
        assert!(FailOn::Advisory.fails(Severity::Advisory));
        assert!(!FailOn::Never.fails(Severity::Critical));
    }

    #[test]
    fn fingerprint_ignores_nothing_but_line() {
        let a = fingerprint("aws-access-key", "src/a.rs", "AKIAIOSFODNN7EXAMPLE");
        let b = fingerprint("aws-access-key", "src/a.rs", "AKIAIOSFODNN7EXAMPLE");
        let c = fingerprint("aws-access-key", "src/b.rs", "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.contains("AKIAIOSFODNN7EXAMPLE"));
    }

    #[test]
    fn redaction_never_reveals_more_than_a_prefix() {
        assert_eq!(
            redact("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_********"
        );
        assert_eq!(redact("short"), "********");
    }
}
