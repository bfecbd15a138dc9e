//! Command-line definitions (clap derive): one `Args` struct per subcommand.
//!
//! Exit codes are part of the interface: 0 ok/clean, 1 findings at or above the threshold or an
//! invalid contract, 2 a usage, input or environment error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{self, Outcome};

#[derive(Debug, Parser)]
#[command(
    name = "factory",
    version,
    about = "Deterministic orchestration for AI-agent software delivery",
    long_about = "factory is the deterministic half of an AI-agent delivery pipeline: it validates the \
                  contracts between phases and gates changes with security, scope and dependency \
                  checks before any LLM review.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate phase outputs against their contracts (schema + semantic checks).
    Validate(commands::validate::ValidateArgs),
    /// List or print the embedded JSON Schemas.
    #[command(subcommand)]
    Schema(commands::schema::SchemaCommand),
    /// Judge a diff with deterministic security, scope and dependency checks.
    Preflight(Box<commands::preflight::PreflightArgs>),
    /// List the preflight rules or generate their documentation.
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
    /// Show the effective pipeline or check a .factory/workflow.yaml override.
    #[command(subcommand)]
    Workflow(commands::workflow::WorkflowCommand),
    /// Phase 1: classify a request, incident or drift report, check the setup, start a session.
    Intake(Box<commands::intake::IntakeArgs>),
    /// Start a session from a request (or --resume the current one) and run its phases.
    Run(Box<commands::run::RunArgs>),
    /// Check the setup: git repository, working tree, default branch, agent CLIs, forge, schemas.
    Doctor(commands::doctor::DoctorArgs),
    /// Show the current session: phases, counters, issues, PRs and the next step.
    Status(commands::status::StatusArgs),
    /// Show the session's event log (.factory/workflow.log), filtered by phase and time.
    Log(commands::log::LogArgs),
    /// Run the pipeline self-evals: fixtures with known verdicts and findings.
    Evals(commands::evals::EvalsArgs),
    /// Phases 2 and 4: the strategic plan, or the tactical plan of one issue, validated.
    #[command(subcommand)]
    Plan(commands::plan::PlanCommand),
    /// Phase 6: preflight plus the reviewer agent on a diff or a pull request (posted), merged.
    Review(Box<commands::review::ReviewArgs>),
    /// Phase 8: extract lessons, compute and store the scorecard, write REPORT.md.
    Complete(commands::complete::CompleteArgs),
    /// Print a session's scorecard, or compare sessions over time with --history.
    Scorecard(commands::scorecard::ScorecardArgs),
    /// List, show, retire, rank, export and import lessons learned.
    Lessons(commands::lessons::LessonsArgs),
    /// List, show and detect heuristics packs.
    #[command(subcommand)]
    Packs(commands::packs::PacksCommand),
    /// Phase 3: create (or update) one issue per task of the strategic plan.
    #[command(subcommand)]
    Issues(commands::issues::IssuesCommand),
    /// Open the pull request for an issue.
    #[command(subcommand)]
    Pr(commands::pr::PrCommand),
    /// Phase 7: squash-merge an approved, up-to-date pull request and close its issue.
    Merge(commands::merge::MergeArgs),
    /// Post-merge verification: run the validation commands against the merge commit.
    Verify(commands::verify::VerifyArgs),
    /// Serve the live dashboard: session, timeline, kanban, reviews, scorecards, lessons, decisions.
    Dashboard(commands::dashboard::DashboardArgs),
    /// Write REPORT.md, or with --html one self-contained HTML file of a session's views.
    Report(commands::report::ReportArgs),
    /// Set up a repository: AGENTS.md, .factory/, templates, GitHub templates and workflow, OpenClaw skill; --check reports drift.
    Init(commands::init::InitArgs),
    /// Phase 5: the implementer agent changes one issue's branch in a worktree; factory checks
    /// the scope, runs the validation, commits, pushes and opens the pull request.
    Implement(commands::implement::ImplementArgs),
    /// Perform the forge writes a deferred phase left in .factory/outbox/, checked against
    /// their contract and the safe-outputs policy first.
    Apply(commands::apply::ApplyArgs),
    /// Work on state directories: `merge` combines the `.factory` copies of parallel jobs.
    #[command(subcommand)]
    State(commands::state::StateCommand),
}

/// Exit code for usage, input and environment errors.
pub const EXIT_ERROR: u8 = 2;

/// Parse the process arguments, run the command and map the outcome to an exit code.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout with exit 0 and usage errors on stderr with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    match dispatch(cli.command) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`factory log | head`) would panic.
/// Restore the default: the process ends quietly, as other command-line tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Run one parsed command.
fn dispatch(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Schema(cmd) => commands::schema::run(cmd),
        Command::Preflight(args) => commands::preflight::run(*args),
        Command::Rules(cmd) => commands::rules::run(cmd),
        Command::Workflow(cmd) => commands::workflow::run(cmd),
        Command::Intake(args) => commands::intake::run(*args),
        Command::Run(args) => commands::run::run(*args),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Log(args) => commands::log::run(args),
        Command::Evals(args) => commands::evals::run(args),
        Command::Plan(cmd) => commands::plan::run(cmd),
        Command::Review(args) => commands::review::run(*args),
        Command::Complete(args) => commands::complete::run(args),
        Command::Scorecard(args) => commands::scorecard::run(args),
        Command::Lessons(args) => commands::lessons::run(args),
        Command::Packs(cmd) => commands::packs::run(cmd),
        Command::Issues(cmd) => commands::issues::run(cmd),
        Command::Pr(cmd) => commands::pr::run(cmd),
        Command::Merge(args) => commands::merge::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Dashboard(args) => commands::dashboard::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Implement(args) => commands::implement::run(args),
        Command::Apply(args) => commands::apply::run(args),
        Command::State(cmd) => commands::state::run(cmd),
    }
}
