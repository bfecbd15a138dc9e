//! `factory state merge`: combine the state directories of parallel jobs. Docs: docs/STATE.md
//! ("Merging state from parallel jobs").
//!
//! Every copy started from the same base (the state the matrix jobs downloaded) and ran one
//! per-issue command. The merge is three-way, per file, against that base:
//!
//! - append-only logs (`workflow.log`, any `*.jsonl`): each copy must start with the base byte
//!   for byte; the result is the base plus every copy's new lines, ordered by `ts` (ties keep
//!   the input order);
//! - `session.json`: field by field with the session rules of [`rule`] (counters add their
//!   deltas, issues and pull requests merge by number, the cost ledger appends, …), validated
//!   against the session contract;
//! - JSON documents with a known layout (`artifacts/implementation.json`, the local forge's
//!   records): field by field with their rules;
//! - any other file: taken from the one copy that changed it; the same change in several copies
//!   is fine, different changes are a conflict;
//! - `REPORT.md` is rendered again from the merged state when a copy changed it.
//!
//! Nothing is written unless the whole merge succeeds; then the files are written atomically
//! under the target's session lock.

use super::layout;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    Counters, Escalation, PhaseStatus, Session, StateDir, StateError, check_session, pretty,
};

/// Errors of the merge. Each names the file (and the copy) and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("give at least one copy to merge after --base")]
    NoCopies,
    #[error(
        "{}: not a state directory ({reason}); give the `.factory` directory each job saved",
        path.display()
    )]
    NotADirectory { path: PathBuf, reason: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}: a symbolic link; a state directory holds plain files only — remove it from the copy",
        path.display()
    )]
    Symlink { path: PathBuf },
    #[error(
        "{}: not derived from the base {}: {reason}; merge only copies that started from this base (the state the parallel jobs downloaded)",
        path.display(),
        base.display()
    )]
    NotDerived {
        path: PathBuf,
        base: PathBuf,
        reason: String,
    },
    #[error(
        "{}:{line}: {message}; every line of an append-only log must be one JSON event with a `ts` time (docs/LOGGING.md)",
        path.display()
    )]
    BadLogLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{}:{line}:{column}: not valid JSON: {message}; fix the file or restore it from its job's artifact",
        path.display()
    )]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{} conflict(s) between the copies, nothing was written:\n{}\nrun the conflicting jobs one after the other, or settle the file by hand in one copy (docs/STATE.md#merging-state-from-parallel-jobs)",
        conflicts.len(),
        conflicts.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n")
    )]
    Conflicts { conflicts: Vec<Conflict> },
    #[error(transparent)]
    State(#[from] StateError),
}

/// One path (and field) the copies changed in ways that do not combine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// The file, relative to the state directory.
    pub path: String,
    /// The field inside a JSON document (`/pull_requests[number=5]/issue`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The copies involved, as given on the command line.
    pub copies: Vec<String>,
    pub detail: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {} (in {})", self.detail, self.copies.join(", "))
    }
}

/// What to merge and where to.
#[derive(Debug, Clone)]
pub struct Options {
    /// The state every copy started from.
    pub base: PathBuf,
    /// The copies, in input order (the tiebreak for log lines with the same time).
    pub copies: Vec<PathBuf>,
    /// Where the result goes (often the base itself).
    pub target: StateDir,
}

/// What the merge did.
#[derive(Debug, Clone, Serialize)]
pub struct MergeReport {
    pub target: PathBuf,
    pub base: PathBuf,
    pub copies: Vec<CopySummary>,
    /// Files several copies changed, combined by their rules (logs, session, JSON documents).
    pub merged: Vec<String>,
    /// Files of the base that the merge removed.
    pub deleted: Vec<String>,
    /// Files written (or removed) in the target.
    pub written: usize,
    /// Log lines appended, all copies together.
    pub log_lines: usize,
    /// The merged session's counters (absent without a session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters: Option<Counters>,
    /// REPORT.md was rendered again from the merged state.
    pub report_rendered: bool,
    /// The merge changed what REPORT.md shows: the caller renders it again.
    #[serde(skip)]
    pub report_stale: bool,
    /// The merged session stopped for a human: the command exits 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// Policy files a copy changed and the merge left as the base has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// What one copy contributed.
#[derive(Debug, Clone, Serialize)]
pub struct CopySummary {
    pub dir: PathBuf,
    /// Files new or changed in this copy, taken as they are.
    pub taken: Vec<String>,
    /// Files of the base this copy removed (and the merge removed).
    pub deleted: Vec<String>,
    /// Lines this copy appended to the logs.
    pub log_lines: usize,
    /// Entries this copy added to the session's cost ledger.
    pub usage_entries: usize,
}

/// Files never merged: locks (held per process) and temporary files of atomic writes.
fn ignored(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel == layout::SESSION_LOCK
        || rel == layout::FORGE_LOCK
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// Policy: what judges the jobs (`workflow.yaml`, with the safe-outputs limits and the agents'
/// commands) and what the agents are told (prompt templates). A copy comes from a job that may
/// have run an agent, so its policy is never taken; the merging job's own comes from the
/// checkout.
fn is_policy(rel: &str) -> bool {
    rel == layout::WORKFLOW
        || rel
            .strip_prefix(layout::TEMPLATES_DIR)
            .is_some_and(|r| r.starts_with('/'))
}

/// Append-only JSONL logs.
fn is_log(rel: &str) -> bool {
    rel == layout::LOG || rel.ends_with(".jsonl")
}

const SESSION: &str = layout::SESSION;
const REPORT: &str = layout::REPORT;

type Tree = BTreeMap<String, Vec<u8>>;

/// Every plain file under `root`, by its `/`-separated relative path.
fn read_tree(root: &Path) -> Result<Tree, MergeError> {
    let meta = fs::metadata(root).map_err(|e| MergeError::NotADirectory {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(MergeError::NotADirectory {
            path: root.to_path_buf(),
            reason: "a file, not a directory".into(),
        });
    }
    let mut tree = Tree::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| MergeError::Io {
            action: "list",
            path: dir.clone(),
            source: e,
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| MergeError::Io {
                action: "list",
                path: dir.clone(),
                source: e,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(|e| MergeError::Io {
                action: "inspect",
                path: path.clone(),
                source: e,
            })?;
            if kind.is_symlink() {
                return Err(MergeError::Symlink { path });
            } else if kind.is_dir() {
                stack.push((path, format!("{rel}/")));
            } else if kind.is_file() && !ignored(&rel) {
                // The local forge's branch bundle may be large; every other state file is
                // capped.
                let read = if rel.ends_with(".bundle") {
                    fs::read(&path)
                } else {
                    super::read_capped(&path)
                };
                let bytes = read.map_err(|e| MergeError::Io {
                    action: "read",
                    path: path.clone(),
                    source: e,
                })?;
                tree.insert(rel, bytes);
            }
        }
    }
    Ok(tree)
}

/// Merge `opts.copies` against `opts.base` into `opts.target`. On any conflict nothing is
/// written and every conflict is reported.
pub fn merge(opts: &Options) -> Result<MergeReport, MergeError> {
    if opts.copies.is_empty() {
        return Err(MergeError::NoCopies);
    }
    let base = read_tree(&opts.base)?;
    let copies: Vec<Tree> = opts
        .copies
        .iter()
        .map(|c| read_tree(c))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = opts
        .copies
        .iter()
        .map(|c| c.display().to_string())
        .collect();

    let mut report = MergeReport {
        target: opts.target.root().to_path_buf(),
        base: opts.base.clone(),
        copies: opts
            .copies
            .iter()
            .map(|dir| CopySummary {
                dir: dir.clone(),
                taken: Vec::new(),
                deleted: Vec::new(),
                log_lines: 0,
                usage_entries: 0,
            })
            .collect(),
        merged: Vec::new(),
        deleted: Vec::new(),
        written: 0,
        log_lines: 0,
        counters: None,
        report_rendered: false,
        report_stale: false,
        escalation: None,
        ignored: Vec::new(),
    };

    let mut paths: Vec<&String> = base
        .keys()
        .chain(copies.iter().flat_map(|c| c.keys()))
        .collect();
    paths.sort();
    paths.dedup();

    let mut result: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut conflicts = Vec::new();
    let mut rerender = false;
    let mut session: Option<Session> = None;

    for rel in paths {
        let b = base.get(rel).map(Vec::as_slice);
        let cs: Vec<Option<&[u8]>> = copies
            .iter()
            .map(|c| c.get(rel).map(Vec::as_slice))
            .collect();
        let changed: Vec<usize> = (0..cs.len()).filter(|&i| cs[i] != b).collect();
        if is_policy(rel) {
            if !changed.is_empty() {
                report.ignored.push(rel.clone());
            }
            result.insert(rel.clone(), b.map(<[u8]>::to_vec));
            continue;
        }
        if rel == REPORT {
            // Rendered again from the merged state when a copy changed it.
            rerender = !changed.is_empty();
            if !rerender {
                result.insert(rel.clone(), b.map(<[u8]>::to_vec));
            }
            continue;
        }
        if is_log(rel) {
            let (bytes, per_copy) = merge_log(rel, opts, b, &cs)?;
            for (i, n) in per_copy.iter().enumerate() {
                report.copies[i].log_lines += n;
                report.log_lines += n;
            }
            if per_copy.iter().filter(|n| **n > 0).count() > 1 {
                report.merged.push(rel.clone());
            }
            result.insert(rel.clone(), Some(bytes));
            continue;
        }
        if rel == SESSION {
            if let Some(i) = cs.iter().position(Option::is_none).filter(|_| b.is_some()) {
                return Err(MergeError::NotDerived {
                    path: opts.copies[i].join(rel),
                    base: opts.base.clone(),
                    reason: "the copy has no session.json but the base has one".into(),
                });
            }
            let merged = merge_session(opts, &names, b, &cs, &mut conflicts, &mut report)?;
            if changed.len() > 1 {
                report.merged.push(rel.clone());
            }
            if changed.is_empty() {
                result.insert(rel.clone(), b.map(<[u8]>::to_vec));
                session = merged;
            } else if let Some(s) = merged {
                let value = serde_json::to_value(&s).expect("a session always serialises");
                result.insert(rel.clone(), Some(pretty(&value)));
                session = Some(s);
            } else {
                result.insert(rel.clone(), b.map(<[u8]>::to_vec));
            }
            continue;
        }
        if changed.is_empty() {
            result.insert(rel.clone(), b.map(<[u8]>::to_vec));
            continue;
        }
        let first = cs[changed[0]];
        if changed.iter().all(|&i| cs[i] == first) {
            for &i in &changed {
                if first.is_some() {
                    report.copies[i].taken.push(rel.clone());
                } else {
                    report.copies[i].deleted.push(rel.clone());
                }
            }
            if first.is_none() {
                report.deleted.push(rel.clone());
            }
            result.insert(rel.clone(), first.map(<[u8]>::to_vec));
            continue;
        }
        let involved: Vec<String> = changed.iter().map(|&i| names[i].clone()).collect();
        let kind = FileKind::of(rel);
        if kind == FileKind::Other {
            let deleted: Vec<&String> = changed
                .iter()
                .filter(|&&i| cs[i].is_none())
                .map(|&i| &names[i])
                .collect();
            conflicts.push(Conflict {
                path: rel.clone(),
                field: None,
                copies: involved,
                detail: if deleted.is_empty() {
                    "changed differently in several copies".into()
                } else {
                    format!(
                        "deleted in {} but changed in another copy",
                        deleted
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            });
            continue;
        }
        if b.is_none() && matches!(kind, FileKind::ForgeIssue | FileKind::ForgePull) {
            let what = if kind == FileKind::ForgeIssue {
                "issue"
            } else {
                "pull request"
            };
            conflicts.push(Conflict {
                path: rel.clone(),
                field: None,
                copies: involved,
                detail: format!(
                    "{what} {} was created in more than one copy: the local forge numbers issues and pull requests from the files it holds, so parallel jobs took the same number; create issues in one job before the parallel ones, and open pull requests in parallel only on GitHub",
                    rel.rsplit('/').next().unwrap_or(rel).trim_end_matches(".json")
                ),
            });
            continue;
        }
        let parse = |bytes: &[u8], dir: &Path| -> Result<Value, MergeError> {
            serde_json::from_slice(bytes).map_err(|e| MergeError::InvalidJson {
                path: dir.join(rel),
                line: e.line(),
                column: e.column(),
                message: crate::util::errors::without_position(&e),
            })
        };
        let bv = b.map(|x| parse(x, &opts.base)).transpose()?;
        let cvs: Vec<Option<Value>> = cs
            .iter()
            .enumerate()
            .map(|(i, x)| x.map(|x| parse(x, &opts.copies[i])).transpose())
            .collect::<Result<_, _>>()?;
        let mut m = JsonMerge {
            file: rel,
            kind,
            names: &names,
            conflicts: Vec::new(),
        };
        let refs: Vec<Option<&Value>> = cvs.iter().map(Option::as_ref).collect();
        let mut merged = m.merge(&mut Vec::new(), "", bv.as_ref(), &refs);
        if m.conflicts.is_empty() {
            if kind == FileKind::ForgeLabels
                && let Some(Value::Array(items)) = &mut merged
            {
                items.sort_by_key(|a| a.to_string());
            }
            report.merged.push(rel.clone());
            if merged.is_none() {
                report.deleted.push(rel.clone());
            }
            result.insert(rel.clone(), merged.as_ref().map(pretty));
        } else {
            conflicts.append(&mut m.conflicts);
        }
    }

    if !conflicts.is_empty() {
        return Err(MergeError::Conflicts { conflicts });
    }
    report.counters = session.as_ref().map(|s| s.counters);
    report.escalation = session.as_ref().and_then(|s| s.escalation.clone());

    // Write: under the target's session lock, every file atomically, the session last.
    let target = &opts.target;
    target.ensure()?;
    let lock = target.lock()?;
    let mut order: Vec<(&String, &Option<Vec<u8>>)> = result
        .iter()
        .filter(|(rel, _)| rel.as_str() != SESSION)
        .collect();
    if let Some(entry) = result.get_key_value(SESSION) {
        order.push(entry);
    }
    for (rel, content) in order {
        let path = target.root().join(rel);
        let current = match fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(MergeError::Io {
                    action: "read",
                    path,
                    source: e,
                });
            }
        };
        if current.as_ref() == content.as_ref() {
            continue;
        }
        match content {
            Some(bytes) => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|e| MergeError::Io {
                        action: "create directory",
                        path: parent.to_path_buf(),
                        source: e,
                    })?;
                }
                super::write_atomic(&path, bytes).map_err(|e| MergeError::Io {
                    action: "write",
                    path: path.clone(),
                    source: e,
                })?;
            }
            None => fs::remove_file(&path).map_err(|e| MergeError::Io {
                action: "remove",
                path: path.clone(),
                source: e,
            })?,
        }
        report.written += 1;
    }
    drop(lock);
    if let Some(s) = &session {
        let taken: usize = report.copies.iter().map(|c| c.taken.len()).sum();
        let event = super::log::Event {
            ts: super::now(),
            sid: Some(s.id.clone()),
            phase: None,
            action: super::log::vocab::STATE_MERGE.into(),
            tool: Some("factory".into()),
            status: if s.escalation.is_some() {
                super::log::vocab::ESCALATED
            } else {
                super::log::vocab::OK
            }
            .into(),
            duration_ms: None,
            detail: Some(format!(
                "merged {} cop{}: {taken} file(s) taken, {} log line(s) appended{}",
                names.len(),
                if names.len() == 1 { "y" } else { "ies" },
                report.log_lines,
                if report.merged.is_empty() {
                    String::new()
                } else {
                    format!(", combined {}", report.merged.join(", "))
                }
            )),
            decision: None,
            refs: serde_json::json!({"copies": names, "log_lines": report.log_lines})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        super::log::append_event(&target.log_path(), &event)?;
        for rel in &report.ignored {
            let event = super::log::Event {
                ts: super::now(),
                sid: Some(s.id.clone()),
                phase: None,
                action: super::log::vocab::SAFE_OUTPUT.into(),
                tool: Some("factory".into()),
                status: "refused".into(),
                duration_ms: None,
                detail: Some(format!(
                    "state merge: a copy changed {rel}; ignored, the base's is kept (policy comes from the checkout, never from a job's copy)"
                )),
                decision: Some("state merge keeps the base's policy".into()),
                refs: serde_json::json!({"file": rel})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            super::log::append_event(&target.log_path(), &event)?;
        }
    }
    // REPORT.md is rendered again by the caller (the report module sits above the state).
    report.report_stale = rerender && session.is_some();
    Ok(report)
}

/// The merged log: the base, then every copy's new lines ordered by `ts` (stable by input
/// order), and how many lines each copy added.
fn merge_log(
    rel: &str,
    opts: &Options,
    base: Option<&[u8]>,
    copies: &[Option<&[u8]>],
) -> Result<(Vec<u8>, Vec<usize>), MergeError> {
    let b = base.unwrap_or_default();
    let mut lines: Vec<(Option<Timestamp>, usize, usize, &[u8])> = Vec::new();
    let mut per_copy = vec![0; copies.len()];
    for (i, &c) in copies.iter().enumerate() {
        let path = opts.copies[i].join(rel);
        let not_derived = |reason: &str| MergeError::NotDerived {
            path: path.clone(),
            base: opts.base.clone(),
            reason: reason.to_string(),
        };
        let Some(c) = c else {
            if b.is_empty() {
                continue;
            }
            return Err(not_derived("the copy has no such log but the base has one"));
        };
        if !c.starts_with(b) {
            return Err(not_derived(
                "the log does not start with the base's lines byte for byte",
            ));
        }
        let new = &c[b.len()..];
        if new.is_empty() {
            continue;
        }
        if !b.is_empty() && !b.ends_with(b"\n") {
            return Err(not_derived(
                "the base log ends in a partial line the copy continued",
            ));
        }
        let first_line = b.split(|x| *x == b'\n').count();
        for (j, raw) in new.split(|x| *x == b'\n').enumerate() {
            let text = String::from_utf8_lossy(raw);
            if text.trim().is_empty() {
                continue;
            }
            let bad = |message: String| MergeError::BadLogLine {
                path: path.clone(),
                line: first_line + j,
                message,
            };
            let ts = serde_json::from_slice::<Value>(raw)
                .map_err(|e| format!("not JSON: {}", crate::util::errors::without_position(&e)))
                .and_then(|v| match v.get("ts").and_then(Value::as_str) {
                    Some(ts) => ts
                        .parse::<Timestamp>()
                        .map_err(|e| format!("`ts` is not a time: {e}")),
                    None => Err("no `ts` field".into()),
                });
            let ts = match ts {
                Ok(ts) => Some(ts),
                // workflow.log must be events; other JSONL files fall back to input order.
                Err(message) if rel == layout::LOG => return Err(bad(message)),
                Err(_) => None,
            };
            lines.push((ts, i, j, raw));
            per_copy[i] += 1;
        }
    }
    if lines.iter().all(|(ts, ..)| ts.is_some()) {
        lines.sort_by_key(|(ts, i, j, _)| (*ts, *i, *j));
    } else {
        lines.sort_by_key(|(_, i, j, _)| (*i, *j));
    }
    let mut out = b.to_vec();
    for (_, _, _, raw) in lines {
        out.extend_from_slice(raw);
        out.push(b'\n');
    }
    Ok((out, per_copy))
}

/// The merged session, validated against its contract.
fn merge_session(
    opts: &Options,
    names: &[String],
    base: Option<&[u8]>,
    copies: &[Option<&[u8]>],
    conflicts: &mut Vec<Conflict>,
    report: &mut MergeReport,
) -> Result<Option<Session>, MergeError> {
    let parse = |bytes: &[u8], dir: &Path| -> Result<Session, MergeError> {
        Ok(super::parse_session(&dir.join(SESSION), bytes)?)
    };
    let b = base.map(|x| parse(x, &opts.base)).transpose()?;
    let mut cs = Vec::new();
    for (i, c) in copies.iter().enumerate() {
        let Some(c) = c else {
            cs.push(None);
            continue;
        };
        let s = parse(c, &opts.copies[i])?;
        if let Some(b) = &b {
            if s.id != b.id {
                return Err(MergeError::NotDerived {
                    path: opts.copies[i].join(SESSION),
                    base: opts.base.clone(),
                    reason: format!("the copy holds session {}, the base session {}", s.id, b.id),
                });
            }
            if s.usage.len() >= b.usage.len() && s.usage[..b.usage.len()] == b.usage[..] {
                report.copies[i].usage_entries = s.usage.len() - b.usage.len();
            }
        } else {
            report.copies[i].usage_entries = s.usage.len();
        }
        cs.push(Some(s));
    }
    let value = |s: &Session| serde_json::to_value(s).expect("a session always serialises");
    let bv = b.as_ref().map(value);
    let cvs: Vec<Option<Value>> = cs.iter().map(|s| s.as_ref().map(value)).collect();
    if cvs.iter().all(|c| c.as_ref() == bv.as_ref()) {
        return Ok(b);
    }
    let mut m = JsonMerge {
        file: SESSION,
        kind: FileKind::Session,
        names,
        conflicts: Vec::new(),
    };
    let refs: Vec<Option<&Value>> = cvs.iter().map(Option::as_ref).collect();
    let merged = m.merge(&mut Vec::new(), "", bv.as_ref(), &refs);
    if !m.conflicts.is_empty() {
        conflicts.append(&mut m.conflicts);
        return Ok(b);
    }
    let Some(merged) = merged else {
        return Ok(None);
    };
    let path = opts.target.session_path();
    check_session(&path, &merged)?;
    let session: Session =
        serde_json::from_value(merged).map_err(|e| StateError::InvalidSession {
            path,
            violations: vec![e.to_string()],
        })?;
    Ok(Some(session))
}

/// The JSON documents with field rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Session,
    Implementation,
    ForgeIssue,
    ForgePull,
    ForgeReviews,
    ForgeLabels,
    Other,
}

impl FileKind {
    fn of(rel: &str) -> FileKind {
        let numbered = |dir: &str| layout::numbered(rel, dir).is_some();
        match rel {
            layout::SESSION => FileKind::Session,
            layout::IMPLEMENTATION => FileKind::Implementation,
            layout::FORGE_LABELS => FileKind::ForgeLabels,
            _ if numbered(layout::FORGE_ISSUES) => FileKind::ForgeIssue,
            _ if numbered(layout::FORGE_PULLS) => FileKind::ForgePull,
            _ if numbered(layout::FORGE_REVIEWS) => FileKind::ForgeReviews,
            _ => FileKind::Other,
        }
    }
}

/// How a field several copies changed differently is combined.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// A count: base plus the sum of every copy's change (never below zero).
    Sum,
    /// A time: the latest.
    Latest,
    /// A list only ever appended to: the base's items, then each copy's new ones in input order.
    AppendOnly,
    /// A set: every item any copy has, the base's first.
    Union,
    /// A list of objects identified by this field, merged item by item.
    Keyed(&'static str),
    /// A value that only moves forward through these values: the furthest.
    Progress(&'static [&'static str]),
    /// `phases.<p>`: see [`phase_rank`].
    Phase,
    /// `rework`: the highest review cycle.
    Rework,
    /// `escalation`: any copy's escalation, the earliest.
    Escalation,
}

/// The rule for the field at `path` (object keys; `*` matches any key or list item id).
fn rule(kind: FileKind, path: &[String]) -> Option<Rule> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let comments_labels = |p: &[&str]| match p {
        ["labels"] | ["sub_issues"] => Some(Rule::Union),
        ["comments"] => Some(Rule::Keyed("id")),
        ["updated_at"] | ["closed_at"] | ["merged_at"] => Some(Rule::Latest),
        _ => None,
    };
    match kind {
        FileKind::Session => match p.as_slice() {
            ["updated_at"] => Some(Rule::Latest),
            ["counters", _] => Some(Rule::Sum),
            ["issues"] | ["pull_requests"] => Some(Rule::Keyed("number")),
            ["pull_requests", _, "merged"] => Some(Rule::Progress(&["false", "true"])),
            ["waves"] => Some(Rule::Keyed("wave")),
            ["waves", _, "status"] => Some(Rule::Progress(&["pending", "running", "merged"])),
            ["waves", _, "review_rounds"] => Some(Rule::Sum),
            ["usage"] => Some(Rule::AppendOnly),
            ["approvals"] => Some(Rule::Union),
            ["phases", _] => Some(Rule::Phase),
            ["rework"] => Some(Rule::Rework),
            ["escalation"] => Some(Rule::Escalation),
            _ => None,
        },
        FileKind::Implementation => match p.as_slice() {
            ["issues"] => Some(Rule::Keyed("issue")),
            _ => None,
        },
        FileKind::ForgeIssue => match p.as_slice() {
            ["state"] => Some(Rule::Progress(&["open", "closed"])),
            rest => comments_labels(rest),
        },
        FileKind::ForgePull => match p.as_slice() {
            ["state"] => Some(Rule::Progress(&["open", "closed", "merged"])),
            rest => comments_labels(rest),
        },
        FileKind::ForgeReviews => match p.as_slice() {
            [] => Some(Rule::Keyed("id")),
            _ => None,
        },
        FileKind::ForgeLabels => match p.as_slice() {
            [] => Some(Rule::Union),
            _ => None,
        },
        FileKind::Other => None,
    }
}

/// How far a phase got: a finished attempt beats a running one, which beats pending; among
/// finished ones, the outcome that needs attention wins (escalated, then failed, then
/// completed or skipped), so a resumed run repeats the phase rather than skip unfinished work.
fn phase_rank(status: &str) -> u8 {
    match status.parse::<PhaseStatus>() {
        Ok(PhaseStatus::Pending) | Err(_) => 0,
        Ok(PhaseStatus::Running) => 1,
        Ok(PhaseStatus::Completed | PhaseStatus::Skipped) => 2,
        Ok(PhaseStatus::Failed) => 3,
        Ok(PhaseStatus::Escalated) => 4,
    }
}

/// Whether a field under `path` adds up the copies' changes (counters, the cost ledger): then
/// two copies with the same change are two changes, not one.
fn additive_inside(kind: FileKind, path: &[String]) -> bool {
    kind == FileKind::Session && (path.is_empty() || path == ["counters"])
}

/// A three-way merge of one JSON document, collecting conflicts.
struct JsonMerge<'a> {
    file: &'a str,
    kind: FileKind,
    names: &'a [String],
    conflicts: Vec<Conflict>,
}

fn timestamp(v: Option<&Value>) -> Option<Timestamp> {
    v?.as_str()?.parse().ok()
}

impl JsonMerge<'_> {
    fn conflict(&mut self, field: &str, copies: &[usize], detail: impl Into<String>) {
        self.conflicts.push(Conflict {
            path: self.file.to_string(),
            field: (!field.is_empty()).then(|| field.to_string()),
            copies: copies.iter().map(|&i| self.names[i].clone()).collect(),
            detail: detail.into(),
        });
    }

    /// The merged value at `path` (`field` is its display form); `None` is absent.
    fn merge(
        &mut self,
        path: &mut Vec<String>,
        field: &str,
        base: Option<&Value>,
        copies: &[Option<&Value>],
    ) -> Option<Value> {
        let rule = rule(self.kind, path);
        let changed: Vec<usize> = (0..copies.len()).filter(|&i| copies[i] != base).collect();
        if changed.is_empty() {
            return base.cloned();
        }
        match rule {
            Some(Rule::Sum) => return self.sum(field, base, copies),
            Some(Rule::AppendOnly) => return self.append_only(field, base, copies),
            _ => {}
        }
        let first = copies[changed[0]];
        if changed.iter().all(|&i| copies[i] == first) && !additive_inside(self.kind, path) {
            return first.cloned();
        }
        let values: Vec<Option<&Value>> = changed.iter().map(|&i| copies[i]).collect();
        match rule {
            Some(Rule::Latest) => {
                let times: Option<Vec<Timestamp>> = values.iter().map(|v| timestamp(*v)).collect();
                match times {
                    Some(times) => {
                        let (k, _) = times.iter().enumerate().max_by_key(|(_, t)| **t).unwrap();
                        return values[k].cloned();
                    }
                    None => {
                        self.conflict(
                            field,
                            &changed,
                            "changed differently, and not every value is a time",
                        );
                        return base.cloned();
                    }
                }
            }
            Some(Rule::Progress(order)) => {
                let ranks: Option<Vec<usize>> = values
                    .iter()
                    .map(|v| {
                        let text = match (*v)? {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        order.iter().position(|o| *o == text)
                    })
                    .collect();
                if let Some(ranks) = ranks {
                    let (k, _) = ranks.iter().enumerate().max_by_key(|(_, r)| **r).unwrap();
                    return values[k].cloned();
                }
                self.conflict(
                    field,
                    &changed,
                    format!(
                        "changed differently; it may only move forward through {}",
                        order.join(" → ")
                    ),
                );
                return base.cloned();
            }
            Some(Rule::Union) => {
                let mut items: Vec<Value> = match base {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                for v in &values {
                    let Some(Value::Array(a)) = v else {
                        self.conflict(
                            field,
                            &changed,
                            "changed differently, and not every value is a list",
                        );
                        return base.cloned();
                    };
                    for item in a {
                        if !items.contains(item) {
                            items.push(item.clone());
                        }
                    }
                }
                return Some(Value::Array(items));
            }
            Some(Rule::Keyed(key)) => return self.keyed(path, field, key, base, copies, &changed),
            Some(Rule::Phase) => {
                let rank = |v: Option<&Value>| {
                    let v = v?;
                    let status = v.get("status")?.as_str()?;
                    Some((
                        phase_rank(status),
                        v.get("attempts").and_then(Value::as_u64).unwrap_or(0),
                        timestamp(v.get("finished_at")),
                    ))
                };
                return self.furthest(field, base, &changed, &values, rank, "a phase");
            }
            Some(Rule::Rework) => {
                let base_cycle = base
                    .and_then(|b| b.get("cycle"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let rank = |v: Option<&Value>| match v {
                    Some(r) => r.get("cycle").and_then(Value::as_u64).map(|c| 2 * c),
                    None => Some(2 * base_cycle + 1),
                };
                return self.furthest(field, base, &changed, &values, rank, "the rework");
            }
            Some(Rule::Escalation) => {
                let earliest = values
                    .iter()
                    .filter_map(|v| v.map(|e| (timestamp(e.get("at")), e)))
                    .min_by_key(|(t, _)| *t);
                return earliest.map(|(_, e)| e.clone());
            }
            Some(Rule::Sum) | Some(Rule::AppendOnly) | None => {}
        }
        let deleted: Vec<usize> = changed
            .iter()
            .copied()
            .filter(|&i| copies[i].is_none())
            .collect();
        if !deleted.is_empty() {
            self.conflict(
                field,
                &changed,
                format!(
                    "removed in {} but changed in another copy",
                    deleted
                        .iter()
                        .map(|&i| self.names[i].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return base.cloned();
        }
        let objects = values.iter().all(|v| v.is_some_and(Value::is_object))
            && base.is_none_or(Value::is_object);
        if !objects {
            self.conflict(field, &changed, "changed differently in several copies");
            return base.cloned();
        }
        let empty = Map::new();
        let bm = base.and_then(Value::as_object).unwrap_or(&empty);
        let cms: Vec<&Map<String, Value>> = copies
            .iter()
            .map(|c| c.and_then(Value::as_object).unwrap_or(bm))
            .collect();
        let mut keys: Vec<&String> = bm.keys().chain(cms.iter().flat_map(|m| m.keys())).collect();
        keys.sort();
        keys.dedup();
        let mut out = Map::new();
        for key in keys {
            path.push(key.clone());
            let sub: Vec<Option<&Value>> = cms.iter().map(|m| m.get(key)).collect();
            let merged = self.merge(path, &format!("{field}/{key}"), bm.get(key), &sub);
            path.pop();
            if let Some(v) = merged {
                out.insert(key.clone(), v);
            }
        }
        Some(Value::Object(out))
    }

    /// Base plus each copy's change.
    fn sum(
        &mut self,
        field: &str,
        base: Option<&Value>,
        copies: &[Option<&Value>],
    ) -> Option<Value> {
        let b = base.map_or(Some(0), Value::as_i64);
        let Some(b) = b else {
            self.conflict(field, &[], "not a whole number in the base");
            return base.cloned();
        };
        let mut total = b;
        for (i, c) in copies.iter().enumerate() {
            match c.map_or(Some(b), |v| v.as_i64()) {
                Some(v) => total += v - b,
                None => {
                    self.conflict(field, &[i], "not a whole number");
                    return base.cloned();
                }
            }
        }
        Some(Value::from(total.max(0)))
    }

    /// The base's items, then each copy's new items.
    fn append_only(
        &mut self,
        field: &str,
        base: Option<&Value>,
        copies: &[Option<&Value>],
    ) -> Option<Value> {
        let empty = Vec::new();
        let b = match base {
            Some(Value::Array(a)) => a,
            None => &empty,
            Some(_) => {
                self.conflict(field, &[], "not a list in the base");
                return base.cloned();
            }
        };
        let mut out = b.clone();
        for (i, c) in copies.iter().enumerate() {
            let items = match c {
                None => &empty,
                Some(Value::Array(a)) => a,
                Some(_) => {
                    self.conflict(field, &[i], "not a list");
                    return base.cloned();
                }
            };
            if items.len() < b.len() || items[..b.len()] != b[..] {
                self.conflict(field, &[i], "does not start with the base's entries: this list is only ever appended to, so the copy was not derived from the base");
                return base.cloned();
            }
            out.extend(items[b.len()..].iter().cloned());
        }
        Some(Value::Array(out))
    }

    /// The changed value ranked highest; a tie between different values is a conflict.
    fn furthest<R: Ord>(
        &mut self,
        field: &str,
        base: Option<&Value>,
        changed: &[usize],
        values: &[Option<&Value>],
        rank: impl Fn(Option<&Value>) -> Option<R>,
        what: &str,
    ) -> Option<Value> {
        let ranks: Option<Vec<R>> = values.iter().map(|v| rank(*v)).collect();
        let Some(ranks) = ranks else {
            self.conflict(
                field,
                changed,
                format!("{what} changed differently in several copies"),
            );
            return base.cloned();
        };
        let top = ranks.iter().max().unwrap();
        let best: Vec<usize> = (0..ranks.len()).filter(|&k| ranks[k] == *top).collect();
        if best.iter().any(|&k| values[k] != values[best[0]]) {
            let who: Vec<usize> = best.iter().map(|&k| changed[k]).collect();
            self.conflict(
                field,
                &who,
                format!("{what} got equally far in several copies but differs"),
            );
            return base.cloned();
        }
        values[best[0]].cloned()
    }

    /// A list of objects merged item by item, by `key`.
    fn keyed(
        &mut self,
        path: &mut Vec<String>,
        field: &str,
        key: &str,
        base: Option<&Value>,
        copies: &[Option<&Value>],
        changed: &[usize],
    ) -> Option<Value> {
        type Items<'v> = Vec<(String, &'v Value)>;
        /// The items by id; `None` unless a list of objects with unique ids.
        fn index<'v>(v: Option<&'v Value>, key: &str) -> Option<Items<'v>> {
            let Some(v) = v else {
                return Some(Vec::new());
            };
            let mut items: Items<'v> = Vec::new();
            for item in v.as_array()? {
                let id = match item.get(key)? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                if items.iter().any(|(k, _)| *k == id) {
                    return None;
                }
                items.push((id, item));
            }
            Some(items)
        }
        fn find<'v>(items: &Items<'v>, id: &str) -> Option<&'v Value> {
            items.iter().find(|(k, _)| k == id).map(|(_, v)| *v)
        }
        let b = index(base, key);
        let cs: Option<Vec<Items<'_>>> = copies.iter().map(|c| index(*c, key)).collect();
        let (Some(b), Some(cs)) = (b, cs) else {
            self.conflict(field, changed, format!("changed differently, and not every value is a list of entries with a unique `{key}`"));
            return base.cloned();
        };
        let mut ids: Vec<&String> = b.iter().map(|(k, _)| k).collect();
        for c in &cs {
            for (k, _) in c {
                if !ids.contains(&k) {
                    ids.push(k);
                }
            }
        }
        let mut out = Vec::new();
        for id in ids {
            let bi = find(&b, id);
            let ci: Vec<Option<&Value>> = cs.iter().map(|c| find(c, id)).collect();
            path.push(id.clone());
            let merged = self.merge(path, &format!("{field}[{key}={id}]"), bi, &ci);
            path.pop();
            out.extend(merged);
        }
        Some(Value::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("copy{i}")).collect()
    }

    fn merge_json(kind: FileKind, base: Value, copies: &[Value]) -> Result<Value, Vec<Conflict>> {
        let names = names(copies.len());
        let mut m = JsonMerge {
            file: "f.json",
            kind,
            names: &names,
            conflicts: Vec::new(),
        };
        let refs: Vec<Option<&Value>> = copies.iter().map(Some).collect();
        let out = m.merge(&mut Vec::new(), "", Some(&base), &refs);
        if m.conflicts.is_empty() {
            Ok(out.unwrap())
        } else {
            Err(m.conflicts)
        }
    }

    #[test]
    fn counters_add_every_copys_change_and_lists_merge_by_number() {
        let base = json!({"counters": {"review_cycles": 1, "planning_retries": 0},
            "issues": [{"number": 2}, {"number": 3}], "pull_requests": []});
        let a = json!({"counters": {"review_cycles": 2, "planning_retries": 1},
            "issues": [{"number": 2, "branch": "feat/2"}, {"number": 3}],
            "pull_requests": [{"number": 5, "issue": 2, "merged": false}]});
        let b = json!({"counters": {"review_cycles": 2, "planning_retries": 0},
            "issues": [{"number": 2}, {"number": 3, "branch": "feat/3"}],
            "pull_requests": [{"number": 6, "issue": 3, "merged": false}]});
        let out = merge_json(FileKind::Session, base, &[a, b]).unwrap();
        assert_eq!(
            out["counters"],
            json!({"review_cycles": 3, "planning_retries": 1})
        );
        // Two copies with the very same change still made two changes.
        let same = json!({"counters": {"review_cycles": 1}, "issues": []});
        let bumped = json!({"counters": {"review_cycles": 2}, "issues": []});
        let twice = merge_json(FileKind::Session, same, &[bumped.clone(), bumped]).unwrap();
        assert_eq!(twice["counters"]["review_cycles"], 3);
        assert_eq!(
            out["issues"],
            json!([{"number": 2, "branch": "feat/2"}, {"number": 3, "branch": "feat/3"}])
        );
        assert_eq!(
            out["pull_requests"],
            json!([{"number": 5, "issue": 2, "merged": false}, {"number": 6, "issue": 3, "merged": false}])
        );
    }

    #[test]
    fn one_entry_changed_differently_is_a_conflict_naming_the_field_unless_it_progressed() {
        let base = json!({"pull_requests": [{"number": 5, "issue": 2, "merged": false}]});
        let a = json!({"pull_requests": [{"number": 5, "issue": 2, "merged": true}]});
        let b = json!({"pull_requests": [{"number": 5, "issue": 2, "merged": false}]});
        let out = merge_json(FileKind::Session, base.clone(), &[a.clone(), b]).unwrap();
        assert_eq!(out["pull_requests"][0]["merged"], true);
        let c = json!({"pull_requests": [{"number": 5, "issue": 3, "merged": false}]});
        let d = json!({"pull_requests": [{"number": 5, "issue": 4, "merged": false}]});
        let err = merge_json(FileKind::Session, base, &[c, d]).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(
            err[0].field.as_deref(),
            Some("/pull_requests[number=5]/issue")
        );
        assert_eq!(err[0].copies, ["copy0", "copy1"]);
    }

    #[test]
    fn the_cost_ledger_appends_and_refuses_a_rewritten_history() {
        let e = |n: u64| json!({"phase": "tactical_plan", "agent": "claude", "input_tokens": n});
        let base = json!({"usage": [e(1)]});
        let a = json!({"usage": [e(1), e(2)]});
        let b = json!({"usage": [e(1), e(2)]});
        let out = merge_json(FileKind::Session, base.clone(), &[a, b]).unwrap();
        assert_eq!(
            out["usage"],
            json!([e(1), e(2), e(2)]),
            "two identical calls are two calls"
        );
        let rewritten = json!({"usage": [e(9), e(2)]});
        let err = merge_json(FileKind::Session, base, &[rewritten]).unwrap_err();
        assert!(err[0].detail.contains("not derived"), "{err:?}");
    }

    #[test]
    fn phases_take_the_copy_that_got_furthest() {
        let base = json!({"phases": {"tactical_plan": {"status": "pending", "attempts": 0}}});
        let done = json!({"phases": {"tactical_plan": {"status": "completed", "attempts": 1}}});
        let running = json!({"phases": {"tactical_plan": {"status": "running", "attempts": 1}}});
        let failed = json!({"phases": {"tactical_plan": {"status": "failed", "attempts": 1}}});
        let out = merge_json(FileKind::Session, base.clone(), &[running, done.clone()]).unwrap();
        assert_eq!(out["phases"]["tactical_plan"]["status"], "completed");
        let out = merge_json(FileKind::Session, base.clone(), &[done, failed]).unwrap();
        assert_eq!(out["phases"]["tactical_plan"]["status"], "failed");
        let a = json!({"phases": {"tactical_plan": {"status": "completed", "attempts": 1, "detail": "a"}}});
        let b = json!({"phases": {"tactical_plan": {"status": "completed", "attempts": 1, "detail": "b"}}});
        let err = merge_json(FileKind::Session, base, &[a, b]).unwrap_err();
        assert_eq!(err[0].field.as_deref(), Some("/phases/tactical_plan"));
    }

    #[test]
    fn the_earliest_escalation_and_the_latest_update_win() {
        let base = json!({"updated_at": "2026-01-01T00:00:00Z"});
        let esc = |at: &str| json!({"reason": "scope-decision", "phase": "implementation", "at": at, "detail": at});
        let a = json!({"updated_at": "2026-01-01T00:00:09Z", "escalation": esc("2026-01-01T00:00:08Z")});
        let b = json!({"updated_at": "2026-01-01T00:00:05Z", "escalation": esc("2026-01-01T00:00:04Z")});
        let c = json!({"updated_at": "2026-01-01T00:00:07Z"});
        let out = merge_json(FileKind::Session, base, &[a, b, c]).unwrap();
        assert_eq!(out["updated_at"], "2026-01-01T00:00:09Z");
        assert_eq!(out["escalation"]["at"], "2026-01-01T00:00:04Z");
    }

    #[test]
    fn rework_takes_the_highest_cycle() {
        let rw = |c: u64| json!({"phase": "implementation", "from": "code_review", "cycle": c, "detail": "x"});
        let base = json!({"rework": rw(1)});
        let cleared = json!({});
        let newer = json!({"rework": rw(2)});
        let out = merge_json(FileKind::Session, base.clone(), &[cleared.clone(), newer]).unwrap();
        assert_eq!(out["rework"]["cycle"], 2);
        let out = merge_json(
            FileKind::Session,
            base,
            &[cleared, json!({"rework": rw(1)})],
        )
        .unwrap();
        assert!(out.get("rework").is_none(), "{out}");
    }

    #[test]
    fn forge_records_merge_labels_comments_and_state() {
        let base = json!({"number": 2, "state": "open", "labels": ["task"], "comments": [],
            "updated_at": "2026-01-01T00:00:00Z"});
        let a = json!({"number": 2, "state": "closed", "labels": ["task", "a"], "comments": [],
            "updated_at": "2026-01-01T00:00:02Z"});
        let b = json!({"number": 2, "state": "open", "labels": ["task", "b"],
            "comments": [{"id": 1, "body": "hi"}], "updated_at": "2026-01-01T00:00:01Z"});
        let out = merge_json(FileKind::ForgeIssue, base.clone(), &[a, b.clone()]).unwrap();
        assert_eq!(out["state"], "closed");
        assert_eq!(out["labels"], json!(["task", "a", "b"]));
        assert_eq!(out["comments"], json!([{"id": 1, "body": "hi"}]));
        assert_eq!(out["updated_at"], "2026-01-01T00:00:02Z");
        let mut c = b.clone();
        c["comments"][0]["body"] = "other".into();
        let err = merge_json(FileKind::ForgeIssue, base, &[b, c]).unwrap_err();
        assert_eq!(err[0].field.as_deref(), Some("/comments[id=1]/body"));
    }

    #[test]
    fn unknown_documents_only_merge_when_one_copy_changed_a_field() {
        let base = json!({"a": 1, "b": 1});
        let err = merge_json(
            FileKind::Other,
            base.clone(),
            &[json!({"a": 2, "b": 1}), json!({"a": 3, "b": 1})],
        )
        .unwrap_err();
        assert_eq!(err[0].field.as_deref(), Some("/a"));
        let out = merge_json(
            FileKind::Other,
            base,
            &[json!({"a": 2, "b": 1}), json!({"a": 1, "b": 3})],
        )
        .unwrap();
        assert_eq!(out, json!({"a": 2, "b": 3}));
    }

    fn opts(dir: &Path, n: usize) -> Options {
        Options {
            base: dir.join("base"),
            copies: (0..n).map(|i| dir.join(format!("c{i}"))).collect(),
            target: StateDir::new(dir.join("out")),
        }
    }

    #[test]
    fn logs_keep_the_base_and_order_new_lines_by_time_then_input_order() {
        let tmp = tempfile::tempdir().unwrap();
        let o = opts(tmp.path(), 2);
        let line = |ts: &str, a: &str| {
            format!("{{\"ts\":\"{ts}\",\"action\":\"{a}\",\"status\":\"ok\"}}\n")
        };
        let base = line("2026-01-01T00:00:00Z", "base");
        let a = format!(
            "{base}{}{}",
            line("2026-01-01T00:00:03Z", "a1"),
            line("2026-01-01T00:00:05Z", "a2")
        );
        let b = format!(
            "{base}{}{}",
            line("2026-01-01T00:00:01Z", "b1"),
            line("2026-01-01T00:00:03.000Z", "b2")
        );
        let (out, per) = merge_log(
            "workflow.log",
            &o,
            Some(base.as_bytes()),
            &[Some(a.as_bytes()), Some(b.as_bytes())],
        )
        .unwrap();
        let actions: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(actions, ["base", "b1", "a1", "b2", "a2"]);
        assert_eq!(per, [2, 2]);
        let rewritten = line("2026-01-01T00:00:00Z", "other");
        let err = merge_log(
            "workflow.log",
            &o,
            Some(base.as_bytes()),
            &[Some(rewritten.as_bytes())],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c0/workflow.log") && err.contains("not derived from the base"),
            "{err}"
        );
        let bad = format!("{base}not json\n");
        let err = merge_log(
            "workflow.log",
            &o,
            Some(base.as_bytes()),
            &[Some(bad.as_bytes())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("c0/workflow.log:2:"), "{err}");
        // Other JSONL files without times keep the input order.
        let (out, _) = merge_log(
            "outbox/writes.jsonl",
            &o,
            None,
            &[Some(b"{\"n\":1}\n{\"n\":2}\n"), Some(b"{\"n\":0}\n")],
        )
        .unwrap();
        assert_eq!(out, b"{\"n\":1}\n{\"n\":2}\n{\"n\":0}\n");
    }

    #[test]
    fn the_implementation_record_merges_by_issue_even_when_new_in_every_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let o = opts(tmp.path(), 2);
        fs::create_dir_all(&o.base).unwrap();
        let record = |n: u64| {
            json!({"schema_version": "1.0", "session_id": "s", "forge": "github",
                "issues": [{"issue": n, "branch": format!("feat/{n}"), "status": "done"}]})
        };
        for (i, n) in [(0, 2), (1, 3)] {
            let dir = o.copies[i].join("artifacts");
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("implementation.json"), record(n).to_string()).unwrap();
        }
        let report = merge(&o).unwrap();
        assert_eq!(report.merged, ["artifacts/implementation.json"]);
        let merged: Value = serde_json::from_slice(
            &fs::read(o.target.artifacts_dir().join("implementation.json")).unwrap(),
        )
        .unwrap();
        let issues: Vec<u64> = merged["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["issue"].as_u64().unwrap())
            .collect();
        assert_eq!(issues, [2, 3]);
        assert_eq!(merged["forge"], "github");
    }

    #[test]
    fn files_and_deletions_merge_per_path_and_conflicts_write_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let o = opts(tmp.path(), 2);
        let put = |dir: &Path, rel: &str, text: &str| {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        for d in [&o.base, &o.copies[0], &o.copies[1]] {
            put(d, "artifacts/old.txt", "old");
            put(d, "artifacts/keep.txt", "keep");
        }
        put(&o.copies[0], "artifacts/tactical/2.json", "{}");
        put(&o.copies[1], "artifacts/tactical/3.json", "{}");
        fs::remove_file(o.copies[1].join("artifacts/old.txt")).unwrap();
        put(&o.copies[1], "session.lock", "");
        let report = merge(&o).unwrap();
        let out = o.target.root();
        assert!(out.join("artifacts/tactical/2.json").is_file());
        assert!(out.join("artifacts/tactical/3.json").is_file());
        assert!(!out.join("artifacts/old.txt").exists());
        assert_eq!(
            fs::read_to_string(out.join("artifacts/keep.txt")).unwrap(),
            "keep"
        );
        assert_eq!(report.copies[0].taken, ["artifacts/tactical/2.json"]);
        assert_eq!(report.copies[1].deleted, ["artifacts/old.txt"]);

        put(&o.copies[0], "artifacts/keep.txt", "mine");
        put(&o.copies[1], "artifacts/keep.txt", "theirs");
        fs::remove_dir_all(out).unwrap();
        let err = merge(&o).unwrap_err().to_string();
        assert!(
            err.contains("artifacts/keep.txt: changed differently"),
            "{err}"
        );
        assert!(!out.exists(), "a conflict writes nothing");
    }
}
