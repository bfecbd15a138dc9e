//! Validation in a job of its own: the record. The validation commands run code the agent wrote; in the
//! process that ran the agent they run next to the agent's API key (kept out of the child's
//! environment, but readable from `/proc/<factory>/environ` by a command running as the same
//! user). With `FACTORY_VALIDATION=deferred` the implementation phase commits without
//! validating and records what to validate here (`artifacts/validation/<issue>.json`, `pending`);
//! `factory implement --validate-pending`, in a job that holds no secret at all, runs the
//! commands on each recorded head and writes the verdict in the same file. `factory apply`
//! publishes a branch only at a head with a passing verdict; a failure sends the issue back to
//! implementation with the failure as context (the runner is
//! `crate::phases::implementation::deferred`). Docs:
//! docs/security.md#validation-in-a-job-of-its-own.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::forge::verify::{Check, CheckResult};
use crate::state::StateDir;

/// Where validation runs, from `FACTORY_VALIDATION`: `inline` (the default) in the process
/// that ran the agent, or `deferred`, left for `factory implement --validate-pending` in a job
/// of its own.
pub const PLACEMENT_ENV: &str = "FACTORY_VALIDATION";

/// The command that runs what is left.
pub const COMMAND: &str = "factory implement --validate-pending";

/// Why deferred validation cannot go on (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum DeferredValidationError {
    #[error(
        "{PLACEMENT_ENV}={0}: expected `inline` or `deferred` (docs/security.md#validation-in-a-job-of-its-own)"
    )]
    BadPlacement(String),
    #[error(
        "{PLACEMENT_ENV}=deferred needs deferred writes (FACTORY_WRITES=deferred or --defer-writes): the branch of issue #{0} must not be published before `{COMMAND}` has validated it, so `factory apply` publishes it (docs/security.md#validation-in-a-job-of-its-own)"
    )]
    NeedsDeferredWrites(u64),
    #[error(
        "the commit {head} of issue #{issue} is in neither this clone nor the bundle {bundle}: restore the state the implementation job saved (its .factory/outbox/ holds the bundle) in a clone of the same repository"
    )]
    MissingHead {
        issue: u64,
        head: String,
        bundle: String,
    },
}

pub use crate::forge::placement::Placement;

/// The placement `FACTORY_VALIDATION` selects.
pub fn placement() -> Result<Placement, DeferredValidationError> {
    parse_placement(std::env::var(PLACEMENT_ENV).ok().as_deref())
}

fn parse_placement(value: Option<&str>) -> Result<Placement, DeferredValidationError> {
    Placement::parse(value).map_err(DeferredValidationError::BadPlacement)
}

/// The validation of one issue's commit, pending or done: `artifacts/validation/<issue>.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub schema_version: String,
    pub issue: u64,
    pub branch: String,
    /// The commit validated: the head of the bundle the implementation left.
    pub head: String,
    /// The pull-request apply artifact (a file name in `.factory/outbox/`) that publishes it.
    pub artifact: String,
    /// The implementation attempt that made the commit.
    pub attempt: u32,
    /// The commands to run, in order.
    pub commands: Vec<Check>,
    /// True until the validation job has run.
    pub pending: bool,
    /// Whether every command passed; none while pending.
    pub passed: Option<bool>,
    /// How each command went (the first failure ends the list).
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    /// The evidence files, relative to `.factory/artifacts/`.
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated_at: Option<String>,
}

/// The file of issue `issue`'s validation, relative to the artifacts directory.
pub fn rel(issue: u64) -> String {
    format!("validation/{issue}.json")
}

/// The validation recorded for `issue`, pending or done.
pub fn load(state: &StateDir, issue: u64) -> Option<Validation> {
    let path = state.artifacts_dir().join(rel(issue));
    let bytes = crate::state::read_capped(&path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Leave the validation of `issue` at `head` for [`COMMAND`].
pub fn record_pending(
    state: &StateDir,
    issue: u64,
    branch: &str,
    head: &str,
    artifact: &str,
    attempt: u32,
    commands: &[Check],
) -> Result<(), crate::state::StateError> {
    let v = Validation {
        schema_version: "1.0".into(),
        issue,
        branch: branch.to_string(),
        head: head.to_string(),
        artifact: artifact.to_string(),
        attempt,
        commands: commands.to_vec(),
        pending: true,
        passed: None,
        checks: Vec::new(),
        evidence: Vec::new(),
        validated_at: None,
    };
    save(state, &v)?;
    let detail = format!(
        "#{issue} at {}: validation left for `{COMMAND}` ({PLACEMENT_ENV}=deferred): {}",
        crate::util::text::short_commit(head),
        commands
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let refs = json!({"issue": issue, "commit": head, "artifact": artifact}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action = crate::state::log::vocab::VALIDATE, tool = "factory", status = "deferred", detail, refs);
    Ok(())
}

/// Keep the verdict of `v` (atomically, in place of the pending record).
pub fn record_verdict(
    state: &StateDir,
    v: &Validation,
    results: &[CheckResult],
    evidence: &[String],
) -> Result<Validation, crate::state::StateError> {
    let mut done = v.clone();
    done.pending = false;
    done.passed = Some(results.iter().all(|c| c.ok));
    done.checks = results.to_vec();
    done.evidence = evidence.to_vec();
    done.validated_at = Some(crate::state::now().to_string());
    save(state, &done)?;
    Ok(done)
}

fn save(state: &StateDir, v: &Validation) -> Result<(), crate::state::StateError> {
    state.write_artifact(
        &rel(v.issue),
        &serde_json::to_value(v).expect("a validation serialises"),
    )?;
    Ok(())
}

/// The validations waiting for [`COMMAND`], by issue.
pub fn pending(state: &StateDir) -> Vec<Validation> {
    let dir = state.artifacts_dir().join("validation");
    let mut out: Vec<Validation> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let bytes = crate::state::read_capped(&e.path()).ok()?;
            serde_json::from_slice::<Validation>(&bytes).ok()
        })
        .filter(|v| v.pending)
        .collect();
    out.sort_by_key(|v| v.issue);
    out
}

/// Why `factory apply` may not publish `head` for `issue`, or `None` when a passing verdict
/// exists for exactly that commit.
pub fn publish_refusal(state: &StateDir, issue: u64, head: &str) -> Option<(String, String)> {
    let fix = format!(
        "run `{COMMAND}` in a job that holds no secret before `factory apply`; nothing was pushed"
    );
    let Some(v) = load(state, issue) else {
        return Some((
            format!(
                "has no validation verdict (.factory/artifacts/{} is missing or unreadable)",
                rel(issue)
            ),
            fix,
        ));
    };
    if v.head != head {
        return Some((
            format!(
                "is not the commit the validation of #{issue} is for (`{}`)",
                v.head
            ),
            format!(
                "validate the commit the pull request publishes: run `{COMMAND}` on the state the implementation job saved; nothing was pushed"
            ),
        ));
    }
    if v.pending {
        return Some((
            "has not been validated yet (the validation is pending)".into(),
            fix,
        ));
    }
    if v.passed != Some(true) {
        return Some((
            "failed its validation; the issue goes back to implementation, not to a pull request"
                .into(),
            "implement the issue again (`factory run --resume --phase implementation`); nothing was pushed".into(),
        ));
    }
    None
}

/// Where the bundle of `v` is: next to its apply artifact.
pub fn bundle_of(state: &StateDir, v: &Validation) -> Option<PathBuf> {
    let artifact = crate::forge::deferred::outbox::dir(state).join(&v.artifact);
    let bytes = std::fs::read(&artifact).ok()?;
    let a: crate::forge::deferred::outbox::Artifact = serde_json::from_slice(&bytes).ok()?;
    let bundle = a.pull_request?.bundle;
    Some(crate::forge::deferred::outbox::dir(state).join(bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values themselves are `forge::placement`'s; the error names this variable.
    #[test]
    fn a_bad_validation_placement_names_its_variable() {
        assert_eq!(
            parse_placement(Some("deferred")).unwrap(),
            Placement::Deferred
        );
        let e = parse_placement(Some("later")).unwrap_err().to_string();
        assert!(
            e.contains("FACTORY_VALIDATION=later") && e.contains("`deferred`"),
            "{e}"
        );
    }

    #[test]
    fn only_a_passing_verdict_for_the_same_head_lets_a_branch_be_published() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join(".factory"));
        let head = "a".repeat(40);
        assert!(
            publish_refusal(&state, 3, &head)
                .unwrap()
                .0
                .contains("no validation verdict")
        );
        let checks = [Check {
            name: "test".into(),
            command: "true".into(),
        }];
        record_pending(&state, 3, "feat/#3-x", &head, "0001-x.json", 1, &checks).unwrap();
        assert!(
            publish_refusal(&state, 3, &head)
                .unwrap()
                .0
                .contains("pending")
        );
        assert_eq!(pending(&state).len(), 1);
        let v = load(&state, 3).unwrap();
        let ok = CheckResult {
            name: "test".into(),
            command: "true".into(),
            ok: true,
            exit_code: Some(0),
            timed_out: false,
            duration_ms: 1,
            output_tail: String::new(),
        };
        record_verdict(&state, &v, std::slice::from_ref(&ok), &[]).unwrap();
        assert!(pending(&state).is_empty());
        assert_eq!(publish_refusal(&state, 3, &head), None);
        let other = "b".repeat(40);
        assert!(
            publish_refusal(&state, 3, &other)
                .unwrap()
                .0
                .contains(&head)
        );
        let failed = CheckResult {
            ok: false,
            exit_code: Some(1),
            ..ok
        };
        record_verdict(&state, &v, &[failed], &[]).unwrap();
        assert!(
            publish_refusal(&state, 3, &head)
                .unwrap()
                .0
                .contains("failed")
        );
    }
}
