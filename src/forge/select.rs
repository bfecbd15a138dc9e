//! Which forge to use: GitHub when a token and a GitHub repository are known, the local forge
//! otherwise. `FACTORY_FORGE=local|github` overrides the choice.

use std::path::Path;

use super::deferred::{DeferredForge, Writes};
use super::safe::{Policy, SafeForge};
use super::{Forge, ForgeError, LocalForge};
use crate::state::StateDir;

/// Environment variable that forces a forge.
pub const FORGE_ENV: &str = "FACTORY_FORGE";

/// The two kinds of forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeKind {
    Local,
    Github,
}

/// What the choice is based on: read from the process environment by [`choose`].
#[derive(Debug, Clone, Default)]
pub struct ForgeEnv {
    pub forced: Option<String>,
    pub has_token: bool,
    pub repository: Option<String>,
}

impl ForgeEnv {
    fn from_process(repo: &Path) -> ForgeEnv {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let repository = std::env::var("GITHUB_REPOSITORY")
            .ok()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                let url = super::git::Git::new(repo)
                    .run(&["remote", "get-url", "origin"])
                    .ok()?;
                crate::intake::setup::github_repository_from_url(&url)
            });
        ForgeEnv {
            forced: std::env::var(FORGE_ENV).ok().filter(|v| !v.is_empty()),
            has_token: set("GITHUB_TOKEN") || set("GH_TOKEN"),
            repository,
        }
    }
}

/// Decide which forge `env` calls for.
pub fn choose(env: &ForgeEnv) -> Result<ForgeKind, ForgeError> {
    match env
        .forced
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("local") => return Ok(ForgeKind::Local),
        Some("github") => return Ok(ForgeKind::Github),
        Some(other) => {
            return Err(ForgeError::Unsupported(format!(
                "{FORGE_ENV}={other}: expected `local` or `github`"
            )));
        }
        None => {}
    }
    Ok(if env.has_token && env.repository.is_some() {
        ForgeKind::Github
    } else {
        ForgeKind::Local
    })
}

/// Open the forge for the repository at `repo` with state in `state`, behind the safe-outputs
/// policy of the workflow (`outputs` in .factory/workflow.yaml): every write passes through it.
/// With deferred writes the caller gets the deferred forge instead: no token, no network, its
/// writes left as apply artifacts named after `phase`, for `factory apply`
/// (docs/security.md#deferred-writes). The pipeline opens one per phase attempt, with the mode
/// of the run.
pub fn open(
    state: &StateDir,
    repo: &Path,
    writes: Writes,
    phase: &str,
) -> Result<Box<dyn Forge>, ForgeError> {
    if writes.deferred() {
        return Ok(Box::new(DeferredForge::new(state, repo, phase)));
    }
    open_direct(state, repo)
}

/// [`open`] for a command run on its own (`factory review`, `factory merge`, ...): the write
/// mode from `FACTORY_WRITES`, the artifacts named after the command.
pub fn open_forge(state: &StateDir, repo: &Path) -> Result<Box<dyn Forge>, ForgeError> {
    let writes = Writes::from_env().map_err(|e| ForgeError::Unsupported(e.to_string()))?;
    open(state, repo, writes, "command")
}

/// [`open_forge`] in direct mode whatever the mode of the process: what `factory apply`
/// writes through. The GitHub forge gets the workflow's `forge.time_budget_seconds` for its
/// waits on rate limits and server errors.
pub fn open_direct(state: &StateDir, repo: &Path) -> Result<Box<dyn Forge>, ForgeError> {
    let env = ForgeEnv::from_process(repo);
    let kind = choose(&env)?;
    let workflow = crate::workflow::load(&state.root().join(crate::workflow::load::OVERRIDE_FILE))
        .map_err(|e| ForgeError::Unsupported(e.to_string()))?
        .workflow;
    match kind {
        ForgeKind::Local => {
            let policy = Policy::new(&workflow.outputs, None);
            Ok(Box::new(SafeForge::new(
                LocalForge::new(state.root(), repo),
                policy,
            )))
        }
        ForgeKind::Github => {
            let repository = env.repository.ok_or_else(|| {
                ForgeError::Unsupported(
                    "FACTORY_FORGE=github needs the repository: set GITHUB_REPOSITORY=owner/name or add a GitHub origin remote".into(),
                )
            })?;
            let policy = Policy::new(&workflow.outputs, Some(&github_host()));
            let github = super::github::GithubForge::from_env(&repository)?
                .with_time_budget(workflow.forge.time_budget());
            Ok(Box::new(SafeForge::new(github, policy)))
        }
    }
}

/// The host of the GitHub server (`GITHUB_SERVER_URL` in Actions, github.com otherwise): links
/// to it are always allowed.
fn github_host() -> String {
    std::env::var("GITHUB_SERVER_URL")
        .ok()
        .and_then(|url| {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let host = rest.split(['/', ':']).next()?.to_ascii_lowercase();
            (!host.is_empty()).then_some(host)
        })
        .unwrap_or_else(|| "github.com".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_unless_token_and_repository_or_forced() {
        let mut env = ForgeEnv::default();
        assert_eq!(choose(&env).unwrap(), ForgeKind::Local);
        env.has_token = true;
        assert_eq!(choose(&env).unwrap(), ForgeKind::Local);
        env.repository = Some("acme/shop".into());
        assert_eq!(choose(&env).unwrap(), ForgeKind::Github);
        env.forced = Some("LOCAL".into());
        assert_eq!(choose(&env).unwrap(), ForgeKind::Local);
        env.forced = Some("gitlab".into());
        assert!(choose(&env).unwrap_err().to_string().contains("gitlab"));
    }
}
