//! The phase runner: runs the phases a session's route selects, in order, each through the
//! [`Phase`] trait; gates every output; retries with the errors as context; backs off when a
//! tool is unavailable; and escalates to a human with a `needs-human` record when the
//! methodology says so. Every step is in `session.json` before the next begins, so a run cut
//! off at any point resumes where it stopped.

pub mod gate;
pub mod phase;
pub mod raise;

use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

pub use phase::{Phase, PhaseContext, PhaseOutcome, Registry, SendBackReason};

use crate::state::{EscalationReason, PhaseStatus, Session, StateDir, WaveStatus};
use crate::util::text::first_line;
use crate::workflow::{PhaseName, Workflow};

/// How far to go.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run just this phase (it must be the next one due), as one CI job does.
    pub only: Option<PhaseName>,
    /// A human approves the next step that requires approval.
    pub approve: bool,
    /// How the phases write to the forge.
    pub writes: crate::forge::deferred::Writes,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunResult {
    /// Every phase of the route completed.
    Completed,
    /// `--phase` ran its one phase (or found it already done); later phases remain.
    PhaseDone { phase: PhaseName, already: bool },
    /// The pipeline stopped for a human.
    NeedsHuman {
        phase: PhaseName,
        reason: EscalationReason,
        detail: String,
    },
}

/// Errors that stop a run before or outside a phase (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no session in {0}: start one with `factory run \"<request>\"` or `factory intake`")]
    NoSession(String),
    #[error(
        "forge writes left by a deferred phase are not applied yet (.factory/outbox/: {0}): run `factory apply --pending` first (docs/security.md#factory-apply)"
    )]
    PendingWrites(String),
    #[error(
        "post-merge verification of {0} is left for a job of its own (FACTORY_VERIFY=deferred) and has not run: run `factory verify --pending` first (docs/security.md#post-merge-verification-in-a-job-of-its-own)"
    )]
    PendingVerification(String),
    #[error(
        "validation of {0} is left for a job of its own (FACTORY_VALIDATION=deferred) and has not run: run `factory implement --validate-pending` first (docs/security.md#validation-in-a-job-of-its-own)"
    )]
    PendingValidation(String),
    #[error(
        "phase {wanted} cannot run yet: {due} comes first in the {class} route and has not completed; run `factory run --resume --phase {due}` first"
    )]
    NotDue {
        wanted: PhaseName,
        due: PhaseName,
        class: String,
    },
    #[error("phase {0} is not in this session's route ({1})")]
    NotInRoute(PhaseName, String),
    #[error(
        "phase {0} has no built-in implementation in this build of factory; give it a program with `phases.{0}.command` in .factory/workflow.yaml (see docs/workflow.md)"
    )]
    NoImplementation(PhaseName),
}

/// Run the current session from where it stands.
pub fn run(
    state: &StateDir,
    workflow: &Workflow,
    registry: &Registry,
    opts: &RunOptions,
) -> anyhow::Result<RunResult> {
    let session = state
        .load_session()?
        .ok_or_else(|| RunError::NoSession(state.root().display().to_string()))?;
    crate::state::log::set_session(&session.id);
    if let Some(e) = &session.escalation {
        return Ok(RunResult::NeedsHuman {
            phase: e.phase,
            reason: e.reason,
            detail: e.detail.clone(),
        });
    }
    if let Some(only) = opts.only
        && !session.route.contains(&only)
    {
        return Err(RunError::NotInRoute(only, route_text(&session)).into());
    }
    if session.counters.recurrence > workflow.limits.recurrence_limit {
        let phase = session.next_phase().unwrap_or(PhaseName::Merge);
        let detail = format!(
            "the problem recurred {} times after merging (limit {}); a person must look at it",
            session.counters.recurrence, workflow.limits.recurrence_limit
        );
        return escalate(state, phase, EscalationReason::RecurrenceLimit, detail);
    }
    // Validation left for a job of its own: nothing after implementation may read the work
    // before it is judged. The fan-in implementation job of a matrix adds to it.
    let unvalidated = crate::forge::validation::pending(state);
    let fan_in = opts.only == Some(PhaseName::Implementation) && opts.writes.deferred();
    if !fan_in && !unvalidated.is_empty() {
        return Err(RunError::PendingValidation(
            unvalidated
                .iter()
                .map(|v| format!("#{}", v.issue))
                .collect::<Vec<_>>()
                .join(", "),
        )
        .into());
    }
    // Pending writes belong on the forge before a phase reads it. One exception: a deferred
    // run of the phase that left them (the fan-in job after a matrix of per-issue jobs) only
    // adds to them, and one apply job performs them all.
    let own_phase_deferred = |p: &std::path::Path| {
        opts.only.is_some_and(|only| {
            crate::forge::deferred::outbox::phase_of(p).as_deref() == Some(only.as_str())
        }) && opts.writes.deferred()
    };
    let pending: Vec<_> = crate::forge::deferred::outbox::pending(state)
        .into_iter()
        .filter(|p| !own_phase_deferred(p))
        .collect();
    if !pending.is_empty() {
        return Err(RunError::PendingWrites(
            pending
                .iter()
                .map(|p| crate::forge::deferred::outbox::file_name(p))
                .collect::<Vec<_>>()
                .join(", "),
        )
        .into());
    }
    let waiting = crate::forge::verify::pending(state);
    if !waiting.is_empty() {
        return Err(RunError::PendingVerification(
            waiting
                .iter()
                .map(|p| format!("#{}", p.pr))
                .collect::<Vec<_>>()
                .join(", "),
        )
        .into());
    }
    recheck_completed(state, workflow, &session)?;

    loop {
        let session = state
            .load_session()?
            .ok_or_else(|| RunError::NoSession(state.root().display().to_string()))?;
        let Some(phase) = session.next_phase() else {
            if let Some(only) = opts.only {
                return Ok(RunResult::PhaseDone {
                    phase: only,
                    already: true,
                });
            }
            event(
                "session",
                "complete",
                "ok",
                None,
                format!(
                    "all {} phases of the {} route completed",
                    session.route.len() + 1,
                    session.change_class
                ),
                None,
            );
            crate::report::write(state)?;
            return Ok(RunResult::Completed);
        };
        if let Some(only) = opts.only
            && only != phase
        {
            let pos = |p: PhaseName| session.route.iter().position(|q| *q == p);
            if pos(only) < pos(phase) {
                return Ok(RunResult::PhaseDone {
                    phase: only,
                    already: true,
                });
            }
            return Err(RunError::NotDue {
                wanted: only,
                due: phase,
                class: session.change_class.to_string(),
            }
            .into());
        }
        start_waves(state, &session, phase)?;
        let session = state.load_session()?.unwrap_or(session);
        let outcome = run_phase(state, workflow, registry, &session, phase, opts)?;
        // A merge phase that sent work back (a conflict, a changed diff, a head that moved)
        // did not complete: the wave goes on, not the next one.
        let merge_completed = phase == PhaseName::Merge
            && state.load_session()?.is_some_and(|s| {
                s.phases
                    .get(&PhaseName::Merge)
                    .is_some_and(|p| p.status == PhaseStatus::Completed)
            });
        if outcome.is_none() && merge_completed {
            next_wave(state, &session)?;
        }
        match outcome {
            Some(stop) => {
                crate::report::write(state)?;
                return Ok(stop);
            }
            // Deferred writes: the next phase would read what `factory apply` has not written
            // yet, so the run stops here; so does a merge whose verification is left for a
            // job of its own.
            None if opts.only.is_some()
                || !crate::forge::deferred::outbox::pending(state).is_empty()
                || !crate::forge::verify::pending(state).is_empty() =>
            {
                crate::report::write(state)?;
                return Ok(RunResult::PhaseDone {
                    phase,
                    already: false,
                });
            }
            None => {}
        }
    }
}

/// The phases that run once per wave, in route order: plan each task, implement, review,
/// merge. The next wave starts from the default branch as the previous wave's merges left it.
pub const WAVE_PHASES: [PhaseName; 4] = [
    PhaseName::TacticalPlan,
    PhaseName::Implementation,
    PhaseName::CodeReview,
    PhaseName::Merge,
];

/// Record the waves of the session's task issues, and log a wave that starts now.
fn start_waves(state: &StateDir, session: &Session, phase: PhaseName) -> anyhow::Result<()> {
    // Written only when a wave appears, changes its issues or its status: this runs before
    // every phase.
    let shape = |waves: &[crate::state::WaveState]| -> Vec<(u32, WaveStatus, Vec<u64>)> {
        waves
            .iter()
            .map(|w| (w.wave, w.status, w.issues.clone()))
            .collect()
    };
    let mut synced = session.clone();
    synced.sync_waves();
    if shape(&synced.waves) == shape(&session.waves) {
        return Ok(());
    }
    let after = state.update_session(|s| {
        s.sync_waves();
        s.waves.clone()
    })?;
    let was_running = |n: u32| {
        session
            .waves
            .iter()
            .any(|b| b.wave == n && b.status == WaveStatus::Running)
    };
    for w in after
        .iter()
        .filter(|w| w.status == WaveStatus::Running && !was_running(w.wave))
    {
        wave_event(phase, w.wave, &w.issues, "started", after.len());
    }
    Ok(())
}

fn wave_event(phase: PhaseName, wave: u32, issues: &[u64], status: &str, of: usize) {
    let list: Vec<String> = issues.iter().map(|n| format!("#{n}")).collect();
    let detail = match status {
        "started" => format!("wave {wave} of {of} starts: {}", list.join(", ")),
        _ => format!("wave {wave} of {of} merged: {}", list.join(", ")),
    };
    let refs = json!({"wave": wave, "issues": issues}).to_string();
    let phase = phase.as_str();
    tracing::info!(target: "factory::event", phase, action = crate::state::log::vocab::WAVE, tool = "factory", status, detail, refs);
}

/// After the merge phase completed: record the merged wave, and when a later wave has tasks
/// left, make the per-wave phases pending again so the loop runs them for that wave.
fn next_wave(state: &StateDir, before: &Session) -> anyhow::Result<()> {
    let session = state
        .load_session()?
        .ok_or_else(|| RunError::NoSession(state.root().display().to_string()))?;
    let done = before.current_wave();
    let next = session.current_wave();
    if let Some(next) = next
        && Some(next) == done
    {
        // The merge phase completed without merging the whole wave: a bug, not a wave.
        anyhow::bail!(
            "the merge phase completed but wave {next} still has a pull request that did not merge; run `factory status` and merge it, then `factory run --resume`"
        );
    }
    let after = state.update_session(|s| {
        if let Some(next) = next {
            let reset: Vec<PhaseName> = WAVE_PHASES
                .into_iter()
                .filter(|p| s.route.contains(p))
                .collect();
            for p in reset {
                let st = s.phase_mut(p);
                st.status = PhaseStatus::Pending;
                st.finished_at = None;
                st.detail = Some(format!("waiting for wave {next}"));
            }
            s.rework = None;
        }
        s.sync_waves();
        s.waves.clone()
    })?;
    if let Some(w) = done.and_then(|d| after.iter().find(|w| w.wave == d)) {
        wave_event(PhaseName::Merge, w.wave, &w.issues, "ok", after.len());
    }
    Ok(())
}

fn route_text(s: &Session) -> String {
    s.route
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// A completed phase whose artifact has gone missing or no longer passes its gate is run
/// again: "completed" means completed with a valid artifact.
fn recheck_completed(
    state: &StateDir,
    workflow: &Workflow,
    session: &Session,
) -> anyhow::Result<()> {
    for phase in session.route.iter().copied() {
        if session.phase(phase).map(|p| p.status) != Some(PhaseStatus::Completed) {
            continue;
        }
        let eff = workflow.effective(session.change_class, phase, &session.id);
        if let Err(failure) = gate::check(state, &eff) {
            event(
                phase.as_str(),
                "resume",
                "rerun",
                None,
                format!(
                    "completed earlier, but its artifact does not pass now: {}",
                    failure.text()
                ),
                Some("run the phase again".into()),
            );
            state.update_session(|s| {
                let p = s.phase_mut(phase);
                p.status = PhaseStatus::Pending;
                p.detail = Some("artifact missing or invalid on resume; rerun".into());
            })?;
        }
    }
    Ok(())
}

/// What the last attempt left behind, for the escalation when retries run out.
enum LastFailure {
    Failed(String),
    Gate(gate::GateFailure),
}

/// Run one phase with its retries. `Ok(None)` when it completed.
fn run_phase(
    state: &StateDir,
    workflow: &Workflow,
    registry: &Registry,
    session: &Session,
    phase: PhaseName,
    opts: &RunOptions,
) -> anyhow::Result<Option<RunResult>> {
    let eff = workflow.effective(session.change_class, phase, &session.id);
    let resumed = session
        .phase(phase)
        .is_some_and(|p| p.status == PhaseStatus::Running);
    if resumed {
        event(
            phase.as_str(),
            "resume",
            "rerun",
            None,
            "the previous run stopped inside this phase; running it again".into(),
            None,
        );
    }
    if eff.step.as_ref().is_some_and(|s| s.approval) && !session.approvals.contains(&phase) {
        if !opts.approve {
            let detail = format!(
                "the {} route needs a human's approval before {phase} (it may change production infrastructure); once approved, run `factory run --resume --approve`",
                session.change_class
            );
            return escalate(
                state,
                phase,
                EscalationReason::ProductionInfrastructure,
                detail,
            )
            .map(Some);
        }
        state.update_session(|s| s.approvals.push(phase))?;
        event(
            phase.as_str(),
            "approve",
            "ok",
            None,
            "a human approved this step".into(),
            Some("proceed: approved with --approve".into()),
        );
    }

    let command;
    let implementation: &dyn Phase = match &eff.command {
        Some(argv) => {
            command = registry
                .command(argv)
                .ok_or(RunError::NoImplementation(phase))?;
            command.as_ref()
        }
        None => registry
            .get(phase)
            .ok_or(RunError::NoImplementation(phase))?,
    };
    let tool = eff
        .command
        .as_ref()
        .and_then(|c| c.first())
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let artifact = gate::artifact_path(state, &eff);
    if let Some(dir) = artifact.as_ref().and_then(|a| {
        if eff
            .artifact
            .as_ref()
            .is_some_and(|x| matches!(x, crate::workflow::ArtifactPath::Dir(_)))
        {
            Some(a.clone())
        } else {
            a.parent().map(|p| p.to_path_buf())
        }
    }) {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let mut retry_context: Option<String> = None;
    let mut last: Option<LastFailure> = None;
    let attempts = 1 + eff.retries;
    for attempt in 1..=attempts {
        if attempt > 1 {
            state.update_session(|s| match phase {
                PhaseName::StrategicPlan | PhaseName::TacticalPlan => {
                    s.counters.planning_retries += 1
                }
                PhaseName::Implementation => s.counters.implementation_retries += 1,
                _ => {}
            })?;
            event(
                phase.as_str(),
                "retry",
                "retry",
                tool.clone(),
                format!("attempt {attempt} of {attempts}, with the previous errors as context"),
                Some("retry: the methodology retries before escalating".into()),
            );
        }
        let mut unavailable = 0u32;
        let outcome = loop {
            let current = state.update_session(|s| {
                s.start_phase(phase);
                s.clone()
            })?;
            event(
                phase.as_str(),
                "phase_start",
                "running",
                tool.clone(),
                format!("attempt {attempt} of {attempts}"),
                None,
            );
            let started = Instant::now();
            let ctx = PhaseContext {
                state,
                session: &current,
                workflow,
                phase: &eff,
                attempt,
                retry_context: retry_context.clone(),
                artifact: artifact.clone(),
                rework: current.rework.as_ref().filter(|r| r.phase == phase),
                writes: opts.writes,
                forge: Default::default(),
            };
            let outcome = implementation.run(&ctx)?;
            let ms = started.elapsed().as_millis() as u64;
            match &outcome {
                PhaseOutcome::Unavailable { detail } => {
                    unavailable += 1;
                    event_timed(
                        phase.as_str(),
                        "phase_end",
                        "unavailable",
                        tool.clone(),
                        ms,
                        detail.clone(),
                        None,
                    );
                    if unavailable >= workflow.backoff.max_attempts {
                        let detail =
                            format!("{detail} (still unavailable after {unavailable} tries)");
                        return escalate(state, phase, EscalationReason::ToolUnavailable, detail)
                            .map(Some);
                    }
                    let wait = workflow.backoff.delay(unavailable);
                    event(
                        phase.as_str(),
                        "backoff",
                        "waiting",
                        tool.clone(),
                        format!("waiting {:.1}s before trying again", wait.as_secs_f64()),
                        None,
                    );
                    std::thread::sleep(wait);
                }
                PhaseOutcome::Done { detail } => {
                    event_timed(
                        phase.as_str(),
                        "phase_end",
                        "ok",
                        tool.clone(),
                        ms,
                        detail.clone(),
                        None,
                    );
                    break outcome;
                }
                PhaseOutcome::Failed { detail } => {
                    event_timed(
                        phase.as_str(),
                        "phase_end",
                        "failed",
                        tool.clone(),
                        ms,
                        detail.clone(),
                        None,
                    );
                    break outcome;
                }
                PhaseOutcome::SendBack { detail, .. } => {
                    event_timed(
                        phase.as_str(),
                        "phase_end",
                        "send_back",
                        tool.clone(),
                        ms,
                        detail.clone(),
                        None,
                    );
                    break outcome;
                }
                PhaseOutcome::NeedsHuman { detail, .. } => {
                    event_timed(
                        phase.as_str(),
                        "phase_end",
                        "needs_human",
                        tool.clone(),
                        ms,
                        detail.clone(),
                        None,
                    );
                    break outcome;
                }
            }
        };
        match outcome {
            PhaseOutcome::Done { detail } => match gate::check(state, &eff) {
                Ok(artifact) => {
                    if let Some(contract) = eff.gate {
                        event(
                            phase.as_str(),
                            "gate",
                            "ok",
                            Some("factory".into()),
                            format!(
                                "{} satisfies the {} contract",
                                artifact.as_deref().unwrap_or(""),
                                contract.name()
                            ),
                            None,
                        );
                    }
                    let done = state.update_session(|s| {
                        s.finish_phase(phase, PhaseStatus::Completed, artifact.clone());
                        s.phase_mut(phase).detail = Some(detail.clone());
                        if phase == PhaseName::CodeReview {
                            s.count_review_round();
                        }
                        if s.rework.as_ref().is_some_and(|r| r.phase == phase) {
                            s.rework = None;
                        }
                        s.clone()
                    })?;
                    if phase == PhaseName::StrategicPlan {
                        raise::after_planning(state, workflow, &done)?;
                    }
                    return Ok(None);
                }
                Err(failure) => {
                    let status = if failure.contract_invalid {
                        "invalid"
                    } else {
                        "missing"
                    };
                    event(
                        phase.as_str(),
                        "gate",
                        status,
                        Some("factory".into()),
                        failure.text(),
                        Some("retry with the violations as context".into()),
                    );
                    state.update_session(|s| {
                        s.finish_phase(phase, PhaseStatus::Failed, None);
                        s.phase_mut(phase).detail = Some(first_line(&failure.text(), 300));
                    })?;
                    retry_context = Some(format!(
                        "The output of phase {phase} did not pass its gate:\n{}",
                        failure.text()
                    ));
                    last = Some(LastFailure::Gate(failure));
                }
            },
            PhaseOutcome::Failed { detail } => {
                state.update_session(|s| {
                    s.finish_phase(phase, PhaseStatus::Failed, None);
                    s.phase_mut(phase).detail = Some(first_line(&detail, 300));
                })?;
                retry_context = Some(format!(
                    "The previous attempt of phase {phase} failed:\n{detail}"
                ));
                last = Some(LastFailure::Failed(detail));
            }
            PhaseOutcome::SendBack {
                to,
                detail,
                issues,
                why,
            } => {
                return send_back(
                    state,
                    workflow,
                    session,
                    SendBack {
                        from: phase,
                        to,
                        detail,
                        issues,
                        why,
                    },
                );
            }
            PhaseOutcome::NeedsHuman { reason, detail } => {
                if phase == PhaseName::CodeReview && reason == EscalationReason::ReviewCycleLimit {
                    state.update_session(|s| s.counters.review_cycles += 1)?;
                }
                return escalate(state, phase, reason, detail).map(Some);
            }
            PhaseOutcome::Unavailable { .. } => unreachable!("unavailable attempts loop above"),
        }
    }
    let (reason, detail) = match last {
        Some(LastFailure::Gate(f)) if f.contract_invalid => {
            (EscalationReason::ContractInvalid, f.text())
        }
        Some(LastFailure::Gate(f)) => (fail_reason(phase), f.text()),
        Some(LastFailure::Failed(d)) => (fail_reason(phase), d),
        None => (fail_reason(phase), "no attempt was made".into()),
    };
    let detail = format!("after {attempts} attempt(s): {detail}");
    escalate(state, phase, reason, detail).map(Some)
}

/// Work a phase sends back.
struct SendBack {
    from: PhaseName,
    to: PhaseName,
    detail: String,
    issues: Vec<u64>,
    why: SendBackReason,
}

/// A phase sent work back to an earlier one: count it against its limit (review cycles of the
/// wave for requested changes; implementation retries for a conflict), then either escalate at
/// the limit or reset `to` and everything after it to pending with the rework recorded, so the
/// run loop picks `to` up next.
fn send_back(
    state: &StateDir,
    workflow: &Workflow,
    session: &Session,
    back: SendBack,
) -> anyhow::Result<Option<RunResult>> {
    let SendBack {
        from,
        to,
        detail,
        issues,
        why,
    } = back;
    let pos = |p: PhaseName| session.route.iter().position(|q| *q == p);
    let (Some(to_pos), Some(from_pos)) = (pos(to), pos(from)) else {
        anyhow::bail!(
            "phase {from} sent work back to {to}, which is not in the {} route ({})",
            session.change_class,
            route_text(session)
        );
    };
    if to_pos >= from_pos {
        anyhow::bail!("phase {from} can only send work back to an earlier phase, not to {to}");
    }
    let (count, limit, what) = match why {
        SendBackReason::ChangesRequested => {
            let limit = workflow.limits.max_review_cycles;
            let cycle = state.update_session(Session::count_review_round)?;
            if cycle >= limit {
                let detail = format!(
                    "review cycle {cycle} of {limit} still requests changes; a person must decide how to go on:\n{detail}"
                );
                return escalate(state, from, EscalationReason::ReviewCycleLimit, detail).map(Some);
            }
            (cycle, limit, "review cycle")
        }
        SendBackReason::Conflict | SendBackReason::DiffChanged => {
            let retries = workflow
                .effective(session.change_class, PhaseName::Implementation, &session.id)
                .retries;
            let limit = retries + 1;
            let count = state.update_session(|s| {
                if why == SendBackReason::Conflict {
                    s.counters.implementation_retries += 1;
                }
                s.count_merge_return()
            })?;
            if count > limit {
                let reason = if why == SendBackReason::Conflict {
                    EscalationReason::ImplementationFailed
                } else {
                    EscalationReason::PhaseFailed
                };
                let detail = format!(
                    "bringing the pull requests up to date went back to {to} {count} times (limit {limit}: implementation retries + 1); a person must decide how to go on:\n{detail}"
                );
                return escalate(state, from, reason, detail).map(Some);
            }
            (
                count,
                limit,
                if why == SendBackReason::Conflict {
                    "conflict with the base"
                } else {
                    "update of the base"
                },
            )
        }
    };
    let cycle = match why {
        SendBackReason::ChangesRequested => count,
        _ => session.counters.review_cycles.max(1),
    };
    let reset: Vec<PhaseName> = session.route[to_pos..=from_pos].to_vec();
    state.update_session(|s| {
        for p in &reset {
            let st = s.phase_mut(*p);
            st.status = PhaseStatus::Pending;
            st.finished_at = None;
        }
        s.phase_mut(from).detail = Some(first_line(&detail, 300));
        s.rework = Some(crate::state::Rework {
            phase: to,
            from,
            cycle,
            detail: detail.clone(),
            issues: issues.clone(),
            conflict: why == SendBackReason::Conflict,
        });
    })?;
    let only = if issues.is_empty() {
        String::new()
    } else {
        format!(
            " for {}",
            issues
                .iter()
                .map(|n| format!("#{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let said = match why {
        SendBackReason::ChangesRequested => "requested changes",
        SendBackReason::Conflict => "conflicts",
        SendBackReason::DiffChanged => "changed the diff",
    };
    event(
        from.as_str(),
        "send_back",
        "rework",
        Some("factory".into()),
        format!("{what} {count} of {limit} {said}; {to} runs again{only}"),
        Some(format!("rework: {}", first_line(&detail, 300))),
    );
    Ok(None)
}

fn fail_reason(phase: PhaseName) -> EscalationReason {
    if phase == PhaseName::Implementation {
        EscalationReason::ImplementationFailed
    } else {
        EscalationReason::PhaseFailed
    }
}

/// Stop the pipeline for a human: the record goes to session.json, the log and REPORT.md.
fn escalate(
    state: &StateDir,
    phase: PhaseName,
    reason: EscalationReason,
    detail: String,
) -> anyhow::Result<RunResult> {
    state.update_session(|s| s.escalate(reason, phase, detail.clone()))?;
    event(
        phase.as_str(),
        "escalate",
        "needs_human",
        Some("factory".into()),
        detail.clone(),
        Some(format!("{reason}: {}", reason.describe())),
    );
    crate::report::write(state)?;
    Ok(RunResult::NeedsHuman {
        phase,
        reason,
        detail,
    })
}

/// Clear the escalation of the current session after a human dealt with it; the phase that
/// escalated runs again on the next `factory run --resume`.
pub fn acknowledge(state: &StateDir) -> anyhow::Result<Option<(PhaseName, EscalationReason)>> {
    let cleared = state.update_session(|s| {
        let e = s.escalation.take()?;
        let p = s.phase_mut(e.phase);
        if p.status == PhaseStatus::Escalated {
            p.status = PhaseStatus::Pending;
        }
        if e.reason == EscalationReason::RecurrenceLimit {
            s.counters.recurrence = 0;
        }
        Some((e.phase, e.reason))
    })?;
    if let Some((phase, reason)) = cleared {
        event(
            phase.as_str(),
            "acknowledge",
            "ok",
            None,
            format!("a human cleared the {reason} escalation"),
            Some("resume the pipeline".into()),
        );
    }
    Ok(cleared)
}

fn event(
    phase: &str,
    action: &str,
    status: &str,
    tool: Option<String>,
    detail: String,
    decision: Option<String>,
) {
    let tool = tool.unwrap_or_else(|| "factory".into());
    match decision {
        Some(decision) => {
            tracing::info!(target: "factory::event", phase, action, tool, status, detail, decision)
        }
        None => tracing::info!(target: "factory::event", phase, action, tool, status, detail),
    }
}

fn event_timed(
    phase: &str,
    action: &str,
    status: &str,
    tool: Option<String>,
    duration_ms: u64,
    detail: String,
    refs: Option<serde_json::Value>,
) {
    let tool = tool.unwrap_or_else(|| "factory".into());
    let refs = refs.unwrap_or_else(|| json!({})).to_string();
    tracing::info!(target: "factory::event", phase, action, tool, status, duration_ms, detail, refs);
}
