//! Validation in a job of its own: `factory implement --validate-pending` runs what the
//! implementation phase left with `FACTORY_VALIDATION=deferred` (the record is
//! [`crate::forge::validation`]), and routes a failure back to implementation.

use serde_json::json;

use crate::util::text::short_commit;

pub use crate::forge::validation::*;

/// How the validation of one issue went in [`validate_pending`].
#[derive(Debug, Clone)]
pub struct Judged {
    pub validation: Validation,
    pub outcome: Judgement,
}

/// What a verdict did to the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Every command passed: the pull request waits for `factory apply`.
    Passed,
    /// A command failed: the issue goes back to implementation (attempt `count` of `limit`).
    SentBack { count: u32, limit: u32 },
    /// A command failed and the attempts are used up: the issue was told, the session
    /// escalated.
    GaveUp { count: u32 },
}

/// Run every pending validation of the session: check out each recorded head (from the
/// implementation's bundle when this clone lacks it) in a temporary worktree, run its commands
/// with the allow-listed environment, keep the evidence and the verdict. A failure withdraws
/// the issue's pull-request artifact and sends the issue back to implementation with the
/// failure as context, or, once `retries + 1` attempts of the issue failed validation, tells
/// the issue (through `forge`) and escalates, as inline validation does.
pub fn validate_pending(
    state: &crate::state::StateDir,
    workflow: &crate::workflow::Workflow,
    forge: &dyn crate::forge::Forge,
    session: &crate::state::Session,
) -> anyhow::Result<Vec<Judged>> {
    use crate::artifacts::implementation::{self as record, Record, Status};
    use crate::forge::deferred::outbox;
    use crate::forge::git::Git;
    use crate::forge::verify::{CommandRun, Worktree};
    use crate::state::{EscalationReason, PhaseStatus};
    use crate::workflow::PhaseName;

    let eff = workflow.effective(session.change_class, PhaseName::Implementation, &session.id);
    let limit = eff.retries + 1;
    let env = workflow.command_env(PhaseName::Implementation);
    let run = CommandRun {
        timeout: eff.timeout.max(std::time::Duration::from_secs(1)),
        env: &env,
    };
    let repo = state.repo();
    let git = Git::new(&repo);
    let mut judged = Vec::new();
    let mut sent_back: Vec<(u64, String)> = Vec::new();
    let mut gave_up: Option<(u64, String)> = None;
    for v in pending(state) {
        if v.commands.is_empty() {
            anyhow::bail!(
                "the pending validation of issue #{} names no command (.factory/artifacts/{}): implement the issue again",
                v.issue,
                rel(v.issue)
            );
        }
        let has = |git: &Git| git.succeeds(&["cat-file", "-e", &format!("{}^{{commit}}", v.head)]);
        let scratch = format!("refs/factory/validate/{}", v.issue);
        if !has(&git)? {
            let bundle = bundle_of(state, &v);
            if let Some(b) = bundle.as_ref().filter(|b| b.is_file()) {
                let shown = b.to_string_lossy().into_owned();
                let spec = format!("+refs/heads/{}:{scratch}", v.branch);
                let _ = git.run(&["fetch", "--quiet", "--no-tags", &shown, &spec]);
            }
            if !has(&git)? {
                return Err(DeferredValidationError::MissingHead {
                    issue: v.issue,
                    head: v.head.clone(),
                    bundle: bundle
                        .map(|b| b.display().to_string())
                        .unwrap_or_else(|| format!("of .factory/outbox/{}", v.artifact)),
                }
                .into());
            }
        }
        let (results, files) = {
            let wt = Worktree::add(&git, &v.head)?;
            super::validation::validate(state, v.issue, wt.path(), &v.commands, &run, v.attempt)
                .map_err(|source| super::ImplementError::Evidence {
                    issue: v.issue,
                    source,
                })?
        };
        let _ = git.run(&["update-ref", "-d", &scratch]);
        let artifacts = state.artifacts_dir();
        let evidence: Vec<String> = files
            .iter()
            .filter_map(|f| f.strip_prefix(&artifacts).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let done = record_verdict(state, &v, &results, &evidence)?;
        let passed = done.passed == Some(true);
        let detail = format!(
            "#{} at {} (validated in a job of its own): {}",
            v.issue,
            short_commit(&v.head),
            results
                .iter()
                .map(|r| format!("{} {}", r.name, if r.ok { "passed" } else { "failed" }))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let refs = json!({"issue": v.issue, "commit": v.head, "evidence": evidence}).to_string();
        tracing::info!(target: "factory::event", phase = PhaseName::Implementation.as_str(), action = crate::state::log::vocab::VALIDATE, tool = "factory", status = if passed { "ok" } else { "failed" }, detail, refs);
        let failure = super::validation::failure_text(&results);
        let mut rec = Record::load(state);
        let previous = rec
            .issue(v.issue)
            .map(|r| {
                r.attempts
                    .iter()
                    .filter(|a| a.outcome == "validation-failed")
                    .count() as u32
            })
            .unwrap_or(0);
        if let Some(r) = rec.issues.iter_mut().find(|r| r.issue == v.issue) {
            r.validation = super::validation::results_json(&results);
            r.evidence = evidence.clone();
            match &failure {
                None => r.attempts.push(record::attempt(
                    v.attempt,
                    "validated",
                    None,
                    None,
                    &format!("validated at {} in a job of its own", short_commit(&v.head)),
                )),
                Some(f) => {
                    r.status = Status::Failed;
                    r.attempts.push(record::attempt(
                        v.attempt,
                        "validation-failed",
                        None,
                        None,
                        f,
                    ));
                }
            }
            let (sid, forge_name, r) = (rec.session_id.clone(), rec.forge.clone(), r.clone());
            Record::save_issue(state, &sid, &forge_name, r)?;
        }
        let outcome = match failure {
            None => Judgement::Passed,
            Some(f) => {
                let count = previous + 1;
                let artifact = outbox::dir(state).join(&v.artifact);
                outbox::Ledger::mark(
                    state,
                    &artifact,
                    "withdrawn",
                    &format!(
                        "validation failed at {}: the branch is not published; issue #{} is implemented again",
                        short_commit(&v.head),
                        v.issue
                    ),
                )?;
                if count >= limit {
                    super::tell_gave_up(
                        forge,
                        v.issue,
                        count,
                        EscalationReason::ImplementationFailed,
                        &f,
                        &v.branch,
                    )?;
                    gave_up.get_or_insert((v.issue, f));
                    Judgement::GaveUp { count }
                } else {
                    sent_back.push((v.issue, f));
                    Judgement::SentBack { count, limit }
                }
            }
        };
        judged.push(Judged {
            validation: done,
            outcome,
        });
    }
    if let Some((issue, f)) = gave_up {
        let detail = format!(
            "issue #{issue}: validation failed on each of {limit} attempt(s) (limits: implementation retries + 1):\n{f}"
        );
        state.update_session(|s| {
            s.escalate(
                EscalationReason::ImplementationFailed,
                PhaseName::Implementation,
                detail.clone(),
            )
        })?;
        tracing::info!(target: "factory::event", phase = PhaseName::Implementation.as_str(), action = "escalate", tool = "factory", status = "needs_human", detail = detail.as_str(), decision = "implementation-failed");
    } else if !sent_back.is_empty() {
        let issues: Vec<u64> = sent_back.iter().map(|(n, _)| *n).collect();
        let detail = sent_back
            .iter()
            .map(|(n, f)| {
                format!("Factory ran the validation commands on the last commit of issue #{n} in a job of its own, and one failed; fix what it reports:\n{f}")
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        state.update_session(|s| {
            let from = s
                .route
                .iter()
                .position(|p| *p == PhaseName::Implementation)
                .unwrap_or(0);
            let later: Vec<PhaseName> = s.route[from..].to_vec();
            for p in later {
                let st = s.phase_mut(p);
                if st.status == PhaseStatus::Completed || p == PhaseName::Implementation {
                    st.status = PhaseStatus::Pending;
                    st.finished_at = None;
                }
            }
            s.phase_mut(PhaseName::Implementation).detail = Some(format!(
                "validation failed for {}; implementation runs again",
                issues
                    .iter()
                    .map(|n| format!("#{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            s.counters.implementation_retries += 1;
            s.rework = Some(crate::state::Rework {
                phase: PhaseName::Implementation,
                from: PhaseName::Implementation,
                cycle: s.counters.review_cycles.max(1),
                detail: detail.clone(),
                issues: issues.clone(),
                conflict: false,
            });
        })?;
        let shown = issues
            .iter()
            .map(|n| format!("#{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::info!(target: "factory::event", phase = PhaseName::Implementation.as_str(), action = "send_back", tool = "factory", status = "rework", detail = format!("validation failed for {shown}; implementation runs again with the failure as context"), decision = "rework: validation failed");
    }
    Ok(judged)
}
