//! One file per subcommand. Commands are glue: they read arguments, call library modules and
//! render results; the logic lives in the library modules.

pub mod apply;
pub mod complete;
pub mod dashboard;
pub mod doctor;
pub mod evals;
pub mod implement;
pub mod init;
pub mod intake;
pub mod issues;
pub mod lessons;
pub mod log;
pub mod merge;
pub mod packs;
pub mod plan;
pub mod pr;
pub mod preflight;
pub mod report;
pub mod review;
pub mod rules;
pub mod run;
pub mod schema;
pub mod scorecard;
pub mod state;
pub mod status;
pub mod validate;
pub mod verify;
pub mod workflow;

use std::process::ExitCode;

/// What a command reports when it finished without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked is clean or valid: exit 0.
    Clean,
    /// Findings at or above the threshold, or an invalid contract: exit 1.
    Findings,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Findings => ExitCode::from(1),
        }
    }
}

/// The state directory: the one given, else `FACTORY_STATE_DIR`, else `.factory` at the root of
/// the git repository that holds the working directory, else `.factory` in the working directory.
pub(crate) fn state_dir(given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    given.unwrap_or_else(|| crate::state::StateDir::discover().root().to_path_buf())
}

/// Write an output file atomically ([`crate::state::write_atomic`]: temp file, fsync, rename,
/// directory fsync), with the path in the error.
pub(crate) fn write_output(path: &std::path::Path, contents: &[u8]) -> anyhow::Result<()> {
    crate::state::write_atomic(path, contents)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
