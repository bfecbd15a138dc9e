//! `factory review --diff F`: phase 6 without a forge. Preflight runs first; its findings go to
//! the reviewer agent as machine findings; the agent's review must pass the review-output
//! contract; the final review merges both and the findings decide the verdict.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use crate::agents::{AgentRequest, Role, context, for_role, strategic, structured};
use crate::cli::Outcome;
use crate::contracts::Contract;
use crate::preflight::dependencies::AuditSource;
use crate::preflight::engine::{self, Engine};
use crate::preflight::rules;
use crate::preflight::scope::Scope;
use crate::state::StateDir;
use crate::templates::Templates;
use crate::workflow::config::ReviewMode;
use crate::workflow::{AdapterKind, PhaseName, load};

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The unified diff to review.
    #[arg(long)]
    pub diff: PathBuf,
    /// Review depth: hybrid, or thorough (adds the OWASP and threat-model checklist)
    /// [default: the session route's code_review option, else hybrid].
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<ReviewMode>,
    /// The pull request number recorded in the review.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub number: u64,
    /// A scope file or plan (files_in_scope) the change is checked against.
    #[arg(long)]
    pub scope: Option<PathBuf>,
    /// The agent CLI: claude, codex or command [default: agents.reviewer.adapter].
    #[arg(long, value_parser = |s: &str| s.parse::<AdapterKind>())]
    pub agent: Option<AdapterKind>,
    /// The model [default: agents.reviewer.model].
    #[arg(long)]
    pub model: Option<String>,
    /// The state directory [default: .factory at the repository root].
    #[arg(long, env = "FACTORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

fn parse_mode(s: &str) -> Result<ReviewMode, String> {
    match s {
        "hybrid" => Ok(ReviewMode::Hybrid),
        "thorough" => Ok(ReviewMode::Thorough),
        other => Err(format!(
            "unknown review mode `{other}`: use hybrid or thorough"
        )),
    }
}

pub fn run(args: ReviewArgs) -> anyhow::Result<Outcome> {
    let state = StateDir::new(super::state_dir(args.state_dir));
    let workflow = load::load(&state.root().join(load::OVERRIDE_FILE))?.workflow;
    let session = state.load_session()?;
    let diff = std::fs::read(&args.diff)
        .with_context(|| format!("cannot read the diff {}", args.diff.display()))?;
    let diff_text = String::from_utf8_lossy(&diff).into_owned();

    // Preflight first: deterministic findings the agent cannot talk away.
    let scope = args.scope.as_deref().map(Scope::load).transpose()?;
    let scoped = scope.is_some();
    let engine = Engine::new(rules::builtin(), scope);
    let mut report = engine
        .scan(std::io::BufReader::new(diff.as_slice()))
        .with_context(|| format!("cannot parse the diff {}", args.diff.display()))?;
    engine::finish(&mut report, &AuditSource::Off, None)?;
    let machine: Vec<Value> = report
        .findings
        .iter()
        .map(crate::review::machine_finding)
        .collect();
    let scope_paths: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.category == crate::findings::Category::Scope)
        .map(|f| f.path.as_str())
        .collect();
    tracing::info!(
        target: "factory::event",
        phase = "code_review",
        action = crate::state::log::vocab::PREFLIGHT,
        tool = "factory",
        status = if report.findings.is_empty() { "ok" } else { "findings" },
        detail = format!("{} machine finding(s), {} out of scope", report.findings.len(), scope_paths.len()),
        refs = json!({"pr": args.number, "findings": report.findings.len(), "scope_violations": scope_paths.len(), "paths": scope_paths}).to_string()
    );

    let mode = args.mode.unwrap_or_else(|| {
        session
            .as_ref()
            .and_then(|s| {
                workflow
                    .effective(s.change_class, PhaseName::CodeReview, &s.id)
                    .step
                    .and_then(|st| st.review)
            })
            .unwrap_or(ReviewMode::Hybrid)
    });
    let root = strategic::repo_root(&state);
    let templates = Templates::with_overrides(state.root().join("templates"));
    let prompt = templates.render(
        "CLAUDE_REVIEW.md",
        json!({
            "pr_number": args.number,
            "machine_findings": machine.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
            "scope": scoped.then(|| format!("checked against {}", args.scope.as_ref().map(|p| p.display().to_string()).unwrap_or_default())),
            "thorough": mode == ReviewMode::Thorough,
            "agents_md": context::agents_md(&root),
            "lessons": context::relevant_lessons(state.root(), &changed_paths(&diff_text), workflow.limits.lessons_in_prompt as usize),
            "packs": context::pack_guidance(state.root()),
            "diff": context::fence(
                "the pull request diff",
                &crate::review::withhold_secrets(&diff_text, &report.findings),
            ),
        }),
    )?;
    let (agent, cfg) = for_role(&workflow, Role::Reviewer, args.agent, args.model)?;
    let eff = workflow.effective(
        session
            .as_ref()
            .map(|s| s.change_class)
            .unwrap_or(crate::workflow::ChangeClass::Feature),
        PhaseName::CodeReview,
        "review",
    );
    let req = AgentRequest {
        role: Role::Reviewer,
        prompt,
        workdir: root,
        scratch: state.root().join("runs").join("agent"),
        schema: Some(serde_json::from_str(Contract::ReviewOutput.schema_text())?),
        resume: None,
        timeout: cfg.timeout(eff.timeout),
        model: cfg.model.clone(),
    };
    let (llm, _) = structured::ask(
        agent.as_ref(),
        &req,
        Contract::ReviewOutput,
        &|_| Vec::new(),
        &workflow.backoff,
        PhaseName::CodeReview.as_str(),
        Some(&state),
    )?;
    let review = crate::review::merge(&report.findings, &llm, args.number);
    let problems = structured::violations(Contract::ReviewOutput, &review, &|_| Vec::new());
    if !problems.is_empty() {
        anyhow::bail!(
            "the merged review fails its contract (a bug in factory, please report it): {}",
            problems.join("; ")
        );
    }

    let cycle = if session.is_some() {
        state.update_session(|s| {
            s.counters.review_cycles += 1;
            s.counters.review_cycles
        })?
    } else {
        next_cycle(&state, args.number)
    };
    let out = state
        .root()
        .join("artifacts/reviews")
        .join(format!("{}-{cycle}.json", args.number));
    strategic::write(&out, &review)?;
    let verdict = review["verdict"].as_str().unwrap_or("");
    let counts = &review["security_assessment"]["findings_count"];
    println!(
        "review cycle {cycle}: {verdict} ({} critical, {} important, {} advisory; {} from the machine checks); written to {}",
        counts["critical"],
        counts["important"],
        counts["advisory"],
        machine.len(),
        out.display()
    );
    tracing::info!(
        target: "factory::event",
        phase = "code_review",
        action = crate::state::log::vocab::REVIEW,
        tool = "factory",
        status = verdict,
        detail = format!("cycle {cycle} of PR {}: {verdict}", args.number),
        refs = json!({"cycle": cycle, "pr": args.number, "machine_findings": machine.len()}).to_string()
    );
    if let Some(s) = &session
        && s.counters.review_cycles + 1 > workflow.limits.max_review_cycles
    {
        eprintln!(
            "warning: {} review cycles exceed limits.max_review_cycles ({}); a human should decide",
            s.counters.review_cycles + 1,
            workflow.limits.max_review_cycles
        );
    }
    Ok(if verdict == "APPROVE" {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Without a session, the cycle is one more than the reviews already written for this number.
fn next_cycle(state: &StateDir, number: u64) -> u32 {
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

/// The paths a diff changes (its `+++ b/` lines), to rank lessons by.
fn changed_paths(diff: &str) -> Vec<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| p.trim_end().to_string())
        .collect()
}
