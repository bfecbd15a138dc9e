//! `workflow.log`: one JSON event a line, written by a tracing layer. Docs: docs/LOGGING.md.
//!
//! Code logs with ordinary tracing macros under the target [`EVENT_TARGET`]; the layer turns
//! the fields into an [`Event`], redacts `detail`, `decision` and string refs, and appends one
//! line with a single write while holding an exclusive lock on the file, so lines from
//! concurrent processes never interleave. Other tracing output goes to stderr only.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

use super::redact::scrub;
use super::{StateDir, StateError, now};

/// The tracing target whose events are written to `workflow.log`.
pub const EVENT_TARGET: &str = "factory::event";

/// Environment variable with the stderr log level (`off`, `error`, `warn`, `info`, `debug`,
/// `trace`); `warn` when unset.
pub const LEVEL_ENV: &str = "FACTORY_LOG";

/// The `action` and `status` words the pipeline uses (docs/LOGGING.md). Not enforced: a log
/// reader must accept words it does not know.
pub mod vocab {
    /// A phase attempt began / ended (`status` says how).
    pub const PHASE_START: &str = "phase_start";
    pub const PHASE_END: &str = "phase_end";
    /// Intake classified the request (`decision` = the change class).
    pub const CLASSIFY: &str = "classify";
    /// One agent CLI call, with its tokens and cost in `refs`.
    pub const INVOKE_AGENT: &str = "invoke_agent";
    /// A phase output was checked against its contract.
    pub const VALIDATE: &str = "validate";
    /// The deterministic security gate ran.
    pub const PREFLIGHT: &str = "preflight";
    /// A review's dependency audit: `audited`, `no_lockfile_changes`, `off` or `unavailable`.
    pub const DEPENDENCY_AUDIT: &str = "dependency_audit";
    /// Forge operations (`tool` = `gh`).
    pub const ISSUE_CREATE: &str = "issue_create";
    pub const PR_OPEN: &str = "pr_open";
    pub const PR_MERGE: &str = "pr_merge";
    /// A review posted on a pull request (`status` `downgraded` when the forge refused the
    /// verdict and it went out as a comment).
    pub const PR_REVIEW: &str = "pr_review";
    /// A tactical plan was written for an issue.
    pub const PLAN_WRITTEN: &str = "plan_written";
    /// `factory state merge` combined the state of parallel jobs.
    pub const STATE_MERGE: &str = "state_merge";
    /// `factory state restore` left out policy files a state archive carried (`refused`).
    pub const STATE_RESTORE: &str = "state_restore";
    /// The safe-outputs policy cleaned (`sanitised`) or refused (`refused`) a forge write.
    pub const SAFE_OUTPUT: &str = "safe_output";
    /// A deferred phase left a forge write as an apply artifact (`refs.artifact`).
    pub const DEFER: &str = "defer";
    /// `factory apply` performed the writes of an apply artifact (`refs.artifact`).
    pub const APPLY: &str = "apply";
    /// One review cycle.
    pub const REVIEW: &str = "review";
    /// A retry was decided (`decision` says which and why).
    pub const RETRY: &str = "retry";
    /// The pipeline stopped for a human (`decision` = the escalation reason).
    pub const ESCALATE: &str = "escalate";
    /// Post-merge verification.
    pub const VERIFY: &str = "verify";
    /// A wave of the plan started (`started`) or merged (`ok`); `refs.wave` and `refs.issues`.
    pub const WAVE: &str = "wave";
    /// A pull request behind its base was brought up to date (`ok`), or conflicts (`failed`).
    pub const BRANCH_UPDATE: &str = "branch_update";
    /// The merge phase waited for running checks: `waiting` (what is missing), then `ok`,
    /// `timeout` or `refused` (the checks reported, something else stops the merge).
    pub const CHECKS_WAIT: &str = "checks_wait";
    /// `factory lessons publish` proposed a session's lessons as a pull request (`refs.pr`,
    /// `refs.branch`, `refs.files`).
    pub const LESSONS_PUBLISH: &str = "lessons_publish";
    /// The default when an event names no action.
    pub const EVENT: &str = "event";

    pub const STARTED: &str = "started";
    pub const OK: &str = "ok";
    pub const FAILED: &str = "failed";
    pub const SKIPPED: &str = "skipped";
    pub const ESCALATED: &str = "escalated";
    /// Defaults when an event names no status: from its level.
    pub const WARN: &str = "warn";
    pub const ERROR: &str = "error";
}

/// One line of `workflow.log`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub refs: Map<String, Value>,
}

static SESSION_ID: RwLock<Option<String>> = RwLock::new(None);

/// Stamp `sid` on every event logged from now on (unless an event names its own `sid`).
pub fn set_session(sid: &str) {
    *SESSION_ID.write().unwrap_or_else(|e| e.into_inner()) = Some(sid.to_string());
}

fn current_session() -> Option<String> {
    SESSION_ID.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Keeps the log open for the life of the process. The subscriber stays installed after the
/// guard drops (a global subscriber cannot be removed); every line is written when it is
/// logged, so there is nothing to flush.
#[derive(Debug)]
pub struct LogGuard {
    path: PathBuf,
}

impl LogGuard {
    /// The log file events go to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Install the global tracing subscriber: the JSONL layer for [`EVENT_TARGET`] events and a
/// human stderr layer at the `FACTORY_LOG` level (default `warn`).
pub fn init(state: &StateDir) -> Result<LogGuard, StateError> {
    state.ensure()?;
    let path = state.log_path();
    let log = LogFile::open(&path)?;
    let level = stderr_level();
    tracing::subscriber::set_global_default(subscriber(log, level))
        .map_err(|e| StateError::Logger(e.to_string()))?;
    Ok(LogGuard { path })
}

fn stderr_level() -> LevelFilter {
    match std::env::var(LEVEL_ENV) {
        Ok(v) if !v.trim().is_empty() => LevelFilter::from_str(v.trim()).unwrap_or_else(|_| {
            eprintln!(
                "warning: {LEVEL_ENV}={v:?} is not a level (off, error, warn, info, debug, trace); using warn"
            );
            LevelFilter::WARN
        }),
        _ => LevelFilter::WARN,
    }
}

fn subscriber(log: LogFile, level: LevelFilter) -> impl Subscriber + Send + Sync {
    let events = EventLayer { log, echo: level }
        .with_filter(filter_fn(|meta| meta.target() == EVENT_TARGET));
    let human = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_target(false)
        .without_time()
        .with_filter(filter_fn(move |meta| {
            meta.target() != EVENT_TARGET && *meta.level() <= level
        }));
    Registry::default().with(events).with(human)
}

/// The log file, open for appending. The mutex orders threads of this process (an advisory
/// lock is per open file, so it does not); the file lock orders processes.
struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
    warned: AtomicBool,
}

impl LogFile {
    fn open(path: &Path) -> Result<LogFile, StateError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| StateError::io("open for appending", path, e))?;
        Ok(LogFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            warned: AtomicBool::new(false),
        })
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        append_locked(&file, line)
    }
}

/// One write of the whole line under an exclusive lock on an append-mode file.
fn append_locked(file: &File, line: &[u8]) -> io::Result<()> {
    File::lock(file)?;
    let result = (&mut &*file).write_all(line);
    let unlocked = File::unlock(file);
    result.and(unlocked)
}

/// The serialised line for an event, newline included.
fn line_of(event: &Event) -> Vec<u8> {
    let mut line = serde_json::to_vec(event).expect("an event always serialises");
    line.push(b'\n');
    line
}

/// Append one event to a log file without going through tracing (same locking and format).
/// The event is written as given: redact it first if it may hold untrusted text.
pub fn append_event(path: &Path, event: &Event) -> Result<(), StateError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| StateError::io("open for appending", path, e))?;
    append_locked(&file, &line_of(event)).map_err(|e| StateError::io("append to", path, e))
}

struct EventLayer {
    log: LogFile,
    /// Events at or above this level are also echoed, redacted, to stderr.
    echo: LevelFilter,
}

impl<S: Subscriber> Layer<S> for EventLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let event = fields.into_event(level);
        if level <= self.echo {
            eprintln!("{}", human_line(level, &event));
        }
        if let Err(e) = self.log.append(&line_of(&event))
            && !self.log.warned.swap(true, Ordering::Relaxed)
        {
            eprintln!(
                "warning: cannot append to {}: {e}; events are not being recorded",
                self.log.path.display()
            );
        }
    }
}

fn human_line(level: Level, e: &Event) -> String {
    let mut s = format!("{level:>5} {}", e.phase.as_deref().unwrap_or("-"));
    s.push_str(&format!(" {} {}", e.action, e.status));
    if let Some(d) = &e.detail {
        s.push_str(&format!(": {d}"));
    }
    s
}

/// The fields of one tracing event, gathered by name.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    sid: Option<String>,
    phase: Option<String>,
    action: Option<String>,
    tool: Option<String>,
    status: Option<String>,
    duration_ms: Option<u64>,
    detail: Option<String>,
    decision: Option<String>,
    refs: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let text = || match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match field.name() {
            "message" => self.message = Some(text()),
            "sid" => self.sid = Some(text()),
            "phase" => self.phase = Some(text()),
            "action" => self.action = Some(text()),
            "tool" => self.tool = Some(text()),
            "status" => self.status = Some(text()),
            "detail" => self.detail = Some(text()),
            "decision" => self.decision = Some(text()),
            "duration_ms" => {
                self.duration_ms = match &value {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                }
            }
            "refs" => match value {
                Value::String(s) => match serde_json::from_str::<Value>(&s) {
                    Ok(Value::Object(map)) => self.refs.extend(map),
                    _ => {
                        self.refs.insert("refs".into(), Value::String(s));
                    }
                },
                Value::Object(map) => self.refs.extend(map),
                other => {
                    self.refs.insert("refs".into(), other);
                }
            },
            name => {
                self.refs.insert(name.to_string(), value);
            }
        }
    }

    fn into_event(self, level: Level) -> Event {
        let status = self.status.unwrap_or_else(|| {
            match level {
                Level::ERROR => "error",
                Level::WARN => "warn",
                _ => "ok",
            }
            .to_string()
        });
        let mut refs = self.refs;
        for v in refs.values_mut() {
            scrub_value(v);
        }
        Event {
            ts: now(),
            sid: self.sid.or_else(current_session),
            phase: self.phase,
            action: self.action.unwrap_or_else(|| "event".to_string()),
            tool: self.tool,
            status,
            duration_ms: self.duration_ms,
            detail: self.detail.or(self.message).map(|d| scrub(&d)),
            decision: self.decision.map(|d| scrub(&d)),
            refs,
        }
    }
}

fn scrub_value(v: &mut Value) {
    match v {
        Value::String(s) => *s = scrub(s),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(map) => map.values_mut().for_each(scrub_value),
        _ => {}
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

/// Every event in a log file. A line that is not a JSON event is an error naming the file and
/// the line number; blank lines are skipped.
pub fn read_events(path: &Path) -> Result<Vec<Event>, StateError> {
    Ok(read_event_lines(path)?
        .into_iter()
        .map(|(_, _, e)| e)
        .collect())
}

/// Every event with its 1-based line number and the line as written (for `factory log --json`).
pub fn read_event_lines(path: &Path) -> Result<Vec<(usize, String, Event)>, StateError> {
    let bytes = std::fs::read(path).map_err(|e| StateError::io("read", path, e))?;
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let bad = |message: String| StateError::MalformedLogLine {
            path: path.to_path_buf(),
            line: n,
            message,
        };
        let text = std::str::from_utf8(raw)
            .map_err(|_| bad("not valid UTF-8".to_string()))?
            .trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "{} (column {})",
                crate::util::errors::without_position(&e),
                e.column()
            ))
        })?;
        out.push((n, text.to_string(), event));
    }
    Ok(out)
}

/// Parse `--since`: an RFC 3339 timestamp, or a duration back from `now` such as `90s`, `30m`,
/// `2h`, `1d` or `1w`.
pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    let usage = || {
        format!(
            "invalid --since `{text}`: give an RFC 3339 time (2026-11-30T09:00:00Z) or a duration such as 90s, 30m, 2h, 1d, 1w"
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(usage)?;
    let (digits, unit) = t.split_at(split);
    let n: i64 = digits.parse().map_err(|_| usage())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(usage()),
    };
    let back = n
        .checked_mul(secs)
        .map(SignedDuration::from_secs)
        .ok_or_else(usage)?;
    now.checked_sub(back).map_err(|_| usage())
}

/// Tokens and cost reported by `invoke_agent` events (`refs.input_tokens` + `refs.output_tokens`,
/// `refs.cost_usd`), one per agent CLI call.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AgentUsage {
    pub tokens_total: u64,
    pub tokens_planning: u64,
    pub tokens_implementation: u64,
    pub tokens_review: u64,
    pub cost_usd: f64,
    /// Per agent (the event's `tool`): tokens, cost, runs.
    pub per_agent: BTreeMap<String, (u64, f64, u64)>,
}

pub fn agent_usage(events: &[Event]) -> AgentUsage {
    let mut u = AgentUsage::default();
    for e in events
        .iter()
        .filter(|e| e.action == vocab::INVOKE_AGENT && e.status == "ok")
    {
        let tokens = e
            .refs
            .get("input_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + e.refs
                .get("output_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        let cost = e
            .refs
            .get("cost_usd")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .max(0.0);
        u.tokens_total += tokens;
        u.cost_usd += cost;
        match e.phase.as_deref() {
            Some("strategic_plan" | "issue_creation" | "tactical_plan") => {
                u.tokens_planning += tokens
            }
            Some("implementation") => u.tokens_implementation += tokens,
            Some("code_review") => u.tokens_review += tokens,
            _ => {}
        }
        let agent = e.tool.clone().unwrap_or_else(|| "agent".into());
        let entry = u.per_agent.entry(agent).or_default();
        entry.0 += tokens;
        entry.1 += cost;
        entry.2 += 1;
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn since_accepts_rfc3339_and_durations() {
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(
            parse_since("2026-11-30T09:00:00Z", now).unwrap(),
            ts("2026-11-30T09:00:00Z")
        );
        assert_eq!(
            parse_since("2026-11-30T10:00:00+01:00", now).unwrap(),
            ts("2026-11-30T09:00:00Z")
        );
        assert_eq!(parse_since("30m", now).unwrap(), ts("2026-11-30T11:30:00Z"));
        assert_eq!(parse_since("2h", now).unwrap(), ts("2026-11-30T10:00:00Z"));
        assert_eq!(parse_since("1d", now).unwrap(), ts("2026-11-29T12:00:00Z"));
        assert_eq!(parse_since("90s", now).unwrap(), ts("2026-11-30T11:58:30Z"));
        for bad in [
            "",
            "m",
            "30",
            "30x",
            "-2h",
            "yesterday",
            "99999999999999999999d",
        ] {
            let err = parse_since(bad, now).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }

    #[test]
    fn layer_writes_one_redacted_line_per_event_and_ignores_plain_tracing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("workflow.log");
        let log = LogFile::open(&path).unwrap();
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        tracing::subscriber::with_default(subscriber(log, LevelFilter::OFF), || {
            tracing::info!(
                target: EVENT_TARGET,
                sid = "s1",
                phase = "intake",
                action = "classify",
                tool = "factory",
                status = "ok",
                duration_ms = 12u64,
                detail = format!("used token {token}").as_str(),
                decision = "feature: password=hunter2hunter2",
                refs = %serde_json::json!({"issue": 42, "note": token}),
                pr = 7u64,
            );
            tracing::info!(action = "not an event", "plain message");
            tracing::warn!(target: EVENT_TARGET, phase = "merge", "merge blocked");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(token), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let events = read_events(&path).unwrap();
        assert_eq!(events.len(), 2, "{text}");
        let e = &events[0];
        assert_eq!(e.sid.as_deref(), Some("s1"));
        assert_eq!(e.phase.as_deref(), Some("intake"));
        assert_eq!(e.action, "classify");
        assert_eq!(e.tool.as_deref(), Some("factory"));
        assert_eq!(e.duration_ms, Some(12));
        assert_eq!(e.detail.as_deref(), Some("used token ghp_********"));
        assert_eq!(e.refs["issue"], 42);
        assert_eq!(e.refs["pr"], 7);
        assert_eq!(e.refs["note"], "ghp_********");
        let w = &events[1];
        assert_eq!((w.action.as_str(), w.status.as_str()), ("event", "warn"));
        assert_eq!(w.detail.as_deref(), Some("merge blocked"));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("workflow.log");
        let good = r#"{"ts":"2026-11-30T00:00:00Z","action":"a","status":"ok"}"#;
        std::fs::write(&path, format!("{good}\n\n{good}\n{{not json\n")).unwrap();
        let err = read_events(&path).unwrap_err().to_string();
        assert!(err.contains("workflow.log:4:"), "{err}");
        std::fs::write(&path, format!("{good}\n{good}\n")).unwrap();
        assert_eq!(read_events(&path).unwrap().len(), 2);
    }

    #[test]
    fn append_event_writes_the_same_format() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("workflow.log");
        let event = Event {
            ts: ts("2026-11-30T00:00:00Z"),
            sid: None,
            phase: Some("merge".into()),
            action: "merge".into(),
            tool: Some("gh".into()),
            status: "ok".into(),
            duration_ms: None,
            detail: None,
            decision: None,
            refs: Map::new(),
        };
        append_event(&path, &event).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"ts\":\"2026-11-30T00:00:00Z\",\"phase\":\"merge\",\"action\":\"merge\",\"tool\":\"gh\",\"status\":\"ok\"}\n"
        );
        assert_eq!(read_events(&path).unwrap(), vec![event]);
    }
}
