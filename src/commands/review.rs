//! `factory review --diff F | --pr N`: phase 6 on its own. The pipeline (preflight, reviewer
//! agent, merged verdict, review artifact, posting on the forge) lives in `crate::review`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Outcome;
use crate::forge::open_forge;
use crate::preflight::scope::Scope;
use crate::review::pipeline::{self, ReviewRequest, ScopeSource};
use crate::review::pr::{PrOptions, review_pull_request};
use crate::workflow::AdapterKind;
use crate::workflow::config::ReviewMode;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The unified diff to review (no forge: nothing is posted).
    #[arg(long, required_unless_present = "pr", conflicts_with = "pr")]
    pub diff: Option<PathBuf>,
    /// The pull request to review: its diff comes from the forge and the review is posted on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub pr: Option<u64>,
    /// Review depth: hybrid, or thorough (adds the OWASP and threat-model checklist)
    /// [default: the session route's code_review option, else hybrid].
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<ReviewMode>,
    /// With --diff: the pull request number recorded in the review.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "pr")]
    pub number: u64,
    /// A scope file or plan (files_in_scope) the change is checked against [default with --pr:
    /// the tactical plan, else its task's files_in_scope].
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
    let (state, workflow) = super::intake::open(args.state_dir.clone())?;
    let session = state.load_session()?;
    if let Some(s) = &session {
        crate::state::log::set_session(&s.id);
    }
    let (reviewed, number) = match (args.pr, &args.diff) {
        (Some(pr), _) => {
            let forge = open_forge(&state, &state.repo())?;
            let opts = PrOptions {
                mode: args.mode,
                scope_file: args.scope.clone(),
                adapter: args.agent,
                model: args.model.clone(),
                diff: None,
            };
            let r = review_pull_request(
                &state,
                &workflow,
                session.as_ref(),
                forge.as_ref(),
                pr,
                &opts,
            )?;
            println!(
                "posted on #{pr} in the {} forge: review {}{} with {} new inline comment(s), {} finding(s) only in the summary comment ({})",
                forge.name(),
                r.posted.review.event.as_str(),
                if r.posted.review.downgraded.is_some() {
                    " (the verdict is in its body: this token may not give it on this pull request; see the log)"
                } else {
                    ""
                },
                r.posted.inline,
                r.posted.in_summary,
                if r.posted.summary_updated {
                    "updated"
                } else {
                    "created"
                }
            );
            if r.posted.already_posted {
                println!(
                    "the review of cycle {} was already on #{pr} (an earlier run was interrupted): not posted again",
                    r.reviewed.cycle
                );
            }
            println!(
                "findings on #{pr}: {} open, {} resolved, {} outdated (.factory/artifacts/review-ledger/{pr}.json)",
                r.posted.counts.open, r.posted.counts.resolved, r.posted.counts.outdated
            );
            if r.limit_reached {
                eprintln!(
                    "warning: review cycle {} reached limits.max_review_cycles ({}) and still requests changes; a person should decide (commented on #{pr})",
                    r.reviewed.cycle, workflow.limits.max_review_cycles
                );
            }
            (r.reviewed, pr)
        }
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the diff {}", path.display()))?;
            let diff = String::from_utf8_lossy(&bytes).into_owned();
            let scope = args
                .scope
                .as_deref()
                .map(|p| {
                    Scope::load(p).map(|scope| ScopeSource {
                        scope,
                        origin: p.display().to_string(),
                    })
                })
                .transpose()?;
            let r = pipeline::review(ReviewRequest {
                state: &state,
                workflow: &workflow,
                diff: &diff,
                number: args.number,
                cycle: pipeline::next_cycle(&state, session.as_ref(), args.number),
                scope,
                mode: args
                    .mode
                    .unwrap_or_else(|| pipeline::route_mode(&workflow, session.as_ref())),
                adapter: args.agent,
                model: args.model.clone(),
                timeout: pipeline::phase_timeout(&workflow, session.as_ref()),
                preflight_artifact: false,
            })
            .with_context(|| format!("reviewing {}", path.display()))?;
            (r, args.number)
        }
        (None, None) => anyhow::bail!("give --diff FILE or --pr N"),
    };
    println!(
        "{}; written to {}",
        pipeline::describe(&reviewed),
        reviewed.path.display()
    );
    if session.is_some() {
        // On its own, the command counts the cycle as the engine does after a review, so the
        // next review of the session is the next cycle.
        let cycles = state.update_session(|s| {
            s.counters.review_cycles += 1;
            s.counters.review_cycles
        })?;
        if !reviewed.approved() {
            tracing::info!(
                target: "factory::event",
                phase = crate::workflow::PhaseName::CodeReview.as_str(),
                action = "send_back",
                tool = "factory",
                status = "changes_requested",
                detail = format!("PR {number}: changes requested in review cycle {cycles}"),
                decision = "rework the change, then review again"
            );
        }
    }
    if let Some(why) = pipeline::coverage_failure(&reviewed) {
        anyhow::bail!(why);
    }
    Ok(if reviewed.approved() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
