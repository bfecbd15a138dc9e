//! Where string literals and comments are, so the injection rules judge calls, not text that
//! merely names a call: `var xss = 'javascript:eval(1)'` holds no call to `eval`, and
//! `// never db.Query("..." + id)` runs nothing.
//!
//! The scanner works on one line, or on a statement joined from a few lines, in the quoting
//! rules of the file's language: single, double and backtick quotes (where the language has
//! them), backslash escapes, C# verbatim strings, Rust and JVM character literals, line and
//! block comments. Strings that span lines are approximated: every line is scanned on its own.

use std::borrow::Cow;

use crate::preflight::diff::{DiffLine, LineKind};

use super::lang::Lang;

/// What a byte is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    Code,
    /// Inside a string literal (its quotes included).
    Literal,
    Comment,
}

fn hash_comments(lang: Lang) -> bool {
    matches!(
        lang,
        Lang::Python | Lang::Ruby | Lang::Php | Lang::Shell | Lang::Yaml | Lang::Docker
    )
}

fn slash_comments(lang: Lang) -> bool {
    !matches!(
        lang,
        Lang::Python | Lang::Ruby | Lang::Shell | Lang::Yaml | Lang::Docker
    )
}

fn backtick_strings(lang: Lang) -> bool {
    matches!(
        lang,
        Lang::JavaScript | Lang::Go | Lang::Ruby | Lang::Php | Lang::Shell | Lang::Other
    )
}

/// Languages where `'` opens a character literal (`'a'`, `'\n'`) and is otherwise a lifetime
/// or label, not a string.
fn char_literals(lang: Lang) -> bool {
    matches!(lang, Lang::Rust | Lang::Jvm | Lang::CSharp | Lang::Go)
}

/// Bytes that can change the region when they appear in code: everything else is code.
const CODE_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(i as u8, b'\n' | b'#' | b'/' | b'"' | b'\'' | b'`');
        i += 1;
    }
    table
};

/// The regions of `text` as runs: `f(start, end, region)` for consecutive byte ranges that
/// cover `text` in order, each byte once, with the region it lies in; stop early when `f`
/// returns false. No allocation. Stretches of plain code and the inside of literals and
/// comments are passed over with a table or `memchr` rather than byte by byte.
pub(crate) fn scan_runs(text: &str, lang: Lang, mut f: impl FnMut(usize, usize, Region) -> bool) {
    let b = text.as_bytes();
    let n = b.len();
    let trimmed = text.trim_start();
    if slash_comments(lang) && (trimmed.starts_with('*') || trimmed.starts_with("/*")) {
        // The continuation of a block comment (or its first line).
        f(0, n, Region::Comment);
        return;
    }
    let mut i = 0;
    // Open quote byte, whether escapes apply, whether it closes on a doubled quote (C# @"").
    let mut quote: Option<(u8, bool, bool)> = None;
    let mut line_comment = false;
    let mut block_comment = false;
    while i < n {
        let c = b[i];
        if c == b'\n' {
            line_comment = false;
            if !f(i, i + 1, Region::Code) {
                return;
            }
            i += 1;
            continue;
        }
        if line_comment {
            let end = memchr::memchr(b'\n', &b[i..]).map_or(n, |j| i + j);
            if !f(i, end, Region::Comment) {
                return;
            }
            i = end;
            continue;
        }
        if block_comment {
            // Up to the next `/` (which ends the comment after a `*`) or line end.
            let stop = memchr::memchr2(b'/', b'\n', &b[i..]).map_or(n, |j| i + j);
            if stop > i {
                if !f(i, stop, Region::Comment) {
                    return;
                }
                i = stop;
                continue;
            }
            if !f(i, i + 1, Region::Comment) {
                return;
            }
            if i > 0 && b[i - 1] == b'*' {
                block_comment = false;
            }
            i += 1;
            continue;
        }
        if let Some((q, escapes, doubled)) = quote {
            // Up to the next byte that matters inside the literal.
            let stop = if escapes {
                memchr::memchr3(q, b'\\', b'\n', &b[i..])
            } else {
                memchr::memchr2(q, b'\n', &b[i..])
            }
            .map_or(n, |j| i + j);
            if stop > i {
                if !f(i, stop, Region::Literal) {
                    return;
                }
                i = stop;
                continue;
            }
            if escapes && c == b'\\' && i + 1 < n {
                if !f(i, i + 2, Region::Literal) {
                    return;
                }
                i += 2;
                continue;
            }
            if c == q {
                if doubled && i + 1 < n && b[i + 1] == q {
                    if !f(i, i + 2, Region::Literal) {
                        return;
                    }
                    i += 2;
                    continue;
                }
                quote = None;
            }
            if !f(i, i + 1, Region::Literal) {
                return;
            }
            i += 1;
            continue;
        }
        if !CODE_SPECIAL[usize::from(c)] {
            let end = b[i..]
                .iter()
                .position(|&c| CODE_SPECIAL[usize::from(c)])
                .map_or(n, |j| i + j);
            if !f(i, end, Region::Code) {
                return;
            }
            i = end;
            continue;
        }
        let next = b.get(i + 1).copied();
        let comment_start =
            (hash_comments(lang) && c == b'#' && !(lang == Lang::Ruby && next == Some(b'{')))
                || (slash_comments(lang) && c == b'/' && matches!(next, Some(b'/' | b'*')));
        if comment_start {
            if c == b'/' && next == Some(b'*') {
                block_comment = true;
            } else {
                line_comment = true;
            }
            if !f(i, i + 1, Region::Comment) {
                return;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                let verbatim = lang == Lang::CSharp && i > 0 && b[..i].ends_with(b"@")
                    || lang == Lang::CSharp && i > 1 && b[..i].ends_with(b"@$");
                quote = Some((b'"', !verbatim, verbatim));
            }
            b'\'' if char_literals(lang) => {
                // 'x' or '\n': a character literal; anything else is a lifetime or label.
                let is_char = match next {
                    Some(b'\\') => true,
                    Some(_) => b.get(i + 2) == Some(&b'\''),
                    None => false,
                };
                if is_char {
                    quote = Some((b'\'', true, false));
                }
            }
            b'\'' => quote = Some((b'\'', true, false)),
            b'`' if backtick_strings(lang) => {
                // Go raw strings have no escapes.
                quote = Some((b'`', lang != Lang::Go, false));
            }
            _ => {}
        }
        let region = if quote.is_some() {
            Region::Literal
        } else {
            Region::Code
        };
        if !f(i, i + 1, region) {
            return;
        }
        i += 1;
    }
}

/// The region the byte at `offset` of `text` lies in.
pub(crate) fn region_at(text: &str, offset: usize, lang: Lang) -> Region {
    let mut found = Region::Code;
    scan_runs(text, lang, |_, end, region| {
        if offset < end {
            found = region;
            return false;
        }
        true
    });
    found
}

/// Whether the byte at `offset` is code: outside every string literal and comment.
pub(crate) fn is_code(text: &str, offset: usize, lang: Lang) -> bool {
    region_at(text, offset, lang) == Region::Code
}

/// Open minus closed brackets (`(`, `[`, `{`) in the code of `text`.
pub(crate) fn bracket_depth(text: &str, lang: Lang) -> i32 {
    let b = text.as_bytes();
    let mut depth = 0;
    scan_runs(text, lang, |start, end, region| {
        if region == Region::Code {
            for &c in &b[start..end] {
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth -= 1,
                    _ => {}
                }
            }
        }
        true
    });
    depth
}

/// Most lines a statement is joined from.
const MAX_JOIN: usize = 8;

/// The statement that starts at `lines[i]`: the line itself when it is complete, else joined
/// (with `\n`) with the lines that continue it (open brackets, or a next line starting with
/// `.`, `{`, `(` or `+`), at most [`MAX_JOIN`] lines. Removed lines are skipped. Allocates only
/// for a statement that spans lines.
pub(crate) fn statement(lines: &[DiffLine], i: usize, lang: Lang) -> Cow<'_, str> {
    let first = lines[i].text.as_str();
    let continues = |j: usize| {
        lines[j..]
            .iter()
            .find(|l| l.kind != LineKind::Removed)
            .is_some_and(|l| l.text.trim_start().starts_with(['.', '{', '(', '+']))
    };
    if bracket_depth(first, lang) <= 0 && !continues(i + 1) {
        return Cow::Borrowed(first);
    }
    let mut joined = first.to_string();
    let mut taken = 1;
    let mut j = i + 1;
    while j < lines.len() && taken < MAX_JOIN {
        let line = &lines[j];
        j += 1;
        if line.kind == LineKind::Removed {
            continue;
        }
        joined.push('\n');
        joined.push_str(&line.text);
        taken += 1;
        if bracket_depth(&joined, lang) <= 0 && !continues(j) {
            break;
        }
    }
    Cow::Owned(joined)
}

/// The parts a built string takes from outside its literals: interpolation holes (`{x}` of an
/// f-string or a C# `$"..."`, `${x}`, `#{x}`, PHP `$x` and `{$x}`) and operands joined to a
/// literal with `+`, PHP `.` or Python `%`, and the arguments of formatting calls
/// (`.format`, `Sprintf`, `String.format`, `format!`).
fn dynamic_parts(text: &str, lang: Lang) -> Vec<&str> {
    let b = text.as_bytes();
    let mut parts: Vec<&str> = Vec::new();
    let mut regions: Vec<Region> = Vec::with_capacity(b.len());
    scan_runs(text, lang, |start, end, r| {
        regions.resize(regions.len() + (end - start), r);
        true
    });
    // Arguments of formatting calls: all of `.format(...)`, all but the format string of
    // `Sprintf("...", ...)`, `String.format`, `format!`, `sprintf`.
    const FORMATTERS: [(&str, bool); 7] = [
        (".format(", false),
        (".formatted(", false),
        ("Sprintf(", true),
        ("String.format(", true),
        ("string.Format(", true),
        ("format!(", true),
        ("sprintf(", true),
    ];
    for (name, skip_first) in FORMATTERS {
        for (at, _) in text.match_indices(name) {
            if regions[at] != Region::Code {
                continue;
            }
            let mut k = at + name.len();
            let mut depth = 0i32;
            let mut arg_start = k;
            let mut index = 0;
            while k < b.len() {
                let c = b[k];
                let code = regions[k] == Region::Code;
                if code && matches!(c, b'(' | b'[' | b'{') {
                    depth += 1;
                } else if code && matches!(c, b')' | b']' | b'}') && depth > 0 {
                    depth -= 1;
                } else if code && depth == 0 && (c == b',' || c == b')') {
                    let arg = text[arg_start..k].trim();
                    let format_string = skip_first && index == 0;
                    if !format_string && !arg.is_empty() {
                        parts.push(arg);
                    }
                    index += 1;
                    arg_start = k + 1;
                    if c == b')' {
                        break;
                    }
                }
                k += 1;
            }
        }
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if regions[i] == Region::Literal {
            // Interpolation holes.
            let open = if (c == b'$' || c == b'#') && b.get(i + 1) == Some(&b'{') {
                Some(i + 2)
            } else if c == b'{'
                && b.get(i + 1) != Some(&b'{')
                && matches!(lang, Lang::Python | Lang::CSharp | Lang::Php | Lang::Rust)
            {
                Some(i + 1)
            } else {
                None
            };
            if let Some(start) = open {
                let mut depth = 1;
                let mut k = start;
                while k < b.len() && depth > 0 {
                    match b[k] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    k += 1;
                }
                let end = if depth == 0 { k - 1 } else { k };
                let hole = text[start..end].trim();
                // `{}`, `{0}`, `{:?}`: positional, the value is a format argument.
                if !(hole.is_empty()
                    || hole.starts_with(':')
                    || hole.bytes().all(|c| c.is_ascii_digit()))
                {
                    parts.push(hole);
                }
                i = k;
                continue;
            }
            if lang == Lang::Php
                && c == b'$'
                && b.get(i + 1)
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
            {
                let mut k = i + 1;
                while k < b.len()
                    && (b[k].is_ascii_alphanumeric()
                        || b[k] == b'_'
                        || (b[k] == b'-' && b.get(k + 1) == Some(&b'>'))
                        || (b[k] == b'>' && k > 0 && b[k - 1] == b'-'))
                {
                    k += 1;
                }
                parts.push(&text[i..k]);
                i = k;
                continue;
            }
            i += 1;
            continue;
        }
        if regions[i] == Region::Code {
            let op = match c {
                b'+' => true,
                b'.' => lang == Lang::Php && b.get(i + 1) != Some(&b'='),
                b'%' => lang == Lang::Python,
                _ => false,
            };
            if op {
                let left = operand_before(text, &regions, i);
                let right = operand_after(text, &regions, i + 1);
                let lit = |s: &str| s.is_empty() || s.starts_with(['"', '\'', '`']);
                match (left, right) {
                    (Some(l), Some(r)) if lit(l) && !lit(r) => parts.push(r),
                    (Some(l), Some(r)) if lit(r) && !lit(l) && c != b'%' => parts.push(l),
                    _ => {}
                }
            }
        }
        i += 1;
    }
    parts
}

/// The operand that ends just before byte `at`: a literal, or an expression of names, calls
/// and indexing.
fn operand_before<'a>(text: &'a str, regions: &[Region], at: usize) -> Option<&'a str> {
    let b = text.as_bytes();
    let mut end = at;
    while end > 0 && b[end - 1] == b' ' {
        end -= 1;
    }
    if end == 0 {
        return None;
    }
    if regions[end - 1] == Region::Literal {
        return Some(&text[end - 1..end]);
    }
    let mut k = end;
    let mut depth = 0i32;
    while k > 0 {
        let c = b[k - 1];
        match c {
            b')' | b']' => depth += 1,
            b'(' | b'[' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            _ if c.is_ascii_alphanumeric()
                || matches!(c, b'_' | b'.' | b'$' | b'>' | b'-' | b':') => {}
            _ => break,
        }
        if c == b'-' && !(k < b.len() && b[k] == b'>') {
            break;
        }
        k -= 1;
    }
    Some(&text[k..end])
}

/// The operand that starts at byte `at` (after spaces).
fn operand_after<'a>(text: &'a str, regions: &[Region], at: usize) -> Option<&'a str> {
    let b = text.as_bytes();
    let mut start = at;
    while start < b.len() && b[start] == b' ' {
        start += 1;
    }
    if start >= b.len() {
        return None;
    }
    if regions[start] == Region::Literal {
        return Some(&text[start..=start]);
    }
    let mut k = start;
    let mut depth = 0i32;
    while k < b.len() {
        let c = b[k];
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            _ if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b':') => {}
            b'-' if b.get(k + 1) == Some(&b'>') => k += 1,
            _ => break,
        }
        k += 1;
    }
    Some(&text[start..k])
}

/// Whether a dynamic part is a constant or made safe: an upper-case constant (`TABLE`,
/// `Tables.USERS`, `self::TABLE`), a generated list of placeholders, a WordPress table name
/// (`$wpdb->prefix`), or a value quoted for the shell or as an SQL identifier.
fn safe_part(part: &str) -> bool {
    let p = part.trim();
    const QUOTERS: [&str; 9] = [
        "shlex.quote(",
        "pipes.quote(",
        "escapeshellarg(",
        "Shellwords.escape(",
        "Shellwords.shellescape(",
        "sql.Identifier(",
        "quote_ident(",
        "pq.QuoteIdentifier(",
        "QuoteIdentifier(",
    ];
    if QUOTERS.iter().any(|q| p.starts_with(q) && p.ends_with(')')) || p.ends_with(".shellescape") {
        return true;
    }
    if p.starts_with("$wpdb->") {
        return true;
    }
    if p.to_ascii_lowercase().contains("placeholder") {
        return true;
    }
    let last = p
        .rsplit(['.', ':', '>'])
        .next()
        .unwrap_or(p)
        .trim_start_matches('$');
    last.len() > 1
        && last.bytes().any(|c| c.is_ascii_uppercase())
        && last
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

/// Whether every part `text` builds its string from is constant or quoted (see
/// [`safe_part`]). False when there are no parts to judge.
pub(crate) fn only_safe_parts(text: &str, lang: Lang) -> bool {
    let parts = dynamic_parts(text, lang);
    !parts.is_empty() && parts.iter().all(|p| safe_part(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::generated_texts;

    /// [`scan_runs`] byte by byte: `f(index, byte, region)`, stopping when `f` returns false.
    fn scan(text: &str, lang: Lang, mut f: impl FnMut(usize, u8, Region) -> bool) {
        let b = text.as_bytes();
        scan_runs(text, lang, |start, end, region| {
            (start..end).all(|i| f(i, b[i], region))
        });
    }

    /// The byte-by-byte scanner [`scan_runs`] replaced: the reference it is compared with.
    fn scan_bytes(text: &str, lang: Lang, mut f: impl FnMut(usize, u8, Region) -> bool) {
        let b = text.as_bytes();
        let trimmed = text.trim_start();
        if slash_comments(lang) && (trimmed.starts_with('*') || trimmed.starts_with("/*")) {
            // The continuation of a block comment (or its first line).
            for (i, &c) in b.iter().enumerate() {
                if !f(i, c, Region::Comment) {
                    return;
                }
            }
            return;
        }
        let mut i = 0;
        // Open quote byte, whether escapes apply, whether it closes on a doubled quote (C# @"").
        let mut quote: Option<(u8, bool, bool)> = None;
        let mut line_comment = false;
        let mut block_comment = false;
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                line_comment = false;
                if !f(i, c, Region::Code) {
                    return;
                }
                i += 1;
                continue;
            }
            if line_comment || block_comment {
                if !f(i, c, Region::Comment) {
                    return;
                }
                if block_comment && c == b'/' && i > 0 && b[i - 1] == b'*' {
                    block_comment = false;
                }
                i += 1;
                continue;
            }
            if let Some((q, escapes, doubled)) = quote {
                if !f(i, c, Region::Literal) {
                    return;
                }
                if escapes && c == b'\\' && i + 1 < b.len() {
                    if !f(i + 1, b[i + 1], Region::Literal) {
                        return;
                    }
                    i += 2;
                    continue;
                }
                if c == q {
                    if doubled && i + 1 < b.len() && b[i + 1] == q {
                        if !f(i + 1, b[i + 1], Region::Literal) {
                            return;
                        }
                        i += 2;
                        continue;
                    }
                    quote = None;
                }
                i += 1;
                continue;
            }
            let next = b.get(i + 1).copied();
            let comment_start =
                (hash_comments(lang) && c == b'#' && !(lang == Lang::Ruby && next == Some(b'{')))
                    || (slash_comments(lang) && c == b'/' && matches!(next, Some(b'/' | b'*')));
            if comment_start {
                if c == b'/' && next == Some(b'*') {
                    block_comment = true;
                } else {
                    line_comment = true;
                }
                if !f(i, c, Region::Comment) {
                    return;
                }
                i += 1;
                continue;
            }
            match c {
                b'"' => {
                    let verbatim = lang == Lang::CSharp && i > 0 && b[..i].ends_with(b"@")
                        || lang == Lang::CSharp && i > 1 && b[..i].ends_with(b"@$");
                    quote = Some((b'"', !verbatim, verbatim));
                }
                b'\'' if char_literals(lang) => {
                    // 'x' or '\n': a character literal; anything else is a lifetime or label.
                    let is_char = match next {
                        Some(b'\\') => true,
                        Some(_) => b.get(i + 2) == Some(&b'\''),
                        None => false,
                    };
                    if is_char {
                        quote = Some((b'\'', true, false));
                    }
                }
                b'\'' => quote = Some((b'\'', true, false)),
                b'`' if backtick_strings(lang) => {
                    // Go raw strings have no escapes.
                    quote = Some((b'`', lang != Lang::Go, false));
                }
                _ => {}
            }
            let region = if quote.is_some() {
                Region::Literal
            } else {
                Region::Code
            };
            if !f(i, c, region) {
                return;
            }
            i += 1;
        }
    }

    /// The run scanner gives every byte the region the byte-by-byte scanner gave it, in every
    /// language, on text dense in quotes, escapes, comment markers and line ends, and stops
    /// where it is told to.
    #[test]
    fn runs_agree_with_the_byte_scanner() {
        let langs = [
            Lang::Python,
            Lang::JavaScript,
            Lang::Go,
            Lang::Jvm,
            Lang::Ruby,
            Lang::Php,
            Lang::CSharp,
            Lang::Rust,
            Lang::Shell,
            Lang::Yaml,
            Lang::Docker,
            Lang::Other,
        ];
        let pieces = [
            "a", "(", ")", "\"", "'", "`", "\\", "#", "#{", "/", "//", "/*", "*/", "*", "\n",
            "@\"", "@$\"", "'x'", "'\\n'", "\"\"", " ", "{", "}", "$", "é",
        ];
        for text in generated_texts(&pieces, 23, 4000) {
            for lang in langs {
                let mut want = Vec::new();
                scan_bytes(&text, lang, |i, c, r| {
                    want.push((i, c, r));
                    true
                });
                let mut got = Vec::new();
                scan(&text, lang, |i, c, r| {
                    got.push((i, c, r));
                    true
                });
                assert_eq!(got, want, "{lang:?}: {text:?}");
                // Stopping early: the same prefix.
                let stop = want.len() / 2;
                let mut seen = 0;
                scan(&text, lang, |_, _, _| {
                    seen += 1;
                    seen <= stop
                });
                assert_eq!(seen, (stop + 1).min(want.len()), "{lang:?}: {text:?}");
            }
        }
    }

    fn at(text: &str, needle: &str, lang: Lang) -> Region {
        region_at(text, text.find(needle).expect("needle"), lang)
    }

    #[test]
    fn calls_inside_quotes_are_literals() {
        let js = "var xss = 'javascript:eval(alert(1))';";
        assert_eq!(at(js, "eval", Lang::JavaScript), Region::Literal);
        let go = r#"const w = "do not write db.Query(\"SELECT\" + id)""#;
        assert_eq!(at(go, "db.Query", Lang::Go), Region::Literal);
        let py = r#"cursor.execute(f"SELECT * FROM t WHERE id = {uid}")"#;
        assert_eq!(at(py, "cursor", Lang::Python), Region::Code);
        assert_eq!(at(py, "SELECT", Lang::Python), Region::Literal);
        let tpl = "x = `a ${b}`; eval(y)";
        assert_eq!(at(tpl, "eval", Lang::JavaScript), Region::Code);
    }

    #[test]
    fn escapes_and_language_quoting() {
        let esc = r#"s = "a \" eval(x) \" b"; eval(y)"#;
        assert_eq!(at(esc, "eval(x", Lang::Python), Region::Literal);
        assert_eq!(at(esc, "eval(y", Lang::Python), Region::Code);
        // A Rust lifetime is not a quote.
        let rs = "fn f<'a>(x: &'a str) { Command::new(x) }";
        assert_eq!(at(rs, "Command", Lang::Rust), Region::Code);
        let ch = "let c = '\"'; run(c)";
        assert_eq!(at(ch, "run", Lang::Rust), Region::Code);
        // C# verbatim strings close on a lone quote; "" is an escaped quote.
        let cs = r#"var p = @"C:\dir\"; Process.Start(p)"#;
        assert_eq!(at(cs, "Process", Lang::CSharp), Region::Code);
        // Backticks are not quotes in Python.
        assert_eq!(
            at("x = `os.system(a)`", "os.system", Lang::Python),
            Region::Code
        );
    }

    #[test]
    fn comments() {
        assert_eq!(at("# never eval(x)", "eval", Lang::Python), Region::Comment);
        assert_eq!(
            at("x = 1 // db.Query(q)", "db.Query", Lang::Go),
            Region::Comment
        );
        assert_eq!(
            at(" * stmt.executeQuery(q)", "stmt", Lang::Jvm),
            Region::Comment
        );
        assert_eq!(
            at("s = '# not a comment'; eval(x)", "eval", Lang::Python),
            Region::Code
        );
        // `#` is not a comment in JavaScript (private fields).
        assert_eq!(
            at("this.#run(); exec(x)", "exec", Lang::JavaScript),
            Region::Code
        );
    }

    #[test]
    fn bracket_depth_ignores_literals() {
        assert_eq!(bracket_depth("cursor.execute(", Lang::Python), 1);
        assert_eq!(bracket_depth("f(\"(\")", Lang::Python), 0);
        assert_eq!(
            bracket_depth("db.query(\n  `a ${b}`\n)", Lang::JavaScript),
            0
        );
    }
}
