//! `session.json`: the state of one pipeline run, as Rust types that round-trip through the
//! `session` contract (schemas/session.schema.json).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::workflow::{ChangeClass, PhaseName, Trigger};

/// The contract version this code writes.
pub const SCHEMA_VERSION: &str = "1.0";

/// The current time, rounded to milliseconds: precise enough for durations, short in JSON.
pub fn now() -> Timestamp {
    let ts = Timestamp::now();
    ts.round(jiff::Unit::Millisecond).unwrap_or(ts)
}

/// One pipeline run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Session {
    pub schema_version: String,
    pub id: String,
    /// The request as received: untrusted data.
    pub request: String,
    pub change_class: ChangeClass,
    pub trigger: Trigger,
    pub route: Vec<PhaseName>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub phases: BTreeMap<PhaseName, PhaseState>,
    #[serde(default)]
    pub issues: Vec<IssueRef>,
    #[serde(default)]
    pub pull_requests: Vec<PullRequestRef>,
    #[serde(default)]
    pub counters: Counters,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// Route steps a human approved (`factory run --resume --approve`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<PhaseName>,
    /// The cost ledger: one entry per agent call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<UsageEntry>,
    /// Work a later phase sent back (a review that requested changes), for the phase that
    /// runs it again; cleared when that phase completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rework: Option<Rework>,
    /// The waves of the strategic plan, in order: phases 4–7 run once per wave, and a wave's
    /// branches are cut from the default branch after the previous wave merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<WaveState>,
    /// Times the merge phase sent work back in a session without waves (see
    /// [`WaveState::merge_returns`]).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub merge_returns: u32,
    /// What happened to the class after intake: a raise after planning, a contradicted
    /// explicit class.
    #[serde(default, skip_serializing_if = "ClassNotes::is_empty")]
    pub classification: ClassNotes,
}

/// What happened to the change class after intake.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ClassNotes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised: Option<ClassRaise>,
    /// An explicit class lighter than the request's evidence, and what the evidence says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
}

impl ClassNotes {
    pub fn is_empty(&self) -> bool {
        self.raised.is_none() && self.contradiction.is_none()
    }
}

/// The class raised after planning: tasks of the plan have infrastructure in their scope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClassRaise {
    pub from: ChangeClass,
    pub to: ChangeClass,
    /// `task-id: path (kind)`.
    pub paths: Vec<String>,
    pub at: Timestamp,
}

/// Where one wave of the plan stands.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WaveState {
    pub wave: u32,
    pub status: WaveStatus,
    /// The task issues of the wave.
    pub issues: Vec<u64>,
    /// Review rounds run for this wave (the code_review phase's runs); a send-back is
    /// checked against `limits.max_review_cycles` per wave, not per session.
    #[serde(default)]
    pub review_rounds: u32,
    /// Times the merge phase sent work back (a conflict with the base, or an update that
    /// changed a pull request's diff): bounded by the implementation retries.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub merge_returns: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
}

/// The life cycle of a wave.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum WaveStatus {
    /// An earlier wave has not merged yet.
    #[default]
    Pending,
    /// Its tasks are being planned, implemented, reviewed or merged.
    Running,
    /// Every task's pull request merged.
    Merged,
}

impl WaveState {
    /// The short form scripts and views show: number, status and issues.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({"wave": self.wave, "status": self.status.as_str(), "issues": self.issues})
    }
}

impl WaveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaveStatus::Pending => "pending",
            WaveStatus::Running => "running",
            WaveStatus::Merged => "merged",
        }
    }
}

/// Work sent back to an earlier phase: what to redo and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Rework {
    /// The phase that runs again.
    pub phase: PhaseName,
    /// The phase that sent the work back.
    pub from: PhaseName,
    /// The review cycle that asked for it (1 for the first review).
    pub cycle: u32,
    /// What to change, for the agent (the findings of the review).
    pub detail: String,
    /// The issues the rework is for; the others keep their work (and their approvals).
    /// Empty: every issue whose pull request is not approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<u64>,
    /// The branch conflicts with the updated base: the issue's branch is merged with the base
    /// first and the agent resolves the conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
}

/// Tokens and cost of one agent call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UsageEntry {
    pub phase: String,
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    /// Reasoning tokens, where the CLI reports them (Codex); part of `output_tokens`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_tokens: u64,
    /// None when neither the CLI nor the price table gives a cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// Where one phase is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct PhaseState {
    pub status: PhaseStatus,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// Path relative to `.factory/artifacts/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The life cycle of a phase.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
    Skipped,
    Escalated,
}

impl PhaseStatus {
    pub const ALL: [PhaseStatus; 6] = [
        PhaseStatus::Pending,
        PhaseStatus::Running,
        PhaseStatus::Completed,
        PhaseStatus::Failed,
        PhaseStatus::Skipped,
        PhaseStatus::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Pending => "pending",
            PhaseStatus::Running => "running",
            PhaseStatus::Completed => "completed",
            PhaseStatus::Failed => "failed",
            PhaseStatus::Skipped => "skipped",
            PhaseStatus::Escalated => "escalated",
        }
    }

    /// Completed or skipped: a resumed run moves past it.
    pub fn is_done(self) -> bool {
        matches!(self, PhaseStatus::Completed | PhaseStatus::Skipped)
    }
}

crate::workflow::display_and_parse!(PhaseStatus, "phase status");

/// An issue created for a task of this session.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct IssueRef {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The wave of the plan the task sits in (none for an inline issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
}

/// A pull request opened by this session.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct PullRequestRef {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
    #[serde(default)]
    pub merged: bool,
    /// The review cycle of this pull request's latest review (0: not reviewed yet).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub review_cycle: u32,
    /// SHA-256 of the diff its latest review saw: a pull request whose diff is unchanged keeps
    /// that review's verdict instead of being reviewed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_diff: Option<String>,
    /// The head commit the latest review judged, where the forge reports heads (GitHub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_head: Option<String>,
}

/// Counters the workflow limits are checked against.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    #[serde(default)]
    pub review_cycles: u32,
    #[serde(default)]
    pub implementation_retries: u32,
    #[serde(default)]
    pub planning_retries: u32,
    #[serde(default)]
    pub recurrence: u32,
}

/// Why and where the pipeline stopped for a human.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Escalation {
    pub reason: EscalationReason,
    pub phase: PhaseName,
    pub at: Timestamp,
    pub detail: String,
}

/// The reasons the pipeline hands over to a human (`needs-human`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum EscalationReason {
    ContractInvalid,
    CriticalFinding,
    ImplementationFailed,
    PhaseFailed,
    ScopeDecision,
    RecurrenceLimit,
    ProductionInfrastructure,
    ToolUnavailable,
    BudgetExceeded,
    ReviewCycleLimit,
}

impl EscalationReason {
    pub const ALL: [EscalationReason; 10] = [
        EscalationReason::ContractInvalid,
        EscalationReason::CriticalFinding,
        EscalationReason::ImplementationFailed,
        EscalationReason::PhaseFailed,
        EscalationReason::ScopeDecision,
        EscalationReason::RecurrenceLimit,
        EscalationReason::ProductionInfrastructure,
        EscalationReason::ToolUnavailable,
        EscalationReason::BudgetExceeded,
        EscalationReason::ReviewCycleLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::ContractInvalid => "contract-invalid",
            EscalationReason::CriticalFinding => "critical-finding",
            EscalationReason::ImplementationFailed => "implementation-failed",
            EscalationReason::PhaseFailed => "phase-failed",
            EscalationReason::ScopeDecision => "scope-decision",
            EscalationReason::RecurrenceLimit => "recurrence-limit",
            EscalationReason::ProductionInfrastructure => "production-infrastructure",
            EscalationReason::ToolUnavailable => "tool-unavailable",
            EscalationReason::BudgetExceeded => "budget-exceeded",
            EscalationReason::ReviewCycleLimit => "review-cycle-limit",
        }
    }

    /// One sentence for people: what went wrong, phrased as what the human must look at.
    pub fn describe(self) -> &'static str {
        match self {
            EscalationReason::ContractInvalid => "a phase output failed its contract",
            EscalationReason::CriticalFinding => "a critical finding blocks the change",
            EscalationReason::ImplementationFailed => "implementation failed after its retries",
            EscalationReason::PhaseFailed => "a phase failed after its retries",
            EscalationReason::ScopeDecision => "the change needs a scope decision",
            EscalationReason::RecurrenceLimit => "the problem recurred past the limit",
            EscalationReason::ProductionInfrastructure => {
                "the change touches production infrastructure"
            }
            EscalationReason::ToolUnavailable => "a required tool is unavailable",
            EscalationReason::BudgetExceeded => "the session went over its budget",
            EscalationReason::ReviewCycleLimit => {
                "the review still requests changes after the last allowed cycle"
            }
        }
    }
}

crate::workflow::display_and_parse!(EscalationReason, "escalation reason");

impl Session {
    /// A fresh session: new id, intake and every route phase pending.
    pub fn new(
        request: String,
        class: ChangeClass,
        trigger: Trigger,
        route: Vec<PhaseName>,
    ) -> Session {
        let at = now();
        let mut phases = BTreeMap::new();
        phases.insert(PhaseName::Intake, PhaseState::default());
        for p in &route {
            phases.insert(*p, PhaseState::default());
        }
        Session {
            schema_version: SCHEMA_VERSION.to_string(),
            id: Session::new_id(),
            request,
            change_class: class,
            trigger,
            route,
            created_at: at,
            updated_at: at,
            phases,
            issues: Vec::new(),
            pull_requests: Vec::new(),
            counters: Counters::default(),
            escalation: None,
            approvals: Vec::new(),
            usage: Vec::new(),
            rework: None,
            waves: Vec::new(),
            merge_returns: 0,
            classification: ClassNotes::default(),
        }
    }

    /// A sortable, unique id: UTC time to the second plus 24 random bits,
    /// e.g. `20261129T235500Z-3f9a1c`.
    pub fn new_id() -> String {
        let time = Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        format!("{time}-{}", random_hex(3))
    }

    pub fn phase(&self, p: PhaseName) -> Option<&PhaseState> {
        self.phases.get(&p)
    }

    /// The phase's state, created pending if the session has none yet.
    pub fn phase_mut(&mut self, p: PhaseName) -> &mut PhaseState {
        self.phases.entry(p).or_default()
    }

    /// The first route phase that is neither completed nor skipped.
    pub fn next_phase(&self) -> Option<PhaseName> {
        self.route
            .iter()
            .copied()
            .find(|p| !self.phase(*p).is_some_and(|s| s.status.is_done()))
    }

    /// Mark a phase running and count the attempt.
    pub fn start_phase(&mut self, p: PhaseName) {
        let state = self.phase_mut(p);
        state.status = PhaseStatus::Running;
        state.attempts += 1;
        state.started_at = Some(now());
        state.finished_at = None;
    }

    /// Record how a phase attempt ended.
    pub fn finish_phase(&mut self, p: PhaseName, status: PhaseStatus, artifact: Option<String>) {
        let state = self.phase_mut(p);
        state.status = status;
        state.finished_at = Some(now());
        if artifact.is_some() {
            state.artifact = artifact;
        }
    }

    /// The wave being worked on: the earliest wave with a task whose pull request has not
    /// merged. `None` when the session has no waves (an inline issue) or all merged.
    pub fn current_wave(&self) -> Option<u32> {
        self.issues
            .iter()
            .filter(|i| i.task_id.is_some())
            .filter(|i| {
                !self
                    .pull_requests
                    .iter()
                    .any(|p| p.merged && p.issue == Some(i.number))
            })
            .filter_map(|i| i.wave)
            .min()
    }

    /// Whether the phases of the current wave work on `issue`: always when the session has no
    /// waves; an issue of no wave (a pull request opened by hand) belongs to every wave.
    pub fn in_current_wave(&self, issue: Option<u64>) -> bool {
        let Some(current) = self.current_wave() else {
            return true;
        };
        match issue.and_then(|n| self.issues.iter().find(|i| i.number == n)) {
            Some(i) => i.wave.is_none_or(|w| w == current),
            None => true,
        }
    }

    /// The record of the current wave, when the session has waves.
    pub fn current_wave_mut(&mut self) -> Option<&mut WaveState> {
        let current = self.current_wave()?;
        self.waves.iter_mut().find(|w| w.wave == current)
    }

    /// Count one review round: in the session's total and in the current wave's rounds. The
    /// count the review-cycle limit is checked against: the wave's, else the session's.
    pub fn count_review_round(&mut self) -> u32 {
        self.counters.review_cycles += 1;
        match self.current_wave_mut() {
            Some(w) => {
                w.review_rounds += 1;
                w.review_rounds
            }
            None => self.counters.review_cycles,
        }
    }

    /// Count one return from merge to an earlier phase, in the current wave (else the
    /// session); the count.
    pub fn count_merge_return(&mut self) -> u32 {
        match self.current_wave_mut() {
            Some(w) => {
                w.merge_returns += 1;
                w.merge_returns
            }
            None => {
                self.merge_returns += 1;
                self.merge_returns
            }
        }
    }

    /// Bring `waves` in line with the issues and pull requests: one entry per wave of the task
    /// issues, merged when all its pull requests merged, the current one running.
    pub fn sync_waves(&mut self) {
        let mut numbers: Vec<u32> = self.issues.iter().filter_map(|i| i.wave).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let current = self.current_wave();
        let at = now();
        for n in numbers {
            let issues: Vec<u64> = self
                .issues
                .iter()
                .filter(|i| i.wave == Some(n))
                .map(|i| i.number)
                .collect();
            let status = match current {
                Some(c) if c == n => WaveStatus::Running,
                Some(c) if n > c => WaveStatus::Pending,
                _ => WaveStatus::Merged,
            };
            let entry = match self.waves.iter_mut().position(|w| w.wave == n) {
                Some(i) => &mut self.waves[i],
                None => {
                    self.waves.push(WaveState {
                        wave: n,
                        status: WaveStatus::Pending,
                        issues: Vec::new(),
                        review_rounds: 0,
                        merge_returns: 0,
                        started_at: None,
                        finished_at: None,
                    });
                    self.waves.last_mut().expect("pushed")
                }
            };
            entry.issues = issues;
            if status != WaveStatus::Pending && entry.started_at.is_none() {
                entry.started_at = Some(at);
            }
            if status == WaveStatus::Merged && entry.finished_at.is_none() {
                entry.finished_at = Some(at);
            }
            entry.status = status;
        }
        self.waves.sort_by_key(|w| w.wave);
    }

    /// Stop for a human: the phase becomes `escalated` and the reason is recorded.
    pub fn escalate(&mut self, reason: EscalationReason, phase: PhaseName, detail: String) {
        let at = now();
        let state = self.phase_mut(phase);
        state.status = PhaseStatus::Escalated;
        state.finished_at = Some(at);
        self.escalation = Some(Escalation {
            reason,
            phase,
            at,
            detail,
        });
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// `n` random bytes from the operating system as lower-case hex. Falls back to time and
/// process id mixed through SHA-256 if the OS source fails (ids must still be made).
fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if getrandom::fill(&mut buf).is_err() {
        use sha2::{Digest, Sha256};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut h = Sha256::new();
        h.update(Timestamp::now().as_nanosecond().to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let digest = h.finalize();
        buf.copy_from_slice(&digest[..n]);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{self, Contract};

    fn sample() -> Session {
        Session::new(
            "Add rate limiting\nto login".into(),
            ChangeClass::Feature,
            Trigger::User,
            PhaseName::ALL.to_vec(),
        )
    }

    #[test]
    fn id_is_time_then_six_hex_digits() {
        let id = Session::new_id();
        let re = regex::Regex::new(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$").unwrap();
        assert!(re.is_match(&id), "{id}");
        let ids: std::collections::HashSet<String> = (0..200).map(|_| Session::new_id()).collect();
        assert_eq!(ids.len(), 200, "ids collide");
    }

    #[test]
    fn a_new_session_satisfies_its_contract_and_round_trips() {
        let mut s = sample();
        s.start_phase(PhaseName::Intake);
        s.finish_phase(
            PhaseName::Intake,
            PhaseStatus::Completed,
            Some("intake.json".into()),
        );
        s.issues.push(IssueRef {
            number: 12,
            task_id: Some("task-001".into()),
            branch: None,
            ..Default::default()
        });
        s.pull_requests.push(PullRequestRef {
            number: 13,
            issue: Some(12),
            merged: false,
            ..Default::default()
        });
        s.escalate(
            EscalationReason::ToolUnavailable,
            PhaseName::StrategicPlan,
            "gh missing".into(),
        );
        let value = serde_json::to_value(&s).unwrap();
        let violations = contracts::validate(Contract::Session, &value, Default::default());
        assert!(violations.is_empty(), "{violations:?}");
        let back: Session = serde_json::from_value(value).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn schema_rejects_what_the_types_would_not_write() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["phases"]["intake"]["status"] = "done".into();
        value["id"] = "../../etc".into();
        let v = contracts::validate(Contract::Session, &value, Default::default());
        let pointers: Vec<&str> = v.iter().map(|v| v.pointer.as_str()).collect();
        assert!(pointers.contains(&"/phases/intake/status"), "{pointers:?}");
        assert!(pointers.contains(&"/id"), "{pointers:?}");
    }

    #[test]
    fn next_phase_skips_done_phases_in_route_order() {
        let mut s = sample();
        assert_eq!(s.next_phase(), Some(PhaseName::Intake));
        s.phase_mut(PhaseName::Intake).status = PhaseStatus::Completed;
        s.phase_mut(PhaseName::StrategicPlan).status = PhaseStatus::Skipped;
        s.phase_mut(PhaseName::IssueCreation).status = PhaseStatus::Failed;
        assert_eq!(s.next_phase(), Some(PhaseName::IssueCreation));
        for p in PhaseName::ALL {
            s.phase_mut(p).status = PhaseStatus::Completed;
        }
        assert_eq!(s.next_phase(), None);
    }

    #[test]
    fn escalation_reasons_match_the_schema_enum() {
        let schema: serde_json::Value =
            serde_json::from_str(Contract::Session.schema_text()).unwrap();
        let names = &schema["properties"]["escalation"]["properties"]["reason"]["enum"];
        let listed: Vec<&str> = names
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = EscalationReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(listed, ours);
        for r in EscalationReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(r.as_str().parse::<EscalationReason>().unwrap(), r);
        }
    }
}
