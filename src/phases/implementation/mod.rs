//! Phase 5, implementation: the implementer agent (Codex by default) changes the code of one
//! issue in a separate git worktree on the issue's branch; then factory, not the agent, checks
//! the work and performs every write:
//!
//! 1. the branch's diff against its base goes through the preflight scope rule (the tactical
//!    plan's or the task's scope) and the secret rules; anything outside the scope, or a
//!    secret, is sent back as a retry with the findings as context, then escalated;
//! 2. the plan's validation commands run in the worktree with a timeout, and their command,
//!    exit code, duration and output tail (secrets masked) are kept as evidence under
//!    `artifacts/evidence/<issue>/`; a failure is retried with its output as context, then
//!    escalated with a comment on the issue. With `FACTORY_VALIDATION=deferred` they run later,
//!    in a job that holds no secret ([`deferred`]): the commit is published only once they pass;
//! 3. factory commits (`Closes #N`), publishes the branch (on GitHub with `git push`, the token
//!    in git's environment only) and opens or updates the pull request with the evidence.
//!
//! When code review sends the work back, the agent runs again on the same branch with the
//! review findings, and the same pull request is updated. Docs: docs/agents.md.

pub mod deferred;
pub mod detect;
pub mod inputs;
pub mod validation;
pub mod worktree;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::agents::{self, AgentRequest, Role};
use crate::artifacts::implementation::{self as record, IssueRecord, Record, Status};
use crate::findings::Category;
use crate::forge::git::Git;
use crate::forge::issues::{IssuesError, create_inline_issue};
use crate::forge::pr::{self, PrError};
use crate::forge::{Forge, ForgeError};
use crate::pipeline::{Phase, PhaseContext, PhaseOutcome};
use crate::preflight::engine::Engine;
use crate::preflight::scope::Scope;
use crate::state::{EscalationReason, Rework, Session, StateDir, StateError};
use crate::templates::TemplateError;
use crate::util::text::short_commit;
use crate::workflow::{AdapterKind, PhaseName, Workflow};
use inputs::IssueWork;
use worktree::Worktree;

/// Why implementation could not run at all (exit 2): inputs missing or broken, or the
/// environment failing. A change that fails its checks is not an error but an outcome.
#[derive(Debug, thiserror::Error)]
pub enum ImplementError {
    #[error("no session in {0}: start one with `factory intake` or `factory run`")]
    NoSession(String),
    #[error(
        "issue #{0} is not a task issue of the current session: `factory status` lists them; create them with `factory issues create`"
    )]
    NotInSession(u64),
    #[error("issue #{0} is closed: reopen it to implement it again")]
    IssueClosed(u64),
    #[error(
        "no strategic plan at {0}: this route plans before it implements; run `factory plan strategic` (or `factory run --resume`) first"
    )]
    NoPlan(String),
    #[error(
        "{path} does not satisfy the tactical-plan contract: {problems}; fix it (`factory validate {path}`) or plan the issue again"
    )]
    BadTactical { path: String, problems: String },
    #[error(
        "no validation commands for issue #{0}: neither a tactical nor a strategic plan gives any, `phases.implementation.validation` is not set, and the repository declares no test runner factory knows (a Makefile `test` target, Cargo.toml, go.mod, a package.json test script, tox.ini or pytest settings); set `phases.implementation.validation` in .factory/workflow.yaml (docs/agents.md)"
    )]
    NoValidation(u64),
    #[error("the GitHub forge needs GITHUB_TOKEN or GH_TOKEN to push the branch of issue #{0}")]
    NoToken(u64),
    #[error("cannot write the evidence of issue #{issue}: {source}")]
    Evidence { issue: u64, source: std::io::Error },
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Issues(#[from] IssuesError),
    #[error(transparent)]
    Pr(#[from] PrError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// How one attempt runs.
pub struct Options<'a> {
    pub state: &'a StateDir,
    pub workflow: &'a Workflow,
    pub forge: &'a dyn Forge,
    /// The repository the worktrees are made from.
    pub repo: PathBuf,
    /// Overrides of the implementer role (`--agent`, `--model`).
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// The phase timeout: the agent's unless its role sets one, and each validation command's.
    pub timeout: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// No retry follows this attempt: a failure is commented on the issue.
    pub last_attempt: bool,
    pub retry_context: Option<String>,
    /// The findings of a code review that sent the work back: the agent runs again on the same
    /// branch and the same pull request is updated.
    pub rework: Option<Rework>,
    /// Where the validation commands run: here, or in a job of its own
    /// (`FACTORY_VALIDATION=deferred`, [`deferred`]).
    pub validation: deferred::Placement,
}

fn event(action: &str, status: &str, detail: String, refs: serde_json::Value) {
    let refs = refs.to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action, tool = "factory", status, detail, refs);
}

/// One attempt at issue `number`: the agent in the issue's worktree, then scope, validation,
/// commit, publication and the pull request. `Done` when the pull request is open (or
/// updated); `Failed` with the errors for a retry; `NeedsHuman` when retries are over or an
/// agent cannot run.
pub fn implement_issue(
    opts: &Options<'_>,
    session: &Session,
    number: u64,
) -> anyhow::Result<PhaseOutcome> {
    let work = inputs::gather(opts.state, opts.workflow, opts.forge, session, number)?;
    let git = Git::new(&opts.repo);
    let base = opts.forge.default_branch()?;
    let mut base_ref = base.clone();
    let token = if opts.forge.name() == "github" {
        Some(crate::forge::git::forge_token().ok_or(ImplementError::NoToken(number))?)
    } else {
        None
    };
    if opts.forge.name() == "deferred" {
        // No token to fetch with: a CI checkout with full history has the remote branches.
        let remote = format!("refs/remotes/origin/{}", work.branch);
        if !git.branch_exists(&work.branch)?
            && git.succeeds(&["rev-parse", "--verify", "--quiet", &remote])?
        {
            git.run(&["branch", "--no-track", "--", &work.branch, &remote])?;
        }
        resume_unpublished(opts.state, &git, &work.branch, number)?;
    }
    if let Some(t) = &token {
        if crate::forge::git::fetch(&git, &base, t)? {
            base_ref = format!("refs/remotes/origin/{base}");
        }
        if !git.branch_exists(&work.branch)? && crate::forge::git::fetch(&git, &work.branch, t)? {
            let remote = format!("refs/remotes/origin/{}", work.branch);
            git.run(&["branch", "--no-track", "--", &work.branch, &remote])?;
        }
    }
    let wt = Worktree::open(&git, number, &work.branch, &base_ref, opts.attempt > 1)?;
    if opts
        .rework
        .as_ref()
        .is_some_and(|r| r.conflict && r.issues.contains(&number))
    {
        let conflicted = wt.start_merge(&base_ref)?;
        event(
            crate::state::log::vocab::BRANCH_UPDATE,
            if conflicted.is_empty() {
                "ok"
            } else {
                "failed"
            },
            if conflicted.is_empty() {
                format!("`{base}` merged into {} without conflicts", work.branch)
            } else {
                format!(
                    "`{base}` merged into {}: {} conflicted path(s) for the agent to resolve: {}",
                    work.branch,
                    conflicted.len(),
                    conflicted.join(", ")
                )
            },
            json!({"issue": number, "branch": work.branch, "conflicts": conflicted}),
        );
    }
    let outcome = attempt_in(
        opts,
        session,
        &work,
        &wt,
        &base,
        &base_ref,
        token.as_deref(),
    );
    let finished =
        matches!(outcome, Ok(PhaseOutcome::Done { .. })) || (opts.last_attempt && outcome.is_ok());
    if finished {
        wt.remove();
    }
    outcome
}

/// A validation job sent the issue back before its branch was ever published: the commits it
/// judged are only in the bundle the attempt left. The next attempt goes on from them (the
/// agent fixes what failed), so the branch is made from the bundle when this clone lacks it or
/// is behind it.
fn resume_unpublished(
    state: &StateDir,
    git: &Git,
    branch: &str,
    number: u64,
) -> Result<(), ForgeError> {
    let Some(v) = deferred::load(state, number).filter(|v| v.passed == Some(false)) else {
        return Ok(());
    };
    if v.branch != branch
        || git.succeeds(&["cat-file", "-e", &format!("{}^{{commit}}", v.head)])?
            && git.branch_exists(branch)?
    {
        return Ok(());
    }
    let Some(bundle) = deferred::bundle_of(state, &v).filter(|b| b.is_file()) else {
        return Ok(());
    };
    let shown = bundle.to_string_lossy().into_owned();
    let spec = format!("+refs/heads/{branch}:refs/heads/{branch}");
    git.run(&["fetch", "--quiet", "--no-tags", &shown, &spec])?;
    event(
        crate::state::log::vocab::BRANCH_UPDATE,
        "ok",
        format!(
            "{branch} made from the bundle of the attempt whose validation failed (at {})",
            short_commit(&v.head)
        ),
        json!({"issue": number, "branch": branch, "commit": v.head}),
    );
    Ok(())
}

/// Record the issue's branch in the session, the first time it is known.
fn record_branch(
    opts: &Options<'_>,
    session: &Session,
    work: &IssueWork,
) -> Result<(), StateError> {
    if session
        .issues
        .iter()
        .any(|i| i.number == work.number && i.branch.is_none())
    {
        opts.state.update_session(|s| {
            for i in s.issues.iter_mut().filter(|i| i.number == work.number) {
                i.branch = Some(work.branch.clone());
            }
        })?;
    }
    Ok(())
}

/// The record of `work` as it stands, with one more attempt.
fn update_record(
    opts: &Options<'_>,
    session: &Session,
    work: &IssueWork,
    base: &str,
    f: impl FnOnce(&mut IssueRecord),
) -> Result<(), StateError> {
    let mut rec = Record::load(opts.state)
        .issue(work.number)
        .cloned()
        .unwrap_or_else(|| IssueRecord {
            issue: work.number,
            task_id: work.task_id.clone(),
            branch: work.branch.clone(),
            base: base.to_string(),
            status: Status::Failed,
            commits: Vec::new(),
            pull_request: None,
            evidence: Vec::new(),
            validation: Vec::new(),
            violations: Vec::new(),
            attempts: Vec::new(),
        });
    rec.branch = work.branch.clone();
    rec.base = base.to_string();
    f(&mut rec);
    Record::save_issue(opts.state, &session.id, opts.forge.name(), rec)
}

/// A failed attempt: recorded, commented on the issue when no retry follows, then `Failed`
/// (or `NeedsHuman` with `reason` on the last attempt when the reason is more specific than a
/// failed implementation).
#[allow(clippy::too_many_arguments)]
fn failed(
    opts: &Options<'_>,
    session: &Session,
    work: &IssueWork,
    base: &str,
    outcome: &str,
    agent: Option<&str>,
    detail: String,
    specific: Option<EscalationReason>,
    f: impl FnOnce(&mut IssueRecord),
) -> anyhow::Result<PhaseOutcome> {
    let status = if outcome == "out-of-scope" {
        Status::SentBack
    } else {
        Status::Failed
    };
    update_record(opts, session, work, base, |r| {
        r.status = status;
        r.attempts.push(record::attempt(
            opts.attempt,
            outcome,
            agent,
            opts.rework.as_ref().map(|w| w.cycle),
            &detail,
        ));
        f(r);
    })?;
    let detail = format!("issue #{}: {detail}", work.number);
    if !opts.last_attempt {
        return Ok(PhaseOutcome::Failed { detail });
    }
    let reason = specific.unwrap_or(EscalationReason::ImplementationFailed);
    tell_gave_up(
        opts.forge,
        work.number,
        opts.attempt,
        reason,
        &detail,
        &work.branch,
    )?;
    Ok(match specific {
        Some(reason) => PhaseOutcome::NeedsHuman { reason, detail },
        None => PhaseOutcome::Failed { detail },
    })
}

/// Comment on issue `number` that implementation stopped after `attempts` attempts and needs
/// a person, with how the last attempt ended.
pub fn tell_gave_up(
    forge: &dyn Forge,
    number: u64,
    attempts: u32,
    reason: EscalationReason,
    detail: &str,
    branch: &str,
) -> Result<(), ForgeError> {
    let body = format!(
        "Implementation of #{number} stopped after {attempts} attempt(s) and needs a person ({reason}: {}).\n\nThe last attempt ended with:\n\n```text\n{}\n```\n\nBranch `{branch}`; the evidence is in `.factory/artifacts/{}/`.",
        reason.describe(),
        crate::util::sanitize::sanitize(&crate::state::redact::scrub(detail), 6_000)
            .replace("```", "'''"),
        validation::evidence_rel(number),
    );
    forge.comment_issue(number, &body)?;
    event(
        "comment",
        "ok",
        format!("#{number} told that implementation stopped ({reason})"),
        json!({"issue": number}),
    );
    Ok(())
}

fn attempt_in(
    opts: &Options<'_>,
    session: &Session,
    work: &IssueWork,
    wt: &Worktree,
    base: &str,
    base_ref: &str,
    token: Option<&str>,
) -> anyhow::Result<PhaseOutcome> {
    // While the base is being merged in (a conflict to resolve), the change is measured
    // against the base it is merged with, not against where the branch forked.
    let fork = match wt.merge_head()? {
        Some(merging) => merging,
        None => wt.fork_point(base_ref)?,
    };
    let (agent, cfg) = match agents::for_role(
        opts.workflow,
        Role::Implementer,
        opts.adapter,
        opts.model.clone(),
    ) {
        Ok(a) => a,
        Err(e) => return super::agent_outcome(e),
    };
    // A validation job that sent the work back reports errors of the previous attempt, not
    // review findings.
    let (retry_context, rework) = match &opts.rework {
        Some(r) if r.from == PhaseName::Implementation => (
            opts.retry_context
                .clone()
                .or_else(|| Some(r.detail.clone())),
            None,
        ),
        r => (
            opts.retry_context.clone(),
            r.as_ref().map(|r| r.detail.clone()),
        ),
    };
    let prompt = inputs::prompt(
        opts.state,
        opts.workflow,
        work,
        &wt.path,
        retry_context.as_deref(),
        rework.as_deref(),
    )?;
    let req = AgentRequest {
        role: Role::Implementer,
        prompt,
        workdir: wt.path.clone(),
        scratch: opts.state.root().join("runs").join("agent"),
        schema: None,
        resume: None,
        timeout: cfg.timeout(opts.timeout),
        model: cfg.model.clone(),
        commands: work.validation.iter().map(|c| c.command.clone()).collect(),
    };
    let name = agent.name().to_string();
    let response = match agents::call(
        agent.as_ref(),
        &req,
        &opts.workflow.backoff,
        PhaseName::Implementation.as_str(),
        Some(opts.state),
    ) {
        Ok(r) => r,
        Err(e) => {
            let detail = e.to_string();
            let out = super::agent_outcome(e)?;
            if let PhaseOutcome::Failed { .. } = out {
                return failed(
                    opts,
                    session,
                    work,
                    base,
                    "agent-failed",
                    Some(&name),
                    detail,
                    None,
                    |_| {},
                );
            }
            return Ok(out);
        }
    };

    // 1. What changed, against the base: inside the scope and free of secrets?
    wt.stage()?;
    let diff = wt.diff(&fork)?;
    let markers = conflict_markers(&diff);
    if !markers.is_empty() {
        return failed(
            opts,
            session,
            work,
            base,
            "conflict-markers",
            Some(&name),
            format!(
                "conflict markers are left in the change; resolve each conflict (keep both sides' intent) and remove the markers: {}",
                markers.join(", ")
            ),
            None,
            |_| {},
        );
    }
    if diff.trim().is_empty() {
        let said: String = response.text.chars().take(400).collect();
        return failed(
            opts,
            session,
            work,
            base,
            "no-change",
            Some(&name),
            format!(
                "the agent changed nothing on branch `{}`; its last message: {said}",
                work.branch
            ),
            None,
            |_| {},
        );
    }
    let scope = Scope::new(
        &work.in_scope,
        &work.out_of_scope,
        Some(work.change_class.as_str().to_string()),
        &work.scope_source,
    )?;
    let engine = Engine::new(crate::preflight::rules::secrets::rules(), Some(scope));
    let report = engine.scan(diff.as_bytes())?;
    let blocking: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.blocks_change())
        .collect();
    let scope_paths: Vec<&str> = blocking
        .iter()
        .filter(|f| f.category == Category::Scope)
        .map(|f| f.path.as_str())
        .collect();
    let secrets = blocking.len() - scope_paths.len();
    let mut refs = json!({
        "issue": work.number,
        "scope_violations": scope_paths.len(),
        "paths": scope_paths,
        "secrets": secrets,
    });
    if let Some(pr) = Record::load(opts.state)
        .issue(work.number)
        .and_then(|r| r.pull_request)
    {
        refs["pr"] = pr.into();
    }
    event(
        crate::state::log::vocab::PREFLIGHT,
        if blocking.is_empty() { "ok" } else { "failed" },
        format!(
            "{} file(s) changed for #{}: {} outside the scope ({}), {secrets} secret(s)",
            report.files_scanned,
            work.number,
            scope_paths.len(),
            work.scope_source
        ),
        refs,
    );
    if !blocking.is_empty() {
        let lines: Vec<String> = blocking
            .iter()
            .map(|f| {
                if f.category == Category::Secret {
                    format!(
                        "- `{}` line {}: a secret ({}: {}); remove it and read it from the environment instead",
                        f.path, f.line, f.rule_id, f.redacted
                    )
                } else {
                    format!("- {} [{}]", f.message, f.rule_id)
                }
            })
            .collect();
        let detail = format!(
            "the change breaks its scope ({}) or adds a secret; undo these changes (delete files you added there, restore files you changed) and keep the work inside the scope:\n{}",
            work.scope_source,
            lines.join("\n")
        );
        let reason = if secrets > 0 {
            EscalationReason::CriticalFinding
        } else {
            EscalationReason::ScopeDecision
        };
        return failed(
            opts,
            session,
            work,
            base,
            "out-of-scope",
            Some(&name),
            detail,
            Some(reason),
            |r| r.violations = lines.clone(),
        );
    }

    // 1b. The safe-outputs policy: paths no implementation may change (outputs.paths).
    let changed = wt.changed_paths(&fork)?;
    let denied = crate::forge::safe::denied_paths(&opts.workflow.outputs.paths, &changed)
        .map_err(anyhow::Error::msg)?;
    if !denied.is_empty() {
        let lines: Vec<String> = denied
            .iter()
            .map(|d| {
                format!(
                    "- `{}`: denied by `{}` in outputs.paths.deny",
                    d.path, d.pattern
                )
            })
            .collect();
        let detail = format!(
            "the change touches path(s) no implementation may change; undo these changes (a person may allow a path with outputs.paths.allow in .factory/workflow.yaml, docs/security.md):\n{}",
            lines.join("\n")
        );
        tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action = crate::state::log::vocab::SAFE_OUTPUT, tool = "factory", status = "refused", detail = format!("#{}: {} denied path(s): {}", work.number, denied.len(), denied.iter().map(|d| d.path.as_str()).collect::<Vec<_>>().join(", ")), decision = "outputs.paths");
        return failed(
            opts,
            session,
            work,
            base,
            "denied-path",
            Some(&name),
            detail,
            Some(EscalationReason::ScopeDecision),
            |r| r.violations = lines.clone(),
        );
    }

    // 2. Validation, by factory, with evidence; or, deferred, by a job that holds no secret.
    let deferred_validation = opts.validation == deferred::Placement::Deferred;
    if deferred_validation && opts.forge.name() != "deferred" {
        return Err(deferred::DeferredValidationError::NeedsDeferredWrites(work.number).into());
    }
    let declared = opts.workflow.command_env(PhaseName::Implementation);
    let (results, files) = if deferred_validation {
        (Vec::new(), Vec::new())
    } else {
        validation::validate(
            opts.state,
            work.number,
            &wt.path,
            &work.validation,
            &crate::forge::verify::CommandRun {
                timeout: opts.timeout,
                env: &declared,
            },
            opts.attempt,
        )
        .map_err(|source| ImplementError::Evidence {
            issue: work.number,
            source,
        })?
    };
    let artifacts = opts.state.artifacts_dir();
    let evidence: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&artifacts).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    let passed = results.iter().all(|r| r.ok);
    if !deferred_validation {
        event(
            crate::state::log::vocab::VALIDATE,
            if passed { "ok" } else { "failed" },
            format!(
                "#{} validation: {}",
                work.number,
                results
                    .iter()
                    .map(|r| format!("{} {}", r.name, if r.ok { "passed" } else { "failed" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"issue": work.number, "evidence": evidence}),
        );
    }
    if let Some(failure) = validation::failure_text(&results) {
        let results_json = validation::results_json(&results);
        let ev = evidence.clone();
        return failed(
            opts,
            session,
            work,
            base,
            "validation-failed",
            Some(&name),
            failure,
            None,
            move |r| {
                r.validation = results_json;
                r.evidence = ev;
                r.violations.clear();
            },
        );
    }

    // 3. Commit, publish, pull request.
    let commit = if wt.has_staged()? {
        let title = crate::forge::issues::line(pr::without_tag(&work.title));
        let message = format!(
            "{title} (#{n})\n\n{what} by {name} in attempt {a}; {validated}.\n\nCloses #{n}\n",
            n = work.number,
            what = if opts.rework.is_some() {
                "Review findings addressed"
            } else {
                "Implemented"
            },
            a = opts.attempt,
            validated = if deferred_validation {
                format!(
                    "validated by factory in a job of its own: {}",
                    work.validation
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!(
                    "validated by factory: {}",
                    results
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        Some(wt.commit(&message)?)
    } else if opts.rework.is_some() {
        return failed(
            opts,
            session,
            work,
            base,
            "no-change",
            Some(&name),
            if opts
                .rework
                .as_ref()
                .is_some_and(|r| r.from == PhaseName::Implementation)
            {
                "the agent changed nothing to fix the validation that failed".into()
            } else {
                "the agent changed nothing to address the review findings".into()
            },
            None,
            |_| {},
        );
    } else {
        None
    };
    let head = wt.head()?;
    event(
        "commit",
        if commit.is_some() { "ok" } else { "skipped" },
        format!(
            "#{} on {} at {}",
            work.number,
            work.branch,
            short_commit(&head)
        ),
        json!({"issue": work.number, "branch": work.branch, "commit": head}),
    );
    if opts.forge.name() == "deferred" {
        return defer_pull_request(
            opts,
            session,
            work,
            wt,
            base,
            &fork,
            &head,
            &files,
            &results,
            commit,
            &name,
            deferred_validation,
        );
    }
    if let Some(t) = token {
        crate::forge::git::push(&wt.repo, &work.branch, t)?;
        event(
            "push",
            "ok",
            format!("{} pushed to origin", work.branch),
            json!({"issue": work.number, "branch": work.branch, "commit": head}),
        );
    }
    record_branch(opts, session, work)?;
    let current = opts
        .state
        .load_session()?
        .unwrap_or_else(|| session.clone());
    let opened = pr::open_pull_request(
        opts.state,
        opts.forge,
        Some(&current),
        &pr::OpenRequest {
            repo: opts.repo.clone(),
            issue: work.number,
            branch: Some(work.branch.clone()),
            base: Some(base.to_string()),
            evidence: files.clone(),
        },
    )?;
    let number = opened.pull_request.number;
    let results_json = validation::results_json(&results);
    update_record(opts, session, work, base, |r| {
        r.status = Status::Done;
        if let Some(c) = &commit
            && !r.commits.contains(c)
        {
            r.commits.push(c.clone());
        }
        r.pull_request = Some(number);
        r.evidence = evidence.clone();
        r.validation = results_json;
        r.violations.clear();
        r.attempts.push(record::attempt(
            opts.attempt,
            "done",
            Some(&name),
            opts.rework.as_ref().map(|w| w.cycle),
            &format!(
                "{} pull request #{number}",
                if opened.created { "opened" } else { "updated" }
            ),
        ));
    })?;
    Ok(PhaseOutcome::Done {
        detail: format!(
            "#{} on {} at {}, pull request #{number} {}",
            work.number,
            work.branch,
            short_commit(&head),
            if opened.created { "opened" } else { "updated" }
        ),
    })
}

/// Deferred writes: the commits go into a git bundle and the publication into an apply
/// artifact (`.factory/outbox/`); `factory apply` pushes the branch and opens the pull request.
#[allow(clippy::too_many_arguments)]
fn defer_pull_request(
    opts: &Options<'_>,
    session: &Session,
    work: &IssueWork,
    wt: &Worktree,
    base: &str,
    fork: &str,
    head: &str,
    files: &[PathBuf],
    results: &[crate::forge::verify::CheckResult],
    commit: Option<String>,
    agent: &str,
    awaits_validation: bool,
) -> anyhow::Result<PhaseOutcome> {
    let outbox = crate::forge::deferred::outbox::dir(opts.state);
    std::fs::create_dir_all(&outbox).map_err(|source| ImplementError::Evidence {
        issue: work.number,
        source,
    })?;
    let tmp = outbox.join(format!(".issue-{}.bundle.tmp", work.number));
    let tmp_shown = tmp.to_string_lossy().into_owned();
    let range = format!("^{fork}");
    let branch_ref = format!("refs/heads/{}", work.branch);
    wt.repo.run(&[
        "bundle",
        "create",
        "--quiet",
        &tmp_shown,
        &branch_ref,
        &range,
    ])?;
    let artifacts = opts.state.artifacts_dir();
    let evidence: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&artifacts).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    let path = crate::forge::deferred::outbox::write(
        opts.state,
        crate::forge::deferred::outbox::Artifact {
            schema_version: crate::forge::deferred::outbox::SCHEMA_VERSION.into(),
            kind: crate::forge::deferred::outbox::Kind::PullRequest,
            session_id: session.id.clone(),
            phase: PhaseName::Implementation.to_string(),
            created_at: crate::state::now().to_string(),
            pull_request: Some(crate::forge::deferred::outbox::PullRequestWrite {
                issue: work.number,
                branch: work.branch.clone(),
                base: base.to_string(),
                base_commit: fork.to_string(),
                head: head.to_string(),
                bundle: String::new(),
                evidence: evidence.clone(),
                rework_cycle: opts.rework.as_ref().map(|r| r.cycle),
                awaits_validation,
            }),
            review: None,
            comment: None,
            verification: None,
        },
        Some(&tmp),
    )?;
    let shown = crate::forge::deferred::outbox::file_name(&path);
    if awaits_validation {
        deferred::record_pending(
            opts.state,
            work.number,
            &work.branch,
            head,
            &shown,
            opts.attempt,
            &work.validation,
        )?;
    }
    record_branch(opts, session, work)?;
    let results_json = validation::results_json(results);
    update_record(opts, session, work, base, |r| {
        r.status = Status::Done;
        if let Some(c) = &commit
            && !r.commits.contains(c)
        {
            r.commits.push(c.clone());
        }
        r.evidence = evidence.clone();
        r.validation = results_json;
        r.violations.clear();
        r.attempts.push(record::attempt(
            opts.attempt,
            "done",
            Some(agent),
            opts.rework.as_ref().map(|w| w.cycle),
            &format!(
                "publication deferred to `factory apply`: outbox/{shown}{}",
                if awaits_validation {
                    format!(", after `{}`", deferred::COMMAND)
                } else {
                    String::new()
                }
            ),
        ));
    })?;
    Ok(PhaseOutcome::Done {
        detail: format!(
            "#{} on {} at {}, publication left for `factory apply` in .factory/outbox/{shown}{}",
            work.number,
            work.branch,
            short_commit(head),
            if awaits_validation {
                format!(" once `{}` passes", deferred::COMMAND)
            } else {
                String::new()
            }
        ),
    })
}

/// Files of a unified diff whose added lines still carry git's conflict markers.
fn conflict_markers(diff: &str) -> Vec<String> {
    let mut file = String::new();
    let mut out: Vec<String> = Vec::new();
    for line in diff.lines() {
        if let Some(p) = line.strip_prefix("+++ ") {
            file = p.strip_prefix("b/").unwrap_or(p).to_string();
        } else if let Some(added) = line.strip_prefix('+')
            && (added.starts_with("<<<<<<< ") || added.starts_with(">>>>>>> "))
            && !out.contains(&file)
        {
            out.push(file.clone());
        }
    }
    out
}

/// The task issues of the session, in the order they were made.
pub fn task_issues(session: &Session) -> Vec<u64> {
    session
        .issues
        .iter()
        .filter(|i| i.task_id.is_some())
        .map(|i| i.number)
        .collect()
}

/// Whether review findings concern the pull request of `issue`: not when its latest review
/// approves it.
fn rework_applies(state: &StateDir, rec: Option<&IssueRecord>) -> bool {
    let Some(pr) = rec.and_then(|r| r.pull_request) else {
        return true;
    };
    let approved = crate::phases::merge::pull_request::latest_review(state, pr)
        .and_then(|(_, path)| crate::state::read_capped(&path).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["verdict"] == "APPROVE");
    !approved
}

/// Implement every task issue of the session that is not implemented yet (or, with `rework`,
/// whose pull request the review sent back), creating the inline issue first on routes that
/// make it here.
pub fn implement_session(opts: &Options<'_>, inline_issue: bool) -> anyhow::Result<PhaseOutcome> {
    let load = || -> anyhow::Result<Session> {
        Ok(opts
            .state
            .load_session()?
            .ok_or_else(|| ImplementError::NoSession(opts.state.root().display().to_string()))?)
    };
    let mut session = load()?;
    if task_issues(&session).is_empty() {
        if !inline_issue {
            return Ok(PhaseOutcome::Failed {
                detail: "the session has no task issues: issue creation must run first (`factory issues create`)".into(),
            });
        }
        if opts.forge.name() == "deferred" {
            anyhow::bail!(
                "this route implements one inline issue, and creating an issue is a forge write that cannot be deferred: create it first with `factory issues create --inline` (with the forge token), then run implementation with deferred writes (docs/security.md#deferred-writes)"
            );
        }
        let report = create_inline_issue(opts.state, opts.forge, &session)?;
        event(
            "issue_create",
            "ok",
            format!(
                "inline issue #{} for this {} change",
                report.issues[0].number, session.change_class
            ),
            json!({"issue": report.issues[0].number}),
        );
        session = load()?;
    }
    let record = Record::load(opts.state);
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    let wave = session.current_wave();
    for number in task_issues(&session) {
        if !session.in_current_wave(Some(number)) {
            continue;
        }
        let rec = record.issue(number);
        let implemented = rec.is_some_and(|r| r.status == Status::Done);
        let again = match &opts.rework {
            Some(r) if !r.issues.is_empty() => r.issues.contains(&number),
            Some(_) => rework_applies(opts.state, rec),
            None => false,
        };
        if implemented && !again {
            skipped.push(format!("#{number}"));
            continue;
        }
        match implement_issue(opts, &session, number)? {
            PhaseOutcome::Done { detail } => done.push(detail),
            other => return Ok(other),
        }
        session = load()?;
    }
    if done.is_empty() && !opts.state.artifacts_dir().join(record::ARTIFACT).exists() {
        return Ok(PhaseOutcome::Failed {
            detail: "no issue to implement".into(),
        });
    }
    let mut detail = match wave {
        Some(w) if !done.is_empty() => format!("wave {w}: {}", done.join("; ")),
        _ => done.join("; "),
    };
    if !skipped.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        detail.push_str(&format!("already implemented: {}", skipped.join(", ")));
    }
    Ok(PhaseOutcome::Done { detail })
}

// --- the built-in phase ---------------------------------------------------------------------

/// The built-in `implementation` phase.
pub struct ImplementationPhase;

impl Phase for ImplementationPhase {
    fn run(&self, ctx: &PhaseContext<'_>) -> anyhow::Result<PhaseOutcome> {
        let repo = ctx.state.repo();
        let forge = ctx.forge()?;
        let opts = Options {
            state: ctx.state,
            workflow: ctx.workflow,
            forge,
            repo,
            adapter: None,
            model: None,
            timeout: ctx.phase.timeout,
            attempt: ctx.attempt,
            last_attempt: ctx.attempt > ctx.phase.retries,
            retry_context: ctx.retry_context.clone(),
            rework: ctx.rework.cloned(),
            validation: deferred::placement()?,
        };
        let inline = ctx.phase.step.as_ref().is_some_and(|s| s.inline_issue);
        implement_session(&opts, inline)
    }
}
