//! Types for one file's changes in a unified diff.

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
}

/// What a line of a hunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `+` lines: the only lines secret, pattern and dependency rules judge.
    Added,
    /// `-` lines: never produce findings.
    Removed,
    /// ` ` lines: context, never produce findings; rules may read them for context.
    Context,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    /// 1-based line number in the new file (added and context lines), `None` for removed lines.
    pub new_line: Option<u32>,
    /// 1-based line number in the old file (removed and context lines), `None` for added lines.
    pub old_line: Option<u32>,
    /// The line without its leading marker and without the line terminator (a trailing `\r`
    /// from CRLF files is removed too). Invalid UTF-8 is replaced lossily.
    pub text: String,
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    pub lines: Vec<DiffLine>,
}

/// Everything the diff says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Path before the change (`None` for an added file).
    pub old_path: Option<String>,
    /// Path after the change (`None` for a deleted file).
    pub new_path: Option<String>,
    pub kind: ChangeKind,
    /// Binary files carry no hunks; rules skip them and the report notes them.
    pub binary: bool,
    /// `old mode`/`new mode` changes, e.g. `("100644", "100755")`.
    pub mode_change: Option<(String, String)>,
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The diff of a new file at `path` whose every line is added: what a rule sees for a file
    /// created by a change. Used for rule examples, corpora and tests.
    pub fn new_file(path: &str, text: &str) -> FileDiff {
        let lines: Vec<DiffLine> = text
            .lines()
            .enumerate()
            .map(|(i, l)| DiffLine {
                kind: LineKind::Added,
                new_line: Some(i as u32 + 1),
                old_line: None,
                text: l.to_string(),
            })
            .collect();
        FileDiff {
            old_path: None,
            new_path: Some(path.to_string()),
            kind: ChangeKind::Added,
            binary: false,
            mode_change: None,
            hunks: vec![Hunk {
                old_start: 0,
                old_len: 0,
                new_start: 1,
                new_len: lines.len() as u32,
                lines,
            }],
        }
    }

    /// The path findings are reported against: the new path, or the old one for a deletion.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }

    /// Every path this change touches (both sides of a rename or copy), for the scope rule.
    pub fn touched_paths(&self) -> impl Iterator<Item = &str> {
        let old = self.old_path.as_deref();
        let new = self.new_path.as_deref();
        let old = if old == new { None } else { old };
        old.into_iter().chain(new)
    }

    /// Added lines with their new-file line numbers: what most rules judge.
    pub fn added_lines(&self) -> impl Iterator<Item = (u32, &str)> {
        self.hunks.iter().flat_map(|h| {
            h.lines.iter().filter_map(|l| match (l.kind, l.new_line) {
                (LineKind::Added, Some(n)) => Some((n, l.text.as_str())),
                _ => None,
            })
        })
    }

    /// The lower-cased file extension of the path, if any (`"py"`, `"rs"`, `"yml"`).
    pub fn extension(&self) -> Option<String> {
        let path = self.path();
        let name = path.rsplit('/').next().unwrap_or(path);
        let (stem, ext) = name.rsplit_once('.')?;
        if stem.is_empty() {
            return None;
        }
        Some(ext.to_ascii_lowercase())
    }
}
