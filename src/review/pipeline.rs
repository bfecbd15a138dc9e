//! Phase 6 on a diff: preflight first (its findings go to the reviewer as machine findings),
//! then the reviewer agent, whose answer must pass the review-output contract; the final review
//! merges both and is written to `artifacts/reviews/<number>-<cycle>.json`.
//!
//! Used by `factory review --diff F`, `factory review --pr N` and the `code_review` phase.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::agents::{AgentError, Role, context, structured};
use crate::contracts::Contract;
use crate::findings::render::{Report, json as render_json};
use crate::findings::{Category, Finding};
use crate::preflight::dependencies::{AuditSource, AuditStatus};
use crate::preflight::engine::{self, Engine};
use crate::preflight::rules;
use crate::preflight::scope::Scope;
use crate::review::chunk;
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
    /// What the dependency audit did.
    pub audit: AuditStatus,
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

/// The review cycle of the next review of `number`: for a pull request of the session, one
/// more than its latest review's cycle (recorded once the review is posted, so a review cut
/// off by a crash is redone under the same cycle and posted once); for another pull request
/// with a session, one more than the session's review count; without a session, one more
/// than the reviews of `number` written.
pub fn next_cycle(state: &StateDir, session: Option<&Session>, number: u64) -> u32 {
    if let Some(s) = session {
        return match s.pull_requests.iter().find(|p| p.number == number) {
            Some(p) => p.review_cycle + 1,
            // A pull request the session did not open: the session's count of reviews.
            None => s.counters.review_cycles + 1,
        };
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
    let change_class = r.scope.as_ref().and_then(|s| s.scope.change_class.clone());
    let engine = Engine::new(rules::builtin(), r.scope.map(|s| s.scope));
    let mut report = engine
        .scan(std::io::BufReader::new(r.diff.as_bytes()))
        .context("cannot parse the diff")?;
    // The dependency audit: CVEs in what the change adds to a lockfile, before the reviewer.
    let audit_source = audit_source(&r.workflow.audit, &state.repo())?;
    engine::finish(&mut report, &audit_source, None).map_err(|e| {
        anyhow::anyhow!("{e}; set audit.source: auto in .factory/workflow.yaml to review without it (docs/review.md#dependency-audit)")
    })?;
    log_audit(&report.audit, r.number, report.packages.len());
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
        phase = crate::workflow::PhaseName::CodeReview.as_str(),
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
            audit: Some(&report.audit),
        });
        state
            .write_artifact(&format!("preflight/{}.json", r.number), &doc)
            .map_err(anyhow::Error::from)?;
    }

    let root = state.repo();
    let templates = Templates::with_overrides(state.root().join("templates"));
    // The diff in chunks by priority: files the machine checks flagged and security-relevant
    // paths first, then the files in scope, tests and docs last.
    let withheld = crate::review::withhold_secrets(r.diff, &report.findings);
    let flagged: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.category != Category::Scope)
        .map(|f| f.path.as_str())
        .collect();
    let scoped = scope_origin.is_some();
    let chunk_bytes = r.workflow.limits.review_chunk_bytes as usize;
    let sections = chunk::split(&withheld);
    let plan = if sections.is_empty() {
        // Not a diff factory can split: one call with all of it, as it is.
        chunk::Plan {
            chunks: vec![vec![chunk::Section {
                path: String::new(),
                text: withheld.clone(),
            }]],
            not_covered: Vec::new(),
            files_total: 0,
        }
    } else {
        chunk::plan(
            sections,
            chunk_bytes,
            r.workflow.limits.review_max_chunks as usize,
            |p| chunk::rank(p, flagged.contains(p), scoped && !scope_paths.contains(&p)),
        )
    };
    let parts = plan.chunks.len();
    let mut answers = Vec::new();
    for (i, files) in plan.chunks.iter().enumerate() {
        let paths: Vec<String> = files.iter().map(|s| s.path.clone()).collect();
        let machine_here: Vec<String> = if parts > 1 {
            report
                .findings
                .iter()
                .filter(|f| paths.contains(&f.path))
                .map(|f| crate::review::machine_finding(f).to_string())
                .collect()
        } else {
            machine.iter().map(Value::to_string).collect()
        };
        let part = (parts > 1).then(|| {
            format!(
                "This diff is too large for one review, so it comes in {parts} parts; this is part {} of {parts}, with these files: {}. The other parts are reviewed separately: report only what you see here.",
                i + 1,
                paths.join(", ")
            )
        });
        let lesson_paths = if paths.iter().all(String::is_empty) {
            changed_paths(r.diff)
        } else {
            paths.clone()
        };
        let prompt = templates
            .render(
                "CLAUDE_REVIEW.md",
                json!({
                    "pr_number": r.number,
                    "machine_findings": machine_here.join("\n"),
                    "scope": scope_origin.as_ref().map(|o| format!("checked against {o}")),
                    "thorough": r.mode == ReviewMode::Thorough,
                    "change_class": change_class,
                    "part": part,
                    "agents_md": context::agents_md(&root),
                    "lessons": context::relevant_lessons(state.root(), &lesson_paths, r.workflow.limits.lessons_in_prompt as usize),
                    "packs": context::pack_guidance(state.root()),
                    "diff": context::fence("the pull request diff", &chunk::Plan::text(files)),
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
            model: r.model.clone(),
            timeout: r.timeout,
        };
        answers.push(structured::ask_role(&call, prompt, &|_| Vec::new())?);
    }
    let llm = combine(answers, r.number);
    let mut review = crate::review::merge(&report.findings, &llm, r.number);
    if let Some(findings) = review["findings"].as_array_mut() {
        crate::review::fingerprint::assign(
            findings,
            &report.findings,
            &crate::review::post::DiffLines::of(r.diff),
        );
    }
    if plan.files_total > 0 {
        review["coverage"] = plan.coverage(chunk_bytes);
    }
    if !plan.complete() {
        // A review that did not see the whole diff cannot approve it.
        review["verdict"] = json!("REQUEST_CHANGES");
        let text = crate::review::post::coverage_text(&review).unwrap_or_default();
        let summary = review["summary"].as_str().unwrap_or("").to_string();
        review["summary"] = json!(format!(
            "Incomplete review, not approved: {text}. {summary}"
        ));
    }
    if report.audit.is_unavailable() {
        // Never a silent skip: the summary people read says the CVE check did not happen.
        let summary = review["summary"].as_str().unwrap_or("").to_string();
        review["summary"] = json!(format!("{}. {summary}", report.audit.sentence()));
    }
    let problems = structured::violations(Contract::ReviewOutput, &review, &|_| Vec::new());
    if !problems.is_empty() {
        return Err(anyhow::anyhow!(
            "the merged review fails its contract (a bug in factory, please report it): {}",
            problems.join("; ")
        )
        .into());
    }
    // The reviewer may quote what it saw: stored and posted with secret-looking values masked.
    crate::state::redact::scrub_json(&mut review);
    crate::util::markers::neutralise_json(&mut review);
    let path = state
        .write_artifact(&format!("reviews/{}-{}.json", r.number, r.cycle), &review)
        .map_err(anyhow::Error::from)?;
    let verdict = review["verdict"].as_str().unwrap_or("");
    tracing::info!(
        target: "factory::event",
        phase = crate::workflow::PhaseName::CodeReview.as_str(),
        action = crate::state::log::vocab::REVIEW,
        tool = "factory",
        status = verdict,
        detail = format!("cycle {} of PR {}: {verdict}", r.cycle, r.number),
        refs = json!({"cycle": r.cycle, "pr": r.number, "machine_findings": machine.len()}).to_string()
    );
    let reviewed = Reviewed {
        review,
        machine: report.findings,
        cycle: r.cycle,
        path,
        audit: report.audit,
    };
    crate::util::step_summary::append(&step_summary(&reviewed)).map_err(anyhow::Error::msg)?;
    Ok(reviewed)
}

/// Where the review's dependency audit looks (`audit:` in workflow.yaml); an error names the
/// missing setting.
fn audit_source(
    config: &crate::workflow::config::AuditConfig,
    root: &std::path::Path,
) -> anyhow::Result<AuditSource> {
    use crate::workflow::config::AuditMode;
    let base_url = config.osv_url.trim_end_matches('/').to_string();
    let offline = config.offline_db.as_ref().map(|d| root.join(d));
    Ok(match config.source {
        AuditMode::Off => AuditSource::Off,
        AuditMode::Osv => AuditSource::Osv { base_url },
        AuditMode::Auto => AuditSource::Auto { base_url, offline },
        AuditMode::Offline => AuditSource::Offline {
            dir: offline.ok_or_else(|| {
                anyhow::anyhow!("audit.source is `offline` but audit.offline_db is not set in .factory/workflow.yaml; set it to an OSV database export")
            })?,
        },
    })
}

/// The `dependency_audit` event of one review.
fn log_audit(audit: &AuditStatus, number: u64, packages: usize) {
    tracing::info!(
        target: "factory::event",
        phase = crate::workflow::PhaseName::CodeReview.as_str(),
        action = crate::state::log::vocab::DEPENDENCY_AUDIT,
        tool = "factory",
        status = audit.as_str(),
        detail = audit.line(),
        refs = json!({"pr": number, "packages": packages}).to_string()
    );
}

/// The review's lines in the Actions step summary: the verdict and what the dependency audit
/// did.
fn step_summary(r: &Reviewed) -> String {
    let mark = if r.audit.is_unavailable() {
        "⚠️ "
    } else {
        ""
    };
    format!(
        "#### factory review of #{}\n\n{}\n\n{mark}{}\n\n",
        r.review["pr_number"],
        describe(r),
        r.audit.sentence()
    )
}

/// The answers of the reviewer calls of one review (one per chunk) as one answer: every
/// finding, REQUEST_CHANGES if any part requested changes, scope problems if any part saw one.
fn combine(answers: Vec<Value>, number: u64) -> Value {
    let mut it = answers.into_iter();
    let Some(mut out) = it.next() else {
        // No part of the diff fitted in a chunk: nothing was reviewed.
        return json!({
            "schema_version": "1.0",
            "pr_number": number,
            "verdict": "REQUEST_CHANGES",
            "findings": [],
            "scope_compliance": {"in_scope_match": true, "out_of_scope_violation": false},
            "security_assessment": {"passed": true},
            "test_coverage": {},
            "summary": "No file of the diff fitted in one reviewer call.",
        });
    };
    let mut summaries = vec![out["summary"].as_str().unwrap_or("").to_string()];
    for (i, a) in it.enumerate() {
        if summaries.len() == 1 {
            summaries[0] = format!("Part 1: {}", summaries[0]);
        }
        summaries.push(format!(
            "Part {}: {}",
            i + 2,
            a["summary"].as_str().unwrap_or("")
        ));
        if let (Some(all), Some(more)) = (out["findings"].as_array_mut(), a["findings"].as_array())
        {
            all.extend(more.iter().cloned());
        }
        if a["verdict"] == "REQUEST_CHANGES" {
            out["verdict"] = json!("REQUEST_CHANGES");
        }
        for (k, bad) in [("in_scope_match", false), ("out_of_scope_violation", true)] {
            if a["scope_compliance"][k] == bad {
                out["scope_compliance"][k] = json!(bad);
            }
        }
    }
    out["summary"] = json!(summaries.join(" "));
    out
}

/// For a review that did not see the whole diff, the message naming its coverage.
pub fn coverage_failure(r: &Reviewed) -> Option<String> {
    crate::review::post::coverage_text(&r.review).map(|text| {
        format!(
            "review cycle {} of #{} is incomplete: {text}; it was not approved. Raise limits.review_chunk_bytes or limits.review_max_chunks in .factory/workflow.yaml, split the pull request, or have a person review the rest (docs/review.md)",
            r.cycle,
            r.review["pr_number"]
        )
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
