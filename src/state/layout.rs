//! Where each file lives inside the state directory, relative to its root. The state module
//! owns the layout: [`super::StateDir`] builds paths from it, the local forge keeps its issues and
//! pull requests under [`FORGE_DIR`], and `factory state merge` picks a merge rule by it.

/// The session: route, phases, waves, counters (`docs/STATE.md`).
pub const SESSION: &str = "session.json";
/// The advisory lock of the session's read-modify-write.
pub const SESSION_LOCK: &str = "session.lock";
/// The append-only event log (`docs/LOGGING.md`).
pub const LOG: &str = "workflow.log";
/// The human report.
pub const REPORT: &str = "REPORT.md";
/// The workflow override: policy, never merged from a copy.
pub const WORKFLOW: &str = "workflow.yaml";
/// Prompt template overrides: policy, never merged from a copy.
pub const TEMPLATES_DIR: &str = "templates";
/// Phase artifacts (plans, reviews, evidence, the implementation record).
pub const ARTIFACTS_DIR: &str = "artifacts";
/// The implementation record, per issue (`artifacts/implementation.json`).
pub const IMPLEMENTATION: &str = "artifacts/implementation.json";
/// Scorecards, one per completed session.
pub const SCORECARDS_DIR: &str = "scorecards";
/// The lessons store.
pub const LESSONS_DIR: &str = "lessons";
/// The local forge: issues, pull requests, reviews and labels as JSON files.
pub const FORGE_DIR: &str = "forge";
/// The local forge's lock.
pub const FORGE_LOCK: &str = "forge/forge.lock";
/// The local forge's issues, `forge/issues/<n>.json`.
pub const FORGE_ISSUES: &str = "forge/issues";
/// The local forge's pull requests, `forge/pulls/<n>.json`.
pub const FORGE_PULLS: &str = "forge/pulls";
/// The reviews posted on each local pull request, `forge/reviews/<n>.json`.
pub const FORGE_REVIEWS: &str = "forge/reviews";
/// The labels of the local forge.
pub const FORGE_LABELS: &str = "forge/labels.json";

/// The number `n` when `rel` is `<dir>/<n>.json`.
pub fn numbered(rel: &str, dir: &str) -> Option<u64> {
    rel.strip_prefix(dir)?
        .strip_prefix('/')?
        .strip_suffix(".json")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()
}

/// The last part of a layout path, for code that joins it onto its parent directory.
pub fn file_name(rel: &'static str) -> &'static str {
    rel.rsplit('/').next().unwrap_or(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_files_of_a_directory() {
        assert_eq!(numbered("forge/issues/12.json", FORGE_ISSUES), Some(12));
        assert_eq!(numbered("forge/issues/x.json", FORGE_ISSUES), None);
        assert_eq!(numbered("forge/issues/.json", FORGE_ISSUES), None);
        assert_eq!(numbered("forge/issues2/1.json", FORGE_ISSUES), None);
        assert_eq!(numbered("forge/pulls/3.json", FORGE_ISSUES), None);
        assert_eq!(file_name(FORGE_LABELS), "labels.json");
    }
}
