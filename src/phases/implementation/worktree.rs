//! The git side of implementation: a separate worktree per issue on the issue's branch, kept
//! outside the repository (`<temp>/factory-<user>/worktrees/<repo>-<hash>/issue-<N>`, see
//! [`Git::worktrees_dir`]) so that it never lands in `.factory/`, the state CI jobs carry
//! between them, nor under `.git/`, where an agent may not edit; the diff of the
//! branch against its base; factory's commit; and the push goes through [`crate::forge::git::push`]
//! (the token in git's environment, never on the command line).

use std::path::{Path, PathBuf};

use crate::forge::ForgeError;
use crate::forge::git::Git;

/// A worktree checked out on an issue's branch.
#[derive(Debug)]
pub struct Worktree {
    /// The repository the worktree belongs to.
    pub repo: Git,
    /// Git run inside the worktree.
    pub git: Git,
    pub path: PathBuf,
    pub branch: String,
}

/// Where factory keeps its worktrees for `repo`.
pub fn worktrees_dir(repo: &Git) -> Result<PathBuf, ForgeError> {
    repo.worktrees_dir()
}

/// The worktree path of issue `issue`.
pub fn worktree_path(repo: &Git, issue: u64) -> Result<PathBuf, ForgeError> {
    Ok(worktrees_dir(repo)?.join(format!("issue-{issue}")))
}

impl Worktree {
    /// Check out `branch` (created from `base` when missing) in the worktree of `issue`. With
    /// `keep`, a worktree already on the branch is reused as it is (a retry continues from
    /// the previous attempt's changes); otherwise it is recreated clean.
    pub fn open(
        repo: &Git,
        issue: u64,
        branch: &str,
        base: &str,
        keep: bool,
    ) -> Result<Worktree, ForgeError> {
        if !repo.branch_exists(branch)? {
            repo.run(&["branch", "--no-track", "--", branch, base])?;
        }
        let path = worktree_path(repo, issue)?;
        let shown = path.to_string_lossy().into_owned();
        let wt = Worktree {
            repo: repo.clone(),
            git: Git::new(&path),
            path: path.clone(),
            branch: branch.to_string(),
        };
        if keep && path.join(".git").exists() && wt.git.current_branch().as_deref() == Some(branch)
        {
            return Ok(wt);
        }
        remove_path(repo, &path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ForgeError::io("create directory", parent, e))?;
        }
        repo.run(&["worktree", "add", "--quiet", &shown, branch])
            .map_err(|e| match e {
                ForgeError::Git { stderr, .. } if stderr.contains("already") => {
                    ForgeError::Unsupported(format!(
                        "branch `{branch}` is checked out in another worktree ({stderr}); switch that checkout to another branch so factory can work on it"
                    ))
                }
                other => other,
            })?;
        Ok(wt)
    }

    /// Stage everything the agent changed (new files included, ignored files not).
    pub fn stage(&self) -> Result<(), ForgeError> {
        self.git.run(&["add", "-A"]).map(|_| ())
    }

    /// The commit the branch forked from `base` at.
    pub fn fork_point(&self, base: &str) -> Result<String, ForgeError> {
        self.git.run(&["merge-base", base, "HEAD"])
    }

    /// The staged tree against `since`, as a unified diff.
    pub fn diff(&self, since: &str) -> Result<String, ForgeError> {
        self.git.run(&[
            "-c",
            "core.quotepath=false",
            "diff",
            "--cached",
            "--no-color",
            "--no-ext-diff",
            since,
        ])
    }

    /// The paths the staged tree adds, changes or deletes against `since`.
    pub fn changed_paths(&self, since: &str) -> Result<Vec<String>, ForgeError> {
        self.git
            .paths(&["diff", "--cached", "--name-only", "--no-renames", since])
    }

    /// Whether anything is staged.
    pub fn has_staged(&self) -> Result<bool, ForgeError> {
        Ok(!self.git.succeeds(&["diff", "--cached", "--quiet"])?)
    }

    /// Commit what is staged with `message`; the new commit.
    pub fn commit(&self, message: &str) -> Result<String, ForgeError> {
        let env = self.repo.identity_env();
        self.git
            .run_env(&["commit", "--quiet", "--no-verify", "-m", message], &env)?;
        self.git.rev("HEAD")
    }

    /// Start merging `base` into the branch without committing, for an agent to resolve what
    /// conflicts. The conflicting paths (empty when it merged cleanly).
    pub fn start_merge(&self, base: &str) -> Result<Vec<String>, ForgeError> {
        if self.merge_head()?.is_some() {
            return self.conflicted();
        }
        let env = self.repo.identity_env();
        // A conflict makes git exit 1 with the merge in progress: that is the point.
        let _ = self.git.run_env(
            &["merge", "--no-ff", "--no-commit", "--no-verify", base],
            &env,
        );
        if self.merge_head()?.is_none() {
            // Already up to date, or git refused: nothing to resolve.
            return Ok(Vec::new());
        }
        self.conflicted()
    }

    /// Paths with unresolved conflicts in the index.
    pub fn conflicted(&self) -> Result<Vec<String>, ForgeError> {
        self.git.paths(&["diff", "--name-only", "--diff-filter=U"])
    }

    /// The commit being merged into the branch, while a merge is in progress.
    pub fn merge_head(&self) -> Result<Option<String>, ForgeError> {
        let out = self
            .git
            .run(&["rev-parse", "--verify", "--quiet", "MERGE_HEAD"])
            .ok();
        Ok(out.filter(|s| !s.is_empty()))
    }

    /// The branch's head commit.
    pub fn head(&self) -> Result<String, ForgeError> {
        self.git.rev("HEAD")
    }

    /// Remove the worktree (the branch and its commits stay).
    pub fn remove(self) {
        remove_path(&self.repo, &self.path);
    }
}

fn remove_path(repo: &Git, path: &Path) {
    if !path.exists() {
        let _ = repo.run(&["worktree", "prune"]);
        return;
    }
    let shown = path.to_string_lossy().into_owned();
    if repo
        .run(&["worktree", "remove", "--force", &shown])
        .is_err()
    {
        let _ = std::fs::remove_dir_all(path);
    }
    let _ = repo.run(&["worktree", "prune"]);
    // The repository's folder of worktrees goes too once it is empty (it is only removed if so).
    if let Some(parent) = path.parent() {
        let _ = std::fs::remove_dir(parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::forge::git::test_git as git;

    #[test]
    fn a_worktree_lives_outside_the_repository_is_reused_or_reset_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        git(tmp.path(), &["init", "-q", "-b", "main"]);
        git(tmp.path(), &["commit", "-q", "--allow-empty", "-m", "init"]);
        let repo = Git::new(tmp.path());
        let wt = Worktree::open(&repo, 3, "feat/#3-x", "main", false).unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        assert!(
            !wt.path.starts_with(&root) && !wt.path.starts_with(tmp.path()),
            "{:?}",
            wt.path
        );
        assert!(wt.path.ends_with("issue-3"), "{:?}", wt.path);
        // Another repository gets another folder.
        let other = tempfile::tempdir().unwrap();
        git(other.path(), &["init", "-q", "-b", "main"]);
        assert_ne!(
            worktrees_dir(&Git::new(other.path())).unwrap(),
            worktrees_dir(&repo).unwrap()
        );
        std::fs::write(wt.path.join("a.txt"), "a").unwrap();
        let wt = Worktree::open(&repo, 3, "feat/#3-x", "main", true).unwrap();
        assert!(wt.path.join("a.txt").exists(), "kept for a retry");
        let wt = Worktree::open(&repo, 3, "feat/#3-x", "main", false).unwrap();
        assert!(!wt.path.join("a.txt").exists(), "reset for a fresh attempt");
        let path = wt.path.clone();
        wt.remove();
        assert!(!path.exists());
        assert!(
            !path.parent().unwrap().exists(),
            "the empty folder goes too"
        );
        assert!(repo.branch_exists("feat/#3-x").unwrap());
    }
}
