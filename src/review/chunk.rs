//! Large diffs: the reviewer receives the diff in chunks of at most `limits.review_chunk_bytes`
//! bytes, one agent call each, at most `limits.review_max_chunks` calls. Files go in by priority
//! (security-relevant first, then the files in scope, then the rest, tests and docs last); a
//! file larger than a chunk is split between its hunks. A file with a hunk larger than a chunk,
//! or one that no longer fits once every chunk is used, is not covered: the review lists it and
//! cannot approve (docs/review.md).

use serde_json::{Value, json};

use crate::preflight::diff::parse_str;

/// One file's part of a unified diff, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub path: String,
    pub text: String,
}

/// Split a unified diff into one section per file, in diff order. Text before the first file
/// header (a commit message) is dropped.
pub fn split(diff: &str) -> Vec<Section> {
    let git_headers = diff.lines().any(|l| l.starts_with("diff --git "));
    let mut texts: Vec<String> = Vec::new();
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut started = false;
    for (i, raw) in lines.iter().enumerate() {
        let starts = if git_headers {
            raw.starts_with("diff --git ")
        } else {
            raw.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
        };
        if starts {
            texts.push(String::new());
            started = true;
        }
        if started && let Some(t) = texts.last_mut() {
            t.push_str(raw);
        }
    }
    texts
        .into_iter()
        .map(|text| {
            let path = parse_str(&text)
                .ok()
                .and_then(|f| f.first().map(|f| f.path().to_string()))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| header_path(&text));
            Section { path, text }
        })
        .collect()
}

/// The new path of a `diff --git a/x b/y` header, for a section the parser cannot read.
fn header_path(text: &str) -> String {
    text.lines()
        .next()
        .and_then(|l| l.rsplit_once(" b/"))
        .map(|(_, p)| p.trim().to_string())
        .unwrap_or_default()
}

/// How urgently a file needs review: 0 security-relevant (or flagged by the machine checks),
/// 1 in the scope, 2 other code, 3 tests and docs.
pub fn rank(path: &str, flagged: bool, in_scope: bool) -> u8 {
    let p = path.to_ascii_lowercase();
    if flagged {
        return 0;
    }
    let name = p.rsplit('/').next().unwrap_or(&p);
    let test_or_doc = p.starts_with("docs/")
        || p.starts_with("doc/")
        || p.contains("/docs/")
        || p.starts_with("test/")
        || p.starts_with("tests/")
        || p.contains("/test/")
        || p.contains("/tests/")
        || p.contains("__tests__/")
        || p.contains("/spec/")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains("_spec.")
        || name.contains(".spec.")
        || name.starts_with("test_")
        || [".md", ".rst", ".txt", ".adoc"]
            .iter()
            .any(|e| name.ends_with(e));
    if test_or_doc {
        return 3;
    }
    const SECURITY: [&str; 22] = [
        "auth",
        "login",
        "passw",
        "secret",
        "token",
        "crypt",
        "cipher",
        "session",
        "permission",
        "acl",
        "oauth",
        "jwt",
        "csrf",
        "saniti",
        "security",
        "credential",
        ".github/workflows/",
        "dockerfile",
        "migration",
        ".sql",
        ".env",
        "iam",
    ];
    if SECURITY.iter().any(|w| p.contains(w)) {
        0
    } else if in_scope {
        1
    } else {
        2
    }
}

/// The chunks a diff is reviewed in, and what they leave out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Each chunk's files, highest priority first.
    pub chunks: Vec<Vec<Section>>,
    /// Files not covered and why.
    pub not_covered: Vec<(String, &'static str)>,
    pub files_total: usize,
}

impl Plan {
    pub fn complete(&self) -> bool {
        self.not_covered.is_empty()
    }

    pub fn files_reviewed(&self) -> usize {
        self.files_total - self.not_covered.len()
    }

    /// The chunk's diff text.
    pub fn text(chunk: &[Section]) -> String {
        chunk.iter().map(|s| s.text.as_str()).collect()
    }

    /// The coverage as the review artifact records it.
    pub fn coverage(&self, chunk_bytes: usize) -> Value {
        json!({
            "complete": self.complete(),
            "files_total": self.files_total,
            "files_reviewed": self.files_reviewed(),
            "chunks": self.chunks.len(),
            "chunk_bytes": chunk_bytes,
            "not_covered": self.not_covered.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            "not_covered_reasons": self.not_covered.iter().map(|(p, why)| format!("{p}: {why}")).collect::<Vec<_>>(),
        })
    }
}

/// A file's diff in pieces of at most `budget` bytes: the file header repeated on each, with
/// whole hunks. `None` when one hunk alone is larger than that.
fn pieces(s: &Section, budget: usize) -> Option<Vec<Section>> {
    if s.text.len() <= budget {
        return Some(vec![s.clone()]);
    }
    let at = s.text.find("\n@@ ").map(|i| i + 1)?;
    let (header, body) = s.text.split_at(at);
    let mut hunks: Vec<String> = Vec::new();
    for line in body.split_inclusive('\n') {
        if line.starts_with("@@ ") || hunks.is_empty() {
            hunks.push(String::new());
        }
        if let Some(h) = hunks.last_mut() {
            h.push_str(line);
        }
    }
    let mut out: Vec<Section> = Vec::new();
    for h in hunks {
        if header.len() + h.len() > budget {
            return None;
        }
        match out.last_mut() {
            Some(p) if p.text.len() + h.len() <= budget => p.text.push_str(&h),
            _ => out.push(Section {
                path: s.path.clone(),
                text: format!("{header}{h}"),
            }),
        }
    }
    Some(out)
}

/// Pack `sections` into at most `max_chunks` chunks of at most `chunk_bytes` bytes, by
/// `rank` (lowest first; diff order within a rank), each file into the first chunk it fits. A
/// file larger than a chunk is split between its hunks (each piece repeats the file header) and
/// is covered only if every piece finds room.
pub fn plan(
    sections: Vec<Section>,
    chunk_bytes: usize,
    max_chunks: usize,
    rank: impl Fn(&str) -> u8,
) -> Plan {
    let files_total = sections.len();
    let mut ordered: Vec<(u8, usize, Section)> = sections
        .into_iter()
        .enumerate()
        .map(|(i, s)| (rank(&s.path), i, s))
        .collect();
    ordered.sort_by_key(|(r, i, _)| (*r, *i));
    let mut chunks: Vec<(usize, Vec<Section>)> = Vec::new();
    let mut not_covered = Vec::new();
    for (_, _, s) in ordered {
        let Some(parts) = pieces(&s, chunk_bytes) else {
            not_covered.push((s.path, "a hunk larger than limits.review_chunk_bytes"));
            continue;
        };
        // Place every piece on paper first: a file is reviewed whole or not at all.
        let mut used: Vec<usize> = chunks.iter().map(|(u, _)| *u).collect();
        let mut target = Vec::new();
        for p in &parts {
            let size = p.text.len();
            match used.iter().position(|u| u + size <= chunk_bytes) {
                Some(i) => {
                    used[i] += size;
                    target.push(i);
                }
                None if used.len() < max_chunks => {
                    used.push(size);
                    target.push(used.len() - 1);
                }
                None => break,
            }
        }
        if target.len() < parts.len() {
            not_covered.push((s.path, "past limits.review_max_chunks"));
            continue;
        }
        for (p, i) in parts.into_iter().zip(target) {
            if i == chunks.len() {
                chunks.push((0, Vec::new()));
            }
            chunks[i].0 += p.text.len();
            chunks[i].1.push(p);
        }
    }
    Plan {
        chunks: chunks.into_iter().map(|(_, f)| f).collect(),
        not_covered,
        files_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, lines: usize) -> String {
        let body: String = (0..lines).map(|i| format!("+line {i}\n")).collect();
        format!(
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -0,0 +1,{lines} @@\n{body}"
        )
    }

    #[test]
    fn a_diff_splits_into_one_section_per_file() {
        let diff = format!("{}{}", file("src/a.rs", 2), file("docs/b.md", 1));
        let s = split(&diff);
        assert_eq!(
            s.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
            ["src/a.rs", "docs/b.md"]
        );
        assert_eq!(format!("{}{}", s[0].text, s[1].text), diff);
        // Without git headers, `---`/`+++` pairs start the files.
        let plain = "--- a/x.rs\n+++ b/x.rs\n@@ -1 +1 @@\n-a\n+b\n--- a/y.rs\n+++ b/y.rs\n@@ -1 +1 @@\n-c\n+d\n";
        let s = split(plain);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].path, "y.rs");
    }

    #[test]
    fn security_and_scope_come_first_tests_and_docs_last() {
        assert_eq!(rank("src/auth/login.rs", false, false), 0);
        assert_eq!(rank("src/util.rs", true, false), 0);
        assert_eq!(rank("src/util.rs", false, true), 1);
        assert_eq!(rank("src/util.rs", false, false), 2);
        assert_eq!(rank("tests/auth.rs", false, true), 3);
        assert_eq!(rank("README.md", false, false), 3);
        assert_eq!(rank("src/auth/token.test.ts", false, false), 3);
    }

    #[test]
    fn files_are_packed_by_priority_and_the_rest_is_not_covered() {
        let sections = split(&format!(
            "{}{}{}{}",
            file("docs/guide.md", 3),
            file("src/util.rs", 3),
            file("src/auth.rs", 3),
            file("src/huge.rs", 200)
        ));
        let one = sections[0].text.len();
        let p = plan(sections.clone(), one * 2 + 10, 1, |p| rank(p, false, false));
        let first: Vec<&str> = p.chunks[0].iter().map(|s| s.path.as_str()).collect();
        assert_eq!(first, ["src/auth.rs", "src/util.rs"]);
        assert_eq!(
            p.not_covered,
            vec![
                (
                    "src/huge.rs".to_string(),
                    "a hunk larger than limits.review_chunk_bytes"
                ),
                ("docs/guide.md".to_string(), "past limits.review_max_chunks"),
            ]
        );
        assert_eq!((p.files_total, p.files_reviewed()), (4, 2));
        assert!(!p.complete());
        let all = plan(sections, 1_000_000, 1, |p| rank(p, false, false));
        assert!(all.complete());
        assert_eq!(all.chunks.len(), 1);
    }

    #[test]
    fn a_file_larger_than_a_chunk_is_split_between_its_hunks() {
        let hunk = |start: usize| -> String {
            let body: String = (0..10).map(|i| format!("+line {start} {i}\n")).collect();
            format!("@@ -{start},0 +{start},10 @@\n{body}")
        };
        let header = "diff --git a/src/big.rs b/src/big.rs\n--- a/src/big.rs\n+++ b/src/big.rs\n";
        let text = format!("{header}{}{}{}", hunk(1), hunk(100), hunk(200));
        let budget = header.len() + hunk(200).len() + 10;
        let sections = split(&text);
        let p = plan(sections.clone(), budget, 3, |_| 2);
        assert!(p.complete());
        assert_eq!(p.chunks.len(), 3);
        for c in &p.chunks {
            assert!(c[0].text.starts_with(header) && c[0].text.len() <= budget);
        }
        let joined: String = p
            .chunks
            .iter()
            .map(|c| c[0].text.replace(header, ""))
            .collect();
        assert_eq!(format!("{header}{joined}"), text);
        // Not enough chunks for every piece: the file is not covered, and no piece is sent.
        let p = plan(sections, budget, 2, |_| 2);
        assert_eq!(
            p.not_covered,
            vec![("src/big.rs".to_string(), "past limits.review_max_chunks")]
        );
        assert!(p.chunks.is_empty());
    }
}
