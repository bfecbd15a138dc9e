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

use crate::cli::{Command, Outcome};

/// Run one parsed command.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Validate(args) => validate::run(args),
        Command::Schema(cmd) => schema::run(cmd),
        Command::Preflight(args) => preflight::run(*args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Workflow(cmd) => workflow::run(cmd),
        Command::Intake(args) => intake::run(*args),
        Command::Run(args) => run::run(*args),
        Command::Doctor(args) => doctor::run(args),
        Command::Status(args) => status::run(args),
        Command::Log(args) => log::run(args),
        Command::Evals(args) => evals::run(args),
        Command::Plan(cmd) => plan::run(cmd),
        Command::Review(args) => review::run(*args),
        Command::Complete(args) => complete::run(args),
        Command::Scorecard(args) => scorecard::run(args),
        Command::Lessons(args) => lessons::run(args),
        Command::Packs(cmd) => packs::run(cmd),
        Command::Issues(cmd) => issues::run(cmd),
        Command::Pr(cmd) => pr::run(cmd),
        Command::Merge(args) => merge::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Dashboard(args) => dashboard::run(args),
        Command::Report(args) => report::run(args),
        Command::Init(args) => init::run(args),
        Command::Implement(args) => implement::run(args),
        Command::Apply(args) => apply::run(args),
        Command::State(cmd) => state::run(cmd),
    }
}

/// The state directory: the one given, else `FACTORY_STATE_DIR`, else `.factory` at the root of
/// the git repository that holds the working directory, else `.factory` in the working directory.
pub(crate) fn state_dir(given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    given.unwrap_or_else(|| crate::state::StateDir::discover().root().to_path_buf())
}
