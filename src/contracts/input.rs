//! Reading a JSON document safely: bounded size, clear errors for empty files, invalid UTF-8,
//! malformed or too deeply nested JSON. Never panics, never overflows the stack.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Larger inputs are refused: no phase output is legitimately this big.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{name}: cannot read: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error("{name}: file is empty; expected a JSON document")]
    Empty { name: String },
    #[error("{name}: larger than {} MiB; phase outputs are far smaller, check that this is the right file", MAX_INPUT_BYTES / 1024 / 1024)]
    TooLarge { name: String },
    #[error("{name}: not UTF-8 (invalid byte at offset {offset}); save the file as UTF-8")]
    NotUtf8 { name: String, offset: usize },
    #[error("{name}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        name: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Read and parse `path` (`-` reads standard input).
pub fn read_json(path: &Path) -> Result<Value, InputError> {
    let name = path.display().to_string();
    let read_err = |source| InputError::Read {
        name: name.clone(),
        source,
    };
    let mut bytes = Vec::new();
    if name == "-" {
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    } else {
        let file = std::fs::File::open(path).map_err(read_err)?;
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
    }
    parse(&name, &bytes)
}

/// Parse bytes already in memory; `name` is used in errors.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Value, InputError> {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge { name: name.into() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        name: name.into(),
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(InputError::Empty { name: name.into() });
    }
    // serde_json stops at 128 levels of nesting with an error, so deep input cannot overflow.
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        InputError::Json {
            name: name.into(),
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert!(matches!(parse("f", b""), Err(InputError::Empty { .. })));
        assert!(matches!(parse("f", b" \n"), Err(InputError::Empty { .. })));
        assert!(matches!(
            parse("f", b"{\"a\": \xff}"),
            Err(InputError::NotUtf8 { offset: 6, .. })
        ));
        assert!(matches!(
            parse("f", b"{\"a\": }"),
            Err(InputError::Json { line: 1, .. })
        ));
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse("f", deep.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("recursion limit"), "{err}");
        assert!(parse("f", "\u{feff}{}".as_bytes()).is_ok());
    }
}
