//! Running git: always `git` with explicit arguments (never a shell), in a given directory,
//! with prompts and localisation switched off so output can be parsed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::ForgeError;

/// A repository git runs in.
#[derive(Debug, Clone)]
pub struct Git {
    repo: PathBuf,
}

impl Git {
    pub fn new(repo: impl Into<PathBuf>) -> Git {
        Git { repo: repo.into() }
    }

    pub fn repo(&self) -> &Path {
        &self.repo
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.repo)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    /// Run git; stdout (trimmed) on success, an error naming the command otherwise.
    pub fn run(&self, args: &[&str]) -> Result<String, ForgeError> {
        self.run_env(args, &[])
    }

    /// Run git; stdout exactly as printed (a diff keeps its trailing whitespace).
    pub fn run_raw(&self, args: &[&str]) -> Result<String, ForgeError> {
        self.run_raw_env(args, &[])
    }

    /// A path list (`diff --name-only`, `ls-files`, …) read NUL-separated with `-z`, so every
    /// name arrives as it is: never C-quoted (`"caf\303\251.yml"`), whatever the characters.
    pub fn paths(&self, args: &[&str]) -> Result<Vec<String>, ForgeError> {
        let mut all = args.to_vec();
        all.push("-z");
        Ok(self
            .run_raw(&all)?
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect())
    }

    /// `diff --name-status` read with `-z`: each change's status letter and path.
    pub fn name_status(&self, args: &[&str]) -> Result<Vec<(char, String)>, ForgeError> {
        let fields = self.paths(args)?;
        Ok(fields
            .chunks(2)
            .filter_map(|pair| match pair {
                [status, path] => Some((status.chars().next()?, path.clone())),
                _ => None,
            })
            .collect())
    }

    /// [`Git::run`] with extra environment variables (an identity, or configuration passed
    /// through `GIT_CONFIG_*` so that it never appears on the command line). Error text is
    /// scrubbed of secret-looking values.
    pub fn run_env(&self, args: &[&str], env: &[(String, String)]) -> Result<String, ForgeError> {
        self.run_raw_env(args, env)
            .map(|s| s.trim_end().to_string())
    }

    fn run_raw_env(&self, args: &[&str], env: &[(String, String)]) -> Result<String, ForgeError> {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ForgeError::GitMissing
            } else {
                ForgeError::io("run git in", &self.repo, e)
            }
        })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(ForgeError::Git {
                args: args.join(" "),
                repo: self.repo.clone(),
                stderr: crate::state::redact::scrub(String::from_utf8_lossy(&out.stderr).trim()),
            })
        }
    }

    /// The author and committer factory commits as when git has no identity configured here
    /// (`user.email` unset); empty when one is configured.
    pub fn identity_env(&self) -> Vec<(String, String)> {
        if self.run(&["config", "user.email"]).is_ok() {
            return Vec::new();
        }
        [
            ("GIT_AUTHOR_NAME", "factory"),
            ("GIT_AUTHOR_EMAIL", "factory@localhost"),
            ("GIT_COMMITTER_NAME", "factory"),
            ("GIT_COMMITTER_EMAIL", "factory@localhost"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Run git and report only whether it exited 0 (for questions such as `merge-base
    /// --is-ancestor`).
    pub fn succeeds(&self, args: &[&str]) -> Result<bool, ForgeError> {
        let status = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    ForgeError::GitMissing
                } else {
                    ForgeError::io("run git in", &self.repo, e)
                }
            })?;
        Ok(status.success())
    }

    pub fn branch_exists(&self, name: &str) -> Result<bool, ForgeError> {
        self.succeeds(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{name}"),
        ])
    }

    /// The commit a revision names.
    pub fn rev(&self, rev: &str) -> Result<String, ForgeError> {
        self.run(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
    }

    /// The branch checked out in this worktree, if any.
    pub fn current_branch(&self) -> Option<String> {
        self.run(&["symbolic-ref", "--quiet", "--short", "HEAD"])
            .ok()
    }

    /// The repository's top level.
    pub fn top_level(&self) -> Result<PathBuf, ForgeError> {
        self.run(&["rev-parse", "--show-toplevel"])
            .map(PathBuf::from)
    }
}

/// Run git in `dir` for a unit test, with a fixed identity; panics with git's stderr.
#[cfg(test)]
pub(crate) fn test_git(dir: &std::path::Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
