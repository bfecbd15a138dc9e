//! The one way factory runs an external program: no shell, a cleared environment with an
//! allow-list, the input on stdin, a hard timeout that kills the whole process group, capped
//! output capture, and Ctrl-C that stops the child instead of leaving it running.
//!
//! Command phases (`phases.<name>.command`) and agent CLIs both go through [`run`].

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Variables every child inherits whatever the config says: enough to find programs and
/// behave like a normal process, nothing that carries a credential.
pub const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "TERM",
    "USER",
    "SYSTEMROOT",
];

/// Forge and CI credentials an agent never receives, even when a config names them: agents
/// propose, factory performs the writes.
pub const FORGE_SECRETS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "FACTORY_REVIEW_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
];

/// Besides [`INHERITED`], what build and test commands commonly need to find their toolchains
/// and caches: where tools live, never a credential.
pub const TOOLCHAIN: &[&str] = &[
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOROOT",
    "GOCACHE",
    "GOMODCACHE",
    "JAVA_HOME",
    "GRADLE_USER_HOME",
    "NVM_DIR",
    "npm_config_cache",
    "PYENV_ROOT",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "DOTNET_ROOT",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "SHELL",
    "LOGNAME",
    "CI",
];

/// Families of agent credentials: never passed to a command that runs agent-written code,
/// even when the workflow declares one.
pub const AGENT_SECRETS: &[&str] = &[
    "ANTHROPIC_",
    "CLAUDE_CODE_",
    "OPENAI_",
    "CODEX_",
    "AZURE_OPENAI_",
];

/// The environment of a command that runs code an agent wrote (validation, post-merge
/// verification): [`INHERITED`], [`TOOLCHAIN`] and the names the workflow declares, minus
/// [`FORGE_SECRETS`] and [`AGENT_SECRETS`] even when declared. An allow-list: a variable the
/// job holds reaches the command only when it is named.
pub fn command_env(spec: &mut Spec, declared: &[String]) {
    spec.allow_env = TOOLCHAIN
        .iter()
        .map(|s| s.to_string())
        .chain(declared.iter().cloned())
        .collect();
    let present: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    spec.deny_env = FORGE_SECRETS
        .iter()
        .map(|s| s.to_string())
        .chain(
            present
                .into_iter()
                .filter(|k| AGENT_SECRETS.iter().any(|p| k.starts_with(p))),
        )
        .collect();
}

/// Output kept from each stream by default; the rest is counted and dropped.
pub const DEFAULT_CAP: usize = 256 * 1024;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Written to the child's stdin, which is then closed; `None` gives it /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Extra variable names to inherit besides [`INHERITED`].
    pub allow_env: Vec<String>,
    /// Families of variables to inherit, by name prefix (`CLAUDE_CODE_`, `AWS_`, ...).
    pub allow_prefixes: Vec<String>,
    /// Names dropped even if allowed (see [`FORGE_SECRETS`]).
    pub deny_env: Vec<String>,
    /// Variables set explicitly.
    pub set_env: Vec<(String, OsString)>,
    pub timeout: Duration,
    /// Bytes kept from each of stdout and stderr.
    pub cap: usize,
}

impl Spec {
    pub fn new(program: impl Into<String>, args: Vec<String>, timeout: Duration) -> Spec {
        Spec {
            program: program.into(),
            args,
            cwd: None,
            stdin: None,
            allow_env: Vec::new(),
            allow_prefixes: Vec::new(),
            deny_env: Vec::new(),
            set_env: Vec::new(),
            timeout,
            cap: DEFAULT_CAP,
        }
    }

    /// The names the child will inherit from this process's environment, in order: the base
    /// set, the names allowed one by one, then those of the allowed families present now.
    pub fn inherited_names(&self) -> Vec<String> {
        let mut family: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| {
                self.allow_prefixes
                    .iter()
                    .any(|p| k.starts_with(p.as_str()))
            })
            .collect();
        family.sort();
        let mut names: Vec<String> = Vec::new();
        for n in INHERITED
            .iter()
            .map(|s| s.to_string())
            .chain(self.allow_env.iter().cloned())
            .chain(family)
        {
            if !self.deny_env.contains(&n) && !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }

    /// Set `name` to `value` unless this process's environment gives it (the user's choice
    /// wins over factory's default).
    pub fn default_env(&mut self, name: &str, value: &str) {
        if std::env::var_os(name).is_none() {
            self.set_env.push((name.into(), value.into()));
        }
    }
}

/// How the child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Status(ExitStatus),
    /// The timeout passed and the process group was killed.
    TimedOut,
    /// The user pressed Ctrl-C and the process group was killed.
    Cancelled,
}

/// What the child did.
#[derive(Debug, Clone)]
pub struct Output {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
    /// Bytes dropped past the cap, per stream.
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    pub duration: Duration,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        match &self.exit {
            Exit::Status(s) => s.code(),
            _ => None,
        }
    }
}

/// Why the child could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("`{0}` was not found on PATH")]
    NotFound(String),
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot wait for `{program}`: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

/// Run `spec` to the end, the timeout, or Ctrl-C.
pub fn run(spec: &Spec) -> Result<Output, ProcessError> {
    install_interrupt_handler();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    for name in spec.inherited_names() {
        if let Some(v) = std::env::var_os(&name) {
            cmd.env(&name, v);
        }
    }
    for (k, v) in &spec.set_env {
        if !spec.deny_env.iter().any(|d| d == k) {
            cmd.env(k, v);
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: the timeout kills everything it started, and the terminal's
        // Ctrl-C reaches factory, which then stops the group.
        cmd.process_group(0);
    }
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProcessError::NotFound(spec.program.clone()));
        }
        Err(source) => {
            return Err(ProcessError::Spawn {
                program: spec.program.clone(),
                source,
            });
        }
    };
    RUNNING.store(true, Ordering::SeqCst);
    let writer = match (child.stdin.take(), spec.stdin.clone()) {
        (Some(mut sink), Some(bytes)) => Some(thread::spawn(move || {
            // A child that exits without reading its input is not an error here.
            let _ = sink.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = capture(child.stdout.take(), spec.cap);
    let stderr = capture(child.stderr.take(), spec.cap);
    let exit = wait(&mut child, spec.timeout);
    RUNNING.store(false, Ordering::SeqCst);
    let exit = exit.map_err(|source| ProcessError::Wait {
        program: spec.program.clone(),
        source,
    })?;
    // A process the child left behind may still hold the pipes open: give the readers a
    // moment, then stop the rest of the group (it still exists while a member holds a pipe,
    // so its id cannot have been reused).
    let grace = Instant::now() + Duration::from_secs(2);
    while !(stdout.is_finished() && stderr.is_finished()) && Instant::now() < grace {
        thread::sleep(Duration::from_millis(10));
    }
    if !(stdout.is_finished() && stderr.is_finished()) {
        kill_pgid(child.id());
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    let (stdout, stdout_dropped) = stdout.join().unwrap_or_default();
    let (stderr, stderr_dropped) = stderr.join().unwrap_or_default();
    Ok(Output {
        exit,
        stdout,
        stderr,
        stdout_dropped,
        stderr_dropped,
        duration: started.elapsed(),
    })
}

fn capture(
    stream: Option<impl Read + Send + 'static>,
    cap: usize,
) -> thread::JoinHandle<(String, u64)> {
    thread::spawn(move || {
        let Some(mut stream) = stream else {
            return (String::new(), 0);
        };
        let mut kept = Vec::new();
        let mut dropped = 0u64;
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    let take = n.min(room);
                    kept.extend_from_slice(&buf[..take]);
                    dropped += (n - take) as u64;
                }
            }
        }
        (String::from_utf8_lossy(&kept).into_owned(), dropped)
    })
}

fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Exit> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Exit::Status(status));
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            kill_group(child);
            let _ = child.wait();
            return Ok(Exit::Cancelled);
        }
        if Instant::now() >= deadline {
            kill_group(child);
            let _ = child.wait();
            return Ok(Exit::TimedOut);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
}

#[cfg(unix)]
fn kill_pgid(pgid: u32) {
    // SAFETY: as in kill_group.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_pgid(_pgid: u32) {}

/// A child is running: Ctrl-C stops it instead of factory.
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Ctrl-C was pressed while a child ran.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the user pressed Ctrl-C during a child run (callers stop instead of retrying).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    if RUNNING.load(Ordering::SeqCst) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    } else {
        // SAFETY: _exit is async-signal-safe; 130 is the conventional status for SIGINT.
        unsafe { libc::_exit(130) }
    }
}

fn install_interrupt_handler() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let handler = on_sigint as extern "C" fn(libc::c_int);
            // SAFETY: the handler only touches atomics and calls _exit, both signal-safe.
            unsafe {
                libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            }
        });
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Spec {
        Spec::new(
            "sh",
            vec!["-c".into(), script.into()],
            Duration::from_secs(20),
        )
    }

    #[test]
    fn stdin_reaches_the_child_and_output_is_captured() {
        let mut spec = sh("cat; echo err >&2");
        spec.stdin = Some(b"hello".to_vec());
        let out = run(&spec).unwrap();
        assert_eq!(out.stdout, "hello");
        assert_eq!(out.stderr.trim(), "err");
        assert_eq!(out.code(), Some(0));
    }

    #[test]
    fn output_past_the_cap_is_dropped_and_counted() {
        let mut spec = sh("head -c 5000 /dev/zero");
        spec.cap = 1000;
        let out = run(&spec).unwrap();
        assert_eq!(out.stdout.len(), 1000);
        assert_eq!(out.stdout_dropped, 4000);
    }

    #[test]
    fn denied_names_never_reach_the_child_even_when_allowed() {
        // SAFETY: tests in this module read only their own variable names.
        unsafe {
            std::env::set_var("FACTORY_TEST_DENIED", "x");
            std::env::set_var("FACTORY_TEST_ALLOWED", "y");
        }
        let mut spec = sh("echo \"${FACTORY_TEST_DENIED:-none} ${FACTORY_TEST_ALLOWED:-none}\"");
        spec.allow_env = vec!["FACTORY_TEST_DENIED".into(), "FACTORY_TEST_ALLOWED".into()];
        spec.deny_env = vec!["FACTORY_TEST_DENIED".into()];
        let out = run(&spec).unwrap();
        assert_eq!(out.stdout.trim(), "none y");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let mut spec = sh("sleep 30 & sleep 30");
        spec.timeout = Duration::from_millis(200);
        let out = run(&spec).unwrap();
        assert_eq!(out.exit, Exit::TimedOut);
    }

    #[test]
    fn a_background_process_left_holding_the_output_does_not_block() {
        let spec = sh("sleep 30 & echo started");
        let out = run(&spec).unwrap();
        assert_eq!(out.code(), Some(0));
        assert_eq!(out.stdout.trim(), "started");
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let spec = Spec::new("factory-no-such-program", vec![], Duration::from_secs(1));
        assert!(matches!(run(&spec), Err(ProcessError::NotFound(_))));
    }
}
