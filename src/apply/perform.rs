//! `factory apply`: read an apply artifact, check it against its contract and the safe-outputs
//! policy, perform its writes through the forge `open_forge` gives (always behind `SafeForge`),
//! and mark it applied in the ledger. A refusal or a bad artifact marks it refused, logs a
//! `safe_output` event, and stops the session for a person (`scope-decision`).

use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

use super::ApplyError;
use super::policy;
use crate::artifacts::implementation::{self as record, Record, Status};
use crate::contracts::{self, Contract};
use crate::findings::Category;
use crate::forge::deferred::DeferredForge;
use crate::forge::deferred::outbox::{
    self, Artifact, CommentWrite, Kind, Ledger, PullRequestWrite, ReviewWrite, VerificationWrite,
};
use crate::forge::git::Git;
use crate::forge::pr::{self, OpenRequest, PrError};
use crate::forge::{Forge, NewReview, select};
use crate::state::{Escalation, EscalationReason, PhaseStatus, PullRequestRef, Session, StateDir};
use crate::util::text::short_commit;
use crate::workflow::{PhaseName, Workflow};

/// How one artifact went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub artifact: PathBuf,
    /// What was written, for the terminal and the log.
    pub detail: String,
    /// It had been applied before: nothing was written this time.
    pub already: bool,
}

fn event(phase: &str, action: &str, status: &str, detail: String, refs: Value) {
    let refs = refs.to_string();
    tracing::info!(target: "factory::event", phase, action, tool = "factory", status, detail, refs);
}

/// Read and check `path` against the apply-artifact contract.
pub fn load(path: &Path) -> Result<Artifact, ApplyError> {
    let bad = |problem: String| ApplyError::BadArtifact {
        path: path.to_path_buf(),
        problem,
    };
    let bytes =
        crate::state::read_capped(path).map_err(|e| bad(format!("cannot read the file: {e}")))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let violations = contracts::validate(Contract::ApplyArtifact, &doc, Default::default());
    if !violations.is_empty() {
        return Err(bad(format!(
            "does not satisfy the apply-artifact contract: {}",
            violations
                .iter()
                .map(|v| format!(
                    "field `{}`: {}",
                    if v.pointer.is_empty() {
                        "/"
                    } else {
                        &v.pointer
                    },
                    v.message
                ))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    serde_json::from_value(doc).map_err(|e| bad(format!("does not match the contract: {e}")))
}

/// Apply the artifact at `path` (once: an artifact the ledger lists as applied is skipped).
///
/// `kinds`, when not empty, are the only kinds of write this apply takes: an apply job knows
/// which job before it left the artifacts (a verify job leaves verdicts, nothing else), and an
/// artifact of another kind is refused as one that job had no business writing.
pub fn apply_file(
    state: &StateDir,
    workflow: &Workflow,
    path: &Path,
    kinds: &[Kind],
) -> Result<Applied, ApplyError> {
    let name = outbox::file_name(path);
    if let Some(e) = Ledger::load(state).entries.get(&name)
        && e.status == "applied"
    {
        return Ok(Applied {
            artifact: path.to_path_buf(),
            detail: format!("already applied: {}", e.detail),
            already: true,
        });
    }
    match apply_one(state, workflow, path, kinds) {
        Ok(detail) => {
            Ledger::mark(state, path, "applied", &detail)?;
            event(
                "apply",
                crate::state::log::vocab::APPLY,
                "ok",
                format!("{name}: {detail}"),
                json!({"artifact": name}),
            );
            Ok(Applied {
                artifact: path.to_path_buf(),
                detail,
                already: false,
            })
        }
        Err(e) if e.is_refusal() => {
            refuse(state, path, &e)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Apply every artifact of the outbox the ledger does not list yet, in order; stops at the
/// first that fails.
pub fn apply_pending(
    state: &StateDir,
    workflow: &Workflow,
    kinds: &[Kind],
) -> Result<Vec<Applied>, ApplyError> {
    let mut out = Vec::new();
    for path in outbox::pending(state) {
        out.push(apply_file(state, workflow, &path, kinds)?);
    }
    Ok(out)
}

/// Record a refusal: the ledger, a `safe_output` event, the implementation record (so the
/// issue is implemented again once a person has decided), the escalation, REPORT.md.
fn refuse(state: &StateDir, path: &Path, err: &ApplyError) -> Result<(), ApplyError> {
    let name = outbox::file_name(path);
    let detail = crate::state::redact::scrub(&err.to_string());
    Ledger::mark(state, path, "refused", &detail)?;
    let artifact = load(path).ok();
    let phase = artifact
        .as_ref()
        .and_then(|a| a.phase.parse::<PhaseName>().ok());
    let decision = match err {
        ApplyError::Refused(r) => match r.key {
            Some(k) => format!("outputs.{k}"),
            None => "scope".into(),
        },
        ApplyError::Forge(crate::forge::ForgeError::Refused { key, .. }) => {
            format!("outputs.{key}")
        }
        _ => "apply-artifact contract".into(),
    };
    let refs = json!({"artifact": name}).to_string();
    tracing::info!(target: "factory::event", phase = phase.map(|p| p.as_str()).unwrap_or("apply"), action = crate::state::log::vocab::SAFE_OUTPUT, tool = "factory", status = "refused", detail = detail.as_str(), decision = decision.as_str(), refs);
    if let Some(pr) = artifact.as_ref().and_then(|a| a.pull_request.as_ref()) {
        let mut rec = Record::load(state);
        if let Some(r) = rec.issues.iter_mut().find(|r| r.issue == pr.issue) {
            r.status = Status::SentBack;
            r.violations = vec![detail.clone()];
            let (sid, forge, r) = (rec.session_id.clone(), rec.forge.clone(), r.clone());
            Record::save_issue(state, &sid, &forge, r)?;
        }
    }
    if state.load_session()?.is_some() {
        let phase = phase.unwrap_or(PhaseName::Implementation);
        state.update_session(|s| {
            s.phase_mut(phase).status = PhaseStatus::Escalated;
            s.escalation = Some(Escalation {
                reason: EscalationReason::ScopeDecision,
                phase,
                at: crate::state::now(),
                detail: detail.clone(),
            });
        })?;
        crate::report::write(state)?;
    }
    Ok(())
}

fn apply_one(
    state: &StateDir,
    workflow: &Workflow,
    path: &Path,
    kinds: &[Kind],
) -> Result<String, ApplyError> {
    let artifact = load(path)?;
    let bad = |field: &str, problem: String| ApplyError::BadArtifact {
        path: path.to_path_buf(),
        problem: format!("field `{field}`: {problem}"),
    };
    if !kinds.is_empty() && !kinds.contains(&artifact.kind) {
        let taken: Vec<&str> = kinds.iter().map(|k| k.field()).collect();
        return Err(bad(
            "kind",
            format!(
                "`{}` is not a write the job before this apply may leave (it takes {} only)",
                artifact.kind.field(),
                taken.join(", ")
            ),
        ));
    }
    let (session, event_review) = match state.load_session()? {
        Some(session) => (session, false),
        None => match event_review_session(&artifact) {
            Some(session) => (session, true),
            None => {
                return Err(ApplyError::Setup(format!(
                    "no session in {}: an apply artifact belongs to a session (or, with no session, to the pull request of this GitHub Actions event); restore the state it was made in",
                    state.root().display()
                )));
            }
        },
    };
    if event_review && artifact.kind == Kind::PullRequest {
        return Err(bad(
            "kind",
            "a review of the event's pull request may post a review and comments, nothing else"
                .into(),
        ));
    }
    if artifact.session_id != session.id {
        return Err(bad(
            "session_id",
            format!(
                "`{}` is not the current session `{}`",
                artifact.session_id, session.id
            ),
        ));
    }
    crate::state::log::set_session(&session.id);
    let repo = state.repo();
    let forge = select::open_direct(state, &repo)?;
    match artifact.kind {
        Kind::PullRequest => {
            let pr = artifact
                .pull_request
                .as_ref()
                .ok_or_else(|| bad("pull_request", "missing".into()))?;
            pull_request(state, workflow, forge.as_ref(), &session, &repo, path, pr)
        }
        Kind::Review => {
            let r = artifact
                .review
                .as_ref()
                .ok_or_else(|| bad("review", "missing".into()))?;
            review(forge.as_ref(), &session, path, r)
        }
        Kind::Comment => {
            let c = artifact
                .comment
                .as_ref()
                .ok_or_else(|| bad("comment", "missing".into()))?;
            comment(forge.as_ref(), &session, path, c)
        }
        Kind::Verification => {
            let v = artifact
                .verification
                .as_ref()
                .ok_or_else(|| bad("verification", "missing".into()))?;
            verification(state, workflow, forge.as_ref(), &session, path, v)
        }
    }
}

/// The verdict of a post-merge verification that a job without tokens ran on the merged code.
/// That code could have written the artifact, so only what the forge confirms is used: the
/// pull request must be a merged one of the session, `merge_commit` its merge commit on the
/// forge, and the issue is the one the forge's pull request closes. The checks are data: a
/// comment naming them when every one passed, else the recurrence on the issue (reopen,
/// `regression`, escalation past `limits.recurrence_limit`) and the merge phase failed, as an
/// inline verification would have done.
fn verification(
    state: &StateDir,
    workflow: &Workflow,
    forge: &dyn Forge,
    session: &Session,
    path: &Path,
    v: &VerificationWrite,
) -> Result<String, ApplyError> {
    let bad = |field: &str, problem: String| ApplyError::BadArtifact {
        path: path.to_path_buf(),
        problem: format!("field `verification.{field}`: {problem}"),
    };
    if !session
        .pull_requests
        .iter()
        .any(|p| p.number == v.pr && p.merged)
    {
        return Err(bad(
            "pr",
            format!("#{} is not a merged pull request of this session", v.pr),
        ));
    }
    let failed = v.checks.iter().position(|c| !c.ok);
    match failed {
        None if !v.passed => {
            return Err(bad("passed", "false, but no check failed".into()));
        }
        Some(i) if v.passed || i + 1 != v.checks.len() => {
            return Err(bad(
                "checks",
                "a failed check must be the last one, and the verification then did not pass"
                    .into(),
            ));
        }
        _ => {}
    }
    let on_forge = forge.get_pull_request(v.pr)?;
    let merged_at = match (&on_forge.state, &on_forge.merge_commit) {
        (crate::forge::State::Merged, Some(c)) => c.clone(),
        (s, _) => {
            return Err(ApplyError::refused(
                path,
                "verification.pr",
                format!("#{}", v.pr),
                format!("is {} on the forge, not merged", s.as_str()),
                None,
                Some("verify only what the merge phase merged; nothing was written".into()),
            ));
        }
    };
    if merged_at != v.merge_commit {
        return Err(ApplyError::refused(
            path,
            "verification.merge_commit",
            format!("`{}`", v.merge_commit),
            format!(
                "is not the merge commit of pull request #{} on the forge (`{merged_at}`)",
                v.pr
            ),
            None,
            Some(
                "run `factory verify --pending` again on a clone that has the merge commit; nothing was written".into(),
            ),
        ));
    }
    let issue = pr::closed_issue(&on_forge).ok_or_else(|| {
        bad(
            "pr",
            format!(
                "pull request #{} names no issue (`Closes #N`) to report to",
                v.pr
            ),
        )
    })?;
    let ran: Vec<(&str, &str, bool)> = v
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.command.as_str(), c.ok))
        .collect();
    let limit = workflow.limits.recurrence_limit;
    let recorded = crate::forge::verify::notify(state, forge, limit, v.pr, issue, &merged_at, &ran)
        .map_err(|e| match e {
            crate::forge::verify::VerifyError::Forge(f) => ApplyError::Forge(f),
            e => ApplyError::Other(e.into()),
        })?;
    // The state's record of the verification (with the checks' output) says it is reported.
    let rel = format!("verify/{}.json", v.pr);
    let mut doc: Value = std::fs::read(state.artifacts_dir().join(&rel))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|d: &Value| d["merge_commit"] == v.merge_commit.as_str())
        .unwrap_or_else(|| {
            json!({"schema_version": "1.0", "pr": v.pr, "merge_commit": v.merge_commit, "checks": v.checks})
        });
    doc["issue"] = json!(issue);
    doc["passed"] = json!(v.passed);
    doc["reported"] = json!(true);
    doc["recurrence"] = match &recorded {
        Some(r) => json!({
            "count": r.count(),
            "escalated": matches!(r, crate::forge::recurrence::Recorded::Escalated { .. }),
        }),
        None => Value::Null,
    };
    if let Some(o) = doc.as_object_mut() {
        o.remove("pending");
    }
    state.write_artifact(&rel, &doc)?;
    let short = short_commit(&merged_at);
    Ok(match recorded {
        None => format!(
            "post-merge verification of #{} at {short} passed: reported on issue #{issue}",
            v.pr
        ),
        Some(r) => {
            let detail = crate::forge::verify::fail_merge_phase(state, v.pr, &r)
                .map_err(|e| ApplyError::Other(e.into()))?;
            crate::report::write(state)?;
            detail
        }
    })
}

/// With no session: the writes of a deferred review of the pull request this job's event names
/// (the code-review workflow's review job), as a session of that one pull request. The event is
/// GitHub's, not the artifact's: an artifact naming another pull request matches nothing.
fn event_review_session(artifact: &Artifact) -> Option<Session> {
    let number = crate::forge::deferred::event_pull_request_number()?;
    let id = crate::forge::deferred::event_session(number);
    if artifact.session_id != id {
        return None;
    }
    let mut session = Session::new(
        format!("review of pull request #{number}"),
        crate::workflow::ChangeClass::Feature,
        crate::workflow::Trigger::User,
        Vec::new(),
    );
    session.id = id;
    session.pull_requests.push(PullRequestRef {
        number,
        ..PullRequestRef::default()
    });
    Some(session)
}

fn review(
    forge: &dyn Forge,
    session: &Session,
    path: &Path,
    r: &ReviewWrite,
) -> Result<String, ApplyError> {
    if !session.pull_requests.iter().any(|p| p.number == r.pr) {
        return Err(ApplyError::BadArtifact {
            path: path.to_path_buf(),
            problem: format!(
                "field `review.pr`: #{} is not a pull request of this session",
                r.pr
            ),
        });
    }
    // A review carrying the same marker (`factory:review pr=N cycle=N`) is already there: an
    // earlier apply posted it and stopped before the ledger said so.
    if let Some(marker) = marker_of(&r.body)
        && let Some(found) = forge
            .list_reviews(r.pr)?
            .into_iter()
            .find(|x| x.body.contains(marker))
    {
        return Ok(format!(
            "review of pull request #{} already posted (review {}); not posted again",
            r.pr, found.id
        ));
    }
    // The review's own marker, for this pull request, whatever cycle the artifact names.
    let own: Vec<String> = marker_of(&r.body)
        .filter(|m| {
            m.strip_prefix(&format!("<!-- factory:review pr={} cycle=", r.pr))
                .and_then(|rest| rest.strip_suffix(" -->"))
                .is_some_and(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
        .into_iter()
        .collect();
    let comments = r
        .comments
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.body = crate::util::markers::neutralise(&c.body);
            c
        })
        .collect();
    let posted = forge.create_review(
        r.pr,
        &NewReview {
            event: r.event,
            body: guard_markers(&r.body, &own),
            comments,
        },
    )?;
    event(
        PhaseName::CodeReview.as_str(),
        crate::state::log::vocab::PR_REVIEW,
        "ok",
        format!(
            "review of #{} posted ({}, {} inline comment(s))",
            r.pr,
            posted.event.as_str(),
            r.comments.len()
        ),
        json!({"pr": r.pr}),
    );
    let event = match &posted.downgraded {
        Some(_) => format!(
            "{} as COMMENT with the verdict in its body",
            r.event.as_str()
        ),
        None => posted.event.as_str().to_string(),
    };
    Ok(format!(
        "review posted on pull request #{} ({event}, {} inline comment(s))",
        r.pr,
        r.comments.len()
    ))
}

/// `body` from an apply artifact, with factory's markers kept only where factory puts them: a
/// first line that is one of `own` (the markers this kind of write carries for its number);
/// every other `<!-- factory:` in it is neutralised. An agent job could have written the
/// artifact, and a forged marker (a recurrence count, another issue's task) must not reach the
/// forge.
fn guard_markers(body: &str, own: &[String]) -> String {
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    if own.iter().any(|m| first.trim() == m) {
        let rest = crate::util::markers::neutralise(rest);
        if body.contains('\n') {
            format!("{first}\n{rest}")
        } else {
            first.to_string()
        }
    } else {
        crate::util::markers::neutralise(body)
    }
}

/// The factory marker a comment starts with (`<!-- factory:… -->`), which makes it sticky.
fn marker_of(body: &str) -> Option<&str> {
    let first = body.lines().next()?.trim();
    (first.starts_with("<!-- factory:") && first.ends_with("-->")).then_some(first)
}

fn comment(
    forge: &dyn Forge,
    session: &Session,
    path: &Path,
    c: &CommentWrite,
) -> Result<String, ApplyError> {
    let known = session.issues.iter().any(|i| i.number == c.number)
        || session.pull_requests.iter().any(|p| p.number == c.number);
    if !known {
        return Err(ApplyError::BadArtifact {
            path: path.to_path_buf(),
            problem: format!(
                "field `comment.number`: #{} is neither an issue nor a pull request of this session",
                c.number
            ),
        });
    }
    let own = [
        crate::util::markers::review_summary(c.number),
        crate::util::markers::review_limit(c.number),
    ];
    let body = guard_markers(&c.body, &own);
    Ok(match marker_of(&body) {
        Some(marker) => {
            let (_, updated) = crate::review::post::upsert_comment(forge, c.number, marker, &body)?;
            format!(
                "comment on #{} {}",
                c.number,
                if updated { "updated" } else { "posted" }
            )
        }
        None => {
            forge.comment_issue(c.number, &body)?;
            format!("comment posted on #{}", c.number)
        }
    })
}

/// A file name without directories (`x.bundle`), as the contract requires of the bundle.
fn plain_name(name: &str) -> bool {
    let p = Path::new(name);
    p.components().count() == 1 && matches!(p.components().next(), Some(Component::Normal(_)))
}

#[allow(clippy::too_many_arguments)]
fn pull_request(
    state: &StateDir,
    workflow: &Workflow,
    forge: &dyn Forge,
    session: &Session,
    repo: &Path,
    path: &Path,
    w: &PullRequestWrite,
) -> Result<String, ApplyError> {
    let bad = |field: &str, problem: String| ApplyError::BadArtifact {
        path: path.to_path_buf(),
        problem: format!("field `{field}`: {problem}"),
    };
    if !session
        .issues
        .iter()
        .any(|i| i.number == w.issue && i.task_id.is_some())
    {
        return Err(bad(
            "pull_request.issue",
            format!("#{} is not a task issue of this session", w.issue),
        ));
    }
    if let Some(why) = policy::branch_refusal(&workflow.outputs, &w.branch, &w.base, w.issue) {
        return Err(ApplyError::refused(
            path,
            "pull_request.branch",
            format!("`{}`", w.branch),
            why,
            Some("branches"),
            None,
        ));
    }
    let default = forge.default_branch()?;
    if w.base != default {
        return Err(ApplyError::refused(
            path,
            "pull_request.base",
            format!("`{}`", w.base),
            format!("pull requests go into the default branch `{default}`"),
            None,
            Some("nothing was pushed".into()),
        ));
    }
    if !plain_name(&w.bundle) {
        return Err(bad(
            "pull_request.bundle",
            format!("`{}` must be a file name next to the artifact", w.bundle),
        ));
    }
    for e in &w.evidence {
        let p = Path::new(e);
        if !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(
                "pull_request.evidence",
                format!("`{e}` must be a path inside .factory/artifacts/"),
            ));
        }
    }
    let bundle = path.parent().unwrap_or(Path::new(".")).join(&w.bundle);
    if !bundle.is_file() {
        return Err(bad(
            "pull_request.bundle",
            format!("{} does not exist", bundle.display()),
        ));
    }
    let git = Git::new(repo);
    let shown = bundle.to_string_lossy().into_owned();
    if let Err(e) = git.run(&["bundle", "verify", "--quiet", &shown]) {
        return Err(bad(
            "pull_request.bundle",
            format!("{shown} is not a usable git bundle for this repository: {e}"),
        ));
    }
    let scratch = format!(
        "refs/factory/apply/{}",
        outbox::file_name(path).trim_end_matches(".json")
    );
    let spec = format!("+refs/heads/{}:{scratch}", w.branch);
    if let Err(e) = git.run(&["fetch", "--quiet", "--no-tags", &shown, &spec]) {
        return Err(bad(
            "pull_request.branch",
            format!("the bundle has no branch `{}`: {e}", w.branch),
        ));
    }
    let result = publish(
        state, workflow, forge, session, repo, path, w, &git, &scratch,
    );
    let _ = git.run(&["update-ref", "-d", &scratch]);
    result
}

#[allow(clippy::too_many_arguments)]
fn publish(
    state: &StateDir,
    workflow: &Workflow,
    forge: &dyn Forge,
    session: &Session,
    repo: &Path,
    path: &Path,
    w: &PullRequestWrite,
    git: &Git,
    scratch: &str,
) -> Result<String, ApplyError> {
    let head = git.rev(scratch)?;
    if head != w.head {
        return Err(ApplyError::BadArtifact {
            path: path.to_path_buf(),
            problem: format!(
                "field `pull_request.head`: `{}` but the bundle's branch `{}` is at {head}",
                w.head, w.branch
            ),
        });
    }
    // Validated in a job of its own (FACTORY_VALIDATION=deferred, or the artifact says so):
    // only a passing verdict for exactly this commit lets it out.
    let deferred_validation = w.awaits_validation
        || crate::forge::validation::placement().map_err(|e| ApplyError::Setup(e.to_string()))?
            == crate::forge::validation::Placement::Deferred;
    let mut validated_evidence = Vec::new();
    if deferred_validation {
        use crate::forge::validation as deferred;
        if let Some((what, fix)) = deferred::publish_refusal(state, w.issue, &head) {
            return Err(ApplyError::refused(
                path,
                "pull_request.head",
                format!("`{head}`"),
                what,
                None,
                Some(fix),
            ));
        }
        validated_evidence = deferred::load(state, w.issue)
            .map(|v| v.evidence)
            .unwrap_or_default();
    }
    // What the change touches, against the base as this checkout has it.
    let base_ref = DeferredForge::branch_ref(git, &w.base)?;
    let merge_base = git.run(&["merge-base", &base_ref, scratch])?;
    let changed: Vec<String> =
        git.paths(&["diff", "--name-only", "--no-renames", &merge_base, scratch])?;
    let denied = crate::forge::safe::denied_paths(&workflow.outputs.paths, &changed)
        .map_err(ApplyError::Setup)?;
    if let Some(d) = denied.first() {
        return Err(ApplyError::refused(
            path,
            "pull_request.bundle",
            format!("changes `{}`", d.path),
            format!(
                "denied by `{}` in outputs.paths.deny ({} denied path(s): {}); nothing was pushed",
                d.pattern,
                denied.len(),
                denied
                    .iter()
                    .map(|d| d.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some("paths"),
            Some(
                "add the path to `outputs.paths.allow` in .factory/workflow.yaml if this is intended"
                    .into(),
            ),
        ));
    }
    if let Some(source) = crate::review::pr::scope_for_issue(state, Some(session), w.issue)? {
        let diff = git.run_raw(&["diff", "--no-color", "--no-ext-diff", &merge_base, scratch])?;
        let engine = crate::preflight::engine::Engine::new(Vec::new(), Some(source.scope));
        let report = engine.scan(diff.as_bytes()).map_err(anyhow::Error::from)?;
        let outside: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.category == Category::Scope)
            .map(|f| f.path.as_str())
            .collect();
        if let Some(first) = outside.first() {
            return Err(ApplyError::refused(
                path,
                "pull_request.bundle",
                format!("changes `{first}`"),
                format!(
                    "outside the scope of issue #{} ({}): {}; nothing was pushed",
                    w.issue,
                    source.origin,
                    outside.join(", ")
                ),
                None,
                Some(
                    "widen the scope in the plan (files_in_scope) and implement the issue again if this is intended"
                        .into(),
                ),
            ));
        }
    }

    // Publish: on GitHub a push with the token in git's environment only; on the local forge
    // the repository's own branch is the published one (fast-forward only).
    let local = format!("refs/heads/{}", w.branch);
    if let Ok(old) = git.rev(&local)
        && old != head
        && !git.succeeds(&["merge-base", "--is-ancestor", &old, &head])?
        && forge.name() != "github"
    {
        return Err(ApplyError::BadArtifact {
            path: path.to_path_buf(),
            problem: format!(
                "field `pull_request.head`: {head} does not build on `{}` at {old}; factory only fast-forwards a branch",
                w.branch
            ),
        });
    }
    if forge.name() == "github" {
        let token = crate::forge::git::forge_token().ok_or_else(|| {
            ApplyError::Setup(
                "factory apply on GitHub needs GITHUB_TOKEN or GH_TOKEN to push the branch".into(),
            )
        })?;
        git.run(&["update-ref", &local, &head])?;
        crate::forge::git::push(git, &w.branch, &token)?;
    } else {
        git.run(&["update-ref", &local, &head])?;
    }
    event(
        PhaseName::Implementation.as_str(),
        "push",
        "ok",
        format!("{} published at {}", w.branch, short_commit(&head)),
        json!({"issue": w.issue, "branch": w.branch, "commit": head}),
    );
    let evidence: Vec<PathBuf> = if w.evidence.is_empty() {
        &validated_evidence
    } else {
        &w.evidence
    }
    .iter()
    .map(|e| state.artifacts_dir().join(e))
    .collect();
    let opened = pr::open_pull_request(
        state,
        forge,
        Some(session),
        &OpenRequest {
            repo: repo.to_path_buf(),
            issue: w.issue,
            branch: Some(w.branch.clone()),
            base: Some(w.base.clone()),
            evidence,
        },
    )
    .map_err(|e| match e {
        PrError::Forge(f) => ApplyError::Forge(f),
        other => ApplyError::Other(other.into()),
    })?;
    let number = opened.pull_request.number;
    let rec = Record::load(state);
    if let Some(mut r) = rec.issue(w.issue).cloned() {
        r.pull_request = Some(number);
        r.status = Status::Done;
        if !r.commits.contains(&head) {
            r.commits.push(head.clone());
        }
        r.attempts.push(record::attempt(
            r.attempts.last().map_or(1, |a| a.attempt),
            "applied",
            None,
            w.rework_cycle,
            &format!(
                "factory apply: pull request #{number} {}",
                if opened.created { "opened" } else { "updated" }
            ),
        ));
        Record::save_issue(state, &session.id, forge.name(), r)?;
    }
    Ok(format!(
        "{} pushed at {}, pull request #{number} {} for issue #{}",
        w.branch,
        short_commit(&head),
        if opened.created { "opened" } else { "updated" },
        w.issue
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_first_line_factory_marker_makes_a_comment_sticky() {
        assert_eq!(
            marker_of("<!-- factory:review-summary pr=3 -->\nbody"),
            Some("<!-- factory:review-summary pr=3 -->")
        );
        assert_eq!(
            marker_of("text\n<!-- factory:review-summary pr=3 -->"),
            None
        );
        assert_eq!(marker_of("<!-- something else -->\n"), None);
    }

    #[test]
    fn a_bundle_is_a_file_name_next_to_the_artifact() {
        assert!(plain_name("0001-implementation-pull-request.bundle"));
        assert!(!plain_name("../x.bundle"));
        assert!(!plain_name("/tmp/x.bundle"));
        assert!(!plain_name("a/x.bundle"));
    }

    #[test]
    fn a_file_that_is_not_an_artifact_names_the_field() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("0001-x-comment.json");
        std::fs::write(
            &path,
            r#"{"schema_version":"1.0","kind":"comment","session_id":"s","phase":"x","created_at":"t"}"#,
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("0001-x-comment.json") && e.contains("comment"),
            "{e}"
        );
        std::fs::write(&path, "[").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }
}
