//! The local forge: issues and pull requests as JSON files under `.factory/forge/`, branches
//! and squash merges as real git operations in the repository. It is what runs when there is no
//! GitHub token or remote, so the whole pipeline works on a laptop and offline.
//!
//! Layout (docs/forge.md):
//! - `forge/issues/<n>.json`, `forge/pulls/<n>.json`: one [`Issue`] / [`PullRequest`] each;
//!   issues and pull requests share one number sequence, as on GitHub;
//! - `forge/reviews/<n>.json`: the reviews posted on pull request `n`, a list of [`Review`];
//! - `forge/labels.json`: every label used so far;
//! - `forge/forge.lock`: its exclusive lock guards every write, so numbers stay unique and
//!   stable when processes run at once.
//!
//! Every file is replaced atomically ([`crate::state::write_atomic`]).

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::git::Git;
use super::{
    Comment, Forge, ForgeError, Issue, Label, NewIssue, NewPullRequest, NewReview, PostedReview,
    PullRequest, Review, State, SubIssueLink,
};
use crate::state::layout;
use crate::state::{now, write_atomic};

/// Forge data in `<state>/forge`, branches in the git repository `repo`.
#[derive(Debug, Clone)]
pub struct LocalForge {
    /// The state directory the forge's files live in ([`layout::FORGE_DIR`]).
    state_root: PathBuf,
    dir: PathBuf,
    git: Git,
}

impl LocalForge {
    /// `state_root` is the `.factory` directory; `repo` the git repository.
    pub fn new(state_root: &Path, repo: &Path) -> LocalForge {
        LocalForge {
            state_root: state_root.to_path_buf(),
            dir: state_root.join(layout::FORGE_DIR),
            git: Git::new(repo),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn git(&self) -> &Git {
        &self.git
    }

    fn issues_dir(&self) -> PathBuf {
        self.state_root.join(layout::FORGE_ISSUES)
    }

    fn pulls_dir(&self) -> PathBuf {
        self.state_root.join(layout::FORGE_PULLS)
    }

    fn reviews_path(&self, n: u64) -> PathBuf {
        self.state_root
            .join(layout::FORGE_REVIEWS)
            .join(format!("{n}.json"))
    }

    /// The reviews posted on pull request `n`, oldest first.
    pub fn reviews(&self, n: u64) -> Result<Vec<Review>, ForgeError> {
        Ok(Self::read(&self.reviews_path(n))?.unwrap_or_default())
    }

    fn issue_path(&self, n: u64) -> PathBuf {
        self.issues_dir().join(format!("{n}.json"))
    }

    fn pull_path(&self, n: u64) -> PathBuf {
        self.pulls_dir().join(format!("{n}.json"))
    }

    /// Run `f` holding the forge's exclusive lock.
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, ForgeError>) -> Result<T, ForgeError> {
        for d in [self.issues_dir(), self.pulls_dir()] {
            fs::create_dir_all(&d).map_err(|e| ForgeError::io("create directory", &d, e))?;
        }
        let path = self.state_root.join(layout::FORGE_LOCK);
        let file: File = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ForgeError::io("open the lock file", &path, e))?;
        file.lock().map_err(|e| ForgeError::io("lock", &path, e))?;
        let out = f();
        drop(file);
        out
    }

    fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ForgeError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ForgeError::io("read", path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ForgeError::InvalidJson {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: crate::util::errors::without_position(&e),
            })
    }

    fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), ForgeError> {
        let mut bytes = serde_json::to_vec_pretty(value).expect("forge records serialise");
        bytes.push(b'\n');
        write_atomic(path, &bytes).map_err(|e| ForgeError::io("write", path, e))
    }

    /// The numbers of the JSON files in `dir`, sorted.
    fn numbers(dir: &Path) -> Result<Vec<u64>, ForgeError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ForgeError::io("list", dir, e)),
        };
        let mut out: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// The next free number of the shared issue/pull request sequence (call under the lock).
    fn next_number(&self) -> Result<u64, ForgeError> {
        let last = Self::numbers(&self.issues_dir())?
            .into_iter()
            .chain(Self::numbers(&self.pulls_dir())?)
            .max()
            .unwrap_or(0);
        Ok(last + 1)
    }

    fn load_issue(&self, n: u64) -> Result<Issue, ForgeError> {
        Self::read(&self.issue_path(n))?.ok_or(ForgeError::NoIssue(n, "local"))
    }

    fn load_pull(&self, n: u64) -> Result<PullRequest, ForgeError> {
        Self::read(&self.pull_path(n))?.ok_or(ForgeError::NoPullRequest(n, "local"))
    }

    fn next_comment_id(comments: &[Comment]) -> u64 {
        comments.iter().map(|c| c.id).max().unwrap_or(0) + 1
    }

    fn remember_labels(&self, labels: &[Label]) -> Result<(), ForgeError> {
        let path = self.state_root.join(layout::FORGE_LABELS);
        let mut known: Vec<Label> = Self::read(&path)?.unwrap_or_default();
        let before = known.len();
        for l in labels {
            if !known.contains(l) {
                known.push(l.clone());
            }
        }
        if known.len() != before {
            known.sort();
            Self::write(&path, &known)?;
        }
        Ok(())
    }
}

impl Forge for LocalForge {
    fn name(&self) -> &'static str {
        "local"
    }

    fn list_issues(&self) -> Result<Vec<Issue>, ForgeError> {
        Self::numbers(&self.issues_dir())?
            .into_iter()
            .map(|n| self.load_issue(n))
            .collect()
    }

    fn get_issue(&self, number: u64) -> Result<Issue, ForgeError> {
        self.load_issue(number)
    }

    fn create_issue(&self, new: &NewIssue) -> Result<Issue, ForgeError> {
        self.locked(|| {
            let at = now();
            let issue = Issue {
                number: self.next_number()?,
                title: new.title.clone(),
                body: new.body.clone(),
                state: State::Open,
                labels: dedup(&new.labels),
                comments: Vec::new(),
                created_at: at,
                updated_at: at,
                closed_at: None,
                id: None,
                sub_issues: Vec::new(),
                author: None,
            };
            self.remember_labels(&issue.labels)?;
            Self::write(&self.issue_path(issue.number), &issue)?;
            Ok(issue)
        })
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> Result<Issue, ForgeError> {
        self.locked(|| {
            let mut issue = self.load_issue(number)?;
            if issue.title != title || issue.body != body {
                issue.title = title.to_string();
                issue.body = body.to_string();
                issue.updated_at = now();
                Self::write(&self.issue_path(number), &issue)?;
            }
            Ok(issue)
        })
    }

    fn list_sub_issues(&self, parent: u64) -> Result<super::SubIssues, ForgeError> {
        Ok(super::SubIssues::Listed(
            self.load_issue(parent)?.sub_issues,
        ))
    }

    fn next_issue_number(&self) -> Result<Option<u64>, ForgeError> {
        self.next_number().map(Some)
    }

    fn link_sub_issue(&self, parent: u64, child: &Issue) -> Result<SubIssueLink, ForgeError> {
        self.locked(|| {
            self.load_issue(child.number)?;
            let mut issue = self.load_issue(parent)?;
            if issue.sub_issues.contains(&child.number) {
                return Ok(SubIssueLink::AlreadyLinked);
            }
            issue.sub_issues.push(child.number);
            issue.updated_at = now();
            Self::write(&self.issue_path(parent), &issue)?;
            Ok(SubIssueLink::Linked)
        })
    }

    fn add_labels(&self, number: u64, labels: &[Label]) -> Result<(), ForgeError> {
        self.locked(|| {
            let mut issue = self.load_issue(number)?;
            let missing: Vec<Label> = labels
                .iter()
                .filter(|l| !issue.labels.contains(l))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            issue.labels.extend(dedup(&missing));
            issue.updated_at = now();
            self.remember_labels(&missing)?;
            Self::write(&self.issue_path(number), &issue)
        })
    }

    fn comment_issue(&self, number: u64, body: &str) -> Result<Comment, ForgeError> {
        self.locked(|| {
            // Issues and pull requests share numbers; a comment goes to whichever it is.
            if let Some(mut pr) = Self::read::<PullRequest>(&self.pull_path(number))? {
                let c = Comment {
                    id: Self::next_comment_id(&pr.comments),
                    body: body.to_string(),
                    created_at: now(),
                    author: None,
                };
                pr.comments.push(c.clone());
                pr.updated_at = c.created_at;
                Self::write(&self.pull_path(number), &pr)?;
                return Ok(c);
            }
            let mut issue = self.load_issue(number)?;
            let c = Comment {
                id: Self::next_comment_id(&issue.comments),
                body: body.to_string(),
                created_at: now(),
                author: None,
            };
            issue.comments.push(c.clone());
            issue.updated_at = c.created_at;
            Self::write(&self.issue_path(number), &issue)?;
            Ok(c)
        })
    }

    fn set_issue_state(&self, number: u64, state: State) -> Result<(), ForgeError> {
        self.locked(|| {
            let mut issue = self.load_issue(number)?;
            if issue.state == state {
                return Ok(());
            }
            let at = now();
            issue.state = state;
            issue.updated_at = at;
            issue.closed_at = (state != State::Open).then_some(at);
            Self::write(&self.issue_path(number), &issue)
        })
    }

    fn default_branch(&self) -> Result<String, ForgeError> {
        if let Ok(remote_head) = self.git.run(&[
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ]) && let Some(name) = remote_head.strip_prefix("origin/")
            && self.git.branch_exists(name)?
        {
            return Ok(name.to_string());
        }
        for name in ["main", "master"] {
            if self.git.branch_exists(name)? {
                return Ok(name.to_string());
            }
        }
        self.git.current_branch().ok_or_else(|| {
            ForgeError::Unsupported(
                "cannot tell the default branch: there is no main or master branch and HEAD is detached; pass --base".into(),
            )
        })
    }

    fn ensure_branch(&self, name: &str, base: &str) -> Result<bool, ForgeError> {
        if self.git.branch_exists(name)? {
            return Ok(false);
        }
        if !self.git.branch_exists(base)? {
            return Err(ForgeError::NoBranch(base.to_string()));
        }
        self.git.run(&["branch", "--no-track", "--", name, base])?;
        Ok(true)
    }

    fn branch_exists(&self, name: &str) -> Result<bool, ForgeError> {
        self.git.branch_exists(name)
    }

    fn delete_branch(&self, name: &str) -> Result<(), ForgeError> {
        if !self.git.branch_exists(name)? {
            return Ok(());
        }
        if self.git.current_branch().as_deref() == Some(name) {
            return Err(ForgeError::Unsupported(format!(
                "branch `{name}` is checked out here; switch to another branch before it can be deleted"
            )));
        }
        // The squash commit does not contain the branch's commits, so -D: the merge was checked.
        self.git.run(&["branch", "-D", "--", name])?;
        Ok(())
    }

    fn list_pull_requests(&self) -> Result<Vec<PullRequest>, ForgeError> {
        Self::numbers(&self.pulls_dir())?
            .into_iter()
            .map(|n| self.load_pull(n))
            .collect()
    }

    fn get_pull_request(&self, number: u64) -> Result<PullRequest, ForgeError> {
        self.load_pull(number)
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        for b in [&new.head, &new.base] {
            if !self.git.branch_exists(b)? {
                return Err(ForgeError::NoBranch(b.clone()));
            }
        }
        self.locked(|| {
            let at = now();
            let pr = PullRequest {
                number: self.next_number()?,
                title: new.title.clone(),
                body: new.body.clone(),
                state: State::Open,
                head: new.head.clone(),
                base: new.base.clone(),
                labels: Vec::new(),
                comments: Vec::new(),
                merge_commit: None,
                created_at: at,
                updated_at: at,
                merged_at: None,
                head_sha: None,
            };
            Self::write(&self.pull_path(pr.number), &pr)?;
            Ok(pr)
        })
    }

    fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        self.locked(|| {
            let mut pr = self.load_pull(number)?;
            if pr.title != title || pr.body != body {
                pr.title = title.to_string();
                pr.body = body.to_string();
                pr.updated_at = now();
                Self::write(&self.pull_path(number), &pr)?;
            }
            Ok(pr)
        })
    }

    fn is_up_to_date(&self, pr: &PullRequest) -> Result<bool, ForgeError> {
        for b in [&pr.head, &pr.base] {
            if !self.git.branch_exists(b)? {
                return Err(ForgeError::NoBranch(b.clone()));
            }
        }
        self.git.succeeds(&[
            "merge-base",
            "--is-ancestor",
            &format!("refs/heads/{}", pr.base),
            &format!("refs/heads/{}", pr.head),
        ])
    }

    fn update_branch(
        &self,
        pr: &PullRequest,
        method: crate::workflow::config::UpdateMethod,
    ) -> Result<super::update::BranchUpdate, ForgeError> {
        self.locked(|| super::update::update_local_branch(&self.git, &pr.head, &pr.base, method))
    }

    fn squash_merge(
        &self,
        number: u64,
        message: &str,
        head: Option<&str>,
    ) -> Result<String, ForgeError> {
        self.locked(|| {
            let mut pr = self.load_pull(number)?;
            if pr.state != State::Open {
                return Err(ForgeError::NotOpen {
                    number,
                    state: pr.state.as_str(),
                });
            }
            if let Some(expected) = head {
                let now = self.git.rev(&format!("refs/heads/{}", pr.head))?;
                if now != expected {
                    return Err(ForgeError::HeadMoved {
                        number,
                        expected: expected.to_string(),
                        detail: format!(
                            "`{}` is at {}",
                            pr.head,
                            crate::util::text::short_commit(&now)
                        ),
                    });
                }
            }
            if !self.is_up_to_date(&pr)? {
                return Err(ForgeError::Unsupported(format!(
                    "branch `{}` does not contain the latest `{}`: merge or rebase it first",
                    pr.head, pr.base
                )));
            }
            let base_ref = format!("refs/heads/{}", pr.base);
            let base_sha = self.git.rev(&base_ref)?;
            let tree = self
                .git
                .run(&["rev-parse", &format!("refs/heads/{}^{{tree}}", pr.head)])?;
            // Head contains base, so the squashed result is exactly head's tree on top of base.
            let mut cmd = std::process::Command::new("git");
            cmd.args(["commit-tree", &tree, "-p", &base_sha, "-F", "-"])
                .current_dir(self.git.repo())
                .env("LC_ALL", "C")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for (k, v) in self.git.identity_env() {
                cmd.env(k, v);
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| ForgeError::io("run git in", self.git.repo(), e))?;
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().expect("piped stdin");
                stdin.write_all(message.as_bytes()).map_err(|e| {
                    ForgeError::io("write the commit message to git in", self.git.repo(), e)
                })?;
            }
            let out = child
                .wait_with_output()
                .map_err(|e| ForgeError::io("run git in", self.git.repo(), e))?;
            if !out.status.success() {
                return Err(ForgeError::Git {
                    args: "commit-tree".into(),
                    repo: self.git.repo().to_path_buf(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if self.git.current_branch().as_deref() == Some(pr.base.as_str()) {
                // The base is checked out: move it forward through the working tree too.
                self.git.run(&["merge", "--ff-only", "--quiet", &commit])?;
            } else {
                self.git
                    .run(&["update-ref", &base_ref, &commit, &base_sha])?;
            }
            let at = now();
            pr.state = State::Merged;
            pr.merge_commit = Some(commit.clone());
            pr.merged_at = Some(at);
            pr.updated_at = at;
            Self::write(&self.pull_path(number), &pr)?;
            Ok(commit)
        })
    }

    fn pull_request_diff(&self, number: u64) -> Result<String, ForgeError> {
        let pr = self.load_pull(number)?;
        for b in [&pr.head, &pr.base] {
            if !self.git.branch_exists(b)? {
                return Err(ForgeError::NoBranch(b.clone()));
            }
        }
        self.git.run_raw(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            &format!("refs/heads/{}...refs/heads/{}", pr.base, pr.head),
        ])
    }

    fn create_review(&self, number: u64, review: &NewReview) -> Result<PostedReview, ForgeError> {
        self.locked(|| {
            self.load_pull(number)?;
            let path = self.reviews_path(number);
            let mut all: Vec<Review> = Self::read(&path)?.unwrap_or_default();
            let id = all.iter().map(|r| r.id).max().unwrap_or(0) + 1;
            all.push(Review {
                id,
                event: review.event,
                body: review.body.clone(),
                comments: review.comments.clone(),
                created_at: now(),
            });
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|e| ForgeError::io("create directory", dir, e))?;
            }
            Self::write(&path, &all)?;
            Ok(PostedReview {
                id,
                event: review.event,
                downgraded: None,
            })
        })
    }

    fn list_reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError> {
        self.load_pull(number)?;
        self.reviews(number)
    }

    fn list_comments(&self, number: u64) -> Result<Vec<Comment>, ForgeError> {
        match Self::read::<PullRequest>(&self.pull_path(number))? {
            Some(pr) => Ok(pr.comments),
            None => Ok(self.load_issue(number)?.comments),
        }
    }

    fn update_comment(&self, number: u64, id: u64, body: &str) -> Result<Comment, ForgeError> {
        fn replace(comments: &mut [Comment], id: u64, body: &str) -> Option<Comment> {
            let c = comments.iter_mut().find(|c| c.id == id)?;
            c.body = body.to_string();
            Some(c.clone())
        }
        self.locked(|| {
            if let Some(mut pr) = Self::read::<PullRequest>(&self.pull_path(number))? {
                let c = replace(&mut pr.comments, id, body)
                    .ok_or(ForgeError::NoComment(number, id, "local"))?;
                pr.updated_at = now();
                Self::write(&self.pull_path(number), &pr)?;
                return Ok(c);
            }
            let mut issue = self.load_issue(number)?;
            let c = replace(&mut issue.comments, id, body)
                .ok_or(ForgeError::NoComment(number, id, "local"))?;
            issue.updated_at = now();
            Self::write(&self.issue_path(number), &issue)?;
            Ok(c)
        })
    }
}

fn dedup(labels: &[Label]) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::new();
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::forge::git::test_git as git;

    fn repo() -> (tempfile::TempDir, LocalForge) {
        let tmp = tempfile::tempdir().unwrap();
        git(tmp.path(), &["init", "-q", "-b", "main"]);
        git(tmp.path(), &["commit", "-q", "--allow-empty", "-m", "init"]);
        let forge = LocalForge::new(&tmp.path().join(".factory"), tmp.path());
        (tmp, forge)
    }

    fn issue(title: &str) -> NewIssue {
        NewIssue {
            title: title.into(),
            body: "body".into(),
            labels: vec!["task".into(), "task".into()],
        }
    }

    #[test]
    fn issues_and_pull_requests_share_one_stable_sequence() {
        let (_tmp, forge) = repo();
        assert_eq!(forge.create_issue(&issue("one")).unwrap().number, 1);
        assert_eq!(forge.create_issue(&issue("two")).unwrap().number, 2);
        forge.ensure_branch("feat/#2-two", "main").unwrap();
        let pr = forge
            .create_pull_request(&NewPullRequest {
                title: "t".into(),
                body: "b".into(),
                head: "feat/#2-two".into(),
                base: "main".into(),
            })
            .unwrap();
        assert_eq!(pr.number, 3);
        assert_eq!(forge.create_issue(&issue("three")).unwrap().number, 4);
        let listed: Vec<u64> = forge
            .list_issues()
            .unwrap()
            .iter()
            .map(|i| i.number)
            .collect();
        assert_eq!(listed, vec![1, 2, 4]);
        assert_eq!(forge.get_issue(1).unwrap().labels, vec!["task".to_string()]);
    }

    #[test]
    fn labels_comments_and_state_are_recorded() {
        let (_tmp, forge) = repo();
        let n = forge.create_issue(&issue("one")).unwrap().number;
        forge
            .add_labels(n, &["regression".into(), "task".into()])
            .unwrap();
        forge.comment_issue(n, "hello").unwrap();
        forge.set_issue_state(n, State::Closed).unwrap();
        let i = forge.get_issue(n).unwrap();
        assert_eq!(i.labels, vec!["task".to_string(), "regression".to_string()]);
        assert_eq!(i.comments[0].id, 1);
        assert_eq!(i.state, State::Closed);
        assert!(i.closed_at.is_some());
        assert!(matches!(forge.get_issue(9), Err(ForgeError::NoIssue(9, _))));
    }

    #[test]
    fn concurrent_writers_get_unique_numbers() {
        let (tmp, _forge) = repo();
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let root = tmp.path().to_path_buf();
                std::thread::spawn(move || {
                    let forge = LocalForge::new(&root.join(".factory"), &root);
                    (0..5)
                        .map(|_| forge.create_issue(&issue("x")).unwrap().number)
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (1..=30).collect::<Vec<u64>>());
    }

    #[test]
    fn reviews_diffs_and_comment_updates() {
        let (tmp, forge) = repo();
        forge.create_issue(&issue("one")).unwrap();
        forge.ensure_branch("feat/#1-one", "main").unwrap();
        git(tmp.path(), &["checkout", "-q", "feat/#1-one"]);
        fs::write(tmp.path().join("a.txt"), "x\n  \n").unwrap();
        git(tmp.path(), &["add", "a.txt"]);
        git(tmp.path(), &["commit", "-q", "-m", "a"]);
        git(tmp.path(), &["checkout", "-q", "main"]);
        let pr = forge
            .create_pull_request(&NewPullRequest {
                title: "t".into(),
                body: "b".into(),
                head: "feat/#1-one".into(),
                base: "main".into(),
            })
            .unwrap();
        let diff = forge.pull_request_diff(pr.number).unwrap();
        assert!(
            diff.ends_with("+x\n+  \n"),
            "trailing whitespace kept: {diff:?}"
        );
        let review = NewReview {
            event: super::super::ReviewEvent::Approve,
            body: "ok".into(),
            comments: vec![],
        };
        assert_eq!(forge.create_review(pr.number, &review).unwrap().id, 1);
        assert_eq!(forge.create_review(pr.number, &review).unwrap().id, 2);
        assert_eq!(forge.reviews(pr.number).unwrap().len(), 2);
        assert!(matches!(
            forge.create_review(9, &review),
            Err(ForgeError::NoPullRequest(9, _))
        ));
        let c = forge.comment_issue(pr.number, "first").unwrap();
        forge.update_comment(pr.number, c.id, "second").unwrap();
        assert_eq!(forge.list_comments(pr.number).unwrap()[0].body, "second");
        let err = forge
            .update_comment(pr.number, 7, "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("comment 7 does not exist on #2"), "{err}");
        forge.comment_issue(1, "on the issue").unwrap();
        forge.update_comment(1, 1, "edited").unwrap();
        assert_eq!(forge.list_comments(1).unwrap()[0].body, "edited");
    }

    #[test]
    fn a_broken_record_names_its_file_and_line() {
        let (_tmp, forge) = repo();
        forge.create_issue(&issue("one")).unwrap();
        fs::write(forge.dir().join("issues/1.json"), "{\n  \"number\": ").unwrap();
        let err = forge.get_issue(1).unwrap_err().to_string();
        assert!(err.contains("issues/1.json:2:"), "{err}");
    }
}
