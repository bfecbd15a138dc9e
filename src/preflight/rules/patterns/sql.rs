//! `sql-injection`: SQL text assembled from data and handed to a query API.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::dynamic::{assigned_variable, builds_string, passes_variable};
use super::lang::Lang;
use super::literals::{is_code, only_safe_parts, statement};
use super::report;

pub(crate) struct SqlInjection;

static META: RuleMeta = RuleMeta {
    id: "sql-injection",
    title: "SQL built from strings",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches SQL statements assembled with interpolation, formatting or \
concatenation (f-strings, `%`, `.format`, template literals, `fmt.Sprintf`, `format!`, \
`String.format`, `\"#{...}\"`, `$\"...\"`, PHP `\"$var\"`) that reach a query or execute call, \
on the same line, on the following lines of the same call, or through a variable assigned on an \
earlier added line; and raw fragments built from data handed to a query builder (Laravel \
`whereRaw`, knex `whereRaw`, TypeORM `where`, ActiveRecord `where`/`order`, gorm `Where`, \
Django `extra`). The query calls cover DB-API and asyncpg, node drivers, Prisma \
`$queryRawUnsafe`/`$executeRawUnsafe`, knex, Sequelize, TypeORM, `database/sql`, gorm, sqlx, \
JDBC, Spring `JdbcTemplate`, JPA, ActiveRecord, Sequel, PDO, mysqli, Laravel, WordPress, ADO.NET \
commands and `CommandText`, EF Core `FromSqlRaw`/`ExecuteSqlRaw`, Dapper, sqlx, diesel, rusqlite \
and postgres. Whoever controls the interpolated value controls the statement: data theft, \
authentication bypass, data loss.\n\n\
Not reported: a call named inside a string literal or a comment; EF Core `FromSql`, \
`FromSqlInterpolated` and `ExecuteSqlInterpolated` and Prisma's `$queryRaw` tagged template, \
which turn interpolated values into parameters; statements whose only interpolated parts are \
upper-case constants, a generated list of placeholders or quoted identifiers \
(`sql.Identifier`, `pq.QuoteIdentifier`).\n\n\
Fix: pass values as bind parameters (`?`, `$1`, `%s` with a separate argument tuple, named \
parameters) or use the query builder of your ORM.",
    fails: "const users = await db.query(`SELECT * FROM users WHERE name = '${name}'`);",
    passes: "const users = await db.query('SELECT * FROM users WHERE name = $1', [name]);",
    example_path: "src/routes/users.ts",
};

/// Statement shapes, not bare words: `select ... from`, `insert into`, `update ... set`, ...
static SQL_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:select\b.{0,200}?\bfrom\b|insert\s+into\b|update\s+[`\x22\[]?\w+[`\x22\]]?\s+set\b|delete\s+from\b|drop\s+(?:table|database|schema)\b|alter\s+table\b|truncate\s+table\b|merge\s+into\b|where\s+[\w.`\x22]+\s*(?:=|<|>|like\b|in\b))",
    )
    .expect("built-in pattern compiles")
});

/// [`SQL_TEXT`] without its `select … from` branch, for ASCII text ([`select_from`] does that
/// branch): on ASCII, Unicode and ASCII word classes agree, and the bounded gap of that branch
/// makes the regex engines fall back to their slowest search on long minified lines.
static SQL_TEXT_REST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i-u)\b(?:insert\s+into\b|update\s+[`\x22\[]?\w+[`\x22\]]?\s+set\b|delete\s+from\b|drop\s+(?:table|database|schema)\b|alter\s+table\b|truncate\s+table\b|merge\s+into\b|where\s+[\w.`\x22]+\s*(?:=|<|>|like\b|in\b))",
    )
    .expect("built-in pattern compiles")
});

/// Whether `text` (ASCII) holds one of the statement words [`SQL_TEXT_REST`] starts with,
/// as a whole word followed by whitespace. Checked first, from the whitespace: minified code
/// (one long line) has little of it, and its `update` and `where` are method names
/// (`.update(`, `.where(`), so the pattern is passed over with a `memchr` scan.
fn statement_word(text: &[u8]) -> bool {
    const KEYWORDS: [&[u8]; 8] = [
        b"insert",
        b"update",
        b"delete",
        b"drop",
        b"alter",
        b"truncate",
        b"merge",
        b"where",
    ];
    let word_before = |ws: usize| {
        let start = text[..ws]
            .iter()
            .rposition(|b| !b.is_ascii_alphabetic())
            .map_or(0, |i| i + 1);
        let word = &text[start..ws];
        let boundary = start == 0 || !(text[start - 1].is_ascii_digit() || text[start - 1] == b'_');
        boundary && KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
    };
    memchr::memchr3_iter(b' ', b'\t', b'\n', text).any(word_before)
        || memchr::memchr3_iter(b'\r', 0x0b, 0x0c, text).any(word_before)
}

/// Whether `text` holds SQL statement text ([`SQL_TEXT`]).
fn sql_text(text: &str) -> bool {
    if text.is_ascii() {
        let bytes = text.as_bytes();
        select_from(bytes) || statement_word(bytes) && SQL_TEXT_REST.is_match(text)
    } else {
        SQL_TEXT.is_match(text)
    }
}

/// `(?i)\bselect\b.{0,200}?\bfrom\b` on ASCII text: each `select` word, then a `from` word
/// starting at most 200 characters after it on the same line.
fn select_from(text: &[u8]) -> bool {
    // Leftmost-first, for the automaton's vectorised prefilter.
    static SELECT: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(["select"])
            .expect("compiles")
    });
    let word = |i: usize| {
        text.get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    SELECT.find_iter(text).any(|m| {
        let (start, end) = (m.start(), m.end());
        if start > 0 && word(start - 1) || word(end) {
            return false;
        }
        let gap = &text[end..text.len().min(end + 200 + 4)];
        let line = memchr::memchr(b'\n', gap).unwrap_or(gap.len());
        // Each `f` of the window, then the rest of the word.
        memchr::memchr2_iter(b'f', b'F', &gap[..line.min(200 + 1)]).any(|at| {
            at >= 1
                && gap
                    .get(at..at + 4)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"from"))
                && !word(end + at - 1)
                && !word(end + at + 4)
        })
    })
}

/// Query APIs across languages: DB-API and asyncpg, node drivers, Prisma, knex, Sequelize,
/// database/sql, gorm and sqlx, JDBC/JPA and Spring, ActiveRecord and Sequel, PDO/mysqli,
/// Laravel and WordPress, ADO.NET and Dapper, sqlx/diesel/rusqlite/postgres.
static SINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\.|\b)(?:execute|executemany|executescript|exec|exec_query|exec_update|exec_delete|exec_insert|query|queryrow|queryrowcontext|querycontext|execcontext|query_row|query_map|query_one|query_opt|raw|rawquery|raw_query|createquery|createnativequery|createsqlquery|executequery|executeupdate|executelargeupdate|preparestatement|preparecall|prepare|find_by_sql|count_by_sql|select_all|select_one|select_value|select_values|select_rows|where|order|having|joins|mysqli_query|mysql_query|pg_query|sqlite_query|fromsqlraw|executesqlraw|executesqlrawasync|sqlquery|sql|text|unsafe|knex\.raw|sequelize\.query|queryrawunsafe|executerawunsafe|queryfor\w+|update|batchupdate|fetch|fetchrow|fetchval|fetchone|fetchall|sql_query|get_results|get_row|get_var|get_col|statement|select|unprepared)\s*!?\s*(?:<[^<>()]*>)?\s*\(|\bnew\s+(?:Sql|Npgsql|MySql|Sqlite|SQLite|OleDb|Odbc|Oracle)Command\s*\(|\bsqlx::query(?:_as|_scalar)?\s*(?:::<[^>]*>)?\s*\(|\.CommandText\s*=|\bDB\s*\[",
    )
    .expect("built-in pattern compiles")
});

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// ActiveRecord query methods take raw SQL fragments (`where("name = '#{x}'")`) that carry no
/// statement keyword of their own.
static RUBY_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\.(?:where|not|or|order|reorder|having|joins|group|pluck|select|from|exists\?|find_by|delete_all|update_all|lock)\s*\(\s*"(?:[^"]*#\{|[^"]*"\s*\+)"#,
    )
});
/// Laravel raw fragments: `->whereRaw("name = '$name'")`, `DB::raw('x = ' . $x)`.
static PHP_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:->|::)\s*(?:whereRaw|orWhereRaw|havingRaw|orHavingRaw|orderByRaw|selectRaw|groupByRaw|raw)\s*\(\s*(?:"[^"]*\$|'[^']*'\s*\.)"#,
    )
});
/// knex, TypeORM and Sequelize fragments: `.whereRaw(`a = '${x}'`)`, `.where("a = " + x)`.
static JS_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\.(?:where|andWhere|orWhere|having|andHaving|orHaving|whereRaw|orWhereRaw|havingRaw|orderByRaw|joinRaw|literal)\s*\(\s*(?:`[^`]*\$\{|["'][^"']*["']\s*\+)"#,
    )
});
/// gorm conditions: `db.Where(fmt.Sprintf("name = '%s'", n))`, `.Where("a = '" + x + "'")`.
static GO_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"\.(?:Where|Or|Not|Having|Joins|Order|Group)\s*\(\s*(?:fmt\.Sprintf\s*\(|"[^"]*"\s*\+)"#)
});
/// Django escape hatches: `.extra(where=[...])`, `RawSQL(...)`.
static PY_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| re(r"\.extra\s*\(|\bRawSQL\s*\("));

/// A raw SQL fragment built from data, handed to a query-builder method, in code.
fn fragment(text: &str, lang: Lang) -> bool {
    // Cheap substring checks first: most lines hold none of these calls.
    let (pattern, likely): (&Regex, bool) = match lang {
        Lang::Ruby => (&RUBY_FRAGMENT, text.contains("#{") || text.contains('+')),
        Lang::Php => (&PHP_FRAGMENT, text.contains("aw(")),
        Lang::JavaScript => (
            &JS_FRAGMENT,
            text.contains("here")
                || text.contains("aving")
                || text.contains("aw(")
                || text.contains("literal("),
        ),
        Lang::Go => (&GO_FRAGMENT, text.contains("Sprintf") || text.contains('+')),
        Lang::Python => (
            &PY_FRAGMENT,
            text.contains("extra") || text.contains("RawSQL"),
        ),
        _ => return false,
    };
    if !likely {
        return false;
    }
    pattern
        .find_iter(text)
        .any(|m| is_code(text, m.start(), lang))
        && builds_string(text, lang)
        && !safe_build(text, lang)
}

/// A query call in code: not inside a string or comment, and not `RegExp.prototype.exec`.
fn sink(text: &str, lang: Lang) -> bool {
    SINK.find_iter(text).any(|m| {
        let name = m.start()
            + m.as_str()
                .find(|c: char| c.is_ascii_alphabetic() || c == '$')
                .unwrap_or(0);
        if !is_code(text, name, lang) {
            return false;
        }
        // `/re/.exec(...)` in JavaScript is a regular expression, not a database.
        let before = text[..m.start()].trim_end_matches(|c: char| c.is_ascii_lowercase());
        !(lang == Lang::JavaScript && before.ends_with('/'))
    })
}

/// The string is built, but only from constants, generated placeholders or quoted
/// identifiers (`sql.SQL(...).format(sql.Identifier(t))`).
fn safe_build(text: &str, lang: Lang) -> bool {
    only_safe_parts(text, lang)
        || (lang == Lang::Python && text.contains("sql.SQL(") && text.contains("sql.Identifier("))
}

impl Rule for SqlInjection {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "select", "insert", "update", "delete", "drop", "alter", "truncate", "merge", "where",
            "#{", "raw(", "extra(", "literal(", "order(", "having(",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        self.judge(file, |_| true, out);
    }

    /// The whole file, as `check` (a statement built on one line may reach a query call on
    /// another), but the SQL-text patterns run only on `lines`: each of them needs one of the
    /// keywords (ASCII case-insensitively; lines with non-ASCII text are always in `lines`),
    /// so no other line can hold SQL text.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        let keyword_line = |n: u32| lines.binary_search_by_key(&n, |&(l, _)| l).is_ok();
        self.judge(file, keyword_line, out);
    }
}

impl SqlInjection {
    /// Judge the file; `keyword_line(n)` says whether added line `n` may hold SQL text.
    fn judge(&self, file: &FileDiff, keyword_line: impl Fn(u32) -> bool, out: &mut Vec<Finding>) {
        let lang = Lang::of(file);
        if matches!(lang, Lang::Yaml | Lang::Docker) {
            return;
        }
        // Variables that hold SQL built from data, from added lines: (name, line, text).
        let mut tainted: Vec<(String, u32, String)> = Vec::new();
        let mut reported: Vec<u32> = Vec::new();
        for hunk in &file.hunks {
            for (i, line) in hunk.lines.iter().enumerate() {
                let text = line.text.as_str();
                let Some(new_line) = line.new_line else {
                    continue;
                };
                let added = line.kind == LineKind::Added;
                if added && fragment(text, lang) {
                    report(
                        &META,
                        file,
                        new_line,
                        text,
                        "SQL fragment built from data is passed to a query builder: use placeholders and bindings".into(),
                        out,
                    );
                    reported.push(new_line);
                    continue;
                }
                let has_sql = added && keyword_line(new_line) && sql_text(text);
                // The query call is only worth finding on a line with SQL text, a line that
                // opens a call continued below, or when a variable holds built SQL.
                let is_sink =
                    (has_sql || !tainted.is_empty() || (added && text.trim_end().ends_with('(')))
                        && sink(text, lang);
                if added && is_sink {
                    let stmt = statement(&hunk.lines, i, lang);
                    if sql_text(&stmt) && builds_string(&stmt, lang) && !safe_build(&stmt, lang) {
                        report(
                            &META,
                            file,
                            new_line,
                            text,
                            "SQL statement built from data is passed to a query call: use bind parameters".into(),
                            out,
                        );
                        reported.push(new_line);
                        continue;
                    }
                }
                if has_sql && !is_sink && builds_string(text, lang) && !safe_build(text, lang) {
                    if let Some(var) = assigned_variable(text) {
                        tainted.push((var.to_string(), new_line, text.to_string()));
                    }
                    continue;
                }
                // Only a line that passes a tainted variable can still be a finding.
                if tainted.is_empty() || !is_sink {
                    continue;
                }
                for (var, at, built) in &tainted {
                    if *at < new_line && !reported.contains(at) && passes_variable(text, var) {
                        report(
                            &META,
                            file,
                            *at,
                            built,
                            format!(
                                "SQL statement built from data in `{var}` reaches a query call on line {new_line}: use bind parameters"
                            ),
                            out,
                        );
                        reported.push(*at);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::rules::patterns::test_support::run;

    fn fires(path: &str, text: &str) -> bool {
        !run(&SqlInjection, path, text).is_empty()
    }

    #[test]
    fn catches_interpolated_sql_in_many_languages() {
        assert!(fires(
            "a.py",
            r#"cur.execute(f"SELECT * FROM users WHERE id = {uid}")"#
        ));
        assert!(fires(
            "a.py",
            "cur.execute(\"DELETE FROM t WHERE id = %s\" % uid)"
        ));
        assert!(fires(
            "a.go",
            r#"rows, err := db.Query(fmt.Sprintf("SELECT name FROM users WHERE id = %s", id))"#
        ));
        assert!(fires(
            "A.java",
            r#"stmt.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");"#
        ));
        assert!(fires(
            "a.rb",
            r##"User.find_by_sql("SELECT * FROM users WHERE name = '#{params[:name]}'")"##
        ));
        assert!(fires(
            "a.php",
            r#"$r = mysqli_query($conn, "SELECT * FROM users WHERE id = $id");"#
        ));
        assert!(fires(
            "a.cs",
            r#"var cmd = new SqlCommand($"SELECT * FROM users WHERE id = {id}", conn);"#
        ));
        assert!(fires(
            "a.rs",
            r#"sqlx::query(&format!("SELECT * FROM users WHERE id = {}", id))"#
        ));
    }

    #[test]
    fn ascii_statement_text_is_found_as_the_pattern_finds_it() {
        let gap = "x".repeat(190);
        for text in [
            "SELECT * FROM t",
            "select a from",
            "selected from here",
            "preselect a from b",
            "select a fromage",
            "select a_from b",
            "select\nfrom t",
            "select a\n from t",
            "SeLeCt id FrOm users",
            "x.select&&y.update;a.where(b);",
            "update users set a = 1",
            "where id = 3",
            &format!("select {gap} from t"),
            &format!("select {gap}{gap} from t"),
            &format!("select {gap}12345678 from t"),
            &format!("select {gap}123456789 from t"),
            &format!("select select {gap}123456789 from t"),
        ] {
            assert_eq!(sql_text(text), SQL_TEXT.is_match(text), "{text}");
            // Every other branch after every kind of byte: the word check before the pattern
            // turns nothing away.
            for before in ["", " ", ".", "_", "x", "(", "`", "\t", "9"] {
                for statement in [
                    "INSERT\tINTO t",
                    "update users set a",
                    "UPDATE `t` SET",
                    "delete  from t",
                    "drop table x",
                    "ALTER\nTABLE t",
                    "truncate table t",
                    "merge into t",
                    "where id = 1",
                    "WHERE\r\na.b < 3",
                    "where name like",
                    "where x in",
                    "select a\tfrom t",
                    "where(a)",
                    "update(b)",
                ] {
                    let text = format!("{before}{statement} {text}");
                    assert_eq!(sql_text(&text), SQL_TEXT.is_match(&text), "{text}");
                }
            }
            // `check_lines` runs the SQL-text patterns on keyword lines only.
            let lower = text.to_ascii_lowercase();
            assert!(
                !sql_text(text) || SqlInjection.keywords().iter().any(|k| lower.contains(k)),
                "{text}"
            );
        }
    }

    #[test]
    fn follows_a_variable_to_the_sink() {
        let found = run(
            &SqlInjection,
            "a.py",
            "query = f\"SELECT * FROM users WHERE name = '{name}'\"\nprint('x')\ncursor.execute(query)",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 1);
    }

    #[test]
    fn parameterised_and_constant_queries_pass() {
        assert!(!fires(
            "a.py",
            r#"cur.execute("SELECT * FROM users WHERE id = %s", (uid,))"#
        ));
        assert!(!fires(
            "a.go",
            r#"db.Query("SELECT name FROM users WHERE id = $1", id)"#
        ));
        assert!(!fires(
            "a.ts",
            "db.query(`SELECT * FROM users WHERE active = true`)"
        ));
        assert!(!fires(
            "a.py",
            r#"log.info(f"select a plan from the list: {plan}")"#
        ));
        assert!(!fires(
            "a.py",
            "query = f\"SELECT * FROM t WHERE id = {i}\"\nprint(query)"
        ));
    }

    #[test]
    fn catches_raw_escape_hatches_and_calls_over_lines() {
        assert!(fires(
            "a.py",
            "cursor.execute(\n    f\"SELECT * FROM users WHERE id = {uid}\"\n)"
        ));
        assert!(fires(
            "a.py",
            "qs = Q.objects.extra(where=[f\"name = '{n}'\"])"
        ));
        assert!(fires(
            "a.php",
            "return $query->whereRaw(\"name = '$name'\");"
        ));
        assert!(fires(
            "a.ts",
            "await prisma.$queryRawUnsafe(`SELECT * FROM t WHERE id = ${id}`);"
        ));
        assert!(fires(
            "a.go",
            r#"db.Where(fmt.Sprintf("name = '%s'", name)).First(&u)"#
        ));
        assert!(fires(
            "a.cs",
            "cmd.CommandText = \"DELETE FROM t WHERE id = \" + id;"
        ));
        assert!(fires(
            "a.cs",
            r#"var r = conn.Query<Order>($"SELECT * FROM Orders WHERE Id = {id}");"#
        ));
    }

    #[test]
    fn binding_apis_literals_and_constants_pass() {
        assert!(!fires(
            "a.cs",
            r#"ctx.Blogs.FromSqlInterpolated($"SELECT * FROM Blogs WHERE Author = {a}")"#
        ));
        assert!(!fires(
            "a.cs",
            r#"ctx.Blogs.FromSql($"SELECT * FROM Blogs WHERE Author = {a}")"#
        ));
        assert!(!fires(
            "a.ts",
            "await prisma.$queryRaw`SELECT * FROM t WHERE id = ${id}`;"
        ));
        assert!(!fires(
            "a.go",
            r#"const w = "do not write db.Query(\"SELECT * FROM users WHERE id = \" + id)""#
        ));
        assert!(!fires(
            "a.ts",
            "// db.query(`SELECT * FROM users WHERE id = ${id}`)"
        ));
        assert!(!fires(
            "a.ts",
            "await pool.query(`SELECT * FROM ${TABLE} WHERE actor = $1`, [actor]);"
        ));
        assert!(!fires(
            "a.py",
            "cur.execute(f\"SELECT * FROM users WHERE id IN ({placeholders})\", ids)"
        ));
    }
}
