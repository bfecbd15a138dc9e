//! `.factory/lessons/<id>.json`: one lesson per file, validated on read and before write.
//! Merging a candidate either bumps the lesson it repeats or adds a new one.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::Value;

use crate::contracts::{self, Contract};
use crate::state::write_atomic;

use super::{Candidate, Lesson, SAME_MISTAKE, SourceRef, similarity, tokens};

#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}, column {column}: not JSON: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: not a valid lesson: {problems}; fix the file or remove it")]
    Invalid { path: PathBuf, problems: String },
    #[error("no lesson `{id}` in {dir}: run `factory lessons list --all` to see the ids")]
    NotFound { id: String, dir: PathBuf },
}

/// What merging a candidate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// A new lesson was added.
    Added(String),
    /// An existing lesson was seen again.
    Seen(String),
}

impl Merge {
    pub fn id(&self) -> &str {
        match self {
            Merge::Added(id) | Merge::Seen(id) => id,
        }
    }
}

/// The lesson directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Check a lesson document against its contract; the problems as one line.
pub fn check(value: &Value) -> Result<(), String> {
    let v = contracts::validate(Contract::Lesson, value, Default::default());
    if v.is_empty() {
        Ok(())
    } else {
        Err(v
            .iter()
            .map(|v| {
                format!(
                    "{}: {}",
                    if v.pointer.is_empty() {
                        "/"
                    } else {
                        &v.pointer
                    },
                    v.message
                )
            })
            .collect::<Vec<_>>()
            .join("; "))
    }
}

/// Parse and validate one lesson from `text` (read from `path`).
pub fn parse(path: &Path, text: &str) -> Result<Lesson, LessonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| LessonError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: crate::util::errors::without_position(&e),
    })?;
    check(&value).map_err(|problems| LessonError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    serde_json::from_value(value).map_err(|e| LessonError::Invalid {
        path: path.to_path_buf(),
        problems: e.to_string(),
    })
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every lesson, sorted by id. A missing directory holds none.
    pub fn load(&self) -> Result<Vec<Lesson>, LessonError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(LessonError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let is_lesson = path.extension().is_some_and(|e| e == "json")
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("lesson-"));
            if !is_lesson {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| LessonError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            out.push(parse(&path, &text)?);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub fn get(&self, id: &str) -> Result<Lesson, LessonError> {
        self.load()?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| LessonError::NotFound {
                id: id.to_string(),
                dir: self.dir.clone(),
            })
    }

    /// Validate and write one lesson atomically.
    pub fn save(&self, lesson: &Lesson) -> Result<PathBuf, LessonError> {
        let path = self.dir.join(format!("{}.json", lesson.id));
        let value = serde_json::to_value(lesson).expect("a lesson serialises");
        check(&value).map_err(|problems| LessonError::Invalid {
            path: path.clone(),
            problems,
        })?;
        std::fs::create_dir_all(&self.dir).map_err(|source| LessonError::Io {
            action: "create",
            path: self.dir.clone(),
            source,
        })?;
        let mut bytes = serde_json::to_vec_pretty(&value).expect("serialises");
        bytes.push(b'\n');
        write_atomic(&path, &bytes).map_err(|source| LessonError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// The next free id.
    pub fn next_id(lessons: &[Lesson]) -> String {
        let max = lessons
            .iter()
            .filter_map(|l| l.id.strip_prefix("lesson-")?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("lesson-{:04}", max + 1)
    }

    /// Merge candidates into the store: a candidate that repeats a lesson (same fingerprint,
    /// or the same kind with similar words) bumps `times_seen` and `last_seen` and widens its
    /// paths and tags; otherwise a new lesson is written. Candidates that repeat each other
    /// count once.
    pub fn merge(
        &self,
        candidates: &[Candidate],
        now: Timestamp,
    ) -> Result<Vec<Merge>, LessonError> {
        let mut lessons = self.load()?;
        let mut out: Vec<Merge> = Vec::new();
        for c in candidates {
            let fp = c.fingerprint();
            let words = tokens(&c.pattern);
            let found = lessons.iter().position(|l| {
                l.fingerprint() == fp
                    || (l.kind() == c.kind
                        && similarity(&tokens(&l.pattern), &words) >= SAME_MISTAKE)
            });
            match found {
                Some(i) => {
                    let id = lessons[i].id.clone();
                    if out.iter().any(|m| m.id() == id) {
                        continue;
                    }
                    let l = &mut lessons[i];
                    l.times_seen += 1;
                    l.last_seen = Some(now);
                    l.retired = false;
                    for p in &c.paths {
                        if !l.paths.contains(p) {
                            l.paths.push(p.clone());
                        }
                    }
                    for t in &c.tags {
                        if !l.tags.contains(t) {
                            l.tags.push(t.clone());
                        }
                    }
                    self.save(l)?;
                    out.push(Merge::Seen(id));
                }
                None => {
                    let mut tags = vec![c.kind.clone()];
                    tags.extend(c.tags.iter().filter(|t| **t != c.kind).cloned());
                    let lesson = Lesson {
                        id: Store::next_id(&lessons),
                        ts: now,
                        source_phase: c.source_phase.clone(),
                        source_ref: Some(SourceRef {
                            issue: c.issue,
                            pr: c.pr,
                            finding_index: c.finding_index,
                            session_id: Some(c.session_id.clone()),
                            fingerprint: Some(fp),
                        }),
                        pattern: c.pattern.clone(),
                        root_cause: c.root_cause.clone(),
                        preventive_rule: c.preventive_rule.clone(),
                        scope: c.scope.clone(),
                        confidence: c.confidence.clone(),
                        times_seen: 1,
                        last_seen: Some(now),
                        superseded_by: None,
                        tags,
                        paths: c.paths.clone(),
                        retired: false,
                    };
                    self.save(&lesson)?;
                    out.push(Merge::Added(lesson.id.clone()));
                    lessons.push(lesson);
                }
            }
        }
        Ok(out)
    }

    /// Retire lessons not seen during the last `after` completed sessions (`completions`:
    /// the completion times of every session). Returns the ids retired now.
    pub fn retire_stale(
        &self,
        completions: &[Timestamp],
        after: usize,
    ) -> Result<Vec<String>, LessonError> {
        let mut retired = Vec::new();
        if after == 0 {
            return Ok(retired);
        }
        for mut l in self.load()? {
            if !l.active() {
                continue;
            }
            let since = completions
                .iter()
                .filter(|t| **t > l.last_seen_or_created())
                .count();
            if since >= after {
                l.retired = true;
                self.save(&l)?;
                retired.push(l.id.clone());
            }
        }
        Ok(retired)
    }

    /// Mark one lesson retired.
    pub fn retire(&self, id: &str) -> Result<Lesson, LessonError> {
        let mut l = self.get(id)?;
        l.retired = true;
        self.save(&l)?;
        Ok(l)
    }

    /// Import lessons from another repository: repeats merge into existing lessons (their
    /// counts add up), the rest get fresh ids here. Returns (added, merged).
    pub fn import(&self, incoming: &[Lesson]) -> Result<(usize, usize), LessonError> {
        let mut lessons = self.load()?;
        let (mut added, mut merged) = (0, 0);
        for inc in incoming {
            let fp = inc.fingerprint();
            let words = tokens(&inc.pattern);
            let found = lessons.iter().position(|l| {
                l.fingerprint() == fp
                    || (l.kind() == inc.kind()
                        && similarity(&tokens(&l.pattern), &words) >= SAME_MISTAKE)
            });
            match found {
                Some(i) => {
                    let l = &mut lessons[i];
                    l.times_seen += inc.times_seen;
                    if inc.last_seen_or_created() > l.last_seen_or_created() {
                        l.last_seen = Some(inc.last_seen_or_created());
                    }
                    for p in &inc.paths {
                        if !l.paths.contains(p) {
                            l.paths.push(p.clone());
                        }
                    }
                    for t in &inc.tags {
                        if !l.tags.contains(t) {
                            l.tags.push(t.clone());
                        }
                    }
                    self.save(l)?;
                    merged += 1;
                }
                None => {
                    let mut l = inc.clone();
                    l.id = Store::next_id(&lessons);
                    l.superseded_by = None;
                    if let Some(r) = l.source_ref.as_mut() {
                        r.fingerprint = Some(fp);
                    }
                    self.save(&l)?;
                    lessons.push(l);
                    added += 1;
                }
            }
        }
        Ok((added, merged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(kind: &str, pattern: &str, session: &str) -> Candidate {
        Candidate {
            kind: kind.into(),
            pattern: pattern.into(),
            root_cause: "r".into(),
            preventive_rule: "p".into(),
            scope: "this-project".into(),
            confidence: "high".into(),
            source_phase: "code_review".into(),
            session_id: session.into(),
            issue: None,
            pr: Some(1),
            finding_index: Some(0),
            tags: vec![],
            paths: vec![format!("src/{session}/**")],
        }
    }

    #[test]
    fn a_repeated_mistake_bumps_the_lesson_and_a_new_one_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let t1: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let t2: Timestamp = "2026-11-02T00:00:00Z".parse().unwrap();
        let first = store
            .merge(
                &[
                    cand(
                        "auth",
                        "Missing rate limit on the public login endpoint",
                        "a",
                    ),
                    cand("auth", "missing rate limits on public login endpoints", "a"),
                ],
                t1,
            )
            .unwrap();
        assert_eq!(
            first,
            [Merge::Added("lesson-0001".into())],
            "repeats within a session count once"
        );
        let second = store
            .merge(
                &[
                    cand("auth", "Public login endpoint has no rate limit", "b"),
                    cand(
                        "injection",
                        "Missing rate limit on the public login endpoint",
                        "b",
                    ),
                ],
                t2,
            )
            .unwrap();
        assert_eq!(
            second,
            [
                Merge::Seen("lesson-0001".into()),
                Merge::Added("lesson-0002".into())
            ],
            "the same words under another kind are another lesson"
        );
        let l = store.get("lesson-0001").unwrap();
        assert_eq!(l.times_seen, 2);
        assert_eq!(l.last_seen, Some(t2));
        assert_eq!(l.ts, t1);
        assert_eq!(l.paths, ["src/a/**", "src/b/**"]);

        let t3: Timestamp = "2026-11-03T00:00:00Z".parse().unwrap();
        assert!(store.retire_stale(&[t1, t2, t3], 2).unwrap().is_empty());
        let t4: Timestamp = "2026-11-04T00:00:00Z".parse().unwrap();
        assert_eq!(
            store.retire_stale(&[t1, t2, t3, t4], 2).unwrap(),
            ["lesson-0001", "lesson-0002"]
        );
        assert!(store.get("lesson-0001").unwrap().retired);
    }

    #[test]
    fn an_invalid_lesson_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lesson-0001.json"),
            r#"{"id": "lesson-0001"}"#,
        )
        .unwrap();
        let err = Store::new(dir.path()).load().unwrap_err().to_string();
        assert!(
            err.contains("lesson-0001.json: not a valid lesson"),
            "{err}"
        );
    }
}
