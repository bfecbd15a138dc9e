//! `factory verify --pr N`: post-merge verification: run the plan's validation commands against
//! the merge commit; on failure reopen the issue as a recurrence, escalating past the limit.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Outcome;
use crate::commands::intake::open;
use crate::forge::recurrence::Recorded;
use crate::forge::{open_forge, verify};
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The merged pull request to verify.
    #[arg(long)]
    pub pr: u64,
    /// An extra command line to run after the plan's validation commands; repeatable.
    #[arg(long, value_name = "CMD")]
    pub command: Vec<String>,
    /// A health check to run last (for example `curl -fsS https://example.com/health`)
    /// [default: `phases.merge.health_check` from workflow.yaml].
    #[arg(long, value_name = "CMD")]
    pub health_check: Option<String>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let (state, workflow) = open(args.state_dir)?;
    let sid = state.load_session()?.map(|s| s.id.clone());
    if let Some(sid) = &sid {
        crate::state::log::set_session(sid);
    }
    let repo = state.repo();
    let forge = open_forge(&state, &repo)?;
    // The flag wins over `phases.merge.health_check` in workflow.yaml.
    let health = args.health_check.clone().or_else(|| {
        workflow
            .phases
            .get(&PhaseName::Merge)
            .and_then(|p| p.health_check.clone())
    });
    let checks = verify::planned_checks(&state, &args.command, health.as_deref());
    let class = state
        .load_session()?
        .map(|s| s.change_class)
        .unwrap_or(crate::workflow::ChangeClass::Hotfix);
    let timeout = workflow
        .effective(class, PhaseName::Merge, sid.as_deref().unwrap_or("none"))
        .timeout
        .max(Duration::from_secs(1));
    let v = verify::verify_pull_request(
        &state,
        forge.as_ref(),
        &repo,
        args.pr,
        &checks,
        workflow.limits.recurrence_limit,
        &verify::CommandRun {
            timeout,
            env: &workflow.command_env(PhaseName::Merge),
        },
    )?;
    for c in &v.checks {
        println!(
            "  {} {:<12} {}{}",
            if c.ok { "✓" } else { "✗" },
            c.name,
            c.command,
            if c.timed_out { " (timed out)" } else { "" }
        );
    }
    match &v.recurrence {
        None => {
            println!(
                "post-merge verification of #{} passed at {}",
                v.pr,
                &v.merge_commit[..v.merge_commit.len().min(12)]
            );
            Ok(Outcome::Clean)
        }
        Some(Recorded::Reopened { issue, count }) => {
            eprintln!(
                "post-merge verification of #{} failed: issue #{issue} reopened with the regression label (recurrence {count} of limit {})",
                v.pr, workflow.limits.recurrence_limit
            );
            Ok(Outcome::Findings)
        }
        Some(Recorded::Escalated { issue, count }) => {
            eprintln!(
                "post-merge verification of #{} failed: issue #{issue} recurred {count} times, past the limit of {}; marked needs-human (recurrence-limit) and the pipeline stopped",
                v.pr, workflow.limits.recurrence_limit
            );
            Ok(Outcome::Findings)
        }
    }
}
