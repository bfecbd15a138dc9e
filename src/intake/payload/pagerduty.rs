//! PagerDuty v3 webhooks: one event per delivery, `event.event_type` says what happened and
//! `event.data` holds the incident (or, for notes, status updates and responders, an object that
//! refers to it under `data.incident`).
//!
//! The fingerprint is the incident key (the de-duplication key the alert source chose) when there
//! is one, so a re-triggered alert matches; otherwise the incident id.

use serde_json::Value;

use super::{Incident, IncidentSource, PayloadError, Reader, links};

/// Normalise an `incident.*` event.
pub(crate) fn incident(r: &Reader<'_>, doc: &Value) -> Result<Incident, PayloadError> {
    let event_type = r.req_str(doc, "event.event_type")?;
    if !event_type.starts_with("incident.") {
        return Err(r.malformed(
            "event.event_type",
            format!("is `{event_type}`; only incident events (incident.triggered, incident.reopened, …) start the pipeline"),
        ));
    }
    let data = r.req_obj(doc, "event.data")?;
    let is_incident = data
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "incident");
    let (id, title, html_url, base) = if is_incident {
        let id = r.req_str(doc, "event.data.id")?;
        let title = match r.opt_str(doc, "event.data.title")? {
            Some(t) => t,
            None => r.req_str(doc, "event.data.summary").map_err(|_| {
                r.malformed("event.data.title", "is missing or empty; it is required")
            })?,
        };
        (
            id,
            title,
            r.opt_str(doc, "event.data.html_url")?,
            "event.data",
        )
    } else {
        // incident_note, incident_status_update, incident_responder: a reference to the incident.
        let id = r.req_str(doc, "event.data.incident.id")?;
        let title = r
            .opt_str(doc, "event.data.incident.summary")?
            .unwrap_or_else(|| format!("incident {id}"));
        (
            id,
            title,
            r.opt_str(doc, "event.data.incident.html_url")?,
            "event.data.incident",
        )
    };
    let key = r.opt_str(doc, &format!("{base}.incident_key"))?;
    let fingerprint = match key {
        Some(k) => format!("pagerduty:key:{k}"),
        None => format!("pagerduty:incident:{id}"),
    };
    let severity = match r.opt_str(doc, "event.data.priority.summary")? {
        Some(p) => Some(p),
        None => r.opt_str(doc, "event.data.urgency")?,
    };
    Ok(Incident {
        source: IncidentSource::Pagerduty,
        service: r
            .opt_str(doc, "event.data.service.summary")?
            .unwrap_or_else(|| "unknown".into()),
        error_type: Some(event_type),
        message: title,
        fingerprint,
        culprit: None,
        severity,
        first_seen: r.opt_time(doc, "event.data.created_at")?,
        last_seen: r.opt_time(doc, "event.occurred_at")?,
        stack_frames: Vec::new(),
        links: links([html_url.as_deref()]),
    })
}
