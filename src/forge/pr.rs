//! Opening a pull request for an issue: a branch named by the convention, a body from the
//! 12-section template with `Closes #N` and the validation evidence attached. Re-opening for the
//! same branch updates the existing pull request instead of making another.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::issues::{self, Plan, Task, code, line, prose};
use super::{Comparison, Forge, ForgeError, NewPullRequest, PullRequest, State};
use crate::state::{PullRequestRef, Session, StateDir};
use crate::templates::{TemplateError, Templates};
use crate::util::markers;
use crate::workflow::branch::branch_name;

/// Evidence files are cut to their last this many characters.
pub const EVIDENCE_MAX_CHARS: usize = 8_000;

/// Why a pull request could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PrError {
    #[error("issue #{0} is closed: reopen it, or open the pull request for an open issue")]
    IssueClosed(u64),
    #[error(
        "issue #{0} has no branch in this session: pass --branch (named `{{fix|feat|refactor|infra}}/#{0}-<slug>`)"
    )]
    NoBranchKnown(u64),
    #[error(
        "branch `{branch}` does not name issue #{issue}: branches are `{{fix|feat|refactor|infra}}/#{issue}-<slug>` (no branch without an issue number)"
    )]
    BranchWithoutIssue { branch: String, issue: u64 },
    #[error("cannot read the evidence file {}: {source}", path.display())]
    Evidence {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Issues(#[from] issues::IssuesError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// What `open_pull_request` needs.
#[derive(Debug, Clone, Default)]
pub struct OpenRequest {
    /// The git repository (for the list of changed files).
    pub repo: PathBuf,
    pub issue: u64,
    pub branch: Option<String>,
    pub base: Option<String>,
    pub evidence: Vec<PathBuf>,
}

/// The pull request and whether it was new.
#[derive(Debug, Clone)]
pub struct Opened {
    pub pull_request: PullRequest,
    pub created: bool,
    pub branch_created: bool,
}

static CLOSES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:closes|fixes|resolves)\s+#(\d+)").expect("valid regex"));
static PR_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<!-- factory:pr issue=(\d+) -->").expect("valid regex"));

/// The issue a pull request closes: from factory's marker, else from `Closes #N`.
pub fn closed_issue(pr: &PullRequest) -> Option<u64> {
    PR_MARKER
        .captures(&pr.body)
        .or_else(|| CLOSES.captures(&pr.body))
        .and_then(|c| c[1].parse().ok())
}

/// An issue title without its leading `[TASK]`, `[HOTFIX]`, … tag: the title of its pull
/// request and commits.
pub fn without_tag(title: &str) -> &str {
    let t = title.trim();
    match t.find(']') {
        Some(i) if t.starts_with('[') => t[i + 1..].trim(),
        _ => t,
    }
}

/// The task of the plan an issue was made for, if the session knows it.
fn task_of<'p>(session: Option<&Session>, plan: Option<&'p Plan>, issue: u64) -> Option<&'p Task> {
    let task_id = session?
        .issues
        .iter()
        .find(|i| i.number == issue)?
        .task_id
        .clone()?;
    plan?.tasks.iter().find(|t| t.id == task_id)
}

/// Open (or update) the pull request for `req.issue`.
pub fn open_pull_request(
    state: &StateDir,
    forge: &dyn Forge,
    session: Option<&Session>,
    req: &OpenRequest,
) -> Result<Opened, PrError> {
    let issue = forge.get_issue(req.issue)?;
    if issue.state != State::Open {
        return Err(PrError::IssueClosed(issue.number));
    }
    let plan = issues::load_plan(state).ok();
    let task = task_of(session, plan.as_ref(), issue.number);
    let branch = match &req.branch {
        Some(b) => b.clone(),
        None => session
            .and_then(|s| s.issues.iter().find(|i| i.number == issue.number))
            .and_then(|i| i.branch.clone())
            .or_else(|| task.map(|t| branch_name(t.change_class, issue.number, &t.title)))
            .ok_or(PrError::NoBranchKnown(issue.number))?,
    };
    if !branch.contains(&format!("/#{}-", issue.number)) {
        return Err(PrError::BranchWithoutIssue {
            branch,
            issue: issue.number,
        });
    }
    let base = match &req.base {
        Some(b) => b.clone(),
        None => forge.default_branch()?,
    };
    let branch_created = forge.ensure_branch(&branch, &base)?;

    let evidence = req
        .evidence
        .iter()
        .map(|p| read_evidence(p))
        .collect::<Result<Vec<_>, _>>()?;
    let compared = branch_changes(&req.repo, forge, &base, &branch);
    let changes = change_rows(&compared, task);
    // Commit subjects are written by the implementing agent: untrusted, one line each.
    let commits: Vec<String> = compared.commits.iter().map(|c| line(c)).collect();
    let title = without_tag(&issue.title).to_string();
    // A session raised after planning outranks the class its plan gave the task.
    let change_class = match session {
        Some(s) if s.classification.raised.is_some() => Some(s.change_class),
        _ => task
            .map(|t| t.change_class)
            .or(session.map(|s| s.change_class)),
    };
    // Plan paths and the request's words are untrusted: one line each, sanitised.
    let class_notes: Vec<String> = session
        .map(|s| {
            crate::report::class_notes(s)
                .iter()
                .map(|n| line(n))
                .collect()
        })
        .unwrap_or_default();
    let verify = session.is_some_and(|s| {
        matches!(
            s.change_class,
            crate::workflow::ChangeClass::Hotfix | crate::workflow::ChangeClass::RiskyInfra
        )
    });
    let ctx = json!({
        "marker": markers::pull_request(issue.number),
        "issue": {"number": issue.number, "title": line(&issue.title)},
        "change_class": change_class.map(|c| c.as_str()).unwrap_or("unclassified"),
        "risk_level": task.map(|t| line(&t.security_risk_level)).unwrap_or_else(|| "not assessed".into()),
        "plan_reference": match (task, session) {
            (Some(t), Some(s)) => format!("{} of session {}", t.id, s.id),
            (None, Some(s)) => format!("session {}", s.id),
            _ => "none".into(),
        },
        "summary": task.map(|t| prose(&t.description)).unwrap_or_else(|| line(&title)),
        "root_cause": plan.as_ref().and_then(|p| p.root_cause.as_deref()).map(prose).unwrap_or_else(|| "Not applicable: new functionality.".into()),
        "changes": changes,
        "commits": commits,
        "files_in_scope": task.map(|t| t.files_in_scope.iter().map(|f| code(f)).collect::<Vec<_>>()).unwrap_or_default(),
        "files_out_of_scope": task.map(|t| t.files_out_of_scope.iter().map(|f| code(f)).collect::<Vec<_>>()).unwrap_or_default(),
        "validation": plan.as_ref().map(|p| p.ordered_validation().into_iter().map(|(n, c)| json!({"name": n, "command": code(&c)})).collect::<Vec<_>>()).unwrap_or_default(),
        "evidence": evidence,
        "security_notes": task.and_then(|t| t.security_notes.as_deref()).map(prose).unwrap_or_else(|| "No security notes in the plan.".into()),
        "rollback": plan.as_ref().map(|p| prose(&p.rollback)).unwrap_or_else(|| "Revert the squash commit.".into()),
        "verify": verify,
        "class_notes": class_notes,
    });
    let templates = Templates::with_overrides(crate::templates::override_dir(state.root()));
    let body = templates.render("PULL_REQUEST_TEMPLATE.md", &ctx)?;

    let existing = forge
        .list_pull_requests()?
        .into_iter()
        .find(|p| p.head == branch && p.state == State::Open);
    let (pull_request, created) = match existing {
        Some(p) => (forge.update_pull_request(p.number, &title, &body)?, false),
        None => (
            forge.create_pull_request(&NewPullRequest {
                title: title.clone(),
                body,
                head: branch.clone(),
                base: base.clone(),
            })?,
            true,
        ),
    };
    if session.is_some() {
        let number = pull_request.number;
        state.update_session(|s| {
            if !s.pull_requests.iter().any(|p| p.number == number) {
                s.pull_requests.push(PullRequestRef {
                    number,
                    issue: Some(issue.number),
                    merged: false,
                    ..Default::default()
                });
            }
        })?;
    }
    let detail = format!(
        "#{} {} for issue #{} ({branch} → {base})",
        pull_request.number,
        if created { "opened" } else { "updated" },
        issue.number
    );
    let refs =
        json!({"pr": pull_request.number, "issue": issue.number, "branch": branch}).to_string();
    tracing::info!(target: "factory::event", phase = crate::workflow::PhaseName::Implementation.as_str(), action = "pr_open", tool = forge.name(), status = "ok", detail, refs);
    Ok(Opened {
        pull_request,
        created,
        branch_created,
    })
}

/// An evidence file: its name and its last [`EVIDENCE_MAX_CHARS`] characters, sanitised and
/// with secret-looking values masked.
fn read_evidence(path: &Path) -> Result<Value, PrError> {
    let bytes = std::fs::read(path).map_err(|source| PrError::Evidence {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let total = text.chars().count();
    let tail: String = if total > EVIDENCE_MAX_CHARS {
        let cut: String = text.chars().skip(total - EVIDENCE_MAX_CHARS).collect();
        format!(
            "[first {} characters cut by factory]\n{cut}",
            total - EVIDENCE_MAX_CHARS
        )
    } else {
        text.into_owned()
    };
    let clean = crate::state::redact::scrub(&crate::util::sanitize::sanitize(
        &tail,
        EVIDENCE_MAX_CHARS + 100,
    ))
    .replace("```", "'''");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(json!({"name": line(&name), "text": clean}))
}

/// What the branch changes against the base: read with git where the branches are here (the
/// local forge; a checkout that pushed the branch), else from the forge's own comparison, so
/// the pull request body says the same on every forge.
fn branch_changes(repo: &Path, forge: &dyn Forge, base: &str, head: &str) -> Comparison {
    let git = super::git::Git::new(repo);
    let resolve = |candidates: &[String]| git.first_ref(candidates).ok().flatten();
    let remote_first = forge.name() != "local";
    let refs = |name: &str| {
        let (local, remote) = (
            format!("refs/heads/{name}"),
            format!("refs/remotes/origin/{name}"),
        );
        if remote_first {
            vec![remote, local]
        } else {
            vec![local]
        }
    };
    let local = resolve(&refs(base))
        .zip(resolve(&refs(head)))
        .and_then(|(b, h)| {
            let files = git
                .name_status(&[
                    "diff",
                    "--name-status",
                    "--no-renames",
                    &format!("{b}...{h}"),
                ])
                .ok()?;
            let commits = git
                .run(&["log", "--reverse", "--format=%s", &format!("{b}..{h}")])
                .ok()?;
            Some(Comparison {
                files,
                commits: commits.lines().map(str::to_string).collect(),
            })
        });
    match local {
        Some(c) => c,
        None => forge.compare(base, head).ok().flatten().unwrap_or_default(),
    }
}

/// The Changes Made table: each changed file with the requirement it serves.
fn change_rows(changes: &Comparison, task: Option<&Task>) -> Vec<Value> {
    let requirement = task
        .map(|t| format!("{}: {}", t.id, line(&t.title)))
        .unwrap_or_else(|| "the issue".into());
    changes
        .files
        .iter()
        .map(|(status, file)| {
            let change = match status {
                'A' => "added",
                'D' => "deleted",
                'M' => "modified",
                'R' => "renamed",
                'T' => "type changed",
                _ => "changed",
            };
            json!({
                "file": code(file).replace('|', "\\|"),
                "change": change,
                "requirement": requirement.replace('|', "\\|"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(body: &str) -> PullRequest {
        PullRequest {
            number: 5,
            title: "t".into(),
            body: body.into(),
            state: State::Open,
            head: "feat/#2-x".into(),
            base: "main".into(),
            labels: vec![],
            comments: vec![],
            merge_commit: None,
            created_at: crate::state::now(),
            updated_at: crate::state::now(),
            merged_at: None,
            head_sha: None,
        }
    }

    #[test]
    fn titles_lose_their_tag_only() {
        assert_eq!(without_tag("[HOTFIX] Checkout 500s"), "Checkout 500s");
        assert_eq!(without_tag("[TASK] Reset [v2] store"), "Reset [v2] store");
        assert_eq!(without_tag("Plain [x] title"), "Plain [x] title");
    }

    #[test]
    fn the_closed_issue_comes_from_the_marker_or_closes() {
        assert_eq!(
            closed_issue(&pr("<!-- factory:pr issue=3 -->\nCloses #4")),
            Some(3)
        );
        assert_eq!(closed_issue(&pr("This fixes #12.")), Some(12));
        assert_eq!(closed_issue(&pr("nothing")), None);
    }
}
