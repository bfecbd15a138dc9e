//! A streaming unified-diff parser.
//!
//! [`DiffParser`] wraps any [`BufRead`] and yields one [`FileDiff`] at a time, so memory is
//! bounded by the largest single file of the diff, never by the whole diff. It understands
//! `git diff` output (extended headers, renames, copies, mode changes, binary files, quoted
//! paths) and plain `diff -u` output (`---`/`+++` pairs without a `diff --git` line).
//!
//! Anything outside a file section (commit messages, `format-patch` signatures, `Only in …`
//! lines of `diff -r`) is ignored. Invalid UTF-8 is replaced lossily; CRLF line ends are
//! stripped. The one hard error is a hunk whose body does not match its header's line counts.

use std::io::BufRead;

use super::model::{ChangeKind, DiffLine, FileDiff, Hunk, LineKind};

/// Why a diff could not be parsed. Every variant names the 1-based diff line it refers to.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot read the diff: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "diff line {line}: malformed hunk header `{text}`; expected `@@ -start,count +start,count @@`"
    )]
    BadHunkHeader { line: u64, text: String },
    #[error(
        "diff line {line}: hunk for `{path}` ends early: its header promised {old_left} more old and \
         {new_left} more new line(s); the diff is truncated or was edited by hand (regenerate it with `git diff`)"
    )]
    HunkMismatch {
        line: u64,
        path: String,
        old_left: u32,
        new_left: u32,
    },
    #[error(
        "diff line {line}: `{path}` has more lines than the hunk header at diff line {header} \
         announces; the diff was edited by hand or is corrupt (regenerate it with `git diff`)"
    )]
    HunkOverflow {
        line: u64,
        path: String,
        header: u64,
    },
}

impl DiffError {
    /// The 1-based diff line the error refers to, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            DiffError::Io(_) => None,
            DiffError::BadHunkHeader { line, .. }
            | DiffError::HunkMismatch { line, .. }
            | DiffError::HunkOverflow { line, .. } => Some(*line),
        }
    }
}

/// One line of a hunk body, read with [`DiffParser::next_hunk_line`].
struct HunkLine {
    /// The first byte: `+`, `-`, ` ` or `\\`; `None` for an empty line.
    marker: Option<u8>,
    text: String,
    number: u64,
}

impl HunkLine {
    /// Line `number` of the diff, `bytes` without its terminator.
    fn of(bytes: &[u8], number: u64) -> HunkLine {
        HunkLine {
            marker: bytes.first().copied(),
            text: text_of(bytes.get(1..).unwrap_or_default()),
            number,
        }
    }
}

/// One line read from the input, without its terminator.
struct RawLine {
    bytes: Vec<u8>,
    number: u64,
}

/// Streaming parser: an iterator of `Result<FileDiff, DiffError>`. After the first error it
/// yields nothing more.
pub struct DiffParser<R> {
    reader: R,
    peeked: Option<RawLine>,
    line_no: u64,
    bytes_read: u64,
    failed: bool,
    buf: Vec<u8>,
    ignored_lines: u64,
}

impl<R: BufRead> DiffParser<R> {
    pub fn new(reader: R) -> Self {
        DiffParser {
            reader,
            peeked: None,
            line_no: 0,
            bytes_read: 0,
            failed: false,
            buf: Vec::with_capacity(256),
            ignored_lines: 0,
        }
    }

    /// Non-blank lines outside any file section (commit messages, signatures, `Only in …`).
    /// Input with such lines and no file at all is probably not a diff.
    pub fn ignored_lines(&self) -> u64 {
        self.ignored_lines
    }

    /// Bytes of diff consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Read the next line and hand it to `take` without its terminator (`\n`, and a `\r`
    /// before it): straight out of the reader's buffer when the line is whole in it, which is
    /// almost always, so a line is copied once, by `take`. `None` at the end of the input.
    fn read_with<T>(&mut self, take: impl FnOnce(&[u8]) -> T) -> Result<Option<T>, DiffError> {
        let available = self.reader.fill_buf()?;
        if available.is_empty() {
            return Ok(None);
        }
        let (out, consumed) = match memchr::memchr(b'\n', available) {
            Some(i) => (take(strip_terminator(&available[..=i])), i + 1),
            None => {
                // The line runs past the buffer: gather it in `buf`.
                self.buf.clear();
                self.buf.extend_from_slice(available);
                let mut n = available.len();
                self.reader.consume(n);
                loop {
                    let more = self.reader.fill_buf()?;
                    if more.is_empty() {
                        break;
                    }
                    match memchr::memchr(b'\n', more) {
                        Some(i) => {
                            self.buf.extend_from_slice(&more[..=i]);
                            self.reader.consume(i + 1);
                            n += i + 1;
                            break;
                        }
                        None => {
                            let len = more.len();
                            self.buf.extend_from_slice(more);
                            self.reader.consume(len);
                            n += len;
                        }
                    }
                }
                self.bytes_read += n as u64;
                self.line_no += 1;
                return Ok(Some(take(strip_terminator(&self.buf))));
            }
        };
        self.reader.consume(consumed);
        self.bytes_read += consumed as u64;
        self.line_no += 1;
        Ok(Some(out))
    }

    fn read_raw(&mut self) -> Result<Option<RawLine>, DiffError> {
        let number = self.line_no + 1;
        self.read_with(|bytes| RawLine {
            bytes: bytes.to_vec(),
            number,
        })
    }

    /// The next line of a hunk body: its first byte (the marker) and the text after it.
    fn next_hunk_line(&mut self) -> Result<Option<HunkLine>, DiffError> {
        if let Some(line) = self.peeked.take() {
            return Ok(Some(HunkLine::of(&line.bytes, line.number)));
        }
        let number = self.line_no + 1;
        self.read_with(|bytes| HunkLine::of(bytes, number))
    }

    fn next_line(&mut self) -> Result<Option<RawLine>, DiffError> {
        if let Some(line) = self.peeked.take() {
            return Ok(Some(line));
        }
        self.read_raw()
    }

    fn peek(&mut self) -> Result<Option<&RawLine>, DiffError> {
        if self.peeked.is_none() {
            self.peeked = self.read_raw()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn push_back(&mut self, line: RawLine) {
        debug_assert!(self.peeked.is_none());
        self.peeked = Some(line);
    }

    /// Find the start of the next file section and parse it.
    fn parse_next(&mut self) -> Result<Option<FileDiff>, DiffError> {
        loop {
            let Some(line) = self.next_line()? else {
                return Ok(None);
            };
            if line.bytes.starts_with(b"diff --git ") {
                return self.parse_git_file(&line).map(Some);
            }
            if line.bytes.starts_with(b"--- ") {
                let plus = matches!(self.peek()?, Some(next) if next.bytes.starts_with(b"+++ "));
                if plus {
                    let plus_line = self.next_line()?.expect("peeked");
                    let mut file = FileDiff {
                        old_path: None,
                        new_path: None,
                        kind: ChangeKind::Modified,
                        binary: false,
                        mode_change: None,
                        hunks: Vec::new(),
                    };
                    let (old, new) = header_paths(&line.bytes[4..], &plus_line.bytes[4..]);
                    file.old_path = old;
                    file.new_path = new;
                    file.kind = match (&file.old_path, &file.new_path) {
                        (None, Some(_)) => ChangeKind::Added,
                        (Some(_), None) => ChangeKind::Deleted,
                        _ => ChangeKind::Modified,
                    };
                    self.parse_hunks(&mut file)?;
                    return Ok(Some(file));
                }
            }
            // Anything else outside a file section is preamble: ignore it.
            if line.bytes.iter().any(|b| !b.is_ascii_whitespace()) {
                self.ignored_lines += 1;
            }
        }
    }

    fn parse_git_file(&mut self, header: &RawLine) -> Result<FileDiff, DiffError> {
        let (mut old_path, mut new_path) = git_header_paths(&header.bytes[11..]);
        let mut kind = ChangeKind::Modified;
        let mut binary = false;
        let mut old_mode = None;
        let mut new_mode = None;
        let mut has_minus_header = false;
        while let Some(line) = self.next_line()? {
            let b = &line.bytes[..];
            if b.starts_with(b"diff --git ") {
                self.push_back(line);
                break;
            } else if let Some(rest) = b.strip_prefix(b"old mode ") {
                old_mode = Some(lossy(rest));
            } else if let Some(rest) = b.strip_prefix(b"new mode ") {
                new_mode = Some(lossy(rest));
            } else if b.starts_with(b"new file mode ") {
                kind = ChangeKind::Added;
            } else if b.starts_with(b"deleted file mode ") {
                kind = ChangeKind::Deleted;
            } else if let Some(rest) = b.strip_prefix(b"rename from ") {
                kind = ChangeKind::Renamed;
                old_path = Some(unquote(rest));
            } else if let Some(rest) = b.strip_prefix(b"rename to ") {
                kind = ChangeKind::Renamed;
                new_path = Some(unquote(rest));
            } else if let Some(rest) = b.strip_prefix(b"copy from ") {
                kind = ChangeKind::Copied;
                old_path = Some(unquote(rest));
            } else if let Some(rest) = b.strip_prefix(b"copy to ") {
                kind = ChangeKind::Copied;
                new_path = Some(unquote(rest));
            } else if b.starts_with(b"Binary files ") {
                binary = true;
            } else if b == b"GIT binary patch" {
                binary = true;
                self.skip_binary_patch()?;
                break;
            } else if b.starts_with(b"--- ") {
                let next_is_plus =
                    matches!(self.peek()?, Some(next) if next.bytes.starts_with(b"+++ "));
                if next_is_plus {
                    let plus = self.next_line()?.expect("peeked");
                    let (old, new) = header_paths(&b[4..], &plus.bytes[4..]);
                    // `---`/`+++` are authoritative for additions and deletions.
                    if old.is_none() {
                        kind = ChangeKind::Added;
                    }
                    if new.is_none() {
                        kind = ChangeKind::Deleted;
                    }
                    if old.is_some() {
                        old_path = old;
                    }
                    if new.is_some() {
                        new_path = new;
                    }
                    has_minus_header = true;
                    break;
                }
            } else if b.starts_with(b"@@ ") {
                self.push_back(line);
                break;
            }
            // similarity index, index, dissimilarity index and unknown headers: ignored.
        }
        match kind {
            ChangeKind::Added => old_path = None,
            ChangeKind::Deleted => new_path = None,
            _ => {}
        }
        let mode_change = match (old_mode, new_mode) {
            (Some(o), Some(n)) => Some((o, n)),
            _ => None,
        };
        let mut file = FileDiff {
            old_path,
            new_path,
            kind,
            binary,
            mode_change,
            hunks: Vec::new(),
        };
        if has_minus_header || matches!(self.peek()?, Some(l) if l.bytes.starts_with(b"@@ ")) {
            self.parse_hunks(&mut file)?;
        }
        Ok(file)
    }

    /// Skip the base85 body of a `GIT binary patch` up to the next file section.
    fn skip_binary_patch(&mut self) -> Result<(), DiffError> {
        while let Some(line) = self.next_line()? {
            if line.bytes.starts_with(b"diff --git ") {
                self.push_back(line);
                break;
            }
        }
        Ok(())
    }

    /// Parse consecutive hunks; stops (without consuming) at the first line that does not
    /// start a hunk.
    fn parse_hunks(&mut self, file: &mut FileDiff) -> Result<(), DiffError> {
        loop {
            let starts_hunk = matches!(self.peek()?, Some(l) if l.bytes.starts_with(b"@@ "));
            if !starts_hunk {
                return Ok(());
            }
            let header = self.next_line()?.expect("peeked");
            let (old_start, old_len, new_start, new_len) = parse_hunk_header(&header.bytes)
                .ok_or_else(|| DiffError::BadHunkHeader {
                    line: header.number,
                    text: truncate(&lossy(&header.bytes), 120),
                })?;
            let mut hunk = Hunk {
                old_start,
                old_len,
                new_start,
                new_len,
                lines: Vec::new(),
            };
            let (mut old_left, mut new_left) = (old_len, new_len);
            let (mut old_no, mut new_no) = (old_start, new_start);
            while old_left > 0 || new_left > 0 {
                let line = self.next_hunk_line()?;
                let mismatch =
                    |number: u64, old_left: u32, new_left: u32| DiffError::HunkMismatch {
                        line: number,
                        path: file.path().to_string(),
                        old_left,
                        new_left,
                    };
                let Some(line) = line else {
                    return Err(mismatch(self.line_no + 1, old_left, new_left));
                };
                let kind = match line.marker {
                    Some(b'+') if new_left > 0 => LineKind::Added,
                    Some(b'-') if old_left > 0 => LineKind::Removed,
                    Some(b' ') if old_left > 0 && new_left > 0 => LineKind::Context,
                    // Some tools strip the space of empty context lines.
                    None if old_left > 0 && new_left > 0 => LineKind::Context,
                    Some(b'\\') => continue,
                    _ => return Err(mismatch(line.number, old_left, new_left)),
                };
                let text = line.text;
                let diff_line = match kind {
                    LineKind::Added => {
                        new_left -= 1;
                        new_no += 1;
                        DiffLine {
                            kind,
                            new_line: Some(new_no - 1),
                            old_line: None,
                            text,
                        }
                    }
                    LineKind::Removed => {
                        old_left -= 1;
                        old_no += 1;
                        DiffLine {
                            kind,
                            new_line: None,
                            old_line: Some(old_no - 1),
                            text,
                        }
                    }
                    LineKind::Context => {
                        old_left -= 1;
                        new_left -= 1;
                        old_no += 1;
                        new_no += 1;
                        DiffLine {
                            kind,
                            new_line: Some(new_no - 1),
                            old_line: Some(old_no - 1),
                            text,
                        }
                    }
                };
                hunk.lines.push(diff_line);
            }
            // A trailing `\ No newline at end of file` belongs to this hunk.
            if matches!(self.peek()?, Some(l) if l.bytes.starts_with(b"\\")) {
                self.next_line()?;
            }
            // An added line right after a complete hunk means the header under-counted.
            if let Some(l) = self.peek()?
                && l.bytes.first() == Some(&b'+')
                && !l.bytes.starts_with(b"+++ ")
            {
                return Err(DiffError::HunkOverflow {
                    line: l.number,
                    path: file.path().to_string(),
                    header: header.number,
                });
            }
            file.hunks.push(hunk);
        }
    }
}

impl<R: BufRead> Iterator for DiffParser<R> {
    type Item = Result<FileDiff, DiffError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.parse_next() {
            Ok(Some(file)) => Some(Ok(file)),
            Ok(None) => None,
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}

/// Parse a whole diff held in memory (tests and small inputs).
pub fn parse_str(diff: &str) -> Result<Vec<FileDiff>, DiffError> {
    DiffParser::new(diff.as_bytes()).collect()
}

/// A line's bytes without its `\n` and one `\r` before it (CRLF files).
fn strip_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The text of a hunk line after its marker: one copy, lossy for invalid UTF-8.
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// `@@ -a[,b] +c[,d] @@ …` → (a, b, c, d). A missing count means 1.
fn parse_hunk_header(line: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let text = std::str::from_utf8(line.get(3..)?).ok()?;
    let end = text.find(" @@")?;
    let mut parts = text[..end].split(' ');
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    if parts.next().is_some() {
        return None;
    }
    fn range(r: &str) -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((s, l)) => Some((s.parse().ok()?, l.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    }
    let (a, b) = range(old)?;
    let (c, d) = range(new)?;
    Some((a, b, c, d))
}

/// Decode a possibly C-quoted path (`"a/caf\303\251.txt"`) into a string.
pub fn unquote(raw: &[u8]) -> String {
    let raw = trim_trailing_tab(raw);
    if raw.len() < 2 || raw[0] != b'"' || raw[raw.len() - 1] != b'"' {
        return lossy(raw);
    }
    let inner = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c != b'\\' || i + 1 >= inner.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = inner[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value: u32 = u32::from(e - b'0');
                let mut digits = 1;
                while digits < 3 && i < inner.len() && (b'0'..=b'7').contains(&inner[i]) {
                    value = value * 8 + u32::from(inner[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push((value & 0xff) as u8);
            }
            other => out.push(other),
        }
    }
    lossy(&out)
}

/// `diff -u` puts a tab and a timestamp after the path; git puts a tab after paths with spaces.
fn trim_trailing_tab(raw: &[u8]) -> &[u8] {
    if raw.first() == Some(&b'"') {
        // Quoted: the path ends at the closing quote.
        let mut i = 1;
        while i < raw.len() {
            match raw[i] {
                b'\\' => i += 2,
                b'"' => return &raw[..=i],
                _ => i += 1,
            }
        }
        return raw;
    }
    match raw.iter().position(|&b| b == b'\t') {
        Some(pos) => &raw[..pos],
        None => raw,
    }
}

fn strip_side_prefix(path: String, prefix: &str) -> String {
    match path.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => path,
    }
}

/// Paths from a `---`/`+++` pair; `/dev/null` means "no file on this side".
fn header_paths(minus: &[u8], plus: &[u8]) -> (Option<String>, Option<String>) {
    let old = unquote(minus);
    let new = unquote(plus);
    let old_git = old.starts_with("a/") || old == "/dev/null";
    let new_git = new.starts_with("b/") || new == "/dev/null";
    let strip = old_git && new_git;
    let side = |p: String, prefix: &str| -> Option<String> {
        if p == "/dev/null" {
            None
        } else if strip {
            Some(strip_side_prefix(p, prefix))
        } else {
            Some(p)
        }
    };
    (side(old, "a/"), side(new, "b/"))
}

/// Paths from the rest of a `diff --git ` line: `a/x b/y`, possibly quoted. Ambiguous when
/// unquoted paths contain spaces; the extended headers and `---`/`+++` lines override it.
fn git_header_paths(rest: &[u8]) -> (Option<String>, Option<String>) {
    if rest.first() == Some(&b'"') {
        let first = trim_trailing_tab(rest);
        let old = unquote(first);
        let remainder = rest[first.len()..].strip_prefix(b" ").unwrap_or(&[]);
        let new = unquote(remainder);
        return (
            Some(strip_side_prefix(old, "a/")),
            Some(strip_side_prefix(new, "b/")),
        );
    }
    if rest.last() == Some(&b'"')
        && let Some(pos) = find(rest, b" \"")
    {
        let old = lossy(&rest[..pos]);
        let new = unquote(&rest[pos + 1..]);
        return (
            Some(strip_side_prefix(old, "a/")),
            Some(strip_side_prefix(new, "b/")),
        );
    }
    let text = lossy(rest);
    // Same path on both sides: split in the middle.
    if text.len() % 2 == 1 {
        let half = text.len() / 2;
        if text.is_char_boundary(half) && text.is_char_boundary(half + 1) {
            let (a, b) = (&text[..half], &text[half + 1..]);
            if a.strip_prefix("a/").is_some() && b.strip_prefix("b/") == a.strip_prefix("a/") {
                return (
                    Some(strip_side_prefix(a.to_string(), "a/")),
                    Some(strip_side_prefix(b.to_string(), "b/")),
                );
            }
        }
    }
    match text.find(" b/") {
        Some(pos) => (
            Some(strip_side_prefix(text[..pos].to_string(), "a/")),
            Some(strip_side_prefix(text[pos + 1..].to_string(), "b/")),
        ),
        None => (None, None),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_lines_keep_their_text_and_numbers_at_every_line_end() {
        // CRLF, an empty context line with and without its space, a line with no newline at
        // the end of the input, and a marker line (`\ No newline`).
        let diff = "--- a/x\r\n+++ b/x\r\n@@ -1,4 +1,6 @@\r\n a\r\n\r\n \n-b\r\n+c\r\n+\r\n\\ No newline at end of file\n+d";
        let files = parse_str(diff).unwrap();
        let lines: Vec<(LineKind, &str)> = files[0].hunks[0]
            .lines
            .iter()
            .map(|l| (l.kind, l.text.as_str()))
            .collect();
        use LineKind::*;
        assert_eq!(
            lines,
            [
                (Context, "a"),
                (Context, ""),
                (Context, ""),
                (Removed, "b"),
                (Added, "c"),
                (Added, ""),
                (Added, "d")
            ]
        );
        let added: Vec<u32> = files[0].added_lines().map(|(n, _)| n).collect();
        assert_eq!(added, [4, 5, 6]);
    }

    /// Lines that run past the reader's buffer (every line, with a buffer of a few bytes) are
    /// read exactly like lines whole in it: same files, texts, byte count and error lines.
    #[test]
    fn lines_longer_than_the_read_buffer_parse_the_same() {
        let long = "x".repeat(300);
        let diffs = [
            format!(
                "commit 1\n\ndiff --git a/a.py b/a.py\r\n--- a/a.py\r\n+++ b/a.py\r\n@@ -1,3 +1,5 @@\r\n a\r\n\r\n-{long}\r\n+{long}\n+bé\r\r\n\\ No newline at end of file\n+\r"
            ),
            "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n+b\n".to_string(),
            format!("--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n\r{long}\n"),
        ];
        let mut invalid = b"--- a/x\n+++ b/x\n@@ -0,0 +1,1 @@\n+ok \xff\xfe end\n".to_vec();
        invalid.extend_from_slice(format!("not a diff line {long}").as_bytes());
        let mut inputs: Vec<Vec<u8>> = diffs.iter().map(|d| d.clone().into_bytes()).collect();
        inputs.push(invalid);
        for input in &inputs {
            let whole: Vec<_> = DiffParser::new(&input[..])
                .map(|r| r.map_err(|e| e.to_string()))
                .collect();
            let mut reference = DiffParser::new(&input[..]);
            reference.by_ref().for_each(drop);
            for capacity in [1, 2, 3, 5, 8, 64] {
                let reader = std::io::BufReader::with_capacity(capacity, &input[..]);
                let mut parser = DiffParser::new(reader);
                let pieces: Vec<_> = parser
                    .by_ref()
                    .map(|r| r.map_err(|e| e.to_string()))
                    .collect();
                assert_eq!(pieces, whole, "capacity {capacity}");
                assert_eq!(parser.bytes_read(), reference.bytes_read());
                assert_eq!(parser.ignored_lines(), reference.ignored_lines());
            }
        }
        let files = parse_str(&diffs[0]).unwrap();
        let texts: Vec<&str> = files[0].hunks[0]
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(texts, ["a", "", &long, &long, "bé\r", ""]);
        assert!(parse_str(&diffs[1]).is_err());
        let invalid = DiffParser::new(&inputs[3][..]).next().unwrap().unwrap();
        assert_eq!(invalid.hunks[0].lines[0].text, "ok \u{fffd}\u{fffd} end");
    }

    #[test]
    fn a_hunk_line_starting_with_a_carriage_return_is_malformed() {
        let diff = "--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n\rx\n";
        assert!(matches!(
            parse_str(diff),
            Err(DiffError::HunkMismatch { line: 4, .. })
        ));
    }

    #[test]
    fn parses_a_simple_modification() {
        let diff = "diff --git a/src/a.rs b/src/a.rs\nindex 1..2 100644\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n-fn c() {}\n+fn d() {}\n";
        let files = parse_str(diff).unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.kind, ChangeKind::Modified);
        assert_eq!(f.path(), "src/a.rs");
        let added: Vec<_> = f.added_lines().collect();
        assert_eq!(added, vec![(2, "fn b() {}"), (3, "fn d() {}")]);
    }

    #[test]
    fn hunk_header_without_counts() {
        assert_eq!(parse_hunk_header(b"@@ -1 +1 @@"), Some((1, 1, 1, 1)));
        assert_eq!(
            parse_hunk_header(b"@@ -0,0 +1,5 @@ fn x()"),
            Some((0, 0, 1, 5))
        );
        assert_eq!(parse_hunk_header(b"@@ -x +1 @@"), None);
    }

    #[test]
    fn unquotes_octal_escapes() {
        assert_eq!(
            unquote(b"\"a/caf\\303\\251 \\\"x\\\".txt\""),
            "a/café \"x\".txt"
        );
        assert_eq!(unquote(b"plain.txt\t2024-01-01"), "plain.txt");
    }

    #[test]
    fn git_header_same_path_with_spaces() {
        let (a, b) = git_header_paths(b"a/my file.txt b/my file.txt");
        assert_eq!(a.as_deref(), Some("my file.txt"));
        assert_eq!(b.as_deref(), Some("my file.txt"));
    }
}
