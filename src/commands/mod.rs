//! One file per subcommand. Commands are glue: they read arguments, call library modules and
//! render results; the logic lives in the library modules.

pub mod preflight;
pub mod rules;
pub mod schema;
pub mod validate;
pub mod workflow;

use crate::cli::{Command, Outcome};

/// Run one parsed command.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Validate(args) => validate::run(args),
        Command::Schema(cmd) => schema::run(cmd),
        Command::Preflight(args) => preflight::run(*args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Workflow(cmd) => workflow::run(cmd),
    }
}

/// The state directory: the one given, else `.factory` at the root of the git repository that
/// holds the working directory, else `.factory` in the working directory.
pub(crate) fn state_dir(given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    if let Some(dir) = given {
        return dir;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let root = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(std::path::Path::to_path_buf)
        .unwrap_or(cwd);
    root.join(".factory")
}
