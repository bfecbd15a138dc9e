//! Turning a session's evidence into lesson candidates: critical and important review
//! findings, reviews that report an out-of-scope change, preflight scope violations, and
//! failed post-merge verification. Review text is untrusted: it is cut to one line and a
//! bounded length, and only ever stored as data.

use serde_json::Value;

use crate::artifacts::review::{Review, Severity};
use crate::state::log::Event;
use crate::workflow::PhaseName;

use super::fingerprint;

/// Longest pattern or rule text kept from a review.
const MAX_TEXT: usize = 300;

/// A lesson about to be merged into the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The kind of mistake: a review category, `scope` or `regression`.
    pub kind: String,
    pub pattern: String,
    pub root_cause: String,
    pub preventive_rule: String,
    pub scope: String,
    pub confidence: String,
    pub source_phase: String,
    pub session_id: String,
    pub issue: Option<u64>,
    pub pr: Option<u64>,
    pub finding_index: Option<u64>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
}

impl Candidate {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.kind, &self.pattern)
    }
}

/// One line, no control characters, at most [`MAX_TEXT`] characters.
fn clean(text: &str) -> String {
    let one: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if one.chars().count() > MAX_TEXT {
        let cut: String = one.chars().take(MAX_TEXT - 1).collect();
        format!("{cut}…")
    } else {
        one
    }
}

/// The first sentence of a description.
fn first_sentence(text: &str) -> String {
    let t = clean(text);
    match t.find(". ") {
        Some(i) => t[..i].to_string(),
        None => t.trim_end_matches('.').to_string(),
    }
}

/// The directory glob a file belongs to: `src/routes/users.ts` → `src/routes/**`.
pub fn path_glob(file: &str) -> String {
    let file = file.trim_start_matches("./");
    match file.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/**"),
        None => file.to_string(),
    }
}

/// Candidates from a session. `reviews` are review-output documents, `events` the session's
/// log events, `pack_tags` the domains of the session's packs (added as tags).
pub fn extract(
    session_id: &str,
    reviews: &[Review],
    events: &[Event],
    pack_tags: &[String],
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let base = |kind: &str, phase: &str| Candidate {
        kind: kind.to_string(),
        pattern: String::new(),
        root_cause: String::new(),
        preventive_rule: String::new(),
        scope: "this-project".into(),
        confidence: "medium".into(),
        source_phase: phase.into(),
        session_id: session_id.to_string(),
        issue: None,
        pr: None,
        finding_index: None,
        tags: pack_tags.to_vec(),
        paths: Vec::new(),
    };
    for review in reviews {
        let pr = Some(review.pr_number);
        for (i, f) in review.findings.iter().enumerate() {
            if f.severity == Severity::Advisory {
                continue;
            }
            let recommendation = clean(&f.recommendation);
            let mut c = base(&f.category, PhaseName::CodeReview.as_str());
            c.pattern = first_sentence(&f.description);
            c.root_cause = f
                .root_cause
                .as_deref()
                .map(clean)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Not stated by the reviewer.".into());
            c.preventive_rule = f
                .preventive_rule
                .as_deref()
                .map(clean)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| {
                    format!("Plan tasks in this area with this in their acceptance criteria: {recommendation}")
                });
            if let Some(s) = &f.reusability_scope {
                c.scope = s.clone();
            }
            c.confidence = if f.severity == Severity::Critical {
                "high"
            } else {
                "medium"
            }
            .into();
            c.pr = pr;
            c.finding_index = Some(i as u64);
            c.paths.push(path_glob(&f.file));
            if !c.pattern.is_empty() {
                out.push(c);
            }
        }
        let sc = &review.scope_compliance;
        if sc.out_of_scope_violation {
            let mut c = base("scope", PhaseName::CodeReview.as_str());
            c.pattern = "A pull request changed files outside the scope of its issue".into();
            c.root_cause = sc
                .notes
                .as_deref()
                .map(clean)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| {
                    "The task's scope did not list every file the change needed.".into()
                });
            c.preventive_rule = "Tactical plans list every file a task must touch (tests, fixtures and docs included); a task that needs more asks for a scope change before coding.".into();
            c.pr = pr;
            out.push(c);
        }
    }
    for e in events {
        let refs = &e.refs;
        let paths: Vec<String> = refs
            .get("paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(path_glob)
            .collect();
        if e.action == "preflight"
            && refs
                .get("scope_violations")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                > 0
        {
            let mut c = base(
                "scope",
                e.phase
                    .as_deref()
                    .unwrap_or(PhaseName::Implementation.as_str()),
            );
            c.pattern = "A pull request changed files outside the scope of its issue".into();
            c.root_cause = e.detail.as_deref().map(clean).unwrap_or_else(|| {
                "The task's scope did not list every file the change needed.".into()
            });
            c.preventive_rule = "Tactical plans list every file a task must touch (tests, fixtures and docs included); a task that needs more asks for a scope change before coding.".into();
            c.pr = refs.get("pr").and_then(Value::as_u64);
            c.paths = paths;
            c.source_phase = known_phase(&c.source_phase);
            out.push(c);
        } else if e.action == "verify" && e.status == "failed" {
            let mut c = base("regression", "post_merge");
            let what = e.detail.as_deref().map(first_sentence).unwrap_or_default();
            c.pattern = if what.is_empty() {
                "Post-merge verification failed".into()
            } else {
                format!("Post-merge verification failed: {what}")
            };
            c.root_cause = "A defect passed review and merged.".into();
            c.preventive_rule = "Plans say how each change is verified after merge, and tasks add a test that reproduces the failure before fixing it.".into();
            c.confidence = "high".into();
            c.pr = refs.get("pr").and_then(Value::as_u64);
            c.paths = paths;
            out.push(c);
        }
    }
    out
}

/// The lesson contract's phase names (the pipeline's phases, `post_merge` and `incident`);
/// anything else is filed under implementation.
fn known_phase(p: &str) -> String {
    let known =
        PhaseName::ALL.iter().any(|n| n.as_str() == p) || matches!(p, "post_merge" | "incident");
    if known {
        p.to_string()
    } else {
        PhaseName::Implementation.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_serious_findings_become_candidates() {
        let review = json!({"pr_number": 7, "findings": [
            {"severity": "critical", "category": "injection", "file": "src/routes/users.ts", "description": "Query built from a template literal. It uses the id.", "recommendation": "Use a bind parameter."},
            {"severity": "advisory", "category": "quality", "file": "a.rs", "description": "Naming.", "recommendation": "Rename."},
            {"severity": "important", "category": "auth", "file": "b.rs", "description": "No owner check", "recommendation": "Check owner", "preventive_rule": "Plans state the owner check", "reusability_scope": "universal"}
        ], "verdict": "REQUEST_CHANGES", "scope_compliance": {"in_scope_match": false, "out_of_scope_violation": true}});
        let review = Review::from_value(&review).unwrap();
        let c = extract("s1", &[review], &[], &["saas-api".into()]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].pattern, "Query built from a template literal");
        assert_eq!(c[0].confidence, "high");
        assert_eq!(c[0].paths, ["src/routes/**"]);
        assert!(c[0].preventive_rule.ends_with("Use a bind parameter."));
        assert_eq!(c[1].preventive_rule, "Plans state the owner check");
        assert_eq!(c[1].scope, "universal");
        assert_eq!(c[1].finding_index, Some(2));
        assert_eq!(c[2].kind, "scope");
        assert_eq!(c[2].tags, ["saas-api"]);
    }

    #[test]
    fn failed_verification_is_a_regression() {
        let e: Event = serde_json::from_value(json!({"ts": "2026-11-30T00:00:00Z", "phase": "merge", "action": "verify", "status": "failed", "detail": "health check 500 on /login. more", "refs": {"pr": 4, "paths": ["src/auth/login.rs"]}})).unwrap();
        let c = extract("s1", &[], &[e], &[]);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].pattern,
            "Post-merge verification failed: health check 500 on /login"
        );
        assert_eq!(c[0].paths, ["src/auth/**"]);
        assert_eq!(c[0].source_phase, "post_merge");
    }
}
