//! Is a string built from data? The injection rules (SQL, shell, eval) fire when text that
//! reaches a sink is assembled by interpolation, formatting or concatenation rather than
//! passed as a constant with separate parameters.

use std::sync::LazyLock;

use regex::Regex;

use super::lang::Lang;
use super::literals::{Region, scan_runs};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// `"..." + x` or `x + "..."`: concatenation with a string literal.
static CONCAT: LazyLock<Regex> =
    LazyLock::new(|| re(r#"["'`]\s*\+\s*[A-Za-z_$(\[]|[A-Za-z0-9_)\]]\s*\+\s*["'`]"#));
static PY_FSTRING: LazyLock<Regex> =
    LazyLock::new(|| re(r#"\b[fF][rR]?"[^"]*\{[^}]+\}|\b[fF][rR]?'[^']*\{[^}]+\}"#));
static PY_PERCENT: LazyLock<Regex> = LazyLock::new(|| re(r#"["']\s*%\s*[A-Za-z_(\[{]"#));
static PY_FORMAT: LazyLock<Regex> = LazyLock::new(|| re(r#"["']\s*\.format\s*\("#));
static JS_TEMPLATE: LazyLock<Regex> = LazyLock::new(|| re(r"`[^`]*\$\{[^}]+\}"));
static GO_SPRINTF: LazyLock<Regex> = LazyLock::new(|| re(r"\bfmt\.Sprintf\s*\("));
static JVM_FORMAT: LazyLock<Regex> =
    LazyLock::new(|| re(r#"\bString\.format\s*\(|["']\s*\.formatted\s*\(|"[^"]*\$\{?[A-Za-z_]"#));
static RUBY_INTERP: LazyLock<Regex> =
    LazyLock::new(|| re(r##""[^"]*#\{[^}]+\}|`[^`]*#\{|%x[(\[{][^#]*#\{"##));
static PHP_INTERP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#""[^"]*\$[A-Za-z_{]|["']\s*\.\s*\$|\$[A-Za-z_][A-Za-z0-9_\]\['"]*\s*\.\s*["']|\bsprintf\s*\("#,
    )
});
static CS_INTERP: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"\$@?"(?:[^"\\]|\\.)*\{[^}]+\}|\bstring\.Format\s*\(|\bString\.Format\s*\("#)
});
static RUST_FORMAT: LazyLock<Regex> = LazyLock::new(|| re(r"\bformat!\s*\("));
static SHELL_EXPANSION: LazyLock<Regex> = LazyLock::new(|| re(r"\$\{?[A-Za-z_@*0-9]|\$\("));

/// Whether `text` builds a string from non-constant parts, in the idioms of `lang`.
pub(crate) fn builds_string(text: &str, lang: Lang) -> bool {
    // A `+` inside a literal (`"+short"`) joins nothing.
    let concat = || CONCAT.is_match(text) && plus_in_code(text, lang);
    match lang {
        Lang::Python => {
            PY_FSTRING.is_match(text)
                || PY_PERCENT.is_match(text)
                || PY_FORMAT.is_match(text)
                || concat()
        }
        Lang::JavaScript => JS_TEMPLATE.is_match(text) || concat(),
        Lang::Go => GO_SPRINTF.is_match(text) || concat(),
        Lang::Jvm => JVM_FORMAT.is_match(text) || concat(),
        Lang::Ruby => RUBY_INTERP.is_match(text) || concat(),
        Lang::Php => PHP_INTERP.is_match(text),
        Lang::CSharp => CS_INTERP.is_match(text) || concat(),
        Lang::Rust => RUST_FORMAT.is_match(text) || concat(),
        Lang::Shell | Lang::Docker | Lang::Yaml => SHELL_EXPANSION.is_match(text),
        Lang::Other => PY_FSTRING.is_match(text) || JS_TEMPLATE.is_match(text) || concat(),
    }
}

fn plus_in_code(text: &str, lang: Lang) -> bool {
    let b = text.as_bytes();
    let mut found = false;
    scan_runs(text, lang, |start, end, region| {
        found = region == Region::Code && memchr::memchr(b'+', &b[start..end]).is_some();
        !found
    });
    found
}

static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:(?:const|let|var|val|final|String|string|auto|my)\s+|\$)?(?:mut\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\s*:\s*[A-Za-z_][A-Za-z0-9_<>\[\]]*)?\s*(?::=|\+=|=)[^=]",
    )
});

/// The variable a line assigns to (`query = ...`, `const sql = ...`, `q := ...`, `$sql = ...`).
pub(crate) fn assigned_variable(text: &str) -> Option<&str> {
    ASSIGNMENT
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

/// Whether `text` passes `var` as an argument: `sink(var`, `sink(x, var`, `sink(&var`.
pub(crate) fn passes_variable(text: &str, var: &str) -> bool {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(pos) = text[start..].find(var) {
        let at = start + pos;
        let end = at + var.len();
        let before = text[..at].trim_end_matches(['&', '*', ' ', '$']);
        let prev_ok = before.ends_with('(') || before.ends_with(',');
        let next_ok =
            end >= bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
        let ident_start =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if prev_ok && next_ok && ident_start {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_interpolation_per_language() {
        assert!(builds_string(
            r#"q = f"SELECT * FROM t WHERE id = {uid}""#,
            Lang::Python
        ));
        assert!(builds_string(r#"q = "SELECT %s" % uid"#, Lang::Python));
        assert!(!builds_string(
            r#"cur.execute("SELECT %s", (uid,))"#,
            Lang::Python
        ));
        assert!(builds_string(
            "db.query(`SELECT ${name}`)",
            Lang::JavaScript
        ));
        assert!(!builds_string(
            "db.query('SELECT $1', [name])",
            Lang::JavaScript
        ));
        assert!(builds_string(
            r#"q := fmt.Sprintf("SELECT %d", id)"#,
            Lang::Go
        ));
        assert!(builds_string(
            r##"User.where("name = '#{name}'")"##,
            Lang::Ruby
        ));
        assert!(builds_string(
            r#"$q = "SELECT * FROM t WHERE id = $id";"#,
            Lang::Php
        ));
        assert!(builds_string(r#"var q = $"SELECT {id}";"#, Lang::CSharp));
        assert!(builds_string(
            r#"let q = format!("SELECT {}", id);"#,
            Lang::Rust
        ));
    }

    #[test]
    fn finds_assignments_and_uses() {
        assert_eq!(assigned_variable("  query = f'x'"), Some("query"));
        assert_eq!(assigned_variable("const sql = `x`"), Some("sql"));
        assert_eq!(assigned_variable("q := fmt.Sprintf()"), Some("q"));
        assert_eq!(assigned_variable("$sql = 'x';"), Some("sql"));
        assert_eq!(assigned_variable("if a == b {"), None);
        assert!(passes_variable("cursor.execute(query)", "query"));
        assert!(passes_variable("db.Exec(ctx, q)", "q"));
        assert!(!passes_variable("cursor.execute(query_id)", "query"));
        assert!(!passes_variable("print(query)", "quer"));
    }
}
