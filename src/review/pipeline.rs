//! Phase 6 on a diff: preflight first (its findings go to the reviewer as machine findings),
//! then the reviewer agent, whose answer must pass the review-output contract; the final review
//! merges both and is written to `artifacts/reviews/<number>-<cycle>.json`.
//!
//! Used by `factory review --diff F`, `factory review --pr N` and the `code_review` phase.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::agents::{AgentError, Role, context, strategic, structured};
use crate::contracts::Contract;
use crate::findings::render::{Report, json as render_json};
use crate::findings::{Category, Finding};
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine};
use crate::preflight::rules;
use crate::preflight::scope::Scope;
use crate::state::{Session, StateDir};
use crate::templates::Templates;
use crate::workflow::config::ReviewMode;
use crate::workflow::{AdapterKind, ChangeClass, PhaseName, Workflow};

/// A scope the change is checked against, and where it came from (for the prompt and messages).
pub struct ScopeSource {
    pub scope: Scope,
    pub origin: String,
}

/// What one review needs.
pub struct ReviewRequest<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub diff: &'a str,
    /// The pull request number recorded in the review.
    pub number: u64,
    pub cycle: u32,
    pub scope: Option<ScopeSource>,
    pub mode: ReviewMode,
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// Used when the reviewer role sets no timeout.
    pub timeout: Duration,
    /// Also write the machine findings to `artifacts/preflight/<number>.json`.
    pub preflight_artifact: bool,
}

/// A written review.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// The merged review (valid against review-output).
    pub review: Value,
    pub machine: Vec<Finding>,
    pub cycle: u32,
    pub path: PathBuf,
}

impl Reviewed {
    pub fn approved(&self) -> bool {
        self.review["verdict"] == "APPROVE"
    }
}

/// Why a review did not come out.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The review cycle of the next review of `number`: with a session, one more than the review
/// cycles counted so far (`counters.review_cycles`, counted after each review by the engine, or
/// by `factory review` on its own); without, one more than the reviews of `number` written.
pub fn next_cycle(state: &StateDir, session: Option<&Session>, number: u64) -> u32 {
    if let Some(s) = session {
        return s.counters.review_cycles + 1;
    }
    let prefix = format!("{number}-");
    std::fs::read_dir(state.root().join("artifacts/reviews"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count() as u32
        })
        .unwrap_or(0)
        + 1
}

/// The review mode of the session's route (`review: thorough` for risky-infra), else hybrid.
pub fn route_mode(workflow: &Workflow, session: Option<&Session>) -> ReviewMode {
    session
        .and_then(|s| {
            workflow
                .effective(s.change_class, PhaseName::CodeReview, &s.id)
                .step
                .and_then(|st| st.review)
        })
        .unwrap_or(ReviewMode::Hybrid)
}

/// The timeout of the code_review phase for the session's class.
pub fn phase_timeout(workflow: &Workflow, session: Option<&Session>) -> Duration {
    let class = session.map_or(ChangeClass::Feature, |s| s.change_class);
    workflow
        .effective(class, PhaseName::CodeReview, "review")
        .timeout
}

/// Review `r.diff` and write the review.
pub fn review(r: ReviewRequest<'_>) -> Result<Reviewed, ReviewError> {
    let state = r.state;
    // Preflight first: deterministic findings the agent cannot talk away.
    let scope_origin = r.scope.as_ref().map(|s| s.origin.clone());
    let engine = Engine::new(rules::builtin(), r.scope.map(|s| s.scope));
    let mut report = engine
        .scan(std::io::BufReader::new(r.diff.as_bytes()))
        .context("cannot parse the diff")?;
    engine::finish(&mut report, &AuditSource::Off, None).map_err(anyhow::Error::from)?;
    let machine: Vec<Value> = report
        .findings
        .iter()
        .map(crate::review::machine_finding)
        .collect();
    let scope_paths: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.category == Category::Scope)
        .map(|f| f.path.as_str())
        .collect();
    tracing::info!(
        target: "factory::event",
        phase = "code_review",
        action = crate::state::log::vocab::PREFLIGHT,
        tool = "factory",
        status = if report.findings.is_empty() { "ok" } else { "findings" },
        detail = format!("{} machine finding(s), {} out of scope", report.findings.len(), scope_paths.len()),
        refs = json!({"pr": r.number, "findings": report.findings.len(), "scope_violations": scope_paths.len(), "paths": scope_paths}).to_string()
    );
    if r.preflight_artifact {
        let doc = render_json::value(&Report {
            tool: "factory",
            version: env!("CARGO_PKG_VERSION"),
            findings: &report.findings,
            rules: &[],
            files_scanned: report.files_scanned,
            bytes_scanned: report.bytes_scanned,
            skipped: &report.skipped,
            suppressed: report.suppressed,
            baselined: report.baselined,
        });
        state
            .write_artifact(&format!("preflight/{}.json", r.number), &doc)
            .map_err(anyhow::Error::from)?;
    }

    let root = strategic::repo_root(state);
    let templates = Templates::with_overrides(state.root().join("templates"));
    let prompt = templates
        .render(
            "CLAUDE_REVIEW.md",
            json!({
                "pr_number": r.number,
                "machine_findings": machine.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
                "scope": scope_origin.map(|o| format!("checked against {o}")),
                "thorough": r.mode == ReviewMode::Thorough,
                "agents_md": context::agents_md(&root),
                "lessons": context::relevant_lessons(state.root(), &changed_paths(r.diff), r.workflow.limits.lessons_in_prompt as usize),
                "packs": context::pack_guidance(state.root()),
                "diff": context::fence(
                    "the pull request diff",
                    &crate::review::withhold_secrets(r.diff, &report.findings),
                ),
            }),
        )
        .map_err(anyhow::Error::from)?;
    let call = structured::Call {
        state,
        workflow: r.workflow,
        role: Role::Reviewer,
        phase: PhaseName::CodeReview,
        contract: Contract::ReviewOutput,
        adapter: r.adapter,
        model: r.model,
        timeout: r.timeout,
    };
    let llm = structured::ask_role(&call, prompt, &|_| Vec::new())?;
    let review = crate::review::merge(&report.findings, &llm, r.number);
    let problems = structured::violations(Contract::ReviewOutput, &review, &|_| Vec::new());
    if !problems.is_empty() {
        return Err(anyhow::anyhow!(
            "the merged review fails its contract (a bug in factory, please report it): {}",
            problems.join("; ")
        )
        .into());
    }
    let path = state
        .write_artifact(&format!("reviews/{}-{}.json", r.number, r.cycle), &review)
        .map_err(anyhow::Error::from)?;
    let verdict = review["verdict"].as_str().unwrap_or("");
    tracing::info!(
        target: "factory::event",
        phase = "code_review",
        action = crate::state::log::vocab::REVIEW,
        tool = "factory",
        status = verdict,
        detail = format!("cycle {} of PR {}: {verdict}", r.cycle, r.number),
        refs = json!({"cycle": r.cycle, "pr": r.number, "machine_findings": machine.len()}).to_string()
    );
    Ok(Reviewed {
        review,
        machine: report.findings,
        cycle: r.cycle,
        path,
    })
}

/// The paths a diff changes (its `+++ b/` lines), to rank lessons by.
fn changed_paths(diff: &str) -> Vec<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| p.trim_end().to_string())
        .collect()
}

/// One line for people: "cycle 2: REQUEST_CHANGES (1 critical, 0 important, 2 advisory; 1 from
/// the machine checks)".
pub fn describe(r: &Reviewed) -> String {
    let counts = &r.review["security_assessment"]["findings_count"];
    format!(
        "review cycle {}: {} ({} critical, {} important, {} advisory; {} from the machine checks)",
        r.cycle,
        r.review["verdict"].as_str().unwrap_or(""),
        counts["critical"],
        counts["important"],
        counts["advisory"],
        r.machine.len()
    )
}
