//! Baselines: accept today's findings, report only new ones.
//!
//! File format (JSON, sorted by fingerprint, no secret values — fingerprints hash the match):
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {"fingerprint": "aws-access-key-id:config/dev.env:1a2b3c4d5e6f7a8b", "rule_id": "aws-access-key-id", "path": "config/dev.env"}
//!   ]
//! }
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::findings::Finding;

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline of a set of findings: unique, sorted.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let set: BTreeSet<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
            })
            .collect();
        Baseline {
            version: VERSION,
            findings: set.into_iter().collect(),
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read baseline {}: {e}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}, column {}: not a preflight baseline ({e}); write one with --write-baseline",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if baseline.version != VERSION {
            anyhow::bail!(
                "{}: baseline version {} is not supported (expected {VERSION}); regenerate it with --write-baseline",
                path.display(),
                baseline.version
            );
        }
        Ok(baseline)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("serialisable");
        s.push('\n');
        s
    }

    /// Drop findings whose fingerprint is in the baseline; returns how many were dropped.
    pub fn filter(&self, findings: &mut Vec<Finding>) -> usize {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let before = findings.len();
        findings.retain(|f| !known.contains(f.fingerprint.as_str()));
        before - findings.len()
    }
}
