//! `connection-string-password`: database and broker URLs with an inline password.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::FileDiff;
use crate::preflight::rules::{Rule, RuleMeta};

use super::allowlist::is_placeholder;
use super::report;

pub(crate) struct ConnectionString;

static META: RuleMeta = RuleMeta {
    id: "connection-string-password",
    title: "Connection string with a password",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A PostgreSQL, MySQL, MongoDB, Redis, AMQP or MSSQL URL with an inline password \
(`scheme://user:password@host`). Placeholders (`${DB_PASSWORD}`, `<password>`, `changeme`, \
`password`) and local development defaults are not reported.\n\n\
Fix: change the password, and build the URL at run time from an environment variable or a \
secret store.",
    fails: "DATABASE_URL=postgres://app:Vq8rT2nLx4mZ9pKw@db.internal:5432/orders",
    passes: "DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/orders",
    example_path: ".env.production",
};

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://([^:@/\s'\x22]+):([^@/\s'\x22]+)@([^/\s'\x22:]+)")
        .expect("compiles")
});

impl Rule for ConnectionString {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn keywords(&self) -> &[&'static str] {
        &["://"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        let lines: Vec<(u32, &str)> = file.added_lines().collect();
        self.check_lines(file, &lines, out);
    }

    /// Line by line: a connection URL contains `://`.
    fn check_lines(&self, file: &FileDiff, lines: &[(u32, &str)], out: &mut Vec<Finding>) {
        for &(n, text) in lines {
            for caps in URL.captures_iter(text) {
                let password = &caps[2];
                let host = &caps[3];
                if is_placeholder(password) || password.len() < 4 {
                    continue;
                }
                let local = matches!(
                    host,
                    "localhost"
                        | "127.0.0.1"
                        | "::1"
                        | "db"
                        | "postgres"
                        | "mysql"
                        | "redis"
                        | "mongo"
                );
                if local && password.len() < 12 {
                    continue;
                }
                report(
                    &META,
                    META.severity,
                    file,
                    n,
                    password,
                    format!("connection string for `{host}` embeds a password"),
                    out,
                );
            }
        }
    }
}
