//! Phase 7, merge: every approved pull request of the current wave, one merge at a time per
//! repository, each brought up to date with its base first ([`crate::phases::merge::pull_request`]); then
//! post-merge verification when the route asks for it ([`crate::forge::verify`]).

use std::path::Path;

pub mod pull_request;

use crate::forge::verify;
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome, SendBackReason};
use crate::state::EscalationReason;
use crate::workflow::PhaseName;
use pull_request as merge;

/// Phase 7: merge every approved pull request of the current wave, one at a time per
/// repository, bringing each up to date with its base first; verify after the merge when the
/// route asks for it.
pub struct Merge;

impl Phase for Merge {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let repo = ctx.state.repo();
        let forge = ctx.forge()?;
        let session = ctx.session;
        let pending: Vec<u64> = session
            .pull_requests
            .iter()
            .filter(|p| !p.merged && session.in_current_wave(p.issue))
            .map(|p| p.number)
            .collect();
        if pending.is_empty() && !session.pull_requests.iter().any(|p| p.merged) {
            return Ok(PhaseOutcome::Failed {
                detail: "the session has no pull request to merge: open one with `factory pr open --issue N`".into(),
            });
        }
        let Some(_lock) = merge::MergeLock::acquire(&repo, ctx.phase.timeout)? else {
            return Ok(PhaseOutcome::Unavailable {
                detail: "another factory process is merging into this repository; waiting for it (one merge at a time per repository)".into(),
            });
        };
        let policy = merge::MergePolicy::from_workflow(ctx.workflow, repo.clone());
        let mut refusals = Vec::new();
        let mut merged = Vec::new();
        for pr in pending {
            match merge::merge_pull_request(ctx.state, forge, pr, &policy)? {
                Ok(m) => merged.push(m),
                Err(r) => refusals.push(r),
            }
        }
        wait_for_checks(ctx, forge, &policy, &mut merged, &mut refusals)?;
        // Verification first: what merged is on the base whatever the others do. A merge
        // whose verification failed in an earlier attempt is verified again: a retry never
        // passes by having nothing left to merge.
        let mut to_verify: Vec<ToVerify> = merged
            .iter()
            .map(|m| ToVerify {
                pr: m.pr,
                issue: m.issue,
                commit: m.commit.clone(),
            })
            .collect();
        to_verify.extend(failed_verifications(ctx, &to_verify));
        let (mut skipped, mut deferred) = (Vec::new(), Vec::new());
        if let Some(stop) =
            verify_merged(ctx, forge, &repo, &to_verify, &mut skipped, &mut deferred)?
        {
            return Ok(stop);
        }
        if !refusals.is_empty() {
            return Ok(refused(refusals));
        }
        let list: Vec<String> = merged.iter().map(|m| format!("#{}", m.pr)).collect();
        let wave = session
            .current_wave()
            .map(|w| format!("wave {w}: "))
            .unwrap_or_default();
        let mut note = String::new();
        if !skipped.is_empty() {
            note.push_str(&format!(
                "; post-merge verification NOT run for {}: nothing to run",
                skipped.join(", ")
            ));
        }
        if !deferred.is_empty() {
            note.push_str(&format!(
                "; post-merge verification of {} left for `factory verify --pending`",
                deferred.join(", ")
            ));
        }
        Ok(PhaseOutcome::Done {
            detail: if list.is_empty() {
                format!("{wave}every pull request was already merged{note}")
            } else {
                format!("{wave}merged {}{note}", list.join(", "))
            },
        })
    }
}

/// Whether a refusal only asks to wait: checks running or not started, an update in progress.
fn is_wait(r: &merge::Refusal) -> bool {
    use merge::Refusal;
    matches!(
        r,
        Refusal::ChecksPending { .. } | Refusal::NoChecks { .. } | Refusal::Updating { .. }
    )
}

/// While every refusal is a wait, read the checks again every `checks_poll_seconds` for up to
/// `checks_timeout_seconds` (`FACTORY_CHECKS_TIMEOUT` in the merge-verify action): CI that a
/// write identity's push started takes minutes, and one attempt that waits for it is cheaper
/// and clearer than a string of refused ones. The log names what is missing when the wait
/// starts and how it ended.
fn wait_for_checks(
    ctx: &PhaseContext<'_>,
    forge: &dyn crate::forge::Forge,
    policy: &merge::MergePolicy,
    merged: &mut Vec<merge::Merged>,
    refusals: &mut Vec<merge::Refusal>,
) -> anyhow::Result<()> {
    use crate::state::log::vocab::CHECKS_WAIT;
    let (timeout, poll) = ctx.workflow.merge_checks_wait();
    if timeout.is_zero() || refusals.is_empty() || !refusals.iter().all(is_wait) {
        return Ok(());
    }
    let phase = PhaseName::Merge.as_str();
    let missing = |refusals: &[merge::Refusal]| {
        refusals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let detail = format!(
        "waiting up to {} s for checks: {}",
        timeout.as_secs(),
        missing(refusals)
    );
    tracing::info!(target: "factory::event", phase, action = CHECKS_WAIT, tool = forge.name(), status = "waiting", detail);
    let started = std::time::Instant::now();
    while !refusals.is_empty() && refusals.iter().all(is_wait) {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            let detail = format!(
                "still missing after {} s: {}",
                timeout.as_secs(),
                missing(refusals)
            );
            tracing::info!(target: "factory::event", phase, action = CHECKS_WAIT, tool = forge.name(), status = "timeout", detail);
            return Ok(());
        }
        std::thread::sleep(poll.min(left));
        let again: Vec<u64> = refusals.iter().map(merge::Refusal::pr).collect();
        refusals.clear();
        for pr in again {
            match merge::merge_pull_request(ctx.state, forge, pr, policy)? {
                Ok(m) => merged.push(m),
                Err(r) => refusals.push(r),
            }
        }
    }
    // The checks reported: everything merged, or a refusal that waiting cannot change
    // (checks failed, a conflict) ends the wait.
    let waited = started.elapsed().as_secs();
    if refusals.is_empty() {
        let detail = format!("waited {waited} s for checks");
        tracing::info!(target: "factory::event", phase, action = CHECKS_WAIT, tool = forge.name(), status = "ok", detail);
    } else {
        let detail = format!("waited {waited} s for checks: {}", missing(refusals));
        tracing::info!(target: "factory::event", phase, action = CHECKS_WAIT, tool = forge.name(), status = "refused", detail);
    }
    Ok(())
}

/// The outcome of a merge phase that could not merge everything: a conflict goes back to
/// implementation, a diff the approval does not cover back to review, checks or an update
/// still running are a wait, the rest a failure.
fn refused(refusals: Vec<merge::Refusal>) -> PhaseOutcome {
    use merge::Refusal;
    let detail = refusals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    // The issues to redo, by why their pull request could not merge.
    let (mut conflicts, mut changed) = (Vec::new(), Vec::new());
    for r in &refusals {
        match r {
            Refusal::Conflict { issue: Some(i), .. } => conflicts.push(*i),
            Refusal::DiffChanged { issue: Some(i), .. }
            | Refusal::HeadMoved { issue: Some(i), .. } => changed.push(*i),
            _ => {}
        }
    }
    if !conflicts.is_empty() {
        return PhaseOutcome::SendBack {
            to: PhaseName::Implementation,
            detail: format!(
                "bringing the pull request(s) up to date with the base conflicts; the base is merged into the branch with conflict markers: resolve every conflict keeping the intent of both sides, and remove the markers.\n{detail}"
            ),
            issues: conflicts,
            why: SendBackReason::Conflict,
        };
    }
    if !changed.is_empty() {
        return PhaseOutcome::SendBack {
            to: PhaseName::CodeReview,
            detail,
            issues: changed,
            why: SendBackReason::DiffChanged,
        };
    }
    if refusals.iter().all(is_wait) {
        return PhaseOutcome::Unavailable { detail };
    }
    PhaseOutcome::Failed { detail }
}

/// A merged pull request to verify.
struct ToVerify {
    pr: u64,
    issue: Option<u64>,
    commit: String,
}

/// Merged pull requests of the session whose last verification failed.
fn failed_verifications(ctx: &PhaseContext<'_>, already: &[ToVerify]) -> Vec<ToVerify> {
    ctx.session
        .pull_requests
        .iter()
        .filter(|p| p.merged && !already.iter().any(|a| a.pr == p.number))
        .filter_map(|p| {
            let path = ctx
                .state
                .artifacts_dir()
                .join(format!("verify/{}.json", p.number));
            let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
            (doc["passed"] == false).then(|| ToVerify {
                pr: p.number,
                issue: p.issue,
                commit: doc["merge_commit"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// The checks post-merge verification runs for a merge that closes `issue`: the issue's
/// validation commands (its tactical plan's, the strategic plan's, or
/// `phases.implementation.validation`), then `phases.merge.health_check`.
pub fn merged_checks(
    state: &crate::state::StateDir,
    workflow: &crate::workflow::Workflow,
    issue: Option<u64>,
) -> Vec<verify::Check> {
    let plan = crate::forge::issues::load_plan(state).ok();
    // The issue's tactical plan, read as implementation read it.
    let tactical = issue.and_then(|i| {
        crate::phases::implementation::inputs::tactical_plan(state, i)
            .ok()
            .flatten()
    });
    let mut checks = crate::phases::implementation::inputs::validation_commands(
        workflow,
        tactical.as_ref(),
        plan.as_ref(),
    );
    if let Some(h) = workflow
        .phases
        .get(&PhaseName::Merge)
        .and_then(|p| p.health_check.clone())
    {
        checks.push(verify::Check {
            name: "health-check".into(),
            command: h,
        });
    }
    checks
}

/// Post-merge verification of what merged, when the route asks for it ([`merged_checks`]).
/// Nothing to run is said out loud, never skipped silently. With `FACTORY_VERIFY=deferred`
/// the checks are left for `factory verify --pending`, in a job that holds no token.
fn verify_merged(
    ctx: &PhaseContext<'_>,
    forge: &dyn crate::forge::Forge,
    repo: &Path,
    merged: &[ToVerify],
    skipped: &mut Vec<String>,
    deferred: &mut Vec<String>,
) -> anyhow::Result<Option<PhaseOutcome>> {
    if !ctx.phase.step.as_ref().is_some_and(|s| s.verify) {
        return Ok(None);
    }
    let placement = verify::placement()?;
    for m in merged {
        let checks = merged_checks(ctx.state, ctx.workflow, m.issue);
        if checks.is_empty() {
            let detail = format!(
                "post-merge verification of #{} skipped: the {} route asks for it, but there is nothing to run (no validation commands in the plans or phases.implementation.validation, no phases.merge.health_check)",
                m.pr, ctx.session.change_class
            );
            let refs = serde_json::json!({"pr": m.pr, "issue": m.issue}).to_string();
            let decision = "set phases.merge.health_check or phases.implementation.validation in .factory/workflow.yaml".to_string();
            tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Merge.as_str(), action = crate::state::log::vocab::VERIFY, tool = "factory", status = "skipped", detail, decision, refs);
            forge.comment_issue(
                m.pr,
                &format!(
                    "Post-merge verification was **not run**: the {} route asks for it, but there is nothing to run. Set `phases.merge.health_check` or `phases.implementation.validation` in `.factory/workflow.yaml`.",
                    ctx.session.change_class
                ),
            )?;
            ctx.state.write_artifact(
                &format!("verify/{}.json", m.pr),
                &serde_json::json!({
                    "schema_version": "1.0",
                    "pr": m.pr,
                    "issue": m.issue,
                    "merge_commit": m.commit,
                    "passed": serde_json::Value::Null,
                    "skipped": "nothing to run",
                    "checks": [],
                }),
            )?;
            skipped.push(format!("#{}", m.pr));
            continue;
        }
        if placement == verify::Placement::Deferred {
            verify::record_pending(
                ctx.state,
                &verify::Pending {
                    pr: m.pr,
                    issue: m.issue,
                    merge_commit: m.commit.clone(),
                },
            )?;
            deferred.push(format!("#{}", m.pr));
            continue;
        }
        let v = verify::verify_pull_request(
            ctx.state,
            forge,
            repo,
            m.pr,
            &checks,
            ctx.workflow.limits.recurrence_limit,
            &verify::CommandRun {
                timeout: ctx.phase.timeout,
                env: &ctx.workflow.command_env(PhaseName::Merge),
            },
        )?;
        if let Some(stop) = after_recurrence(v.pr, v.recurrence.as_ref()) {
            return Ok(Some(stop));
        }
    }
    Ok(None)
}

/// The outcome of a verification that recorded a recurrence: a failure (the issue is open
/// again) or, past the limit, a stop for a person.
fn after_recurrence(
    pr: u64,
    recorded: Option<&crate::forge::recurrence::Recorded>,
) -> Option<PhaseOutcome> {
    use crate::forge::recurrence::Recorded;
    let r = recorded?;
    let detail = verify::failure_detail(pr, r);
    Some(match r {
        Recorded::Escalated { .. } => PhaseOutcome::NeedsHuman {
            reason: EscalationReason::RecurrenceLimit,
            detail,
        },
        Recorded::Reopened { .. } => PhaseOutcome::Failed { detail },
    })
}
