//! Running git: always `git` with explicit arguments (never a shell), in a given directory,
//! with prompts and localisation switched off so output can be parsed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::ForgeError;

/// The variable that moves factory's temporary worktrees (default: the system's temporary
/// directory).
pub const WORKTREES_VAR: &str = "FACTORY_WORKTREES_DIR";

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

    /// The repository's common git directory (shared by its worktrees), absolute: where factory
    /// keeps its worktrees and its merge lock, never inside `.factory/`.
    pub fn common_dir(&self) -> Result<PathBuf, ForgeError> {
        let common = PathBuf::from(self.run(&["rev-parse", "--git-common-dir"])?);
        Ok(if common.is_absolute() {
            common
        } else {
            self.repo.join(common)
        })
    }

    /// Where factory keeps its temporary worktrees: outside both the repository's git
    /// directory (Claude Code refuses every edit under a `.git/` path) and `.factory/` (the state
    /// CI jobs carry), so they never show in the checkout's status. `FACTORY_WORKTREES_DIR`
    /// when set, else the system's temporary directory; then one folder per repository, named
    /// after it and its git directory.
    pub fn worktrees_dir(&self) -> Result<PathBuf, ForgeError> {
        use sha2::{Digest, Sha256};
        let common = self.common_dir()?;
        let common = std::fs::canonicalize(&common).unwrap_or(common);
        let base = std::env::var_os(WORKTREES_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let user = std::env::var("USER")
                    .ok()
                    .filter(|u| {
                        u.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    })
                    .unwrap_or_else(|| "user".into());
                std::env::temp_dir()
                    .join(format!("factory-{user}"))
                    .join("worktrees")
            });
        let top = if common.file_name().is_some_and(|n| n == ".git") {
            common.parent().unwrap_or(&common).to_path_buf()
        } else {
            common.clone()
        };
        let name: String = top
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repo".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let hash = Sha256::digest(common.to_string_lossy().as_bytes());
        let key: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Ok(base.join(format!("{name}-{key}")))
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

    /// The first of `candidates` (full ref names) that exists here.
    pub fn first_ref(&self, candidates: &[String]) -> Result<Option<String>, ForgeError> {
        for r in candidates {
            if self.succeeds(&["rev-parse", "--verify", "--quiet", r])? {
                return Ok(Some(r.clone()));
            }
        }
        Ok(None)
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

// Talking to `origin` with a forge token.

/// The forge token from the environment (`GITHUB_TOKEN`, else `GH_TOKEN`): for factory's own
/// pushes and API calls, never handed to an agent.
pub fn forge_token() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// Git configuration carrying the forge token as an HTTP header, in the environment git reads
/// configuration from (`GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_0`, `GIT_CONFIG_VALUE_0`), so it is
/// never on a command line where `ps` could show it.
pub fn auth_env(token: &str) -> Vec<(String, String)> {
    let basic = base64(format!("x-access-token:{token}").as_bytes());
    vec![
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), "http.extraheader".into()),
        (
            "GIT_CONFIG_VALUE_0".into(),
            format!("AUTHORIZATION: basic {basic}"),
        ),
        ("GIT_TERMINAL_PROMPT".into(), "0".into()),
    ]
}

/// Fetch `branch` from `origin` into `refs/remotes/origin/<branch>`; false when origin does
/// not have it.
pub fn fetch(repo: &Git, branch: &str, token: &str) -> Result<bool, ForgeError> {
    let spec = format!("+refs/heads/{branch}:refs/remotes/origin/{branch}");
    match repo.run_env(
        &["fetch", "--quiet", "--no-tags", "origin", &spec],
        &auth_env(token),
    ) {
        Ok(_) => Ok(true),
        Err(ForgeError::Git { stderr, .. })
            if stderr.contains("couldn't find remote ref")
                || stderr.contains("could not find remote ref") =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Push `branch` to `origin`.
pub fn push(repo: &Git, branch: &str, token: &str) -> Result<(), ForgeError> {
    let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
    repo.run_env(&["push", "--quiet", "origin", &spec], &auth_env(token))
        .map(|_| ())
}

/// Push commit `commit` to `branch` on `origin`, only if the branch is still at `expected`.
pub fn push_with_lease(
    repo: &Git,
    commit: &str,
    branch: &str,
    expected: &str,
    token: &str,
) -> Result<(), ForgeError> {
    let spec = format!("{commit}:refs/heads/{branch}");
    let lease = format!("--force-with-lease=refs/heads/{branch}:{expected}");
    repo.run_env(
        &["push", "--quiet", &lease, "origin", &spec],
        &auth_env(token),
    )
    .map(|_| ())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"x-access-token:abc"), "eC1hY2Nlc3MtdG9rZW46YWJj");
    }

    #[test]
    fn the_token_travels_in_git_s_environment_only() {
        let env = auth_env("s3cret");
        assert!(env.iter().all(|(k, _)| k.starts_with("GIT_")));
        assert!(
            env.iter()
                .any(|(_, v)| v.contains(&base64(b"x-access-token:s3cret")))
        );
    }
}
