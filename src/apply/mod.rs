//! Safe outputs, deferred: a phase that runs an agent can leave every forge write it would make
//! as a file (an *apply artifact* in `.factory/outbox/`) instead of making it, so the job that
//! ran the agent needs no forge token at all. `factory apply` then reads the artifacts, checks
//! each against its contract (`schemas/apply-artifact.schema.json`) and the safe-outputs policy
//! (`outputs` in workflow.yaml: paths, branches, labels, caps, sanitising) and performs the
//! writes itself, through the same `SafeForge` every direct write uses. Docs: docs/security.md.
//!
//! - `crate::forge::deferred`: the forge a phase sees in deferred mode (reads from the state
//!   and git, writes recorded in the outbox), the outbox and the mode;
//! - [`policy`]: the allow-lists an artifact must pass;
//! - [`perform`]: validating and performing one artifact, or every pending one.

pub mod perform;
pub mod policy;

use std::path::PathBuf;

pub use perform::{Applied, apply_file, apply_pending};

/// Why an artifact could not be applied. `BadArtifact` and `Refused` stop the session for a
/// person (the same artifact would fail again); the others are the environment failing and may
/// be retried.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{}: {problem}; the apply artifact contract is in docs/contracts.md#apply-artifact", path.display())]
    BadArtifact { path: PathBuf, problem: String },
    #[error("{0}")]
    Refused(Box<Refusal>),
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Forge(#[from] crate::forge::ForgeError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ApplyError {
    /// The safe-outputs policy refusing the write of the artifact at `path`: `field` holds
    /// `value`, which is `what`; `key` is the `outputs` key that would allow it, `fix` what
    /// else to change.
    pub fn refused(
        path: &std::path::Path,
        field: &str,
        value: String,
        what: String,
        key: Option<&'static str>,
        fix: Option<String>,
    ) -> ApplyError {
        ApplyError::Refused(Box::new(Refusal {
            path: path.to_path_buf(),
            field: field.into(),
            value,
            what,
            key,
            fix,
        }))
    }

    /// A refusal or a bad artifact: the session stops for a person instead of retrying.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ApplyError::BadArtifact { .. }
                | ApplyError::Refused(_)
                | ApplyError::Forge(crate::forge::ForgeError::Refused { .. })
        )
    }
}

/// A write the safe-outputs policy refused: the artifact, the field, the value, why, and what
/// to change.
#[derive(Debug)]
pub struct Refusal {
    pub path: PathBuf,
    /// The artifact field, e.g. `pull_request.branch`.
    pub field: String,
    /// The offending value, quoted.
    pub value: String,
    pub what: String,
    /// The `outputs` key that would allow it, when one would.
    pub key: Option<&'static str>,
    /// What else to change, when no `outputs` key would.
    pub fix: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: refused: `{}` {}: {}; {} (docs/security.md#factory-apply)",
            self.path.display(),
            self.field,
            self.value,
            self.what,
            fix_text(self.key, &self.fix)
        )
    }
}

fn fix_text(key: Option<&'static str>, fix: &Option<String>) -> String {
    match (key, fix) {
        (_, Some(f)) => f.clone(),
        (Some(k), None) => {
            format!("change `outputs.{k}` in .factory/workflow.yaml if this is intended")
        }
        (None, None) => "nothing was written".into(),
    }
}
