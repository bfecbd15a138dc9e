//! Sentry webhooks from an internal integration: issue alerts (`event_alert`, the event under
//! `data.event`) and issue webhooks (`issue`, the issue under `data.issue`).
//!
//! The fingerprint is the Sentry issue id when there is one (`sentry:issue:<id>`): an alert for a
//! new event of an old issue then matches the issue webhook and earlier intakes. A custom grouping
//! fingerprint comes next, then the grouping hash; the event id is the last resort (it is unique
//! to one event, so it never matches a recurrence).

use serde_json::Value;

use super::{Incident, IncidentSource, PayloadError, Reader, StackFrame, cap_frames, links};

/// Normalise an issue alert (`data.event`).
pub(crate) fn event(r: &Reader<'_>, doc: &Value) -> Result<Incident, PayloadError> {
    r.req_obj(doc, "data.event")?;
    let event_id = r.req_str(doc, "data.event.event_id")?;

    // Chained exceptions are listed cause first; the last one is what the application raised.
    let exceptions = r.opt_array(doc, "data.event.exception.values")?;
    let exc = exceptions
        .len()
        .checked_sub(1)
        .map(|i| format!("data.event.exception.values.{i}"));
    let (exc_type, exc_value, frames_path) = match &exc {
        Some(e) => (
            r.opt_str(doc, &format!("{e}.type"))?,
            r.opt_str(doc, &format!("{e}.value"))?,
            format!("{e}.stacktrace.frames"),
        ),
        None => (None, None, "data.event.stacktrace.frames".to_string()),
    };
    let stack_frames = frames(r, doc, &frames_path)?;

    let title = r.opt_str(doc, "data.event.title")?;
    let meta_type = r.opt_str(doc, "data.event.metadata.type")?;
    let meta_value = r.opt_str(doc, "data.event.metadata.value")?;
    let message = title
        .clone()
        .or_else(|| join_type_value(exc_type.as_deref(), exc_value.as_deref()))
        .or(r.opt_str(doc, "data.event.message")?)
        .or_else(|| meta_value.clone())
        .ok_or_else(|| {
            r.malformed(
                "data.event.title",
                "is missing, and there is no exception or message to use instead",
            )
        })?;

    let issue_id = r.opt_str(doc, "data.event.issue_id")?;
    let fingerprint = match issue_id {
        Some(id) => format!("sentry:issue:{id}"),
        None => match custom_fingerprint(r, doc)? {
            Some(f) => format!("sentry:fingerprint:{f}"),
            None => match r
                .opt_array(doc, "data.event.hashes")?
                .first()
                .and_then(Value::as_str)
            {
                Some(h) => format!("sentry:hash:{}", crate::util::sanitize::field(h)),
                None => format!("sentry:event:{event_id}"),
            },
        },
    };
    let service = project(r, doc, "data.event")?;
    let last_seen = match r.opt_time(doc, "data.event.datetime")? {
        Some(t) => Some(t),
        None => r.opt_time(doc, "data.event.timestamp")?,
    };
    let web_url = r.opt_str(doc, "data.event.web_url")?;
    let issue_url = r.opt_str(doc, "data.event.issue_url")?;
    Ok(Incident {
        source: IncidentSource::Sentry,
        service,
        error_type: exc_type.or(meta_type),
        message,
        fingerprint,
        culprit: r.opt_str(doc, "data.event.culprit")?,
        severity: r.opt_str(doc, "data.event.level")?,
        first_seen: None,
        last_seen,
        stack_frames,
        links: links([web_url.as_deref(), issue_url.as_deref()]),
    })
}

/// Normalise an issue webhook (`data.issue`).
pub(crate) fn issue(r: &Reader<'_>, doc: &Value) -> Result<Incident, PayloadError> {
    r.req_obj(doc, "data.issue")?;
    let id = r.req_str(doc, "data.issue.id")?;
    let meta_type = r.opt_str(doc, "data.issue.metadata.type")?;
    let meta_value = r.opt_str(doc, "data.issue.metadata.value")?;
    let message = r
        .opt_str(doc, "data.issue.title")?
        .or_else(|| join_type_value(meta_type.as_deref(), meta_value.as_deref()))
        .ok_or_else(|| {
            r.malformed(
                "data.issue.title",
                "is missing, and there is no metadata.type/value to use instead",
            )
        })?;
    let permalink = r.opt_str(doc, "data.issue.permalink")?;
    let web_url = r.opt_str(doc, "data.issue.web_url")?;
    let url = r.opt_str(doc, "data.issue.url")?;
    Ok(Incident {
        source: IncidentSource::Sentry,
        service: project(r, doc, "data.issue")?,
        error_type: meta_type,
        message,
        fingerprint: format!("sentry:issue:{id}"),
        culprit: r.opt_str(doc, "data.issue.culprit")?,
        severity: r.opt_str(doc, "data.issue.level")?,
        first_seen: r.opt_time(doc, "data.issue.firstSeen")?,
        last_seen: r.opt_time(doc, "data.issue.lastSeen")?,
        stack_frames: Vec::new(),
        links: links([permalink.as_deref(), web_url.as_deref(), url.as_deref()]),
    })
}

fn join_type_value(t: Option<&str>, v: Option<&str>) -> Option<String> {
    match (t, v) {
        (Some(t), Some(v)) => Some(format!("{t}: {v}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    }
}

/// A fingerprint set by the application (`["{{ default }}"]` means Sentry's own grouping).
fn custom_fingerprint(r: &Reader<'_>, doc: &Value) -> Result<Option<String>, PayloadError> {
    let parts: Vec<String> = r
        .opt_array(doc, "data.event.fingerprint")?
        .iter()
        .filter_map(Value::as_str)
        .map(crate::util::sanitize::field)
        .collect();
    if parts.is_empty()
        || parts
            .iter()
            .all(|p| p.contains("{{ default }}") || p.contains("{{default}}"))
    {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

/// The affected service: the project slug or name (issue alerts only carry a numeric project id).
fn project(r: &Reader<'_>, doc: &Value, base: &str) -> Result<String, PayloadError> {
    for field in [
        "project.slug",
        "project.name",
        "project_slug",
        "project_name",
    ] {
        if let Some(s) = r.opt_str(doc, &format!("{base}.{field}"))? {
            return Ok(s);
        }
    }
    match r.get(doc, &format!("{base}.project")) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(crate::util::sanitize::field(s)),
        Some(Value::Number(n)) => Ok(format!("sentry project {n}")),
        _ => Ok("unknown".to_string()),
    }
}

fn frames(r: &Reader<'_>, doc: &Value, path: &str) -> Result<Vec<StackFrame>, PayloadError> {
    let items = r.opt_array(doc, path)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, frame) in items.iter().enumerate() {
        let at = format!("{path}.{i}");
        if !frame.is_object() {
            return Err(r.malformed(&at, "is not an object"));
        }
        let mut file = None;
        for key in ["filename", "abs_path", "module"] {
            file = r.opt_str(doc, &format!("{at}.{key}"))?;
            if file.is_some() {
                break;
            }
        }
        let line = match r.get(doc, &format!("{at}.lineno")) {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                r.malformed(&format!("{at}.lineno"), "is not a non-negative integer")
            })?),
        };
        out.push(StackFrame {
            file,
            function: r.opt_str(doc, &format!("{at}.function"))?,
            line,
        });
    }
    // Sentry lists frames oldest first, so the most recent call is already last.
    Ok(cap_frames(out))
}
