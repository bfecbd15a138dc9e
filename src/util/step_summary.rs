//! GitHub Actions' step summary: Markdown appended to the file `$GITHUB_STEP_SUMMARY` names.

use std::io::Write as _;
use std::path::PathBuf;

/// Append `markdown` to the step summary when `$GITHUB_STEP_SUMMARY` is set (in Actions);
/// do nothing elsewhere. The error names the file.
pub fn append(markdown: &str) -> Result<(), String> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(markdown.as_bytes()))
        .map_err(|e| {
            format!(
                "cannot append to GITHUB_STEP_SUMMARY ({}): {e}",
                path.display()
            )
        })
}
