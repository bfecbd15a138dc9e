//! Which lessons a new plan should see: ranked by overlap of their paths with the task's
//! scope, shared tags with the active packs, recency and how often the mistake was seen.

use std::path::Path;

use jiff::Timestamp;

use crate::contracts::glob::{Scope, overlap};

use super::{Lesson, LessonError, Store};

/// Lessons handed to a planning or review prompt, by default.
pub const DEFAULT_K: usize = crate::workflow::config::LESSONS_IN_PROMPT;

/// How much one lesson matters for a plan; 0 means not relevant at all.
pub fn relevance(l: &Lesson, scope: Option<&Scope>, pack_tags: &[String], now: Timestamp) -> f64 {
    let path_hit = match scope {
        Some(s) => l.paths.iter().any(|p| {
            Scope::new(&[p.as_str()])
                .ok()
                .is_some_and(|lp| overlap(&lp, s).is_some())
        }),
        None => false,
    };
    let tag_hits = l
        .tags
        .iter()
        .filter(|t| pack_tags.iter().any(|p| p.eq_ignore_ascii_case(t)))
        .count();
    if !path_hit && tag_hits == 0 && l.scope != "universal" {
        return 0.0;
    }
    let age_days = now
        .duration_since(l.last_seen_or_created())
        .as_secs_f64()
        .max(0.0)
        / 86_400.0;
    let recency = 1.0 / (1.0 + age_days / 30.0);
    let hits = (1.0 + l.times_seen as f64).ln();
    let confidence = match l.confidence.as_str() {
        "high" => 0.5,
        "medium" => 0.25,
        _ => 0.0,
    };
    let universal = if l.scope == "universal" { 0.5 } else { 0.0 };
    (if path_hit { 4.0 } else { 0.0 })
        + 2.0 * tag_hits as f64
        + recency
        + hits
        + confidence
        + universal
}

/// The top `k` active lessons for a plan whose tasks own `scope_globs`, with `pack_tags` the
/// tags of the session's packs; best first, ties broken by id.
pub fn rank(
    lessons: &[Lesson],
    scope_globs: &[String],
    pack_tags: &[String],
    k: usize,
    now: Timestamp,
) -> Vec<(Lesson, f64)> {
    let scope = if scope_globs.is_empty() {
        None
    } else {
        Scope::new(scope_globs).ok()
    };
    let mut scored: Vec<(Lesson, f64)> = lessons
        .iter()
        .filter(|l| l.active())
        .map(|l| (l.clone(), relevance(l, scope.as_ref(), pack_tags, now)))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
    scored.truncate(k);
    scored
}

/// [`rank`] over the lessons in `state_root/lessons/`, without the scores.
pub fn relevant_in(
    state_root: &Path,
    scope_globs: &[String],
    pack_tags: &[String],
    k: usize,
) -> Result<Vec<Lesson>, LessonError> {
    let lessons = Store::new(state_root.join("lessons")).load()?;
    Ok(rank(&lessons, scope_globs, pack_tags, k, Timestamp::now())
        .into_iter()
        .map(|(l, _)| l)
        .collect())
}

/// The lessons for a planning or review prompt, from the repository's state directory
/// (`FACTORY_STATE_DIR` or `.factory` at the git top level).
pub fn relevant(
    scope_globs: &[String],
    pack_tags: &[String],
    k: usize,
) -> Result<Vec<Lesson>, LessonError> {
    relevant_in(
        crate::state::StateDir::discover().root(),
        scope_globs,
        pack_tags,
        k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(id: &str, paths: &[&str], tags: &[&str], seen: u64, last: &str) -> Lesson {
        Lesson {
            id: id.into(),
            ts: "2026-01-01T00:00:00Z".parse().unwrap(),
            source_phase: "code_review".into(),
            source_ref: None,
            pattern: format!("pattern {id}"),
            root_cause: "r".into(),
            preventive_rule: "p".into(),
            scope: "this-project".into(),
            confidence: "medium".into(),
            times_seen: seen,
            last_seen: Some(last.parse().unwrap()),
            superseded_by: None,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            paths: paths.iter().map(|s| s.to_string()).collect(),
            retired: false,
        }
    }

    #[test]
    fn path_overlap_beats_tags_and_hits_break_ties() {
        let now: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        let ls = vec![
            lesson(
                "lesson-0001",
                &["src/auth/**"],
                &["auth"],
                1,
                "2026-11-29T00:00:00Z",
            ),
            lesson(
                "lesson-0002",
                &["docs/**"],
                &["auth", "saas-api"],
                1,
                "2026-11-29T00:00:00Z",
            ),
            lesson(
                "lesson-0003",
                &["src/auth/**"],
                &["auth"],
                5,
                "2026-11-29T00:00:00Z",
            ),
            lesson(
                "lesson-0004",
                &["web/**"],
                &["quality"],
                9,
                "2026-11-29T00:00:00Z",
            ),
            lesson(
                "lesson-0005",
                &["src/auth/**"],
                &["auth"],
                1,
                "2025-01-01T00:00:00Z",
            ),
        ];
        let scope = vec!["src/auth/login.rs".to_string()];
        let tags = vec!["saas-api".to_string()];
        let ids: Vec<String> = rank(&ls, &scope, &tags, 10, now)
            .into_iter()
            .map(|(l, _)| l.id)
            .collect();
        assert_eq!(
            ids,
            ["lesson-0003", "lesson-0001", "lesson-0005", "lesson-0002"]
        );
        assert_eq!(rank(&ls, &scope, &tags, 2, now).len(), 2);
    }

    #[test]
    fn retired_lessons_are_never_returned() {
        let now: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        let mut l = lesson("lesson-0001", &["src/**"], &[], 1, "2026-11-29T00:00:00Z");
        l.retired = true;
        assert!(rank(&[l], &["src/a.rs".into()], &[], 5, now).is_empty());
    }
}
