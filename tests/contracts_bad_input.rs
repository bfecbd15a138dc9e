//! Bad input never panics: each case exits 2 with a message naming the file and the problem.

use std::io::Write;

use assert_cmd::Command;
use predicates::prelude::*;

fn validate(path: &std::path::Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("factory")
        .unwrap()
        .args(["validate", "strategic-plan"])
        .arg(path)
        .assert()
}

#[test]
fn empty_file() {
    let f = tempfile::NamedTempFile::new().unwrap();
    validate(f.path())
        .code(2)
        .stderr(predicate::str::contains("file is empty"));
}

#[test]
fn invalid_utf8() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"{\"feature_title\": \"caf\xe9\"}").unwrap();
    validate(f.path()).code(2).stderr(predicate::str::contains(
        "not UTF-8 (invalid byte at offset 22)",
    ));
}

#[test]
fn malformed_json_names_line_and_column() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"{\n  \"tasks\": [\n    {\"id\": }\n  ]\n}")
        .unwrap();
    validate(f.path()).code(2).stderr(predicate::str::contains(
        "invalid JSON at line 3, column 12",
    ));
}

#[test]
fn deeply_nested_json_is_refused_without_overflow() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    f.write_all(deep.as_bytes()).unwrap();
    validate(f.path())
        .code(2)
        .stderr(predicate::str::contains("recursion limit exceeded"));
}

#[test]
fn a_hundred_megabytes_is_refused() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let chunk = format!("{{\"k\": \"{}\"}},", "x".repeat(1000));
    f.write_all(b"[").unwrap();
    let mut written = 0usize;
    while written < 100 * 1024 * 1024 {
        f.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len();
    }
    f.write_all(b"{}]").unwrap();
    validate(f.path())
        .code(2)
        .stderr(predicate::str::contains("larger than 64 MiB"));
}

#[test]
fn missing_file_and_unknown_contract() {
    validate(std::path::Path::new("/nonexistent/plan.json"))
        .code(2)
        .stderr(predicate::str::contains(
            "/nonexistent/plan.json: cannot read",
        ));
    Command::cargo_bin("factory")
        .unwrap()
        .args(["validate", "strategic-plans", "x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown contract `strategic-plans`",
        ));
    Command::cargo_bin("factory")
        .unwrap()
        .args(["validate", "strategic-plan"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no file to validate"));
}

#[test]
fn not_an_object_is_a_schema_violation_not_a_crash() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"[1, 2, 3]").unwrap();
    validate(f.path())
        .code(1)
        .stdout(predicate::str::contains("SCHEMA"));
}
