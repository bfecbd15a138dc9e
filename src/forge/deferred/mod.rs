//! The forge a phase sees when its writes are deferred. It holds no token and makes no network
//! call. Reads come from the state and git: issues from `artifacts/issues.json` (what issue
//! creation made) and the plan, pull requests from the session and the implementation record,
//! diffs from the branches in git (`refs/heads/<b>`, else `refs/remotes/origin/<b>`, which a
//! full CI checkout has). Reviews and comments are recorded as apply artifacts in the outbox;
//! writes that cannot wait (creating an issue, a branch, a pull request, merging) are refused
//! with a message that says to run the phase in direct mode.
//!
//! - [`mode`]: direct or deferred writes (`--defer-writes`, `FACTORY_WRITES=deferred`);
//! - [`outbox`]: the apply artifacts, their order and the ledger of applied ones
//!   (`factory apply`, in `crate::apply`, performs them).

pub mod mode;
pub mod outbox;

pub use mode::{WRITES_ENV, Writes};

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::artifacts::implementation::Record;
use crate::forge::git::Git;
use crate::forge::{
    Comment, Forge, ForgeError, Issue, Label, NewIssue, NewPullRequest, NewReview, PostedReview,
    PullRequest, State,
};
use crate::state::StateDir;
use outbox::{Artifact, CommentWrite, Kind, ReviewWrite};

/// See the module docs.
pub struct DeferredForge {
    state: StateDir,
    git: Git,
    /// The phase whose writes these are: it names the apply artifacts.
    phase: String,
}

impl DeferredForge {
    pub fn new(state: &StateDir, repo: &Path, phase: &str) -> DeferredForge {
        DeferredForge {
            state: state.clone(),
            git: Git::new(repo),
            phase: phase.to_string(),
        }
    }

    fn cannot(&self, what: &str) -> ForgeError {
        ForgeError::Unsupported(format!(
            "{what} is a forge write that cannot be deferred (FACTORY_WRITES=deferred or --defer-writes): run this phase in direct mode, with the forge token (docs/security.md#deferred-writes)"
        ))
    }

    fn record(
        &self,
        kind: Kind,
        review: Option<ReviewWrite>,
        comment: Option<CommentWrite>,
    ) -> Result<PathBuf, ForgeError> {
        let session = self
            .state
            .load_session()
            .map_err(|e| ForgeError::Unsupported(e.to_string()))?
            .map(|s| s.id)
            .or_else(|| event_pull_request_number().map(event_session))
            .unwrap_or_default();
        outbox::write(
            &self.state,
            Artifact {
                schema_version: outbox::SCHEMA_VERSION.into(),
                kind,
                session_id: session,
                phase: self.phase.clone(),
                created_at: crate::state::now().to_string(),
                pull_request: None,
                review,
                comment,
                verification: None,
            },
            None,
        )
        .map_err(|e| ForgeError::Unsupported(e.to_string()))
    }

    fn issues_artifact(&self) -> Value {
        std::fs::read(
            self.state
                .artifacts_dir()
                .join(crate::forge::issues::ISSUES_ARTIFACT),
        )
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
    }

    /// A ref for branch `name`: the local branch, else the remote-tracking one.
    pub fn branch_ref(git: &Git, name: &str) -> Result<String, ForgeError> {
        git.first_ref(&[
            format!("refs/heads/{name}"),
            format!("refs/remotes/origin/{name}"),
        ])?
        .ok_or_else(|| ForgeError::NoBranch(name.to_string()))
    }

    /// The issue bodies factory knows without the forge: the task's description, else the
    /// request.
    fn body_of(&self, task_id: Option<&str>) -> String {
        let plan = crate::forge::issues::load_plan(&self.state).ok();
        task_id
            .and_then(|id| plan?.tasks.into_iter().find(|t| t.id == id))
            .map(|t| t.description)
            .or_else(|| self.state.load_session().ok().flatten().map(|s| s.request))
            .unwrap_or_default()
    }
}

/// The `pull_request` object of the GitHub Actions event (`GITHUB_EVENT_PATH`), if any.
fn event_pull_request_json() -> Option<Value> {
    let path = std::env::var_os("GITHUB_EVENT_PATH")?;
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(event.get_mut("pull_request")?.take())
}

/// The number of the pull request the GitHub Actions event names (`GITHUB_EVENT_PATH`), if any.
pub fn event_pull_request_number() -> Option<u64> {
    event_pull_request_json()?.get("number")?.as_u64()
}

/// The session id of the writes a deferred review of the event's pull request leaves when there
/// is no session (the code-review workflow): `factory apply` in a later job of the same run
/// accepts them for that pull request only.
pub fn event_session(number: u64) -> String {
    format!("pull-request-{number}")
}

/// The pull request of the `pull_request` event GitHub Actions wrote to `GITHUB_EVENT_PATH`,
/// when it is `number`, with its base commit: what a deferred review of a pull request outside
/// the session (the code-review workflow) reads instead of the API, with no token. Its title
/// and body are untrusted text like any other.
fn event_pull_request(number: u64) -> Option<(PullRequest, String)> {
    let p = event_pull_request_json()?;
    if p.get("number")?.as_u64()? != number {
        return None;
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let sha = |side: &str| {
        p[side]["sha"]
            .as_str()
            .filter(|s| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
    };
    let now = crate::state::now();
    Some((
        PullRequest {
            number,
            title: text(&p["title"]),
            body: text(&p["body"]),
            state: if p["state"].as_str().unwrap_or("open") == "open" {
                State::Open
            } else {
                State::Closed
            },
            head: text(&p["head"]["ref"]),
            base: text(&p["base"]["ref"]),
            labels: Vec::new(),
            comments: Vec::new(),
            merge_commit: None,
            created_at: now,
            updated_at: now,
            merged_at: None,
            head_sha: Some(sha("head")?),
        },
        sha("base")?,
    ))
}

/// A pull request the deferred forge knows neither from the session nor from the event.
fn unknown_pull_request(number: u64) -> ForgeError {
    ForgeError::Unsupported(format!(
        "pull request #{number} is not in the session with an implementation record, nor the pull request of this GitHub Actions event: with deferred writes pull requests come from the state; apply the implementation's artifact first (`factory apply --pending`)"
    ))
}

impl Forge for DeferredForge {
    fn name(&self) -> &'static str {
        "deferred"
    }

    fn list_issues(&self) -> Result<Vec<Issue>, ForgeError> {
        let doc = self.issues_artifact();
        let now = crate::state::now();
        let mut out = Vec::new();
        for i in doc["issues"].as_array().into_iter().flatten() {
            let Some(number) = i["number"].as_u64() else {
                continue;
            };
            out.push(Issue {
                number,
                title: i["title"].as_str().unwrap_or_default().to_string(),
                body: self.body_of(i["task_id"].as_str()),
                state: State::Open,
                labels: Vec::new(),
                comments: Vec::new(),
                created_at: now,
                updated_at: now,
                closed_at: None,
                id: None,
                sub_issues: Vec::new(),
                author: None,
            });
        }
        Ok(out)
    }

    fn get_issue(&self, number: u64) -> Result<Issue, ForgeError> {
        self.list_issues()?
            .into_iter()
            .find(|i| i.number == number)
            .ok_or_else(|| {
                ForgeError::Unsupported(format!(
                    "issue #{number} is not in .factory/artifacts/issues.json: with deferred writes the issues come from the state issue creation left; run issue creation first"
                ))
            })
    }

    fn create_issue(&self, _new: &NewIssue) -> Result<Issue, ForgeError> {
        Err(self.cannot("creating an issue"))
    }

    fn update_issue(&self, number: u64, _t: &str, _b: &str) -> Result<Issue, ForgeError> {
        Err(self.cannot(&format!("updating issue #{number}")))
    }

    fn add_labels(&self, number: u64, _labels: &[Label]) -> Result<(), ForgeError> {
        Err(self.cannot(&format!("labelling #{number}")))
    }

    fn comment_issue(&self, number: u64, body: &str) -> Result<Comment, ForgeError> {
        self.record(
            Kind::Comment,
            None,
            Some(CommentWrite {
                number,
                body: body.to_string(),
            }),
        )?;
        Ok(Comment {
            id: 0,
            body: body.to_string(),
            created_at: crate::state::now(),
            author: None,
        })
    }

    fn set_issue_state(&self, number: u64, _state: State) -> Result<(), ForgeError> {
        Err(self.cannot(&format!("closing or reopening #{number}")))
    }

    fn default_branch(&self) -> Result<String, ForgeError> {
        // In GitHub Actions the event names the repository's default branch.
        if let Some(name) = std::env::var_os("GITHUB_EVENT_PATH")
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| {
                v["repository"]["default_branch"]
                    .as_str()
                    .map(str::to_string)
            })
            .filter(|n| !n.is_empty())
        {
            return Ok(name);
        }
        if let Ok(remote_head) = self.git.run(&[
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ]) && let Some(name) = remote_head.strip_prefix("origin/")
        {
            return Ok(name.to_string());
        }
        for name in ["main", "master"] {
            if Self::branch_ref(&self.git, name).is_ok() {
                return Ok(name.to_string());
            }
        }
        self.git.current_branch().ok_or_else(|| {
            ForgeError::Unsupported(
                "cannot tell the default branch from git: set refs/remotes/origin/HEAD (git remote set-head origin --auto)".into(),
            )
        })
    }

    fn ensure_branch(&self, name: &str, _base: &str) -> Result<bool, ForgeError> {
        Err(self.cannot(&format!("creating branch `{name}`")))
    }

    fn branch_exists(&self, name: &str) -> Result<bool, ForgeError> {
        Ok(Self::branch_ref(&self.git, name).is_ok())
    }

    fn delete_branch(&self, name: &str) -> Result<(), ForgeError> {
        Err(self.cannot(&format!("deleting branch `{name}`")))
    }

    fn list_pull_requests(&self) -> Result<Vec<PullRequest>, ForgeError> {
        let Some(session) = self
            .state
            .load_session()
            .map_err(|e| ForgeError::Unsupported(e.to_string()))?
        else {
            return Ok(Vec::new());
        };
        let record = Record::load(&self.state);
        let issues = self.list_issues().unwrap_or_default();
        let now = crate::state::now();
        Ok(session
            .pull_requests
            .iter()
            .filter_map(|p| {
                let rec = p.issue.and_then(|i| record.issue(i))?;
                let title = issues
                    .iter()
                    .find(|i| Some(i.number) == p.issue)
                    .map(|i| crate::forge::pr::without_tag(&i.title).to_string())
                    .unwrap_or_default();
                Some(PullRequest {
                    number: p.number,
                    title,
                    body: String::new(),
                    state: if p.merged { State::Merged } else { State::Open },
                    head: rec.branch.clone(),
                    base: rec.base.clone(),
                    labels: Vec::new(),
                    comments: Vec::new(),
                    merge_commit: None,
                    created_at: now,
                    updated_at: now,
                    merged_at: None,
                    head_sha: None,
                })
            })
            .collect())
    }

    fn get_pull_request(&self, number: u64) -> Result<PullRequest, ForgeError> {
        if let Some(pr) = self
            .list_pull_requests()?
            .into_iter()
            .find(|p| p.number == number)
        {
            return Ok(pr);
        }
        event_pull_request(number)
            .map(|(pr, _)| pr)
            .ok_or_else(|| unknown_pull_request(number))
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        Err(self.cannot(&format!("opening a pull request for `{}`", new.head)))
    }

    fn update_pull_request(
        &self,
        number: u64,
        _t: &str,
        _b: &str,
    ) -> Result<PullRequest, ForgeError> {
        Err(self.cannot(&format!("updating pull request #{number}")))
    }

    fn is_up_to_date(&self, pr: &PullRequest) -> Result<bool, ForgeError> {
        let base = Self::branch_ref(&self.git, &pr.base)?;
        let head = Self::branch_ref(&self.git, &pr.head)?;
        self.git
            .succeeds(&["merge-base", "--is-ancestor", &base, &head])
    }

    fn squash_merge(
        &self,
        number: u64,
        _message: &str,
        _head: Option<&str>,
    ) -> Result<String, ForgeError> {
        Err(self.cannot(&format!("merging pull request #{number}")))
    }

    fn pull_request_diff(&self, number: u64) -> Result<String, ForgeError> {
        let in_session = self
            .list_pull_requests()?
            .into_iter()
            .find(|p| p.number == number);
        // The event's pull request: its commits, which a pull-request checkout holds even when
        // the head branch lives in a fork.
        let (base, head) = match (in_session, event_pull_request(number)) {
            (Some(pr), _) => (
                Self::branch_ref(&self.git, &pr.base)?,
                Self::branch_ref(&self.git, &pr.head)?,
            ),
            (None, Some((pr, base_sha))) => (base_sha, pr.head_sha.unwrap_or(pr.head)),
            (None, None) => return Err(unknown_pull_request(number)),
        };
        self.git.run_raw(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            &format!("{base}...{head}"),
        ])
    }

    fn create_review(&self, number: u64, review: &NewReview) -> Result<PostedReview, ForgeError> {
        let cycle = review
            .body
            .split("factory:review pr=")
            .nth(1)
            .and_then(|rest| rest.split(" cycle=").nth(1))
            .and_then(|c| c.split(|ch: char| !ch.is_ascii_digit()).next())
            .and_then(|c| c.parse().ok());
        self.record(
            Kind::Review,
            Some(ReviewWrite {
                pr: number,
                cycle,
                event: review.event,
                body: review.body.clone(),
                comments: review.comments.clone(),
            }),
            None,
        )?;
        Ok(PostedReview {
            id: 0,
            event: review.event,
            downgraded: None,
        })
    }

    /// No reviews are known without the forge: `factory apply` checks for a review with the
    /// same marker before it posts.
    fn list_reviews(&self, _number: u64) -> Result<Vec<crate::forge::Review>, ForgeError> {
        Ok(Vec::new())
    }

    /// No comments are known without the forge: a sticky comment is recorded as a new one,
    /// and `factory apply` updates the existing comment that carries the same marker.
    fn list_comments(&self, _number: u64) -> Result<Vec<Comment>, ForgeError> {
        Ok(Vec::new())
    }

    fn update_comment(&self, number: u64, id: u64, _body: &str) -> Result<Comment, ForgeError> {
        Err(self.cannot(&format!("updating comment {id} on #{number}")))
    }
}
