//! Validation commands that prove nothing: empty, `true`, `:`, a lone `echo`, `TODO`, or a
//! command whose failure is swallowed with `|| true`.

/// Why `command` is a placeholder, or `None` when it is a real command.
pub(crate) fn placeholder(command: &str) -> Option<&'static str> {
    let c = command.trim();
    let lower = c.to_ascii_lowercase();
    if c.is_empty() {
        return Some("is empty");
    }
    const NOOPS: &[&str] = &[
        "true",
        ":",
        "/bin/true",
        "exit 0",
        "todo",
        "tbd",
        "n/a",
        "na",
        "none",
        "-",
        "...",
        "noop",
        "skip",
        "pass",
    ];
    if NOOPS.contains(&lower.as_str()) {
        return Some("does nothing");
    }
    if lower == "echo" || lower.starts_with("echo ") || lower.starts_with("printf ") {
        return Some("only prints text");
    }
    if lower.contains("todo") || lower.contains("tbd") || lower.contains("fixme") {
        return Some("is marked as to-do");
    }
    if (c.starts_with('<') && c.ends_with('>')) || c.contains("<your") {
        return Some("is a template placeholder");
    }
    let swallowed = ["|| true", "||true", "|| :", "||:", "|| exit 0"];
    if swallowed.iter().any(|s| lower.trim_end().ends_with(s)) {
        return Some("swallows its own failure");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::placeholder;

    #[test]
    fn placeholders_and_real_commands() {
        for p in [
            "",
            "  ",
            "true",
            ":",
            "echo ok",
            "echo \"tests pass\"",
            "TODO",
            "TBD: add tests",
            "<build command>",
            "npm test || true",
            "exit 0",
        ] {
            assert!(placeholder(p).is_some(), "{p:?} should be a placeholder");
        }
        for real in [
            "npm test",
            "cargo test --locked",
            "make check",
            "pytest -q && ruff check .",
            "go test ./...",
        ] {
            assert!(placeholder(real).is_none(), "{real:?} is real");
        }
    }
}
