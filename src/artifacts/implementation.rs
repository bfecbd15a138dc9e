//! `artifacts/implementation.json`: per issue, its branch, factory's commits, the pull request,
//! the evidence files and every attempt with how it ended.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{StateDir, StateError, now};

/// Where the record lives, relative to the artifacts directory.
pub const ARTIFACT: &str = "implementation.json";

/// The whole record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub schema_version: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub forge: String,
    #[serde(default)]
    pub issues: Vec<IssueRecord>,
}

/// Where one issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Committed, validated, published, pull request open.
    Done,
    /// The last attempt failed validation (or the agent failed).
    Failed,
    /// The last attempt changed files outside the scope or added a secret.
    SentBack,
}

/// One attempt on one issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub at: String,
    /// `done`, `validation-failed`, `out-of-scope`, `no-change`, `agent-failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rework_cycle: Option<u32>,
    pub detail: String,
}

/// One issue's implementation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueRecord {
    pub issue: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub branch: String,
    pub base: String,
    pub status: Status,
    /// Commits factory made on the branch, oldest first.
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// Evidence files, relative to the artifacts directory.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The validation results of the last attempt.
    #[serde(default)]
    pub validation: Vec<Value>,
    /// Paths and findings the scope check sent back on the last attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    #[serde(default)]
    pub attempts: Vec<AttemptRecord>,
}

impl Record {
    /// The record of this state directory, or an empty one.
    pub fn load(state: &StateDir) -> Record {
        crate::state::read_capped(&state.artifacts_dir().join(ARTIFACT))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| Record {
                schema_version: "1.0".into(),
                ..Record::default()
            })
    }

    pub fn issue(&self, number: u64) -> Option<&IssueRecord> {
        self.issues.iter().find(|i| i.issue == number)
    }

    /// Replace (or add) one issue's record and write the file.
    pub fn save_issue(
        state: &StateDir,
        sid: &str,
        forge: &str,
        issue: IssueRecord,
    ) -> Result<(), StateError> {
        let mut r = Record::load(state);
        r.schema_version = "1.0".into();
        r.session_id = sid.to_string();
        r.forge = forge.to_string();
        match r.issues.iter_mut().find(|i| i.issue == issue.issue) {
            Some(slot) => *slot = issue,
            None => r.issues.push(issue),
        }
        let value = serde_json::to_value(&r).expect("the record serialises");
        state.write_artifact(ARTIFACT, &value)?;
        Ok(())
    }
}

/// An attempt entry stamped now.
pub fn attempt(
    attempt: u32,
    outcome: &str,
    agent: Option<&str>,
    rework_cycle: Option<u32>,
    detail: &str,
) -> AttemptRecord {
    AttemptRecord {
        attempt,
        at: now().to_string(),
        outcome: outcome.to_string(),
        agent: agent.map(str::to_string),
        rework_cycle,
        detail: crate::state::redact::scrub(&detail.chars().take(500).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use crate::state::layout;

    #[test]
    fn the_record_is_where_the_state_layout_says() {
        assert_eq!(
            format!("{}/{}", layout::ARTIFACTS_DIR, super::ARTIFACT),
            layout::IMPLEMENTATION
        );
    }
}
