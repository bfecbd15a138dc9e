//! Bringing a pull request that is behind its base up to date before it merges, so a wave of
//! several pull requests merges without a person: after the first squash merge, the others
//! are behind. The base is merged into the branch (or the branch rebased onto it) in a
//! detached, temporary worktree with the repository's hooks switched off, and the branch moves
//! only if nobody moved it meanwhile (compare-and-swap). A conflict changes nothing and is
//! reported with its paths, for implementation to resolve.

use std::path::PathBuf;

use super::ForgeError;
use super::git::Git;
use crate::workflow::config::UpdateMethod;

/// How an update went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchUpdate {
    /// The branch now contains the base; its new head.
    Updated { head: String },
    /// The forge accepted the update and performs it on its own time (GitHub's update-branch
    /// answers 202): the new head shows up on the pull request shortly.
    Started,
    /// The base and the branch change the same lines: nothing was changed.
    Conflict { paths: Vec<String> },
}

/// Update `head` (a commit-ish) with `base` in a temporary worktree of `repo`; the new head
/// commit, or the conflicting paths. Refs are not touched: the caller moves the branch.
pub fn update_commit(
    repo: &Git,
    head: &str,
    base: &str,
    method: UpdateMethod,
    label: &str,
) -> Result<Result<String, Vec<String>>, ForgeError> {
    let path = scratch_path(repo, label)?;
    let shown = path.to_string_lossy().into_owned();
    let _ = repo.run(&["worktree", "remove", "--force", &shown]);
    let _ = std::fs::remove_dir_all(&path);
    let _ = repo.run(&["worktree", "prune"]);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ForgeError::io("create directory", parent, e))?;
    }
    repo.run(&["worktree", "add", "--quiet", "--detach", &shown, head])?;
    let wt = Git::new(&path);
    let env = repo.identity_env();
    // The repository's own hooks never run here: the branch is agent-written code.
    let hooks = ["-c", "core.hooksPath=/dev/null"];
    let message = format!("Merge `{base}` into the pull request branch (factory)");
    let outcome = match method {
        UpdateMethod::Merge => {
            let mut args = hooks.to_vec();
            args.extend([
                "merge",
                "--no-edit",
                "--no-verify",
                "--no-ff",
                "-m",
                &message,
                base,
            ]);
            wt.run_env(&args, &env)
        }
        UpdateMethod::Rebase => {
            let mut args = hooks.to_vec();
            args.extend(["rebase", "--no-verify", "--quiet", base]);
            wt.run_env(&args, &env)
        }
    };
    let result = match outcome {
        Ok(_) => Ok(wt.rev("HEAD")?),
        Err(e) => {
            let paths = wt
                .paths(&["diff", "--name-only", "--diff-filter=U"])
                .unwrap_or_default();
            let abort = match method {
                UpdateMethod::Merge => ["merge", "--abort"],
                UpdateMethod::Rebase => ["rebase", "--abort"],
            };
            let _ = wt.run(&abort);
            if paths.is_empty() {
                let _ = repo.run(&["worktree", "remove", "--force", &shown]);
                return Err(e);
            }
            Err(paths)
        }
    };
    let _ = repo.run(&["worktree", "remove", "--force", &shown]);
    Ok(result)
}

/// Update branch `head` of `repo` with branch `base`, moving `refs/heads/<head>` only from the
/// commit it was at.
pub fn update_local_branch(
    repo: &Git,
    head: &str,
    base: &str,
    method: UpdateMethod,
) -> Result<BranchUpdate, ForgeError> {
    let head_ref = format!("refs/heads/{head}");
    let base_ref = format!("refs/heads/{base}");
    let old = repo.rev(&head_ref)?;
    match update_commit(repo, &old, &base_ref, method, head)? {
        Ok(new) => {
            if repo.current_branch().as_deref() == Some(head) {
                return Err(ForgeError::Unsupported(format!(
                    "branch `{head}` is checked out here; switch to another branch so factory can bring it up to date with `{base}`"
                )));
            }
            repo.run(&["update-ref", &head_ref, &new, &old])?;
            Ok(BranchUpdate::Updated { head: new })
        }
        Err(paths) => Ok(BranchUpdate::Conflict { paths }),
    }
}

/// Where the temporary worktree for `label` goes: inside the git directory, never in the
/// state directory that CI jobs carry.
fn scratch_path(repo: &Git, label: &str) -> Result<PathBuf, ForgeError> {
    let safe: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Ok(repo.worktrees_dir()?.join(format!("update-{safe}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Git) {
        let dir = tempfile::tempdir().unwrap();
        let git = Git::new(dir.path());
        git.run(&["init", "-q", "-b", "main"]).unwrap();
        std::fs::write(dir.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
        git.run(&["add", "."]).unwrap();
        git.run_env(&["commit", "-q", "-m", "init"], &git.identity_env())
            .unwrap();
        (dir, git)
    }

    fn commit(git: &Git, branch: &str, file: &str, text: &str) {
        git.run(&["checkout", "-q", branch]).unwrap();
        std::fs::write(git.repo().join(file), text).unwrap();
        git.run(&["add", file]).unwrap();
        git.run_env(&["commit", "-q", "-m", file], &git.identity_env())
            .unwrap();
        git.run(&["checkout", "-q", "main"]).unwrap();
    }

    #[test]
    fn a_branch_behind_its_base_is_merged_or_rebased_and_a_conflict_changes_nothing() {
        for method in [UpdateMethod::Merge, UpdateMethod::Rebase] {
            let (_d, git) = repo();
            git.run(&["branch", "feat"]).unwrap();
            commit(&git, "feat", "b.txt", "feature\n");
            commit(&git, "main", "c.txt", "other\n");
            let up = update_local_branch(&git, "feat", "main", method).unwrap();
            let BranchUpdate::Updated { head } = up else {
                panic!("{up:?}")
            };
            assert!(
                git.succeeds(&["merge-base", "--is-ancestor", "main", "feat"])
                    .unwrap()
            );
            assert_eq!(git.rev("refs/heads/feat").unwrap(), head);
            assert_eq!(
                git.run(&["show", "feat:b.txt"]).unwrap(),
                "feature",
                "{method:?}"
            );

            git.run(&["branch", "clash"]).unwrap();
            commit(&git, "clash", "a.txt", "one\nTWO\nthree\n");
            commit(&git, "main", "a.txt", "one\n2\nthree\n");
            let before = git.rev("refs/heads/clash").unwrap();
            let up = update_local_branch(&git, "clash", "main", method).unwrap();
            assert_eq!(
                up,
                BranchUpdate::Conflict {
                    paths: vec!["a.txt".into()]
                }
            );
            assert_eq!(git.rev("refs/heads/clash").unwrap(), before);
        }
    }
}
