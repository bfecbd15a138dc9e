//! One file per subcommand. Commands are glue: they read arguments, call library modules and
//! render results; the logic lives in the library modules.

pub mod evals;
pub mod preflight;
pub mod rules;
pub mod schema;
pub mod validate;

use crate::cli::{Command, Outcome};

/// Run one parsed command.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Validate(args) => validate::run(args),
        Command::Schema(cmd) => schema::run(cmd),
        Command::Preflight(args) => preflight::run(*args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Evals(args) => evals::run(args),
    }
}
