//! `factory verify --pr N`: post-merge verification: run the plan's validation commands against
//! the merge commit; on failure reopen the issue as a recurrence, escalating past the limit.
//! `factory verify --pending`: the verifications the merge phase left with
//! `FACTORY_VERIFY=deferred`, run in a job that holds no token; with deferred writes the
//! verdicts become apply artifacts for `factory apply`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Outcome;
use crate::commands::intake::open;
use crate::forge::recurrence::Recorded;
use crate::forge::{open_forge, verify};
use crate::util::text::short_commit;
use crate::workflow::PhaseName;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The merged pull request to verify.
    #[arg(long, required_unless_present = "pending", conflicts_with = "pending")]
    pub pr: Option<u64>,
    /// Run the verifications the merge phase left for later (`FACTORY_VERIFY=deferred`): the
    /// checks it would have run, on each merge commit.
    #[arg(long, conflicts_with_all = ["command", "health_check"])]
    pub pending: bool,
    /// With --pending: make no forge write and need no forge token; leave each verdict as an
    /// apply artifact in .factory/outbox/ for `factory apply` (also FACTORY_WRITES=deferred).
    #[arg(long, requires = "pending")]
    pub defer_writes: bool,
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
    let Some(pr) = args.pr else {
        return run_pending(args);
    };
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
        pr,
        &checks,
        workflow.limits.recurrence_limit,
        &verify::CommandRun {
            timeout,
            env: &workflow.command_env(PhaseName::Merge),
        },
    )?;
    print_checks(&v.checks);
    match &v.recurrence {
        None => {
            println!(
                "post-merge verification of #{} passed at {}",
                v.pr,
                short_commit(&v.merge_commit)
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

fn print_checks(checks: &[verify::CheckResult]) {
    for c in checks {
        println!(
            "  {} {:<12} {}{}",
            if c.ok { "✓" } else { "✗" },
            c.name,
            c.command,
            if c.timed_out { " (timed out)" } else { "" }
        );
    }
}

/// `factory verify --pending`.
fn run_pending(args: VerifyArgs) -> anyhow::Result<Outcome> {
    use crate::forge::deferred::{Writes, outbox};
    let writes = Writes::chosen(args.defer_writes)?;
    let (state, workflow) = open(args.state_dir)?;
    let Some(session) = state.load_session()? else {
        anyhow::bail!(
            "no session in {}: `factory verify --pending` runs the verifications a session's merge phase left; restore the state it was left in",
            state.root().display()
        );
    };
    crate::state::log::set_session(&session.id);
    let pending = verify::pending(&state);
    if pending.is_empty() {
        println!("no post-merge verification is pending");
        return Ok(Outcome::Clean);
    }
    if let Some(n) = outbox::pending(&state).first() {
        anyhow::bail!(
            "{} is still waiting for `factory apply --pending`: apply the earlier writes before verifying",
            n.display()
        );
    }
    let repo = state.repo();
    let forge = if writes.deferred() {
        None
    } else {
        Some(open_forge(&state, &repo)?)
    };
    let timeout = workflow
        .effective(session.change_class, PhaseName::Merge, &session.id)
        .timeout
        .max(Duration::from_secs(1));
    let env = workflow.command_env(PhaseName::Merge);
    let run = verify::CommandRun { timeout, env: &env };
    let mut outcome = Outcome::Clean;
    for p in pending {
        let checks = crate::phases::merge::merged_checks(&state, &workflow, p.issue);
        if checks.is_empty() {
            anyhow::bail!(
                "nothing to verify for #{}: no validation commands in the plans or phases.implementation.validation, no phases.merge.health_check (the merge phase found some when it merged: was .factory/workflow.yaml changed since?)",
                p.pr
            );
        }
        let results = verify::run_checks(&repo, &p.merge_commit, &checks, &run)?;
        let passed = results.iter().all(|c| c.ok);
        let short = short_commit(&p.merge_commit);
        println!("#{} at {short}:", p.pr);
        print_checks(&results);
        if !passed {
            outcome = Outcome::Findings;
        }
        let Some(forge) = &forge else {
            let written = verify::leave_verdict(&state, &session.id, &p, &results)?;
            println!(
                "post-merge verification of #{} {}: the verdict waits for `factory apply --pending` ({})",
                p.pr,
                if passed { "passed" } else { "failed" },
                outbox::file_name(&written)
            );
            continue;
        };
        let issue = match p.issue {
            Some(i) => i,
            None => {
                let on_forge = forge.get_pull_request(p.pr)?;
                crate::forge::pr::closed_issue(&on_forge)
                    .ok_or(verify::VerifyError::NoIssue(p.pr))?
            }
        };
        let recorded = verify::report(
            &state,
            forge.as_ref(),
            workflow.limits.recurrence_limit,
            p.pr,
            issue,
            &p.merge_commit,
            &results,
        )?;
        if let Some(r) = &recorded {
            eprintln!("{}", verify::fail_merge_phase(&state, p.pr, r)?);
        }
        println!(
            "post-merge verification of #{} {}",
            p.pr,
            if passed { "passed" } else { "failed" }
        );
    }
    crate::report::write(&state)?;
    Ok(outcome)
}
