//! `sql-injection`: SQL text assembled from data and handed to a query API.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::dynamic::{assigned_variable, builds_string, passes_variable};
use super::lang::Lang;
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
on the same line or through a variable assigned on an earlier added line. Whoever controls the \
interpolated value controls the statement: data theft, authentication bypass, data loss.\n\n\
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

/// Query APIs across languages: DB-API, node drivers, database/sql, JDBC/JPA, ActiveRecord,
/// PDO/mysqli, ADO.NET, sqlx/diesel/rusqlite.
static SINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\.|\b)(?:execute|executemany|executescript|exec|exec_query|query|queryrow|queryrowcontext|querycontext|execcontext|query_row|query_map|raw|rawquery|raw_query|createquery|createnativequery|createsqlquery|executequery|executeupdate|executelargeupdate|preparestatement|preparecall|prepare|find_by_sql|select_all|select_one|select_value|select_rows|where|order|having|joins|mysqli_query|mysql_query|pg_query|sqlite_query|fromsqlraw|executesqlraw|fromsqlinterpolated|sqlquery|sql|text|unsafe|knex\.raw|sequelize\.query)\s*!?\s*\(|\bnew\s+SqlCommand\s*\(|\bsqlx::query(?:_as|_scalar)?\s*(?:::<[^>]*>)?\s*\(",
    )
    .expect("built-in pattern compiles")
});

/// ActiveRecord query methods take raw SQL fragments (`where("name = '#{x}'")`) that carry no
/// statement keyword of their own.
static ACTIVE_RECORD_FRAGMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.(?:where|not|or|order|reorder|having|joins|group|pluck|select|from|exists\?|find_by|delete_all|update_all|lock)\s*\(\s*"[^"]*#\{"#)
        .expect("built-in pattern compiles")
});

impl Rule for SqlInjection {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &[
            "select", "insert", "update", "delete", "drop", "alter", "truncate", "merge", "where",
            "#{",
        ]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// The whole file is read (a statement built on one line may reach a query call on
    /// another), but the SQL-text patterns run only on `lines`: each of them needs a keyword.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        let may_hold_sql = |n: u32| lines.binary_search_by_key(&n, |&(k, _)| k).is_ok();
        let lang = Lang::of(file);
        if matches!(lang, Lang::Yaml | Lang::Docker) {
            return;
        }
        // Variables that hold SQL built from data, from added lines: (name, line, text).
        let mut tainted: Vec<(String, u32, String)> = Vec::new();
        let mut reported: Vec<u32> = Vec::new();
        for hunk in &file.hunks {
            for line in &hunk.lines {
                let text = line.text.as_str();
                let Some(new_line) = line.new_line else {
                    continue;
                };
                let added_sql = line.kind == LineKind::Added && may_hold_sql(new_line);
                if added_sql && lang == Lang::Ruby && ACTIVE_RECORD_FRAGMENT.is_match(text) {
                    report(
                        &META,
                        file,
                        new_line,
                        text,
                        "SQL fragment interpolates data into an ActiveRecord query: use placeholders or a hash condition".into(),
                        out,
                    );
                    reported.push(new_line);
                    continue;
                }
                if added_sql && SQL_TEXT.is_match(text) && builds_string(text, lang) {
                    if SINK.is_match(text) {
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
                    if let Some(var) = assigned_variable(text) {
                        tainted.push((var.to_string(), new_line, text.to_string()));
                    }
                    continue;
                }
                // Only a line that passes a tainted variable can still be a finding.
                if tainted.is_empty() || !SINK.is_match(text) {
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
}
