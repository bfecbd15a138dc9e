//! The forge: where issues, pull requests, labels and comments live, and where branches are
//! merged. Two implementations sit behind one trait: the local forge (JSON files under
//! `.factory/forge/` plus real git operations, for laptops and offline runs) and GitHub.
//! Docs: docs/forge.md.
//!
//! The operations of the pipeline (creating the issues of a plan, opening a pull request,
//! merging, verifying after the merge, incident recurrence) are written against the trait in
//! the sibling modules, so every forge gets them the same way.

pub mod deferred;
pub mod git;
pub mod github;
pub mod issues;
pub mod lessons;
pub mod local;
pub mod placement;
pub mod pr;
pub mod recurrence;
pub mod safe;
pub mod select;
pub mod update;
pub mod validation;
pub mod verify;

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use local::LocalForge;
pub use safe::{SafeForge, TextKind};
pub use select::{ForgeKind, open_forge};

/// Whether an issue or pull request is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
    /// Pull requests only: closed by merging.
    Merged,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Merged => "merged",
        }
    }
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub created_at: Timestamp,
    /// Who wrote it, where the forge says (GitHub's `user.login`); the local forge's records
    /// are all factory's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// A label, by name (colours and descriptions are the forge's business).
pub type Label = String;

/// An issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: State,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The forge's own id of the issue, where it has one besides the number (GitHub's REST
    /// `id`, which sub-issue links need).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Issues linked under this one as sub-issues (local forge; GitHub keeps its own list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_issues: Vec<u64>,
    /// Who opened it, where the forge says (GitHub's `user.login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// How linking a sub-issue went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubIssueLink {
    Linked,
    AlreadyLinked,
    /// The forge has no sub-issues (an older GitHub Enterprise Server) or refused the link;
    /// the task list in the parent's body still links the issues.
    Unavailable(String),
}

/// The sub-issues of a parent, or why the forge cannot list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubIssues {
    Listed(Vec<u64>),
    Unavailable(String),
}

/// Which issues a query asks for. Finding factory's own issues by their markers reads only
/// the issues that can hold them, never the repository's whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueQuery {
    /// Issues carrying every one of these labels.
    pub labels: Vec<Label>,
    /// Issues updated at or after this time.
    pub since: Option<Timestamp>,
}

impl IssueQuery {
    /// Whether `issue` answers the query.
    pub fn matches(&self, issue: &Issue) -> bool {
        self.labels.iter().all(|l| issue.labels.contains(l))
            && self.since.is_none_or(|t| issue.updated_at >= t)
    }
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: State,
    /// The branch with the change.
    pub head: String,
    /// The branch it merges into.
    pub base: String,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// The commit the squash merge made on the base branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<Timestamp>,
    /// The commit at the head of the branch, where the forge reports it (GitHub's `head.sha`):
    /// the commit whose checks must be green before merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
}

/// What a new issue needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    pub labels: Vec<Label>,
}

/// The CI checks of a pull request's head commit, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    pub passed: Vec<String>,
    pub pending: Vec<String>,
    pub failing: Vec<String>,
    /// The checks the base branch requires, where the forge says (GitHub branch protection and
    /// rulesets); one that has not reported yet is also listed in `pending`.
    pub required: Vec<String>,
    /// Whether the forge runs CI at all: on one that does, no checks at all right after a push
    /// means they have not started yet, not that there are none (`phases.merge.require_checks`).
    pub ci: bool,
}

impl Checks {
    /// No check reported anything.
    pub fn is_empty(&self) -> bool {
        self.passed.is_empty() && self.pending.is_empty() && self.failing.is_empty()
    }
}

/// What a branch changes against its base: files (git's status letter and path) and the
/// subjects of its commits, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub files: Vec<(char, String)>,
    pub commits: Vec<String>,
}

/// What a new pull request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
}

/// The side of a diff an inline comment sits on: `Right` for added and context lines (new-file
/// numbering), `Left` for removed lines (old-file numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Left,
    Right,
}

/// What a pull-request review says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewEvent {
    Approve,
    RequestChanges,
    Comment,
}

impl ReviewEvent {
    /// The name GitHub uses (`APPROVE`, `REQUEST_CHANGES`, `COMMENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewEvent::Approve => "APPROVE",
            ReviewEvent::RequestChanges => "REQUEST_CHANGES",
            ReviewEvent::Comment => "COMMENT",
        }
    }
}

/// One inline comment of a review, on a line of the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineComment {
    pub path: String,
    pub line: u32,
    pub side: Side,
    pub body: String,
}

/// A review to post on a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub event: ReviewEvent,
    pub body: String,
    pub comments: Vec<InlineComment>,
}

/// A posted review: the event the forge accepted, which may be `Comment` when the forge refused
/// the verdict (a token that may not approve), with the forge's reason in `downgraded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedReview {
    pub id: u64,
    pub event: ReviewEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgraded: Option<String>,
}

/// A review as the local forge keeps it (`forge/reviews/<pr>.json`, a list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub id: u64,
    pub event: ReviewEvent,
    pub body: String,
    #[serde(default)]
    pub comments: Vec<InlineComment>,
    pub created_at: Timestamp,
}

/// Errors of the forge layer. Each names what failed and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}:{line}:{column}: not valid JSON: {message}; fix or remove the file (the local forge layout is in docs/forge.md)",
        path.display()
    )]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("issue #{0} does not exist in the {1} forge")]
    NoIssue(u64, &'static str),
    #[error("pull request #{0} does not exist in the {1} forge")]
    NoPullRequest(u64, &'static str),
    #[error("comment {1} does not exist on #{0} in the {2} forge")]
    NoComment(u64, u64, &'static str),
    #[error("branch `{0}` does not exist: create it (git branch {0}) or pass --branch")]
    NoBranch(String),
    #[error("pull request #{number} is {state}, not open")]
    NotOpen { number: u64, state: &'static str },
    #[error("`git {args}` failed in {}: {stderr}", repo.display())]
    Git {
        args: String,
        repo: PathBuf,
        stderr: String,
    },
    #[error("git is not on PATH: install git")]
    GitMissing,
    #[error(
        "pull request #{number}: its branch moved past {} since it was checked{}; it is reviewed again",
        crate::util::text::short_commit(.expected),
        if .detail.is_empty() { String::new() } else { format!(" ({})", .detail) }
    )]
    HeadMoved {
        number: u64,
        expected: String,
        detail: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("the forge API refused the request: {0}")]
    Api(String),
    /// The safe-outputs policy refused a write (docs/security.md).
    #[error(
        "safe outputs refused the write: {what}; change `outputs.{key}` in .factory/workflow.yaml if this is intended (docs/security.md)"
    )]
    Refused { what: String, key: &'static str },
}

impl ForgeError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        ForgeError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The operations the pipeline needs from a forge. Every write the pipeline makes goes through
/// here, so the same pipeline runs against GitHub and against the local forge; [`open_forge`]
/// wraps every forge in a [`SafeForge`], the safe-outputs policy.
pub trait Forge {
    /// `local` or `github`, for messages and the log.
    fn name(&self) -> &'static str;

    /// `text` as this forge would store it: the safe-outputs policy applied by [`SafeForge`],
    /// unchanged otherwise. Lets a re-run tell whether a body it would write is already there.
    fn as_written(&self, _kind: TextKind, text: &str) -> String {
        text.to_string()
    }
    /// Refuse, before the first write, a plan of `tasks` tasks that would open more issues
    /// than the safe-outputs policy allows ([`SafeForge`]; no limit otherwise).
    fn check_plan_issues(&self, _tasks: usize) -> Result<(), ForgeError> {
        Ok(())
    }

    /// Link `child` under `parent` as a sub-issue where the forge has them, so the hierarchy
    /// shows natively besides the task list in the parent's body.
    fn link_sub_issue(&self, parent: u64, child: &Issue) -> Result<SubIssueLink, ForgeError> {
        let _ = (parent, child);
        Ok(SubIssueLink::Unavailable(format!(
            "the {} forge has no sub-issues",
            self.name()
        )))
    }

    /// The sub-issues linked under `parent`, so a re-run links the ones an earlier run could
    /// not.
    fn list_sub_issues(&self, parent: u64) -> Result<SubIssues, ForgeError> {
        let _ = parent;
        Ok(SubIssues::Unavailable(format!(
            "the {} forge has no sub-issues",
            self.name()
        )))
    }

    /// The number the forge will give the next issue, where it can say; issues are created
    /// with bodies that already name their numbers.
    fn next_issue_number(&self) -> Result<Option<u64>, ForgeError> {
        Ok(None)
    }

    /// Every issue, open and closed, in number order.
    fn list_issues(&self) -> Result<Vec<Issue>, ForgeError>;
    /// The issues that answer `query`, in number order.
    fn find_issues(&self, query: &IssueQuery) -> Result<Vec<Issue>, ForgeError> {
        Ok(self
            .list_issues()?
            .into_iter()
            .filter(|i| query.matches(i))
            .collect())
    }
    fn get_issue(&self, number: u64) -> Result<Issue, ForgeError>;
    fn create_issue(&self, new: &NewIssue) -> Result<Issue, ForgeError>;
    /// Replace the title and body.
    fn update_issue(&self, number: u64, title: &str, body: &str) -> Result<Issue, ForgeError>;
    /// Add labels the issue does not have yet.
    fn add_labels(&self, number: u64, labels: &[Label]) -> Result<(), ForgeError>;
    fn comment_issue(&self, number: u64, body: &str) -> Result<Comment, ForgeError>;
    fn set_issue_state(&self, number: u64, state: State) -> Result<(), ForgeError>;

    /// The branch pull requests merge into by default.
    fn default_branch(&self) -> Result<String, ForgeError>;
    /// Create `name` from `base` if it does not exist; true if it was created.
    fn ensure_branch(&self, name: &str, base: &str) -> Result<bool, ForgeError>;
    fn branch_exists(&self, name: &str) -> Result<bool, ForgeError>;
    fn delete_branch(&self, name: &str) -> Result<(), ForgeError>;

    fn list_pull_requests(&self) -> Result<Vec<PullRequest>, ForgeError>;
    fn get_pull_request(&self, number: u64) -> Result<PullRequest, ForgeError>;
    fn create_pull_request(&self, new: &NewPullRequest) -> Result<PullRequest, ForgeError>;
    fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError>;
    /// The CI checks reported on the pull request's head commit (GitHub check runs and commit
    /// statuses). A forge without CI reports none.
    fn checks(&self, pr: &PullRequest) -> Result<Checks, ForgeError> {
        let _ = pr;
        Ok(Checks::default())
    }
    /// What `head` changes against `base`, as the forge sees the branches; `None` where the
    /// forge has no such view (the local forge's branches are read with git directly).
    fn compare(&self, base: &str, head: &str) -> Result<Option<Comparison>, ForgeError> {
        let _ = (base, head);
        Ok(None)
    }
    /// Whether the head branch contains every commit of the base branch.
    fn is_up_to_date(&self, pr: &PullRequest) -> Result<bool, ForgeError>;
    /// Bring the head branch of `pr` up to date with its base ([`update`]).
    fn update_branch(
        &self,
        pr: &PullRequest,
        method: crate::workflow::config::UpdateMethod,
    ) -> Result<update::BranchUpdate, ForgeError> {
        let _ = (pr, method);
        Err(ForgeError::Unsupported(format!(
            "the {} forge cannot bring a pull request up to date with its base",
            self.name()
        )))
    }
    /// Squash-merge an open pull request; returns the merge commit. With `head`, the forge
    /// merges only if the branch is still at that commit, and answers
    /// [`ForgeError::HeadMoved`] otherwise: commits pushed after the checks never merge
    /// unreviewed.
    fn squash_merge(
        &self,
        number: u64,
        message: &str,
        head: Option<&str>,
    ) -> Result<String, ForgeError>;

    /// The unified diff of a pull request (its head against the merge base with its base).
    fn pull_request_diff(&self, number: u64) -> Result<String, ForgeError>;
    /// Post a review with inline comments. A verdict the forge refuses for the token's lack of
    /// rights is posted as a plain comment review instead, and says so in the answer.
    fn create_review(&self, number: u64, review: &NewReview) -> Result<PostedReview, ForgeError>;
    /// The reviews posted on a pull request, oldest first (bodies and verdicts; the inline
    /// comments may be left out). A re-run finds the review it already posted by its marker.
    fn list_reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError>;
    /// The conversation comments of an issue or pull request, oldest first.
    fn list_comments(&self, number: u64) -> Result<Vec<Comment>, ForgeError>;
    /// Replace the body of comment `id` on issue or pull request `number`.
    fn update_comment(&self, number: u64, id: u64, body: &str) -> Result<Comment, ForgeError>;
}
