//! The `.factory/` state directory: the session, the event log, phase artifacts, scorecards,
//! lessons and the report. Docs: docs/STATE.md and docs/LOGGING.md.
//!
//! Every file is replaced atomically (temp file, fsync, rename, fsync of the directory), so a
//! crash leaves the previous version; the session's read-modify-write runs under an exclusive
//! advisory lock on `session.lock`, so concurrent processes never lose an update.

pub mod layout;
pub mod ledger;
pub mod log;
pub mod merge;
pub mod redact;
pub mod restore;
pub mod session;

pub use session::{
    Counters, Escalation, EscalationReason, IssueRef, PhaseState, PhaseStatus, PullRequestRef,
    Rework, Session, UsageEntry, WaveState, WaveStatus, now,
};

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::contracts::{self, Contract};

/// Environment variable that overrides where the state directory is.
pub const STATE_DIR_ENV: &str = "FACTORY_STATE_DIR";

/// Errors of the state subsystem. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "{}: is a symbolic link; factory follows no links inside its state directory (an agent job could point one outside the repository): replace it with a real directory or file",
        path.display()
    )]
    Linked { path: PathBuf },
    #[error(
        "cannot {action} {}: {source}; check that the directory exists and is writable, or point FACTORY_STATE_DIR (--state-dir) elsewhere",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}:{line}:{column}: not valid JSON: {message}; restore it from the CI state artifact or remove it to start over",
        path.display()
    )]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{}: does not match the session contract: {}; fix the field or remove the file to start over (`factory schema print session` shows the contract)",
        path.display(),
        violations.join("; ")
    )]
    InvalidSession {
        path: PathBuf,
        /// `pointer: message` for each violation.
        violations: Vec<String>,
    },
    #[error("no session in {}: start one with `factory run`", path.display())]
    NoSession { path: PathBuf },
    #[error(
        "{}:{line}: malformed log line: {message}; every line must be one JSON event (docs/LOGGING.md) — remove or fix that line",
        path.display()
    )]
    MalformedLogLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "artifact path `{rel}` must be relative and stay inside {}",
        artifacts.display()
    )]
    ArtifactPath { rel: String, artifacts: PathBuf },
    #[error("cannot install the log subscriber: {0}")]
    Logger(String),
}

impl StateError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> StateError {
        StateError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The `.factory` directory of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// `FACTORY_STATE_DIR` if set, else `<git top level of the current directory>/.factory`,
    /// else `./.factory`. The top level is found by walking up to the nearest `.git` (a
    /// directory, or a file in worktrees and submodules), without running git.
    pub fn discover() -> StateDir {
        if let Some(dir) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
            return StateDir::new(dir);
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let top = cwd
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&cwd)
            .to_path_buf();
        StateDir::new(top.join(".factory"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository this state directory belongs to, as an absolute path: the parent of
    /// `.factory` when that is a git repository (or worktree), else the current directory (a
    /// state directory kept elsewhere, through `FACTORY_STATE_DIR` or `--state-dir`).
    pub fn repo(&self) -> PathBuf {
        let abs = std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone());
        if let Some(parent) = abs.parent()
            && parent.join(".git").exists()
        {
            return parent.to_path_buf();
        }
        std::env::current_dir()
            .or_else(|_| std::path::absolute("."))
            .unwrap_or_else(|_| PathBuf::from("."))
    }

    pub fn session_path(&self) -> PathBuf {
        self.root.join(layout::SESSION)
    }

    /// The advisory lock file guarding `session.json`'s read-modify-write.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(layout::SESSION_LOCK)
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.join(layout::LOG)
    }

    pub fn artifacts_dir(&self) -> PathBuf {
        self.root.join(layout::ARTIFACTS_DIR)
    }

    pub fn scorecards_dir(&self) -> PathBuf {
        self.root.join(layout::SCORECARDS_DIR)
    }

    pub fn lessons_dir(&self) -> PathBuf {
        self.root.join(layout::LESSONS_DIR)
    }

    pub fn report_path(&self) -> PathBuf {
        self.root.join(layout::REPORT)
    }

    /// Create the directory layout (idempotent).
    pub fn ensure(&self) -> Result<(), StateError> {
        for dir in [
            self.root.clone(),
            self.artifacts_dir(),
            self.scorecards_dir(),
            self.lessons_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(|e| StateError::io("create directory", &dir, e))?;
        }
        Ok(())
    }

    /// Refuse a state directory whose own directories or session file are symbolic links: a
    /// linked `outbox/` or `forge/` would make factory read and write outside `.factory/`.
    pub fn check_links(&self) -> Result<(), StateError> {
        for rel in STATE_ENTRIES {
            no_links_below(self.root(), Path::new(rel))?;
        }
        Ok(())
    }

    /// The current session, `None` if there is none. A file that is not JSON or does not
    /// match the session contract is an error naming the file and the offending field.
    pub fn load_session(&self) -> Result<Option<Session>, StateError> {
        self.check_links()?;
        let path = self.session_path();
        let bytes = match read_capped(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("read", &path, e)),
        };
        parse_session(&path, &bytes).map(Some)
    }

    /// Write a new session (replacing any previous one) under the lock.
    pub fn save_new_session(&self, session: &Session) -> Result<(), StateError> {
        self.ensure()?;
        let _lock = self.lock()?;
        self.write_session(session)
    }

    /// Lock, re-read, mutate, stamp `updated_at`, validate, write atomically, unlock. The
    /// closure's result is returned; if the mutated session breaks its contract nothing is
    /// written.
    pub fn update_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> Result<T, StateError> {
        self.ensure()?;
        let _lock = self.lock()?;
        let mut session = self.load_session()?.ok_or_else(|| StateError::NoSession {
            path: self.session_path(),
        })?;
        let out = f(&mut session);
        session.updated_at = now();
        self.write_session(&session)?;
        Ok(out)
    }

    /// Write a phase output as pretty JSON under `artifacts/`, atomically. `rel` is a relative
    /// path such as `tactical/12.json`; parent directories are created.
    pub fn write_artifact(&self, rel: &str, value: &Value) -> Result<PathBuf, StateError> {
        let artifacts = self.artifacts_dir();
        let rel_path = Path::new(rel);
        let safe = !rel.is_empty()
            && rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(StateError::ArtifactPath {
                rel: rel.to_string(),
                artifacts,
            });
        }
        let path = artifacts.join(rel_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| StateError::io("create directory", parent, e))?;
        }
        write_atomic(&path, &pretty(value)).map_err(|e| StateError::io("write", &path, e))?;
        Ok(path)
    }

    /// Take the exclusive session lock; it is released when the guard drops.
    fn lock(&self) -> Result<File, StateError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StateError::io("open the lock file", &path, e))?;
        file.lock().map_err(|e| StateError::io("lock", &path, e))?;
        Ok(file)
    }

    fn write_session(&self, session: &Session) -> Result<(), StateError> {
        let path = self.session_path();
        let value = serde_json::to_value(session).expect("a session always serialises");
        check_session(&path, &value)?;
        write_atomic(&path, &pretty(&value)).map_err(|e| StateError::io("write", &path, e))
    }
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value always serialises");
    bytes.push(b'\n');
    bytes
}

fn check_session(path: &Path, value: &Value) -> Result<(), StateError> {
    let violations = contracts::validate(Contract::Session, value, Default::default());
    if violations.is_empty() {
        return Ok(());
    }
    Err(StateError::InvalidSession {
        path: path.to_path_buf(),
        violations: violations
            .iter()
            .map(|v| {
                let pointer = if v.pointer.is_empty() {
                    "/"
                } else {
                    &v.pointer
                };
                format!("{pointer}: {}", v.message)
            })
            .collect(),
    })
}

/// serde_json's message without its trailing "at line L column C" (the error names both).
/// The largest state file (a session, a plan, a review, an apply artifact) factory reads: far
/// above any real one, and small enough that a planted file cannot exhaust memory.
pub const MAX_STATE_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Read a state file: not through a link, and at most [`MAX_STATE_FILE_BYTES`].
pub fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a symbolic link: factory reads no state file through a link",
            )
        } else {
            e
        }
    })?;
    let len = file.metadata()?.len();
    let too_large = |len: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{len} bytes, over the {MAX_STATE_FILE_BYTES}-byte limit of a state file; it is not one factory wrote"
            ),
        )
    };
    if len > MAX_STATE_FILE_BYTES {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_STATE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_STATE_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a state directory holds at its top: none of it may be a link.
const STATE_ENTRIES: [&str; 13] = [
    "session.json",
    "session.lock",
    "workflow.log",
    "artifacts",
    "outbox",
    "forge",
    "sessions",
    "scorecards",
    "lessons",
    "templates",
    "packs",
    "runs",
    "REPORT.md",
];

/// Every existing step from `root` down to `rel` is a real directory or file, not a link.
pub fn no_links_below(root: &Path, rel: &Path) -> Result<(), StateError> {
    let mut at = root.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StateError::Linked { path: at });
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Parse and validate session bytes read from `path`.
pub fn parse_session(path: &Path, bytes: &[u8]) -> Result<Session, StateError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| StateError::InvalidJson {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: crate::util::errors::without_position(&e),
    })?;
    check_session(path, &value)?;
    let bad_time = first_bad_timestamp(&value);
    serde_json::from_value(value).map_err(|e| StateError::InvalidSession {
        path: path.to_path_buf(),
        violations: vec![match bad_time {
            Some((pointer, err)) => format!("{pointer}: not a valid time: {err}"),
            None => e.to_string(),
        }],
    })
}

/// The first timestamp field that matches the RFC 3339 shape but is not a real time (month
/// 13, say): the schema cannot tell, and serde's error does not say where.
fn first_bad_timestamp(value: &Value) -> Option<(String, String)> {
    let mut fields = vec![
        "/created_at".to_string(),
        "/updated_at".to_string(),
        "/escalation/at".to_string(),
    ];
    if let Some(phases) = value.get("phases").and_then(Value::as_object) {
        for name in phases.keys() {
            fields.push(format!("/phases/{name}/started_at"));
            fields.push(format!("/phases/{name}/finished_at"));
        }
    }
    fields.into_iter().find_map(|pointer| {
        let text = value.pointer(&pointer)?.as_str()?;
        let err = text.parse::<jiff::Timestamp>().err()?;
        Some((pointer, err.to_string()))
    })
}

/// Replace `path` with `bytes` atomically: write a temp file in the same directory, fsync it,
/// rename it over `path`, then fsync the directory (unix) so the rename itself is durable. A
/// failure at any step leaves the previous content and no temp file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill`: the seam the tests use to fail mid-write.
fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    File::open(&dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{ChangeClass, PhaseName, Trigger};

    fn state() -> (tempfile::TempDir, StateDir) {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join(".factory"));
        (tmp, state)
    }

    fn session() -> Session {
        Session::new(
            "fix login".into(),
            ChangeClass::Hotfix,
            Trigger::Incident,
            vec![PhaseName::Intake, PhaseName::Implementation],
        )
    }

    #[test]
    fn atomic_write_keeps_the_old_version_when_the_temp_write_fails() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("session.json");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("session.json")]);
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn session_round_trips_and_updates_stamp_the_time() {
        let (_tmp, state) = state();
        assert_eq!(state.load_session().unwrap(), None);
        let s = session();
        state.save_new_session(&s).unwrap();
        assert_eq!(state.load_session().unwrap().as_ref(), Some(&s));
        let cycles = state
            .update_session(|s| {
                s.counters.review_cycles += 1;
                s.counters.review_cycles
            })
            .unwrap();
        assert_eq!(cycles, 1);
        let back = state.load_session().unwrap().unwrap();
        assert_eq!(back.counters.review_cycles, 1);
        assert!(back.updated_at >= s.updated_at);
        assert!(state.lock_path().exists());
    }

    #[test]
    fn an_update_that_breaks_the_contract_writes_nothing() {
        let (_tmp, state) = state();
        state.save_new_session(&session()).unwrap();
        let before = fs::read(state.session_path()).unwrap();
        let err = state
            .update_session(|s| s.id = "../escape".into())
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("session.json") && msg.contains("/id"), "{msg}");
        assert_eq!(fs::read(state.session_path()).unwrap(), before);
    }

    #[test]
    fn update_without_a_session_says_how_to_start_one() {
        let (_tmp, state) = state();
        let err = state.update_session(|_| ()).unwrap_err().to_string();
        assert!(
            err.contains("no session") && err.contains("factory run"),
            "{err}"
        );
    }

    #[test]
    fn bad_session_files_name_the_file_line_and_pointer() {
        let (_tmp, state) = state();
        state.ensure().unwrap();
        fs::write(state.session_path(), "{\n  \"id\": \n").unwrap();
        let err = state.load_session().unwrap_err().to_string();
        assert!(err.contains("session.json:3:"), "{err}");

        let mut v = serde_json::to_value(session()).unwrap();
        v["counters"]["review_cycles"] = (-1).into();
        fs::write(state.session_path(), v.to_string()).unwrap();
        let err = state.load_session().unwrap_err().to_string();
        assert!(
            err.contains("session.json") && err.contains("/counters/review_cycles"),
            "{err}"
        );
    }

    #[test]
    fn impossible_times_are_reported_by_field() {
        let (_tmp, state) = state();
        state.ensure().unwrap();
        let mut v = serde_json::to_value(session()).unwrap();
        v["phases"]["intake"]["finished_at"] = "2026-13-45T00:00:00Z".into();
        fs::write(state.session_path(), v.to_string()).unwrap();
        let err = state.load_session().unwrap_err().to_string();
        assert!(
            err.contains("/phases/intake/finished_at: not a valid time"),
            "{err}"
        );
        v["phases"]["intake"]["finished_at"] = "yesterday".into();
        fs::write(state.session_path(), v.to_string()).unwrap();
        let err = state.load_session().unwrap_err().to_string();
        assert!(err.contains("/phases/intake/finished_at"), "{err}");
    }

    #[test]
    fn artifacts_stay_inside_the_artifacts_directory() {
        let (_tmp, state) = state();
        let path = state
            .write_artifact("tactical/12.json", &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(path, state.artifacts_dir().join("tactical/12.json"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  \"a\": 1\n}\n");
        for bad in ["../x.json", "/etc/x.json", "", "a/../../b.json"] {
            assert!(
                state.write_artifact(bad, &Value::Null).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn layout_paths() {
        let state = StateDir::new("/r/.factory");
        assert_eq!(state.log_path(), Path::new("/r/.factory/workflow.log"));
        assert_eq!(state.report_path(), Path::new("/r/.factory/REPORT.md"));
        assert_eq!(state.scorecards_dir(), Path::new("/r/.factory/scorecards"));
        assert_eq!(state.lessons_dir(), Path::new("/r/.factory/lessons"));
    }
}
