//! Error messages for people: a cause chain on one line, a JSON error without the position
//! serde adds (for callers that print their own file and line).

/// An error and its causes in one line (`client error (Connect): tcp connect error: ...`),
/// each cause once. The OSV client renders its errors the same way.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

pub fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
