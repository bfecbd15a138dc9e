//! REPORT.md and the one-line summaries `status` and the dashboard show, rendered from what the
//! state directory holds (the session, the log, scorecards, reviews, lessons). The state module
//! stores; this module reads and renders.

mod markdown;

pub use markdown::{
    ReportExtras, class_notes, format_duration, next_step, outcome, render_report,
    render_report_with,
};

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::artifacts::review::Review;
use crate::artifacts::scorecard::Scorecard;
use crate::intake::IntakeRecord;
use crate::state::{Session, StateDir, StateError};

/// Render REPORT.md from the session and the log, and write it atomically.
pub fn write(state: &StateDir) -> Result<PathBuf, StateError> {
    let session = state.load_session()?.ok_or_else(|| StateError::NoSession {
        path: state.session_path(),
    })?;
    let log = state.log_path();
    let events = if log.exists() {
        crate::state::log::read_events(&log)?
    } else {
        Vec::new()
    };
    let text = render_report_with(&session, &events, &extras(state, &session));
    let path = state.report_path();
    crate::state::write_atomic(&path, text.as_bytes())
        .map_err(|e| StateError::io("write", &path, e))?;
    Ok(path)
}

/// The completion sections of the report, from what exists on disk (best effort: a file
/// that cannot be read is left out of the report, never an error here).
fn extras(state: &StateDir, session: &Session) -> ReportExtras {
    let read =
        |p: &Path| -> Option<Value> { serde_json::from_str(&fs::read_to_string(p).ok()?).ok() };
    let scorecard = read(&state.scorecards_dir().join(format!("{}.json", session.id)))
        .and_then(|v| Scorecard::from_value(&v).ok());
    let mut reviews: Vec<(PathBuf, Review)> = fs::read_dir(state.artifacts_dir().join("reviews"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| Review::load(&p).ok().map(|r| (p, r)))
        .collect();
    reviews.sort_by(|a, b| a.0.cmp(&b.0));
    let packs = fs::read_to_string(state.artifacts_dir().join("intake.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<IntakeRecord>(&t).ok())
        .map(|r| r.packs)
        .unwrap_or_default();
    let ledger = read(
        &state
            .lessons_dir()
            .join("sessions")
            .join(format!("{}.json", session.id)),
    );
    let ids: Vec<String> = ledger
        .iter()
        .flat_map(|l| {
            ["added", "seen"].into_iter().flat_map(move |k| {
                l[k].as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
            })
        })
        .collect();
    let lessons = crate::lessons::Store::new(state.lessons_dir())
        .load()
        .unwrap_or_default()
        .into_iter()
        .filter(|l| ids.contains(&l.id))
        .collect();
    ReportExtras {
        scorecard,
        reviews: reviews.into_iter().map(|(_, v)| v).collect(),
        lessons,
        packs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{ChangeClass, PhaseName, Trigger};

    #[test]
    fn report_is_written_from_the_session_and_the_log() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join(".factory"));
        assert!(write(&state).is_err(), "no session, no report");
        let s = Session::new(
            "fix login".into(),
            ChangeClass::Hotfix,
            Trigger::Incident,
            vec![PhaseName::Intake, PhaseName::Implementation],
        );
        state.save_new_session(&s).unwrap();
        let path = write(&state).unwrap();
        assert_eq!(path, state.report_path());
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(&format!("# Factory report: {}", s.id)),
            "{text}"
        );
        assert!(text.contains("None recorded."), "{text}");
    }
}
