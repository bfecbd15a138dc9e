//! Diff parser: real fixture diffs with every edge case, errors with line numbers, and
//! property tests that the parser never panics on arbitrary or mutated input.

use factory::preflight::diff::{ChangeKind, DiffError, DiffParser, FileDiff, LineKind, parse_str};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("tests/fixtures/preflight/{name}")).unwrap()
}

fn parse_bytes(bytes: &[u8]) -> Result<Vec<FileDiff>, DiffError> {
    DiffParser::new(bytes).collect()
}

#[test]
fn edge_cases_fixture() {
    let files = parse_bytes(&fixture("edge-cases.diff")).unwrap();
    let summary: Vec<(ChangeKind, Option<&str>, Option<&str>, bool)> = files
        .iter()
        .map(|f| {
            (
                f.kind,
                f.old_path.as_deref(),
                f.new_path.as_deref(),
                f.binary,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                ChangeKind::Modified,
                Some("src/lib.rs"),
                Some("src/lib.rs"),
                false
            ),
            (
                ChangeKind::Renamed,
                Some("old name.txt"),
                Some("new name.txt"),
                false
            ),
            (
                ChangeKind::Copied,
                Some("docs/copy.md"),
                Some("docs/copy2.md"),
                false
            ),
            (ChangeKind::Deleted, Some("gone.txt"), None, false),
            (
                ChangeKind::Modified,
                Some("script.sh"),
                Some("script.sh"),
                false
            ),
            (ChangeKind::Added, None, Some("img.png"), true),
            (
                ChangeKind::Modified,
                Some("blob.bin"),
                Some("blob.bin"),
                true
            ),
            (ChangeKind::Added, None, Some("café \"q\".txt"), false),
        ]
    );
    let lib = &files[0];
    assert_eq!(lib.hunks.len(), 2);
    assert_eq!(
        lib.added_lines().collect::<Vec<_>>(),
        vec![
            (2, "fn two() -> u8 { 2 }"),
            (3, "fn three() {}"),
            (12, "fn eleven() { }")
        ]
    );
    // Context lines carry both line numbers.
    let ctx = &lib.hunks[1].lines[0];
    assert_eq!(
        (ctx.kind, ctx.old_line, ctx.new_line),
        (LineKind::Context, Some(10), Some(11))
    );
    assert_eq!(files[3].hunks[0].lines.len(), 2);
    assert_eq!(files[3].added_lines().count(), 0);
    assert_eq!(
        files[4].mode_change,
        Some(("100644".into(), "100755".into()))
    );
    assert_eq!(
        files[1].touched_paths().collect::<Vec<_>>(),
        vec!["old name.txt", "new name.txt"]
    );
    assert_eq!(
        files[7].added_lines().collect::<Vec<_>>(),
        vec![(1, "first"), (2, "second")]
    );
}

#[test]
fn crlf_and_invalid_utf8_are_handled_lossily() {
    let files = parse_bytes(&fixture("crlf-invalid-utf8.diff")).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path(), "win.txt");
    let added: Vec<_> = files[0].added_lines().collect();
    assert_eq!(added[0], (1, "new"));
    assert_eq!(added[1].0, 2);
    assert!(added[1].1.starts_with("bad "));
    assert!(added[1].1.contains('\u{FFFD}'));
    assert!(!added[1].1.ends_with('\r'));
}

#[test]
fn plain_diff_u_without_git_headers() {
    let files = parse_bytes(&fixture("plain-unified.diff")).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].path(), "config.ini");
    assert_eq!(files[0].kind, ChangeKind::Modified);
    assert_eq!(
        files[0].added_lines().collect::<Vec<_>>(),
        vec![(2, "debug = false")]
    );
    assert_eq!(files[1].kind, ChangeKind::Added);
    assert_eq!(files[1].path(), "newfile.txt");
}

#[test]
fn truncated_hunk_names_the_line() {
    let err = parse_bytes(&fixture("truncated-hunk.diff")).unwrap_err();
    assert_eq!(err.line(), Some(8));
    let msg = err.to_string();
    assert!(msg.contains("diff line 8"), "{msg}");
    assert!(msg.contains("a.txt"), "{msg}");
}

#[test]
fn hunk_with_extra_lines_is_an_error() {
    let err = parse_bytes(&fixture("overlong-hunk.diff")).unwrap_err();
    assert_eq!(err.line(), Some(7));
    assert!(err.to_string().contains("diff line 7"));
}

#[test]
fn bad_hunk_header_is_an_error() {
    let err = parse_str("--- a/x\n+++ b/x\n@@ -1,x +1 @@\n-a\n+b\n").unwrap_err();
    assert!(
        matches!(err, DiffError::BadHunkHeader { line: 3, .. }),
        "{err}"
    );
}

#[test]
fn very_long_lines_survive() {
    let long = "x".repeat(2_000_000);
    let diff = format!("--- a/big.txt\n+++ b/big.txt\n@@ -0,0 +1 @@\n+{long}\n");
    let files = parse_str(&diff).unwrap();
    assert_eq!(files[0].added_lines().next().unwrap().1.len(), 2_000_000);
}

#[test]
fn streams_one_file_at_a_time() {
    // The iterator yields the first file before the reader reaches the second one's error.
    let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/y\n+++ b/y\n@@ -1,5 +1,5 @@\n-a\n";
    let mut parser = DiffParser::new(diff.as_bytes());
    let first = parser.next().unwrap().unwrap();
    assert_eq!(first.path(), "x");
    assert!(parser.bytes_read() < diff.len() as u64);
    assert!(parser.next().unwrap().is_err());
    assert!(parser.next().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn never_panics_on_diff_like_lines(lines in proptest::collection::vec(
        prop_oneof![
            Just("diff --git a/x b/x".to_string()),
            Just("--- a/x".to_string()),
            Just("+++ b/x".to_string()),
            Just("--- /dev/null".to_string()),
            Just("GIT binary patch".to_string()),
            Just("rename from \"q\\303".to_string()),
            Just("\\ No newline at end of file".to_string()),
            "@@ -[0-9]{1,3},[0-9]{1,2} \\+[0-9]{1,3},[0-9]{1,2} @@".prop_map(|s| s),
            "[ +-][a-z]{0,10}".prop_map(|s| s),
            ".{0,20}".prop_map(|s| s),
        ], 0..60)) {
        let _ = parse_str(&lines.join("\n"));
    }

    #[test]
    fn never_panics_on_mutated_real_diffs(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..20)
    ) {
        let mut bytes = fixture("edge-cases.diff");
        for (idx, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = idx.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        let _ = parse_bytes(&bytes);
    }
}

/// Build a diff of one file from hunk operations and return it with the expected added lines.
fn build_diff(hunks: &[(u32, Vec<(u8, String)>)]) -> (String, Vec<(u32, String)>) {
    let mut diff = String::from("diff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n");
    let mut expected = Vec::new();
    let (mut old_pos, mut new_pos) = (1u32, 1u32);
    for (gap, ops) in hunks {
        old_pos += gap;
        new_pos += gap;
        let old_len = ops.iter().filter(|(k, _)| *k != 1).count() as u32;
        let new_len = ops.iter().filter(|(k, _)| *k != 2).count() as u32;
        diff.push_str(&format!(
            "@@ -{old_pos},{old_len} +{new_pos},{new_len} @@\n"
        ));
        let mut n = new_pos;
        for (kind, text) in ops {
            match kind {
                0 => {
                    diff.push_str(&format!(" {text}\n"));
                    n += 1;
                }
                1 => {
                    diff.push_str(&format!("+{text}\n"));
                    expected.push((n, text.clone()));
                    n += 1;
                }
                _ => diff.push_str(&format!("-{text}\n")),
            }
        }
        old_pos += old_len;
        new_pos += new_len;
    }
    (diff, expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any well-formed diff the parser reports exactly the added lines with their
    /// new-file line numbers.
    #[test]
    fn added_line_numbers_are_exact(
        hunks in proptest::collection::vec(
            (0u32..50, proptest::collection::vec((0u8..3, "[ -~]{0,30}"), 1..20)),
            1..6
        ),
        crlf in any::<bool>(),
    ) {
        let (diff, expected) = build_diff(&hunks);
        let diff = if crlf { diff.replace('\n', "\r\n") } else { diff };
        let files = parse_str(&diff).unwrap();
        prop_assert_eq!(files.len(), 1);
        let got: Vec<(u32, String)> = files[0]
            .added_lines()
            .map(|(n, t)| (n, t.to_string()))
            .collect();
        prop_assert_eq!(got, expected);
    }
}
