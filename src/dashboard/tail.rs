//! Incremental reading of `workflow.log`: each poll reads only the bytes appended since the
//! last one, so a large log is parsed once, not once per request.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::state::log::Event;

/// The longest excerpt of a malformed line kept for display.
const MALFORMED_EXCERPT: usize = 300;

/// One line of the log: an event, or a line that is not one (shown as such, then skipped).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Entry {
    Event {
        line: usize,
        #[serde(flatten)]
        event: Event,
    },
    Malformed {
        line: usize,
        malformed: bool,
        text: String,
        error: String,
    },
}

impl Entry {
    /// The event, unless the line was malformed.
    pub fn event(&self) -> Option<&Event> {
        match self {
            Entry::Event { event, .. } => Some(event),
            Entry::Malformed { .. } => None,
        }
    }

    /// The 1-based line number in the log.
    pub fn line(&self) -> usize {
        match self {
            Entry::Event { line, .. } | Entry::Malformed { line, .. } => *line,
        }
    }

    fn parse(line: usize, raw: &[u8]) -> Option<Entry> {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            return None;
        }
        Some(match serde_json::from_str::<Event>(text) {
            Ok(event) => Entry::Event { line, event },
            Err(e) => Entry::Malformed {
                line,
                malformed: true,
                text: excerpt(text),
                error: format!("not a log event: {e}"),
            },
        })
    }
}

fn excerpt(text: &str) -> String {
    if text.chars().count() <= MALFORMED_EXCERPT {
        return text.to_string();
    }
    let cut: String = text.chars().take(MALFORMED_EXCERPT).collect();
    format!("{cut}…")
}

/// The log read so far, and where reading stopped.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    offset: u64,
    lines: usize,
    /// Bytes of a line whose newline has not been written yet.
    pending: Vec<u8>,
    entries: Vec<Entry>,
}

impl LogTail {
    pub fn new(path: impl Into<PathBuf>) -> LogTail {
        LogTail {
            path: path.into(),
            offset: 0,
            lines: 0,
            pending: Vec::new(),
            entries: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry read so far, in log order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Read what was appended since the last poll; returns the indices of the new entries. A
    /// missing log is an empty one; a log that shrank (rotated or truncated) is read again
    /// from the start, and the range then covers every entry.
    pub fn poll(&mut self) -> io::Result<Range<usize>> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.offset > 0 {
                    self.reset();
                }
                return Ok(0..0);
            }
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            self.reset();
        }
        let start = self.entries.len();
        if len == self.offset {
            return Ok(start..start);
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            let mut chunk = &buf[..n];
            while let Some(i) = chunk.iter().position(|b| *b == b'\n') {
                self.pending.extend_from_slice(&chunk[..i]);
                chunk = &chunk[i + 1..];
                self.lines += 1;
                let raw = std::mem::take(&mut self.pending);
                if let Some(entry) = Entry::parse(self.lines, &raw) {
                    self.entries.push(entry);
                }
            }
            self.pending.extend_from_slice(chunk);
        }
        Ok(start..self.entries.len())
    }

    fn reset(&mut self) {
        self.offset = 0;
        self.lines = 0;
        self.pending.clear();
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const EVENT: &str = r#"{"ts":"2026-11-20T10:00:00Z","sid":"s1","phase":"intake","action":"classify","status":"ok"}"#;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn reads_only_what_was_appended_and_waits_for_the_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workflow.log");
        let mut tail = LogTail::new(&path);
        assert_eq!(tail.poll().unwrap(), 0..0, "a missing log is empty");
        append(&path, &format!("{EVENT}\n"));
        assert_eq!(tail.poll().unwrap(), 0..1);
        // Half a line: not an entry until its newline arrives.
        let (a, b) = EVENT.split_at(20);
        append(&path, a);
        assert_eq!(tail.poll().unwrap(), 1..1);
        append(&path, &format!("{b}\n\n"));
        assert_eq!(tail.poll().unwrap(), 1..2);
        assert_eq!(tail.entries()[1].line(), 2);
        assert!(tail.entries()[1].event().is_some());
    }

    #[test]
    fn a_malformed_line_is_kept_as_such_and_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workflow.log");
        append(&path, &format!("{{not json\n{EVENT}\n"));
        let mut tail = LogTail::new(&path);
        assert_eq!(tail.poll().unwrap(), 0..2);
        match &tail.entries()[0] {
            Entry::Malformed {
                line, text, error, ..
            } => {
                assert_eq!(*line, 1);
                assert_eq!(text, "{not json");
                assert!(error.starts_with("not a log event"), "{error}");
            }
            other => panic!("expected a malformed entry, got {other:?}"),
        }
        assert_eq!(tail.entries()[1].line(), 2);
    }

    #[test]
    fn a_truncated_log_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workflow.log");
        append(&path, &format!("{EVENT}\n{EVENT}\n"));
        let mut tail = LogTail::new(&path);
        assert_eq!(tail.poll().unwrap(), 0..2);
        std::fs::write(&path, format!("{EVENT}\n")).unwrap();
        assert_eq!(tail.poll().unwrap(), 0..1);
        assert_eq!(tail.entries().len(), 1);
    }
}
