//! The typed model of `workflow.yaml`, after the default and the override are merged and the
//! result has passed `schemas/workflow.schema.json`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ChangeClass, PhaseName};
use crate::contracts::Contract;

/// The whole pipeline definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub version: u32,
    pub routes: BTreeMap<ChangeClass, Vec<RouteStep>>,
    #[serde(default)]
    pub phases: BTreeMap<PhaseName, PhaseConfig>,
    pub limits: Limits,
    pub backoff: Backoff,
    #[serde(default)]
    pub agents: Agents,
    #[serde(default, skip_serializing_if = "Budget::is_unset")]
    pub budget: Budget,
    /// The safe-outputs policy every forge write passes through (docs/security.md).
    #[serde(default)]
    pub outputs: Outputs,
    /// How intake chooses the change class (docs/intake.md).
    #[serde(default, skip_serializing_if = "IntakeConfig::is_default")]
    pub intake: IntakeConfig,
    /// How long the GitHub forge may wait on GitHub (docs/forge.md).
    #[serde(default)]
    pub forge: ForgeConfig,
    /// The dependency audit of every review (docs/review.md).
    #[serde(default)]
    pub audit: AuditConfig,
}

/// `audit:` in workflow.yaml: where the review's dependency audit looks up advisories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    #[serde(default)]
    pub source: AuditMode,
    /// Base URL of the OSV API.
    #[serde(default = "default_osv_url")]
    pub osv_url: String,
    /// An OSV database export (relative to the repository root): the fallback of `auto`, the
    /// source of `offline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_db: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> AuditConfig {
        AuditConfig {
            source: AuditMode::default(),
            osv_url: default_osv_url(),
            offline_db: None,
        }
    }
}

/// The public OSV API.
fn default_osv_url() -> String {
    "https://api.osv.dev".to_string()
}

/// `audit.source`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditMode {
    /// OSV when it answers, else the offline database, else a visible "unavailable".
    #[default]
    Auto,
    /// The OSV API; the review fails when OSV cannot be reached.
    Osv,
    /// The offline database only (`offline_db` is required).
    Offline,
    /// No dependency audit.
    Off,
}

/// `forge:` in workflow.yaml: what the forge may spend waiting out GitHub's rate limits and
/// server errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeConfig {
    /// Seconds of waiting on GitHub one forge may spend (one is opened per phase attempt, and
    /// per command); a wait that would go over it stops the phase with exit 2.
    #[serde(default = "default_time_budget_seconds")]
    pub time_budget_seconds: u64,
}

impl Default for ForgeConfig {
    fn default() -> ForgeConfig {
        ForgeConfig {
            time_budget_seconds: default_time_budget_seconds(),
        }
    }
}

impl ForgeConfig {
    /// `time_budget_seconds` as a duration.
    pub fn time_budget(&self) -> Duration {
        Duration::from_secs(self.time_budget_seconds)
    }
}

/// Fifteen minutes: room for a few secondary-limit backoffs (60 s, 120 s, 240 s, ...) but not
/// for an hour-long primary reset, which is better met by running again later.
fn default_time_budget_seconds() -> u64 {
    900
}

/// `intake:` in workflow.yaml.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    #[serde(default)]
    pub classifier: ClassifierMode,
}

impl IntakeConfig {
    fn is_default(&self) -> bool {
        *self == IntakeConfig::default()
    }
}

/// Who chooses the change class when `--class` is not given. Whoever does, the deterministic
/// floor holds: infrastructure evidence is never below risky-infra, outage evidence never below
/// hotfix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierMode {
    /// The deterministic classifier alone: offline, explainable, no agent call.
    #[default]
    Deterministic,
    /// The planner agent classifies every request.
    Agent,
    /// The planner is asked only when the deterministic confidence is low.
    Auto,
}

/// The safe-outputs policy: what factory may write to the forge, and what an implementation
/// may change. Enforced by [`crate::forge::safe::SafeForge`] and the implementation phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Labels allowed besides the ones factory uses itself (task, parent, incident, regression,
    /// needs-human, class:*, wave:*).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Task issues one plan may open (the parent issue is not counted).
    #[serde(default = "default_max_issues_per_plan")]
    pub max_issues_per_plan: u32,
    /// Comments one factory process (one `factory run`, one command) may post or update.
    #[serde(default = "default_max_comments_per_run")]
    pub max_comments_per_run: u32,
    /// Inline comments one pull-request review may carry.
    #[serde(default = "default_max_inline_comments_per_review")]
    pub max_inline_comments_per_review: u32,
    /// The least severe finding that gets an inline comment; less severe findings are listed
    /// in the review's summary comment only (docs/review.md).
    #[serde(default = "default_inline_min_severity")]
    pub inline_min_severity: InlineSeverity,
    /// Characters of an issue or pull request title.
    #[serde(default = "default_max_title_chars")]
    pub max_title_chars: u32,
    /// Characters of an issue or pull request body.
    #[serde(default = "default_max_body_chars")]
    pub max_body_chars: u32,
    /// Characters of a comment.
    #[serde(default = "default_max_comment_chars")]
    pub max_comment_chars: u32,
    /// Users (`octocat`) and teams (`acme/reviewers`) that may be @-mentioned; none by default.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Hosts links may point to besides the forge's own (subdomains included).
    #[serde(default)]
    pub link_hosts: Vec<String>,
    /// What an implementation may change.
    #[serde(default)]
    pub paths: OutputPaths,
    /// Branches `factory apply` may push, as globs; empty: the branch naming rule
    /// (`{fix|feat|refactor|infra}/#<issue>-<slug>`, naming the artifact's issue).
    #[serde(default)]
    pub branches: Vec<String>,
}

/// A review finding's severity, least severe first (`outputs.inline_min_severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InlineSeverity {
    Advisory,
    Important,
    Critical,
}

impl InlineSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            InlineSeverity::Advisory => "advisory",
            InlineSeverity::Important => "important",
            InlineSeverity::Critical => "critical",
        }
    }

    /// The severity of a review finding's `severity` text (unknown text counts as advisory).
    pub fn of(text: &str) -> InlineSeverity {
        match text {
            "critical" => InlineSeverity::Critical,
            "important" => InlineSeverity::Important,
            _ => InlineSeverity::Advisory,
        }
    }
}

/// Paths an implementation may not change (`deny`) unless a pattern of `allow` matches too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPaths {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default = "default_denied_paths")]
    pub deny: Vec<String>,
}

impl Default for OutputPaths {
    fn default() -> OutputPaths {
        OutputPaths {
            allow: Vec::new(),
            deny: default_denied_paths(),
        }
    }
}

fn default_denied_paths() -> Vec<String> {
    vec![".github/workflows/**".into()]
}
fn default_max_issues_per_plan() -> u32 {
    25
}
fn default_max_comments_per_run() -> u32 {
    50
}
fn default_max_inline_comments_per_review() -> u32 {
    30
}
fn default_inline_min_severity() -> InlineSeverity {
    InlineSeverity::Important
}
fn default_max_title_chars() -> u32 {
    256
}
fn default_max_body_chars() -> u32 {
    60_000
}
fn default_max_comment_chars() -> u32 {
    20_000
}

impl Default for Outputs {
    fn default() -> Outputs {
        Outputs {
            labels: Vec::new(),
            max_issues_per_plan: default_max_issues_per_plan(),
            max_comments_per_run: default_max_comments_per_run(),
            max_inline_comments_per_review: default_max_inline_comments_per_review(),
            inline_min_severity: default_inline_min_severity(),
            max_title_chars: default_max_title_chars(),
            max_body_chars: default_max_body_chars(),
            max_comment_chars: default_max_comment_chars(),
            mentions: Vec::new(),
            link_hosts: Vec::new(),
            paths: OutputPaths::default(),
            branches: Vec::new(),
        }
    }
}

/// A spending cap per session. Before each agent call the session's cost ledger is compared
/// with it; at or over either limit the pipeline stops with a `budget-exceeded` escalation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// US dollars (as reported by Claude, computed from `agents.prices` for Codex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
    /// Input plus output tokens of every agent call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

impl Budget {
    /// No cap at all.
    pub fn is_unset(&self) -> bool {
        self.usd.is_none() && self.tokens.is_none()
    }
}

/// Which agent CLI plays each role, and the prices that turn Codex token counts into cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agents {
    #[serde(default = "AgentRole::claude")]
    pub planner: AgentRole,
    #[serde(default = "AgentRole::codex")]
    pub implementer: AgentRole,
    #[serde(default = "AgentRole::claude")]
    pub reviewer: AgentRole,
    /// US dollars per million tokens, by model name (`default` for an unnamed model).
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

impl Default for Agents {
    fn default() -> Agents {
        Agents {
            planner: AgentRole::claude(),
            implementer: AgentRole::codex(),
            reviewer: AgentRole::claude(),
            prices: BTreeMap::new(),
        }
    }
}

impl Agents {
    pub fn role(&self, role: Role) -> &AgentRole {
        match role {
            Role::Planner => &self.planner,
            Role::Implementer => &self.implementer,
            Role::Reviewer => &self.reviewer,
        }
    }
}

/// The CLI behind a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdapterKind {
    Claude,
    Codex,
    Command,
}

impl std::str::FromStr for AdapterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claude" => Ok(AdapterKind::Claude),
            "codex" => Ok(AdapterKind::Codex),
            "command" => Ok(AdapterKind::Command),
            other => Err(format!(
                "unknown agent `{other}`: use claude, codex or command"
            )),
        }
    }
}

/// How one role's agent runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRole {
    pub adapter: AdapterKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The program to run instead of `claude`/`codex` (a path or a name on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// For the `command` adapter: the argv; the prompt goes on stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Extra variable names the agent inherits (its own credentials). Forge tokens never pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

impl AgentRole {
    fn with(adapter: AdapterKind) -> AgentRole {
        AgentRole {
            adapter,
            model: None,
            timeout_seconds: None,
            program: None,
            command: None,
            env: Vec::new(),
        }
    }
    pub fn claude() -> AgentRole {
        AgentRole::with(AdapterKind::Claude)
    }
    pub fn codex() -> AgentRole {
        AgentRole::with(AdapterKind::Codex)
    }
    /// The role's timeout, else `fallback`.
    pub fn timeout(&self, fallback: Duration) -> Duration {
        self.timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(fallback)
    }
}

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub cached_input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// One step of a route: the phase and the options it runs with for this class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteStep {
    pub phase: PhaseName,
    #[serde(default, skip_serializing_if = "is_false")]
    pub inline_issue: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub adr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewMode>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub verify: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub approval: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a branch behind its base is brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateMethod {
    /// Merge the base into the branch (GitHub's update-branch does the same).
    #[default]
    Merge,
    /// Rebase the branch onto the base (on GitHub: locally, then pushed with a lease on the
    /// head the review saw).
    Rebase,
}

impl UpdateMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateMethod::Merge => "merge",
            UpdateMethod::Rebase => "rebase",
        }
    }
}

/// Review depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewMode {
    Hybrid,
    Thorough,
}

/// How one phase runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Merge only: a health check post-merge verification runs last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<String>,
    /// Merge only: how a pull request behind its base is brought up to date before it merges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateMethod>,
    /// Merge only: whether a pull request with no check reported on its head commit waits
    /// (true, the default, on a forge that runs CI) or merges. Right after a push the
    /// repository's workflows may not have created their checks yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_checks: Option<bool>,
    /// Merge only: how long the merge phase keeps reading the checks of a pull request whose
    /// checks are still running (or have not started) before it gives up for this attempt.
    /// 0 (the default) refuses at once and leaves the wait to the backoff schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_timeout_seconds: Option<u64>,
    /// Merge only: how often the checks are read again while waiting (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_poll_seconds: Option<f64>,
    /// Implementation only: validation commands (name → command line) for issues whose plan
    /// gives none, such as the hotfix route, which has no plan.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation: BTreeMap<String, String>,
}

/// The methodology's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_review_cycles: u32,
    pub max_implementation_retries: u32,
    pub max_planning_retries: u32,
    pub max_concurrent_issues: u32,
    pub recurrence_limit: u32,
    /// Lessons rendered into a planning or review prompt (the most relevant first).
    #[serde(default = "default_lessons_in_prompt")]
    pub lessons_in_prompt: u32,
    /// Bytes of diff one reviewer call receives; a larger diff is reviewed in chunks, one
    /// agent call each, the highest-priority files first (docs/review.md).
    #[serde(default = "default_review_chunk_bytes")]
    pub review_chunk_bytes: u32,
    /// Reviewer calls (chunks) one review may make; files left over are not covered and the
    /// review fails with its coverage instead of approving.
    #[serde(default = "default_review_max_chunks")]
    pub review_max_chunks: u32,
}

/// Lessons handed to a planning or review prompt, by default.
pub const LESSONS_IN_PROMPT: usize = 5;

fn default_lessons_in_prompt() -> u32 {
    LESSONS_IN_PROMPT as u32
}
fn default_review_chunk_bytes() -> u32 {
    120_000
}
fn default_review_max_chunks() -> u32 {
    8
}

/// Retry schedule for unavailable tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub base_seconds: f64,
    pub factor: f64,
    pub max_seconds: f64,
    pub max_attempts: u32,
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(60) as i32;
        let secs = (self.base_seconds * self.factor.powi(exp)).min(self.max_seconds);
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// Where a phase keeps its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactPath {
    /// One JSON file, relative to the state directory.
    File(String),
    /// A directory, relative to the state directory, whose every `.json` file is the output.
    Dir(String),
}

impl ArtifactPath {
    pub fn relative(&self) -> &str {
        match self {
            ArtifactPath::File(p) | ArtifactPath::Dir(p) => p,
        }
    }
}

/// Everything the runner needs to know about one phase, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePhase {
    pub phase: PhaseName,
    pub step: Option<RouteStep>,
    pub gate: Option<Contract>,
    pub artifact: Option<ArtifactPath>,
    pub retries: u32,
    pub timeout: Duration,
    pub command: Option<Vec<String>>,
    pub env: Vec<String>,
}

impl Workflow {
    /// `phases.merge.update`: how a pull request behind its base is brought up to date (merge
    /// by default).
    pub fn merge_update_method(&self) -> UpdateMethod {
        self.phases
            .get(&PhaseName::Merge)
            .and_then(|p| p.update)
            .unwrap_or_default()
    }

    /// `phases.merge.require_checks`: true unless set to false.
    pub fn merge_requires_checks(&self) -> bool {
        self.phases
            .get(&PhaseName::Merge)
            .and_then(|p| p.require_checks)
            .unwrap_or(true)
    }

    /// The variables a phase's commands that run agent-written code may see besides the base
    /// set (`phases.<phase>.env`): validation for implementation, verification for merge.
    pub fn command_env(&self, phase: PhaseName) -> Vec<String> {
        self.phases
            .get(&phase)
            .map(|p| p.env.clone())
            .unwrap_or_default()
    }

    /// How long the merge phase waits for running checks: `FACTORY_CHECKS_TIMEOUT` (seconds,
    /// set by the merge-verify action from its `checks-timeout` input) when set, else
    /// `phases.merge.checks_timeout_seconds`, else no wait.
    pub fn merge_checks_wait(&self) -> (Duration, Duration) {
        let merge = self.phases.get(&PhaseName::Merge);
        let timeout = std::env::var("FACTORY_CHECKS_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .or_else(|| merge.and_then(|p| p.checks_timeout_seconds))
            .unwrap_or(0);
        let poll = merge
            .and_then(|p| p.checks_poll_seconds)
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(30.0);
        (Duration::from_secs(timeout), Duration::from_secs_f64(poll))
    }

    /// The steps a class runs after intake.
    pub fn route(&self, class: ChangeClass) -> &[RouteStep] {
        self.routes.get(&class).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The phases a class runs, intake included.
    pub fn route_phases(&self, class: ChangeClass) -> Vec<PhaseName> {
        std::iter::once(PhaseName::Intake)
            .chain(self.route(class).iter().map(|s| s.phase))
            .collect()
    }

    /// The configuration of `phase` in the route of `class`, with every default applied.
    /// `sid` fills `{sid}` in artifact paths.
    pub fn effective(&self, class: ChangeClass, phase: PhaseName, sid: &str) -> EffectivePhase {
        let cfg = self.phases.get(&phase).cloned().unwrap_or_default();
        let retries = cfg.retries.unwrap_or(match phase {
            PhaseName::StrategicPlan | PhaseName::TacticalPlan => self.limits.max_planning_retries,
            PhaseName::Implementation => self.limits.max_implementation_retries,
            _ => 1,
        });
        let artifact = cfg.artifact.as_deref().map(|a| {
            let a = a.replace("{sid}", sid);
            match a.strip_suffix('/') {
                Some(dir) => ArtifactPath::Dir(dir.to_string()),
                None => ArtifactPath::File(a),
            }
        });
        EffectivePhase {
            phase,
            step: self.route(class).iter().find(|s| s.phase == phase).cloned(),
            gate: cfg.gate.as_deref().and_then(Contract::from_name),
            artifact,
            retries,
            timeout: Duration::from_secs(cfg.timeout_seconds.unwrap_or(1800)),
            command: cfg.command,
            env: cfg.env,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let b = Backoff {
            base_seconds: 30.0,
            factor: 2.0,
            max_seconds: 100.0,
            max_attempts: 5,
        };
        assert_eq!(b.delay(1), Duration::from_secs(30));
        assert_eq!(b.delay(2), Duration::from_secs(60));
        assert_eq!(b.delay(3), Duration::from_secs(100));
        assert_eq!(b.delay(40), Duration::from_secs(100));
    }
}

/// What an agent is asked to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Planner,
    Implementer,
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Implementer => "implementer",
            Role::Reviewer => "reviewer",
        }
    }

    /// Planners and reviewers read; only the implementer writes to the working tree.
    pub fn writes(self) -> bool {
        self == Role::Implementer
    }
}
