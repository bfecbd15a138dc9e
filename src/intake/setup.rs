//! The setup report: everything the pipeline needs from the machine and the repository, checked
//! at once so a person fixes every problem in one go. Used by intake and `factory doctor`.
//!
//! Git and the agent CLIs run as plain processes (no shell); a tool that hangs is killed after
//! [`TOOL_TIMEOUT`]. Token values are never read into the report, only whether they are set.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::contracts::Contract;

/// How long `claude --version` / `codex --version` may take.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(5);

/// One line of the setup report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupCheck {
    /// What was checked (`git repository`, `working tree`, `claude`, …).
    pub check: String,
    pub ok: bool,
    /// A failed required check stops the pipeline; a failed optional one is a warning.
    pub required: bool,
    /// What was found, or what to do.
    pub detail: String,
}

impl SetupCheck {
    fn new(check: &str, ok: bool, required: bool, detail: impl Into<String>) -> Self {
        SetupCheck {
            check: check.into(),
            ok,
            required,
            detail: detail.into(),
        }
    }
}

/// Whether every required check passed.
pub fn required_ok(checks: &[SetupCheck]) -> bool {
    checks.iter().all(|c| c.ok || !c.required)
}

/// What the checks read from the environment; tests pass their own.
#[derive(Debug, Clone, Default)]
pub struct SetupEnv {
    /// `PATH` used to find `git`, `claude` and `codex`.
    pub path: Option<OsString>,
    pub github_token: bool,
    pub gh_token: bool,
    pub github_repository: Option<String>,
    /// `FACTORY_REVIEW_TOKEN`: a second identity posts reviews.
    pub review_token: bool,
    /// Running inside GitHub Actions (`GITHUB_ACTIONS=true`): credentials come from secrets.
    pub in_actions: bool,
    /// `FACTORY_WRITE_IDENTITY`, set by the workflows: `app`, `token` or `github-token`.
    pub write_identity: Option<String>,
    /// The variable that carries Claude Code's credentials, or a login on this machine.
    pub claude_credentials: Option<String>,
    /// The variable that carries Codex's credentials, or a login on this machine.
    pub codex_credentials: Option<String>,
}

/// An agent whose setup `factory doctor --need` makes required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Need {
    /// Claude Code (planning, review): the `claude` CLI and its credentials.
    Claude,
    /// Codex (implementation): the `codex` CLI and its credentials.
    Codex,
}

impl SetupEnv {
    /// The process environment.
    pub fn from_process() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        SetupEnv {
            path: std::env::var_os("PATH"),
            github_token: set("GITHUB_TOKEN"),
            gh_token: set("GH_TOKEN"),
            github_repository: std::env::var("GITHUB_REPOSITORY")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            review_token: set("FACTORY_REVIEW_TOKEN"),
            in_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            write_identity: std::env::var("FACTORY_WRITE_IDENTITY")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            claude_credentials: credentials(
                &[
                    "ANTHROPIC_API_KEY",
                    "CLAUDE_CODE_OAUTH_TOKEN",
                    "ANTHROPIC_AUTH_TOKEN",
                    "CLAUDE_CODE_USE_BEDROCK",
                    "CLAUDE_CODE_USE_VERTEX",
                ],
                home().map(|h| h.join(".claude/.credentials.json")),
            ),
            codex_credentials: credentials(
                &["CODEX_API_KEY", "OPENAI_API_KEY"],
                std::env::var_os("CODEX_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home().map(|h| h.join(".codex")))
                    .map(|d| d.join("auth.json")),
            ),
        }
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
}

/// The first of `vars` that is set (its name, never its value), else the login file when it
/// exists.
fn credentials(vars: &[&str], login: Option<PathBuf>) -> Option<String> {
    vars.iter()
        .find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
        .map(|v| v.to_string())
        .or_else(|| {
            login
                .filter(|p| p.is_file())
                .map(|p| format!("the login in {}", p.display()))
        })
}

/// Run every check against `repo` with the process environment.
pub fn check_setup(repo: &Path) -> Vec<SetupCheck> {
    check_setup_with(repo, &SetupEnv::from_process())
}

/// Run every check against `repo` with the given environment.
pub fn check_setup_with(repo: &Path, env: &SetupEnv) -> Vec<SetupCheck> {
    check_setup_for(repo, env, &[])
}

/// Run every check, with the CLI and credentials of each agent in `needs` required: a job
/// that is about to run that agent fails here, naming what is missing, instead of minutes later.
pub fn check_setup_for(repo: &Path, env: &SetupEnv, needs: &[Need]) -> Vec<SetupCheck> {
    let git = Git { repo, env };
    let mut checks = Vec::new();
    let in_repo = git_repository(&git, &mut checks);
    if in_repo {
        checks.push(working_tree(&git));
        checks.push(default_branch(&git));
    } else {
        checks.push(SetupCheck::new(
            "working tree",
            false,
            false,
            "not checked: no git repository",
        ));
        checks.push(SetupCheck::new(
            "default branch",
            false,
            false,
            "not checked: no git repository",
        ));
    }
    let claude = needs.contains(&Need::Claude);
    let codex = needs.contains(&Need::Codex);
    checks.push(required_if(
        claude,
        tool(
            "claude",
            "Claude Code plans and reviews; install with `npm install -g @anthropic-ai/claude-code`",
            env,
        ),
    ));
    checks.push(agent_credentials(Need::Claude, env, claude));
    checks.push(required_if(
        codex,
        tool(
            "codex",
            "Codex implements; install with `npm install -g @openai/codex`",
            env,
        ),
    ));
    checks.push(agent_credentials(Need::Codex, env, codex));
    let forge = forge(&git, in_repo, env);
    let on_github = forge.ok;
    checks.push(forge);
    if on_github {
        if env.in_actions {
            checks.push(write_identity(env));
        }
        checks.push(review_identity(env));
    }
    checks.push(schemas());
    checks
}

struct Git<'a> {
    repo: &'a Path,
    env: &'a SetupEnv,
}

enum GitOutcome {
    Ok(String),
    Failed(String),
    Missing,
}

impl Git<'_> {
    fn run(&self, args: &[&str]) -> GitOutcome {
        let mut cmd =
            Command::new(resolve("git", self.env).unwrap_or_else(|| PathBuf::from("git")));
        cmd.args(args)
            .current_dir(self.repo)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some(path) = &self.env.path {
            cmd.env("PATH", path);
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {
                GitOutcome::Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
            }
            Ok(out) => GitOutcome::Failed(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => GitOutcome::Missing,
            Err(e) => GitOutcome::Failed(e.to_string()),
        }
    }

    fn ok(&self, args: &[&str]) -> Option<String> {
        match self.run(args) {
            GitOutcome::Ok(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

fn git_repository(git: &Git<'_>, checks: &mut Vec<SetupCheck>) -> bool {
    const NAME: &str = "git repository";
    if !git.repo.is_dir() {
        checks.push(SetupCheck::new(
            NAME,
            false,
            true,
            format!("{} is not a directory: pass --repo DIR", git.repo.display()),
        ));
        return false;
    }
    match git.run(&["rev-parse", "--show-toplevel"]) {
        GitOutcome::Ok(top) => {
            checks.push(SetupCheck::new(NAME, true, true, top));
            true
        }
        GitOutcome::Missing => {
            checks.push(SetupCheck::new(
                NAME,
                false,
                true,
                "git is not on PATH: install git",
            ));
            false
        }
        GitOutcome::Failed(_) => {
            checks.push(SetupCheck::new(
                NAME,
                false,
                true,
                format!(
                    "{} is not inside a git repository: run `git init` there or pass --repo DIR",
                    git.repo.display()
                ),
            ));
            false
        }
    }
}

fn working_tree(git: &Git<'_>) -> SetupCheck {
    const NAME: &str = "working tree";
    match git.run(&["status", "--porcelain=v1", "--untracked-files=normal"]) {
        GitOutcome::Ok(out) => {
            // The state directory lives in the repository and changes on every run.
            let changed = out
                .lines()
                .filter(|l| l.len() > 3 && !l[3..].trim_matches('"').starts_with(".factory/"))
                .count();
            if changed == 0 {
                SetupCheck::new(NAME, true, false, "clean")
            } else {
                let s = if changed == 1 { "" } else { "s" };
                SetupCheck::new(
                    NAME,
                    false,
                    false,
                    format!(
                        "{changed} changed file{s}: commit or stash them before implementation starts"
                    ),
                )
            }
        }
        GitOutcome::Failed(e) => {
            SetupCheck::new(NAME, false, false, format!("git status failed: {e}"))
        }
        GitOutcome::Missing => SetupCheck::new(NAME, false, false, "git is not on PATH"),
    }
}

fn default_branch(git: &Git<'_>) -> SetupCheck {
    const NAME: &str = "default branch";
    if let Some(head) = git.ok(&["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"]) {
        let branch = head.strip_prefix("refs/remotes/origin/").unwrap_or(&head);
        return SetupCheck::new(NAME, true, false, format!("{branch} (from origin/HEAD)"));
    }
    // init.defaultBranch is a preference for new repositories: trust it only if the branch exists.
    if let Some(branch) = git.ok(&["config", "--get", "init.defaultBranch"])
        && git
            .ok(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .is_some()
    {
        return SetupCheck::new(
            NAME,
            true,
            false,
            format!("{branch} (from init.defaultBranch)"),
        );
    }
    if let Some(branch) = git.ok(&["symbolic-ref", "--quiet", "--short", "HEAD"]) {
        return SetupCheck::new(
            NAME,
            true,
            false,
            format!(
                "{branch} (the current branch; set origin/HEAD with `git remote set-head origin --auto`)"
            ),
        );
    }
    SetupCheck::new(
        NAME,
        false,
        false,
        "unknown: HEAD is detached and origin/HEAD is not set; run `git remote set-head origin --auto`",
    )
}

/// Find `name` in the PATH of `env`.
fn resolve(name: &str, env: &SetupEnv) -> Option<PathBuf> {
    let path = env.path.as_ref()?;
    let names: Vec<String> = if cfg!(windows) {
        ["exe", "cmd", "bat"]
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .collect()
    } else {
        vec![name.to_string()]
    };
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn tool(name: &str, why: &str, env: &SetupEnv) -> SetupCheck {
    let Some(exe) = resolve(name, env) else {
        return SetupCheck::new(name, false, false, format!("not found on PATH ({why})"));
    };
    match version(&exe, env) {
        Ok(v) => SetupCheck::new(name, true, false, v),
        Err(e) => SetupCheck::new(name, false, false, format!("{}: {e}", exe.display())),
    }
}

/// The first line of `<exe> --version`, within [`TOOL_TIMEOUT`].
fn version(exe: &Path, env: &SetupEnv) -> Result<String, String> {
    let mut cmd = Command::new(exe);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(path) = &env.path {
        cmd.env("PATH", path);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run --version: {e}"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    // Read on a thread so a chatty tool cannot block on a full pipe while we wait.
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= TOOL_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`--version` did not answer within {} s",
                    TOOL_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for --version failed: {e}")),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("`--version` exited with {status}"));
    }
    let text = String::from_utf8_lossy(&out);
    let line =
        crate::util::sanitize::field(text.lines().find(|l| !l.trim().is_empty()).unwrap_or(""));
    if line.is_empty() {
        Err("`--version` printed nothing".into())
    } else {
        Ok(line)
    }
}

fn forge(git: &Git<'_>, in_repo: bool, env: &SetupEnv) -> SetupCheck {
    const NAME: &str = "forge";
    let token = match (env.github_token, env.gh_token) {
        (true, _) => Some("GITHUB_TOKEN"),
        (false, true) => Some("GH_TOKEN"),
        (false, false) => None,
    };
    let repository = env
        .github_repository
        .clone()
        .map(|r| (r, "GITHUB_REPOSITORY"))
        .or_else(|| {
            let url = if in_repo {
                git.ok(&["remote", "get-url", "origin"])
            } else {
                None
            }?;
            github_repository_from_url(&url).map(|r| (r, "the origin remote"))
        });
    match (token, repository) {
        (Some(var), Some((repo, from))) => SetupCheck::new(
            NAME,
            true,
            false,
            format!("GitHub {repo} (repository from {from}, token from {var})"),
        ),
        (Some(var), None) => SetupCheck::new(
            NAME,
            false,
            false,
            format!(
                "{var} is set but the repository is unknown: set GITHUB_REPOSITORY=owner/name; until then the local forge will be used"
            ),
        ),
        (None, _) => SetupCheck::new(
            NAME,
            false,
            false,
            "neither GITHUB_TOKEN nor GH_TOKEN is set, so the local forge will be used",
        ),
    }
}

/// `check`, required when the caller needs it (`factory doctor --need`).
fn required_if(required: bool, mut check: SetupCheck) -> SetupCheck {
    check.required |= required;
    check
}

/// Whether the agent's credentials are in the environment (only the variable's name is read
/// into the report). In GitHub Actions they come from repository secrets, so the advice names
/// the secret and where to set it.
fn agent_credentials(agent: Need, env: &SetupEnv, required: bool) -> SetupCheck {
    let (name, found, secret, alternative, login) = match agent {
        Need::Claude => (
            "claude credentials",
            &env.claude_credentials,
            "ANTHROPIC_API_KEY",
            "CLAUDE_CODE_OAUTH_TOKEN (from `claude setup-token`)",
            "run `claude` once and log in with /login",
        ),
        Need::Codex => (
            "codex credentials",
            &env.codex_credentials,
            "CODEX_API_KEY",
            "OPENAI_API_KEY",
            "run `codex login` once",
        ),
    };
    match found {
        Some(from) => SetupCheck::new(name, true, required, format!("from {from}")),
        None if env.in_actions => SetupCheck::new(
            name,
            false,
            required,
            format!(
                "{secret} is not set in this step: add it as a secret (Settings → Secrets and variables → Actions → New repository secret; {alternative} works too) and pass it to the workflow with `secrets: {secret}: ${{{{ secrets.{secret} }}}}` (docs/actions.md#secrets)"
            ),
        ),
        None => SetupCheck::new(
            name,
            false,
            required,
            format!(
                "{secret} is not set and there is no login: set {secret} or {alternative}, or {login}"
            ),
        ),
    }
}

/// In GitHub Actions: whether factory's pushes, pull requests and merges are made by an
/// identity whose events start workflows. GitHub starts none for the workflow's own
/// GITHUB_TOKEN, so with it factory's pull requests run no CI.
fn write_identity(env: &SetupEnv) -> SetupCheck {
    const NAME: &str = "write identity";
    match env.write_identity.as_deref() {
        Some("app") => SetupCheck::new(
            NAME,
            true,
            false,
            "a GitHub App installation token: factory's pull requests and merges start the repository's workflows",
        ),
        Some("token") => SetupCheck::new(
            NAME,
            true,
            false,
            "a fine-grained token: factory's pull requests and merges start the repository's workflows",
        ),
        _ => SetupCheck::new(
            NAME,
            false,
            false,
            "the workflow's GITHUB_TOKEN: GitHub starts no workflow for its pushes and pull requests, so factory's pull requests run no CI and the merge job waits for checks that never start; give the apply and merge jobs a GitHub App (docs/actions.md#write-identity)",
        ),
    }
}

/// Who posts reviews on GitHub. GitHub lets no one approve their own pull request, so with the
/// one token that also opens factory's pull requests a verdict goes out as a COMMENT review
/// (factory's merge gate reads the verdict from its own state), and a branch rule that requires
/// approvals is never met.
fn review_identity(env: &SetupEnv) -> SetupCheck {
    const NAME: &str = "review identity";
    if env.review_token {
        SetupCheck::new(
            NAME,
            true,
            false,
            "reviews are posted by a second identity (FACTORY_REVIEW_TOKEN), so approvals count",
        )
    } else {
        SetupCheck::new(
            NAME,
            false,
            false,
            "one identity: reviews of factory's own pull requests are COMMENT reviews carrying the verdict (the merge gate reads it from factory's state); branch protection or a ruleset that requires approvals needs a second identity: set FACTORY_REVIEW_TOKEN to a GitHub App's or bot account's token (docs/forge.md#identities)",
        )
    }
}

/// `owner/name` from a GitHub remote URL (https, ssh or scp-like).
pub fn github_repository_from_url(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("git@github.com:")
        .or_else(|| url.split_once("github.com/").map(|(_, r)| r))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (parts.next().is_none() && valid(owner) && valid(name)).then(|| format!("{owner}/{name}"))
}

fn schemas() -> SetupCheck {
    const NAME: &str = "schemas";
    let mut broken = Vec::new();
    for contract in Contract::ALL {
        let compiled = serde_json::from_str::<serde_json::Value>(contract.schema_text())
            .map_err(|e| e.to_string())
            .and_then(|schema| {
                jsonschema::validator_for(&schema)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = compiled {
            broken.push(format!("{}: {e}", contract.file_name()));
        }
    }
    if broken.is_empty() {
        SetupCheck::new(
            NAME,
            true,
            true,
            format!("{} embedded contracts compile", Contract::ALL.len()),
        )
    } else {
        SetupCheck::new(NAME, false, true, broken.join("; "))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn git_in(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn env_without_tools() -> SetupEnv {
        // Only git's directory on PATH: claude and codex are absent.
        let git = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .find(|d| is_executable(&d.join("git")))
            .expect("git on PATH for tests");
        SetupEnv {
            path: Some(git.into_os_string()),
            ..SetupEnv::default()
        }
    }

    fn by_name<'a>(checks: &'a [SetupCheck], name: &str) -> &'a SetupCheck {
        checks.iter().find(|c| c.check == name).unwrap()
    }

    #[test]
    fn needed_agents_make_their_cli_and_credentials_required() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_without_tools();
        let checks = check_setup_for(dir.path(), &env, &[Need::Claude]);
        for name in ["claude", "claude credentials"] {
            let c = by_name(&checks, name);
            assert!(!c.ok && c.required, "{name}: {c:?}");
        }
        for name in ["codex", "codex credentials"] {
            assert!(!by_name(&checks, name).required, "{name} is not needed");
        }
        let plain = check_setup_with(dir.path(), &env);
        assert!(
            plain
                .iter()
                .filter(|c| c.check.contains("credentials"))
                .all(|c| !c.required)
        );
    }

    #[test]
    fn credentials_name_the_secret_in_actions_and_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env_without_tools();
        env.in_actions = true;
        let checks = check_setup_for(dir.path(), &env, &[Need::Codex]);
        let c = by_name(&checks, "codex credentials");
        assert!(
            c.detail.contains("CODEX_API_KEY is not set in this step")
                && c.detail
                    .contains("Settings → Secrets and variables → Actions")
                && c.detail
                    .contains("secrets: CODEX_API_KEY: ${{ secrets.CODEX_API_KEY }}"),
            "{}",
            c.detail
        );
        env.claude_credentials = Some("CLAUDE_CODE_OAUTH_TOKEN".into());
        let checks = check_setup_for(dir.path(), &env, &[Need::Claude]);
        let c = by_name(&checks, "claude credentials");
        assert!(c.ok && c.required);
        assert_eq!(c.detail, "from CLAUDE_CODE_OAUTH_TOKEN");
    }

    #[test]
    fn the_workflow_token_as_write_identity_is_a_warning_in_actions_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env_without_tools();
        env.github_token = true;
        env.github_repository = Some("acme/shop".into());
        let names = |env: &SetupEnv| -> Vec<String> {
            check_setup_with(dir.path(), env)
                .into_iter()
                .map(|c| c.check)
                .collect()
        };
        assert!(!names(&env).contains(&"write identity".to_string()));
        env.in_actions = true;
        let checks = check_setup_with(dir.path(), &env);
        let w = by_name(&checks, "write identity");
        assert!(!w.ok && !w.required);
        assert!(w.detail.contains("run no CI"), "{}", w.detail);
        env.write_identity = Some("app".into());
        let checks = check_setup_with(dir.path(), &env);
        assert!(by_name(&checks, "write identity").ok);
    }

    #[test]
    fn reports_every_problem_outside_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let checks = check_setup_with(dir.path(), &env_without_tools());
        let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            [
                "git repository",
                "working tree",
                "default branch",
                "claude",
                "claude credentials",
                "codex",
                "codex credentials",
                "forge",
                "schemas"
            ]
        );
        let repo = by_name(&checks, "git repository");
        assert!(!repo.ok && repo.required);
        assert!(repo.detail.contains("git init"), "{}", repo.detail);
        assert!(!by_name(&checks, "claude").ok);
        assert!(
            by_name(&checks, "codex")
                .detail
                .contains("not found on PATH")
        );
        assert!(
            by_name(&checks, "forge")
                .detail
                .contains("local forge will be used")
        );
        assert!(by_name(&checks, "schemas").ok);
        assert!(!required_ok(&checks));
    }

    #[test]
    fn a_fresh_repository_passes_required_checks_and_counts_changes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git_in(d, &["init", "-q", "-b", "trunk"]);
        git_in(d, &["config", "user.name", "Test"]);
        git_in(d, &["config", "user.email", "test@example.com"]);
        git_in(d, &["config", "init.defaultBranch", "trunk"]);
        std::fs::write(d.join("a.txt"), "a").unwrap();
        git_in(d, &["add", "a.txt"]);
        git_in(d, &["commit", "-q", "-m", "first"]);

        let env = env_without_tools();
        let checks = check_setup_with(d, &env);
        assert!(required_ok(&checks), "{checks:?}");
        assert_eq!(by_name(&checks, "working tree").detail, "clean");
        assert!(
            by_name(&checks, "default branch")
                .detail
                .starts_with("trunk")
        );

        // A preferred default that does not exist here falls back to the current branch.
        git_in(d, &["config", "init.defaultBranch", "nope"]);
        let branch = check_setup_with(d, &env)
            .into_iter()
            .find(|c| c.check == "default branch")
            .unwrap();
        assert!(
            branch.detail.starts_with("trunk (the current branch"),
            "{}",
            branch.detail
        );

        std::fs::write(d.join("a.txt"), "changed").unwrap();
        std::fs::write(d.join("b.txt"), "new").unwrap();
        std::fs::create_dir(d.join(".factory")).unwrap();
        std::fs::write(d.join(".factory/session.json"), "{}").unwrap();
        let tree = check_setup_with(d, &env)
            .into_iter()
            .find(|c| c.check == "working tree")
            .unwrap();
        assert!(!tree.ok && !tree.required);
        assert!(
            tree.detail.starts_with("2 changed files"),
            "{}",
            tree.detail
        );
    }

    #[test]
    fn forge_needs_a_token_and_a_repository_and_never_shows_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env_without_tools();
        env.gh_token = true;
        let f = by_name(&check_setup_with(dir.path(), &env), "forge").clone();
        assert!(
            !f.ok && f.detail.contains("GITHUB_REPOSITORY"),
            "{}",
            f.detail
        );
        env.github_repository = Some("acme/shop".into());
        let f = by_name(&check_setup_with(dir.path(), &env), "forge").clone();
        assert!(f.ok, "{}", f.detail);
        assert_eq!(
            f.detail,
            "GitHub acme/shop (repository from GITHUB_REPOSITORY, token from GH_TOKEN)"
        );
    }

    #[test]
    fn github_urls() {
        assert_eq!(
            github_repository_from_url("git@github.com:acme/shop.git").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            github_repository_from_url("https://github.com/acme/shop").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            github_repository_from_url("ssh://git@github.com/acme/shop.git/").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            github_repository_from_url("https://gitlab.com/acme/shop"),
            None
        );
    }
}
