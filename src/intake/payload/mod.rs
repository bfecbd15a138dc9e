//! Alert payloads, normalised: Sentry and PagerDuty webhooks become an [`Incident`], a watchdog
//! report becomes a [`Drift`]. The format is detected by shape, never by file name, so a payload
//! saved from any webhook receiver works as is.
//!
//! Every string taken from a payload is untrusted: it goes through [`super::sanitize`].

pub mod drift;
pub mod pagerduty;
pub mod sentry;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contracts::input::{self, InputError};
use crate::util::sanitize;

/// Larger payloads are refused: a webhook body is kilobytes, not megabytes.
pub const MAX_PAYLOAD_BYTES: usize = 5 * 1024 * 1024;
/// Stack frames kept, the most recent ones.
pub const MAX_STACK_FRAMES: usize = 50;
/// Links kept.
pub const MAX_LINKS: usize = 10;

/// Which payload family a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadFormat {
    /// Sentry issue alert (`Sentry-Hook-Resource: event_alert`): `data.event`.
    SentryEvent,
    /// Sentry issue webhook (`Sentry-Hook-Resource: issue`): `data.issue`.
    SentryIssue,
    /// PagerDuty v3 webhook: `event.event_type`, `event.data`.
    Pagerduty,
    /// A watchdog's drift report: `check`, `service`, `expected`, `actual`, `observed_at`.
    RuntimeDrift,
}

impl PayloadFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::SentryEvent => "sentry-event",
            PayloadFormat::SentryIssue => "sentry-issue",
            PayloadFormat::Pagerduty => "pagerduty",
            PayloadFormat::RuntimeDrift => "runtime-drift",
        }
    }
}

/// Where an incident came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentSource {
    Sentry,
    Pagerduty,
}

/// One stack frame; the list runs from the outermost call to where the error was raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// A normalised incident (the `incident` object of the intake record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub source: IncidentSource,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub message: String,
    /// Stable identity of the failure: the same failure gives the same fingerprint.
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub culprit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(default)]
    pub stack_frames: Vec<StackFrame>,
    #[serde(default)]
    pub links: Vec<String>,
}

/// A normalised runtime-drift report (the `drift` object of the intake record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub check: String,
    pub service: String,
    pub expected: Value,
    pub actual: Value,
    pub observed_at: Timestamp,
}

/// A payload after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalised {
    Incident(Incident),
    Drift(Drift),
}

/// Why a payload was refused. Each message names the file, and the field when there is one.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "{file}: payload is {size} bytes or more, over the {} MiB limit; pass the webhook body only",
        MAX_PAYLOAD_BYTES / 1024 / 1024
    )]
    TooLarge { file: String, size: usize },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(
        "{file}: unknown payload shape (top-level fields: {found}); expected a Sentry issue alert \
         (data.event with event_id, title), a Sentry issue webhook (data.issue with id, title), a \
         PagerDuty v3 webhook (event.event_type, event.data) or a runtime-drift report (check, \
         service, expected, actual, observed_at)"
    )]
    Unknown { file: String, found: String },
    #[error("{file}: {format} payload: field `{field}` {problem}")]
    Malformed {
        file: String,
        format: &'static str,
        field: String,
        problem: String,
    },
}

/// Read a payload file, refusing more than [`MAX_PAYLOAD_BYTES`] without reading it all.
/// Returns the path and the bytes, as [`super::IntakeRequest::payload`] wants them.
pub fn read(path: &std::path::Path) -> Result<(std::path::PathBuf, Vec<u8>), PayloadError> {
    use std::io::Read;
    let file = path.display().to_string();
    let read_err = |source| {
        PayloadError::Input(InputError::Read {
            name: file.clone(),
            source,
        })
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read_err)?
        .take(MAX_PAYLOAD_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge {
            file,
            size: bytes.len(),
        });
    }
    Ok((path.to_path_buf(), bytes))
}

/// Detect the format of a payload, parse and normalise it.
pub fn parse(file: &str, bytes: &[u8]) -> Result<(PayloadFormat, Normalised), PayloadError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge {
            file: file.into(),
            size: bytes.len(),
        });
    }
    let doc = input::parse(file, bytes)?;
    let Some(format) = detect(&doc) else {
        let found = match &doc {
            Value::Object(map) if map.is_empty() => "none".to_string(),
            Value::Object(map) => map
                .keys()
                .take(12)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            Value::Array(_) => "none: the document is an array".to_string(),
            _ => "none: the document is not an object".to_string(),
        };
        return Err(PayloadError::Unknown {
            file: file.into(),
            found,
        });
    };
    let reader = Reader { file, format };
    let normalised = match format {
        PayloadFormat::SentryEvent => Normalised::Incident(sentry::event(&reader, &doc)?),
        PayloadFormat::SentryIssue => Normalised::Incident(sentry::issue(&reader, &doc)?),
        PayloadFormat::Pagerduty => Normalised::Incident(pagerduty::incident(&reader, &doc)?),
        PayloadFormat::RuntimeDrift => Normalised::Drift(drift::report(&reader, &doc)?),
    };
    Ok((format, normalised))
}

/// The format a document's shape says it is.
pub fn detect(doc: &Value) -> Option<PayloadFormat> {
    let obj = doc.as_object()?;
    let data = obj.get("data").and_then(Value::as_object);
    if data
        .and_then(|d| d.get("event"))
        .is_some_and(Value::is_object)
    {
        return Some(PayloadFormat::SentryEvent);
    }
    if data
        .and_then(|d| d.get("issue"))
        .is_some_and(Value::is_object)
    {
        return Some(PayloadFormat::SentryIssue);
    }
    if obj
        .get("event")
        .and_then(Value::as_object)
        .is_some_and(|e| e.contains_key("event_type"))
    {
        return Some(PayloadFormat::Pagerduty);
    }
    if obj.contains_key("check") || (obj.contains_key("expected") && obj.contains_key("actual")) {
        return Some(PayloadFormat::RuntimeDrift);
    }
    None
}

/// Field access that turns a missing or mistyped field into an error naming it.
pub(crate) struct Reader<'a> {
    pub file: &'a str,
    pub format: PayloadFormat,
}

impl Reader<'_> {
    pub fn malformed(&self, field: &str, problem: impl Into<String>) -> PayloadError {
        PayloadError::Malformed {
            file: self.file.into(),
            format: self.format.as_str(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The value at a dotted path (`data.event.title`, `values.0.type`), if present and not null.
    pub fn get<'v>(&self, doc: &'v Value, path: &str) -> Option<&'v Value> {
        let mut value = doc;
        for key in path.split('.') {
            value = match (value, key.parse::<usize>()) {
                (Value::Array(items), Ok(index)) => items.get(index)?,
                _ => value.get(key)?,
            };
        }
        (!value.is_null()).then_some(value)
    }

    /// A string field (numbers are accepted as text: ids are sometimes numeric), sanitised.
    pub fn opt_str(&self, doc: &Value, path: &str) -> Result<Option<String>, PayloadError> {
        match self.get(doc, path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(sanitize::field(s)).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => {
                Err(self.malformed(path, format!("is {}, expected a string", kind(other))))
            }
        }
    }

    /// A string field that must be present and non-empty.
    pub fn req_str(&self, doc: &Value, path: &str) -> Result<String, PayloadError> {
        self.opt_str(doc, path)?
            .ok_or_else(|| self.malformed(path, "is missing or empty; it is required"))
    }

    /// An object field that must be present.
    pub fn req_obj<'v>(&self, doc: &'v Value, path: &str) -> Result<&'v Value, PayloadError> {
        match self.get(doc, path) {
            Some(v @ Value::Object(_)) => Ok(v),
            None => Err(self.malformed(path, "is missing; it is required (an object)")),
            Some(other) => {
                Err(self.malformed(path, format!("is {}, expected an object", kind(other))))
            }
        }
    }

    /// An array field, empty when absent.
    pub fn opt_array<'v>(&self, doc: &'v Value, path: &str) -> Result<&'v [Value], PayloadError> {
        match self.get(doc, path) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => {
                Err(self.malformed(path, format!("is {}, expected an array", kind(other))))
            }
        }
    }

    /// A time: an RFC 3339 string or seconds since the epoch.
    pub fn opt_time(&self, doc: &Value, path: &str) -> Result<Option<Timestamp>, PayloadError> {
        match self.get(doc, path) {
            None => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<Timestamp>().map(Some).map_err(|e| {
                self.malformed(
                    path,
                    format!("is not an RFC 3339 time ({e}); write e.g. 2026-11-25T09:00:00Z"),
                )
            }),
            Some(Value::Number(n)) => {
                let secs = n.as_f64().unwrap_or(f64::NAN);
                let nanos = (secs * 1e9).round();
                if !nanos.is_finite() || nanos.abs() > 8.0e18 {
                    return Err(self.malformed(path, "is not a valid epoch time"));
                }
                Timestamp::from_nanosecond(nanos as i128)
                    .map(Some)
                    .map_err(|e| self.malformed(path, format!("is not a valid epoch time ({e})")))
            }
            Some(other) => {
                Err(self.malformed(path, format!("is {}, expected a time", kind(other))))
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keep only http(s) links, sanitised, without duplicates.
pub(crate) fn links<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in candidates.into_iter().flatten() {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        let web = lower.starts_with("https://") || lower.starts_with("http://");
        if !web
            || url.len() > sanitize::FIELD_MAX_CHARS
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            continue;
        }
        let url = sanitize::field(url);
        if !out.contains(&url) && out.len() < MAX_LINKS {
            out.push(url);
        }
    }
    out
}

/// Keep the most recent frames (the end of the list).
pub(crate) fn cap_frames(mut frames: Vec<StackFrame>) -> Vec<StackFrame> {
    if frames.len() > MAX_STACK_FRAMES {
        frames.drain(..frames.len() - MAX_STACK_FRAMES);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        parse("payload.json", bytes).unwrap_err().to_string()
    }

    #[test]
    fn refuses_huge_payloads_before_parsing() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(err(&big).contains("over the 5 MiB limit"));
    }

    #[test]
    fn read_refuses_large_files_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; MAX_PAYLOAD_BYTES + 10]).unwrap();
        let e = read(&big).unwrap_err().to_string();
        assert!(
            e.contains("big.json: payload is 5242881 bytes or more"),
            "{e}"
        );
        let e = read(&dir.path().join("nope.json")).unwrap_err().to_string();
        assert!(e.contains("nope.json: cannot read"), "{e}");
        let small = dir.path().join("ok.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(read(&small).unwrap().1, b"{}");
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let e = err(b"{\n  \"check\": ,\n}");
        assert!(
            e.contains("payload.json: invalid JSON at line 2, column 12"),
            "{e}"
        );
    }

    #[test]
    fn unknown_shapes_list_what_was_found_and_expected() {
        let e = err(br#"{"alert": "x", "severity": 2}"#);
        assert!(
            e.contains("payload.json: unknown payload shape (top-level fields: alert, severity)"),
            "{e}"
        );
        assert!(e.contains("PagerDuty v3 webhook"), "{e}");
        assert!(err(b"[1, 2]").contains("the document is an array"));
    }

    #[test]
    fn links_keep_only_web_urls() {
        let got = links([
            Some("https://sentry.io/x"),
            Some("javascript:alert(1)"),
            Some("file:///etc/passwd"),
            Some("HTTP://example.com/a"),
            Some("https://sentry.io/x"),
            Some("https://a b"),
            None,
        ]);
        assert_eq!(got, ["https://sentry.io/x", "HTTP://example.com/a"]);
    }

    #[test]
    fn frames_are_capped_keeping_the_most_recent() {
        let frames: Vec<StackFrame> = (0..60)
            .map(|i| StackFrame {
                file: None,
                function: None,
                line: Some(i),
            })
            .collect();
        let kept = cap_frames(frames);
        assert_eq!(kept.len(), MAX_STACK_FRAMES);
        assert_eq!(kept.first().unwrap().line, Some(10));
        assert_eq!(kept.last().unwrap().line, Some(59));
    }
}
