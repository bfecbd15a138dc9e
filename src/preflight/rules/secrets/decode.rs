//! Normalised views of added lines, so a secret split or escaped by the language it is written
//! in still matches its rule: string literals concatenated on one line (`'sk_live_' + '…'`,
//! Python's implicit `"AKIA" "…"`, PHP's `.`, `[…].join('')`) are joined into one literal,
//! and JSON string escapes (`\/`, `\u002f`, `\"`) are undone. Also the base64 decoding the
//! Kubernetes, `.npmrc` and generic rules use (no extra crate: the decoder is a few lines).
//!
//! The engine normalises each added line once per file and hands a rule that
//! [reads decoded lines](crate::preflight::rules::Rule::reads_decoded) every line it judges
//! followed by its normal form; [`judge_added_lines`] gives such a rule's `check` the same view.

use std::borrow::Cow;

use crate::preflight::diff::FileDiff;

/// Every added line, followed by its normalised form when that differs: `(line, text)`.
pub(crate) fn added_lines(file: &FileDiff) -> Vec<(u32, Cow<'_, str>)> {
    let mut out = Vec::new();
    for (n, text) in file.added_lines() {
        let normal = normalise(text);
        out.push((n, Cow::Borrowed(text)));
        if let Some(normal) = normal {
            out.push((n, Cow::Owned(normal)));
        }
    }
    out
}

/// Call `judge` with every added line of `file`, each followed by its normalised form when that
/// differs: what the engine passes to `check_lines` of a rule that reads decoded lines when
/// every line holds one of its keywords.
pub(crate) fn judge_added_lines(file: &FileDiff, judge: impl FnOnce(&[(u32, &str)])) {
    let decoded = added_lines(file);
    let lines: Vec<(u32, &str)> = decoded.iter().map(|(n, t)| (*n, t.as_ref())).collect();
    judge(&lines);
}

/// The line with JSON escapes undone and same-line literal concatenations joined, or `None`
/// when neither applies (the common case, decided without allocating).
pub(crate) fn normalise(line: &str) -> Option<String> {
    let unescaped = unescape_json(line);
    let base = unescaped.as_deref().unwrap_or(line);
    match join_literals(base) {
        Some(joined) => Some(joined),
        None => unescaped,
    }
}

/// Undo `\/`, `\"` and `\u00XX` escapes of printable ASCII characters; `None` (without
/// allocating) when the line has none.
fn unescape_json(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    // The memchr crate's vectorised search: most lines hold no backslash, and this runs on
    // every added line.
    while let Some(p) = memchr::memchr(b'\\', &bytes[from..]) {
        let i = from + p;
        from = i + 1;
        let (c, len) = match bytes.get(i + 1) {
            Some(&c @ (b'/' | b'"')) => (char::from(c), 2),
            Some(b'u') if i + 6 <= bytes.len() && line.is_char_boundary(i + 6) => {
                match u8::from_str_radix(&line[i + 2..i + 6], 16).map(char::from) {
                    Ok(v) if (' '..='~').contains(&v) && line[i + 2..i + 4] == *"00" => (v, 6),
                    _ => continue,
                }
            }
            _ => continue,
        };
        out.push_str(&line[copied..i]);
        out.push(c);
        copied = i + len;
        from = copied;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&line[copied..]);
    Some(out)
}

/// A string literal of the line: byte range of its contents and its quote.
#[derive(Clone, Copy)]
struct Literal {
    start: usize,
    end: usize,
    quote: u8,
}

/// The quoted literals of a line, left to right (backslash escapes skipped).
fn literals(line: &str) -> Vec<Literal> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if matches!(q, b'"' | b'\'' | b'`') {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != q {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            if j >= bytes.len() {
                break;
            }
            out.push(Literal {
                start: i + 1,
                end: j,
                quote: q,
            });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether the text between two literals joins them: only spaces and one concatenation
/// operator (`+`, `.`, `..`, `&`, `||`), nothing (adjacent literals: Python, C, shell), or a
/// comma inside a `join`.
fn joins(between: &str, in_join: bool) -> bool {
    let t = between.trim();
    matches!(t, "" | "+" | "." | ".." | "&" | "||") || in_join && t == ","
}

/// Join runs of two or more literals that the language concatenates on this line.
fn join_literals(line: &str) -> Option<String> {
    // Two literals need four quotes: most lines are rejected here without allocating.
    if line.len() > 2000 {
        return None;
    }
    memchr::memchr3_iter(b'"', b'\'', b'`', line.as_bytes()).nth(3)?;
    let lits = literals(line);
    if lits.len() < 2 {
        return None;
    }
    let in_join = line.contains("join(") || line.contains("Join(");
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < lits.len() {
        let mut j = i;
        while j + 1 < lits.len()
            && lits[j + 1].quote != b'`'
            && joins(&line[lits[j].end + 1..lits[j + 1].start - 1], in_join)
        {
            j += 1;
        }
        if j > i && lits[i].quote != b'`' {
            out.push_str(&line[copied..lits[i].start]);
            for l in &lits[i..=j] {
                out.push_str(&line[l.start..l.end]);
            }
            out.push(lits[i].quote as char);
            copied = lits[j].end + 1;
            changed = true;
        }
        i = j + 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&line[copied..]);
    Some(out)
}

/// Decode standard or URL-safe base64, padded or not; `None` on any other character.
pub(crate) fn base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    (count < 6).then_some(out)
}

/// The text a base64 value decodes to, when it is printable (text, not key material): at
/// least 4 characters, all printable ASCII or whitespace.
pub(crate) fn printable_base64(s: &str) -> Option<String> {
    if s.len() < 8 || s.len() % 4 == 1 {
        return None;
    }
    let bytes = base64(s)?;
    let printable = bytes.len() >= 4
        && bytes
            .iter()
            .all(|b| (0x20..0x7f).contains(b) || matches!(b, b'\n' | b'\r' | b'\t'));
    printable.then(|| String::from_utf8(bytes).expect("ascii"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_joined_across_languages() {
        assert_eq!(
            normalise("k = 'sk_live_' + 'abc';").as_deref(),
            Some("k = 'sk_live_abc';")
        );
        assert_eq!(
            normalise(r#"K = "AKIA" "QZ""#).as_deref(),
            Some(r#"K = "AKIAQZ""#)
        );
        assert_eq!(
            normalise("$k = 'a' . 'b' . 'c';").as_deref(),
            Some("$k = 'abc';")
        );
        assert_eq!(
            normalise("t = ['ghp_', 'x', 'y'].join('');").as_deref(),
            Some("t = ['ghp_xy'].join('');")
        );
        assert_eq!(normalise("f(a, 'b') + g('c')"), None);
        assert_eq!(normalise("x = 'a' + b + 'c'"), None);
    }

    #[test]
    fn json_escapes_undone() {
        assert_eq!(
            normalise(r#"{"u":"postgres:\/\/a:b@h\/d"}"#).as_deref(),
            Some(r#"{"u":"postgres://a:b@h/d"}"#)
        );
        assert_eq!(
            normalise(r#""s":"ab\u002fcd""#).as_deref(),
            Some(r#""s":"ab/cd""#)
        );
        assert_eq!(normalise(r#"line\n"#), None);
    }

    #[test]
    fn base64_text_and_binary() {
        assert_eq!(printable_base64("dHJ1ZQ==").as_deref(), Some("true"));
        assert_eq!(printable_base64("cGFzc3dvcmQ").as_deref(), Some("password"));
        assert_eq!(printable_base64("AgB3x9/+AAECAwQF"), None);
        assert_eq!(printable_base64("not base64!"), None);
    }
}
