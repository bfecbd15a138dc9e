//! Short forms of text for one-line displays.

/// The first line of `text`, cut to `max` characters with an ellipsis.
pub fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = line.trim();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// A commit id shortened for messages and logs: its first 12 characters.
pub fn short_commit(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// [`first_line`], or `fallback` when `text` has no line with anything on it.
pub fn first_line_or(text: &str, max: usize, fallback: &str) -> String {
    Some(first_line(text, max))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}
