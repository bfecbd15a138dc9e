//! Values that look like secrets but are not: documented examples, placeholders, references
//! to environment variables or secret stores.

/// Whether `value` is a known example or a placeholder rather than a credential.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| matches!(c, '"' | '\'' | '`'));
    let lower = v.to_ascii_lowercase();
    if v.is_empty() || lower.ends_with("example") || lower.contains("examplekey") {
        return true;
    }
    if v.starts_with("${")
        || v.starts_with("$(")
        || v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        return true;
    }
    if v.starts_with('<') && v.ends_with('>')
        || v.contains("{{")
        || v.starts_with('%') && v.ends_with('%')
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change_me",
        "password",
        "passwd",
        "secret",
        "dummy",
        "example",
        "sample",
        "placeholder",
        "your_",
        "your-",
        "yourkey",
        "redacted",
        "xxxx",
        "****",
        "....",
        "fake",
        "test123",
        "notreal",
        "replace",
        "insert",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // One repeated character, or a plain ascending run.
    let bytes = v.as_bytes();
    if bytes.len() >= 8 && bytes.iter().all(|b| *b == bytes[0]) {
        return true;
    }
    let ascending = bytes
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    bytes.len() >= 8 && ascending * 10 >= (bytes.len() - 1) * 8
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn placeholders_and_real_looking_values() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "<your-key>",
            "{{ secrets.TOKEN }}",
            "changeme",
            "xxxxxxxxxxxx",
            "abcdefghijklmnop",
            "aaaaaaaaaaaa",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in ["hQ7vR2mX9kLp4sTz", "s3cr3tP4ssw0rdQ9"] {
            assert!(!is_placeholder(real), "{real}");
        }
    }
}
