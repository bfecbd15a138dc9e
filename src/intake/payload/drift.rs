//! A watchdog's runtime-drift report: which check, which service, what was expected, what was
//! observed and when. `expected` and `actual` may be any JSON; their strings are sanitised.

use serde_json::Value;

use super::{Drift, PayloadError, Reader};
use crate::util::sanitize;

/// Normalise a drift report; every field is required.
pub(crate) fn report(r: &Reader<'_>, doc: &Value) -> Result<Drift, PayloadError> {
    let check = r.req_str(doc, "check")?;
    let service = r.req_str(doc, "service")?;
    let expected = doc.get("expected").ok_or_else(|| {
        r.malformed(
            "expected",
            "is missing; it is required (any JSON, null included)",
        )
    })?;
    let actual = doc.get("actual").ok_or_else(|| {
        r.malformed(
            "actual",
            "is missing; it is required (any JSON, null included)",
        )
    })?;
    let observed_at = r.opt_time(doc, "observed_at")?.ok_or_else(|| {
        r.malformed(
            "observed_at",
            "is missing; it is required (an RFC 3339 time)",
        )
    })?;
    Ok(Drift {
        check,
        service,
        expected: sanitize::json(expected),
        actual: sanitize::json(actual),
        observed_at,
    })
}
