//! The `Phase` trait every phase implements, the context an attempt runs with, and the registry
//! the runner is handed.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::forge::deferred::Writes;
use crate::forge::{Forge, ForgeError};
use crate::state::{EscalationReason, Rework, Session, StateDir};
use crate::workflow::{EffectivePhase, PhaseName, Workflow};

/// What a phase gets to work with for one attempt.
pub struct PhaseContext<'a> {
    pub state: &'a StateDir,
    pub session: &'a Session,
    pub workflow: &'a Workflow,
    pub phase: &'a EffectivePhase,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The errors of the previous attempt (a failed run or a contract violation), for the phase
    /// to correct itself with.
    pub retry_context: Option<String>,
    /// Where the phase writes its output (absolute), when it has one.
    pub artifact: Option<PathBuf>,
    /// Work a later phase sent back to this one (review findings to address), when this run
    /// is a rework rather than the first pass.
    pub rework: Option<&'a Rework>,
    /// How this run writes to the forge (`--defer-writes`, `FACTORY_WRITES`).
    pub writes: Writes,
    /// The forge of this attempt, opened on first use by [`PhaseContext::forge`].
    pub forge: OnceCell<Box<dyn Forge>>,
}

impl PhaseContext<'_> {
    /// The forge this attempt reads and writes through: opened once, on first use, for the
    /// session's repository, in the run's write mode (deferred writes are named after this
    /// phase), behind the safe-outputs policy.
    pub fn forge(&self) -> Result<&dyn Forge, ForgeError> {
        if let Some(forge) = self.forge.get() {
            return Ok(forge.as_ref());
        }
        let forge = crate::forge::select::open(
            self.state,
            &self.state.repo(),
            self.writes,
            self.phase.phase.as_str(),
        )?;
        Ok(self.forge.get_or_init(|| forge).as_ref())
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseOutcome {
    /// The phase did its work; its artifact (if any) is checked next.
    Done { detail: String },
    /// The phase failed; it is retried with `detail` as context while retries remain.
    Failed { detail: String },
    /// A tool the phase needs is unavailable; retried on the backoff schedule.
    Unavailable { detail: String },
    /// The phase judged earlier work and wants it redone: the engine counts it against the
    /// limit of its [`SendBackReason`], then runs `to` again (and every phase after it) with
    /// `detail` as [`PhaseContext::rework`], or escalates when the limit is reached.
    SendBack {
        to: PhaseName,
        detail: String,
        /// The issues to redo; the others keep their work. Empty: every issue of the wave
        /// whose pull request is not approved.
        issues: Vec<u64>,
        why: SendBackReason,
    },
    /// The phase found something a person must decide; the pipeline stops.
    NeedsHuman {
        reason: EscalationReason,
        detail: String,
    },
}

/// Why work goes back to an earlier phase; each is counted against its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackReason {
    /// A review requested changes: one review cycle (`limits.max_review_cycles`).
    ChangesRequested,
    /// Bringing a pull request up to date with its base conflicts: implementation runs again
    /// on the merged branch with the conflict as context; one implementation retry.
    Conflict,
    /// The update changed the pull request's own diff: its approval no longer covers what
    /// would merge, so it is reviewed again.
    DiffChanged,
}

/// One phase of the pipeline.
pub trait Phase {
    /// Run one attempt. Errors are for the environment (cannot spawn, cannot write state), not
    /// for a phase that did its job badly: that is [`PhaseOutcome::Failed`].
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome>;
}

/// Makes the phase that runs a `command` given in workflow.yaml.
pub type CommandPhaseFactory = fn(Vec<String>) -> Box<dyn Phase>;

/// The phases the runner can run, by name, and how a phase given a `command` in workflow.yaml
/// runs that program instead. The runner is handed a registry (`crate::phases::builtin()` for
/// the phases this build implements) and knows no phase itself.
#[derive(Default)]
pub struct Registry {
    phases: BTreeMap<PhaseName, Box<dyn Phase>>,
    command: Option<CommandPhaseFactory>,
}

impl Registry {
    pub fn register(&mut self, name: PhaseName, phase: Box<dyn Phase>) {
        self.phases.insert(name, phase);
    }

    /// How phases with a `command` run.
    pub fn register_command(&mut self, factory: CommandPhaseFactory) {
        self.command = Some(factory);
    }

    pub fn get(&self, name: PhaseName) -> Option<&dyn Phase> {
        self.phases.get(&name).map(|b| b.as_ref())
    }

    /// The phase that runs `argv`, when this registry runs commands.
    pub fn command(&self, argv: &[String]) -> Option<Box<dyn Phase>> {
        self.command.map(|make| make(argv.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{ChangeClass, Trigger, load};

    #[test]
    fn a_phase_without_an_implementation_says_how_to_provide_one() {
        // Every phase of this build is built in; a registry without one shows the message.
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join(".factory"));
        state.ensure().unwrap();
        let workflow = load::default_workflow();
        let session = Session::new(
            "Checkout returns 500".into(),
            ChangeClass::Hotfix,
            Trigger::User,
            vec![PhaseName::Implementation, PhaseName::CodeReview],
        );
        state.save_new_session(&session).unwrap();
        let err =
            crate::pipeline::run(&state, &workflow, &Registry::default(), &Default::default())
                .unwrap_err()
                .to_string();
        assert!(err.contains("phases.implementation.command"), "{err}");
    }
}
