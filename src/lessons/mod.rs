//! The learning loop: lessons extracted from a session's serious review findings, scope
//! violations and post-merge regressions, kept one file each in `.factory/lessons/`,
//! de-duplicated by a normalised fingerprint, ranked for new plans and retired when stale.

pub mod extract;
pub mod rank;
pub mod store;

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use extract::{Candidate, extract};
pub use rank::{DEFAULT_K, rank, relevant, relevant_in};
pub use store::{LessonError, Merge, Store};

/// Sessions completed since a lesson was last seen after which it is retired, by default.
pub const DEFAULT_RETIRE_AFTER: usize = 10;

/// One lesson (`lesson.schema.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Lesson {
    pub id: String,
    /// When it was first created.
    pub ts: Timestamp,
    pub source_phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceRef>,
    /// The recurring mistake.
    pub pattern: String,
    pub root_cause: String,
    /// The rule, phrased as guidance for planners.
    pub preventive_rule: String,
    pub scope: String,
    pub confidence: String,
    #[serde(default = "one")]
    pub times_seen: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// The first tag is the kind of mistake (a review category, `scope` or `regression`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

fn one() -> u64 {
    1
}

/// Where a lesson came from: its first evidence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SourceRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Lesson {
    /// The kind of mistake: the first tag.
    pub fn kind(&self) -> &str {
        self.tags.first().map(String::as_str).unwrap_or("")
    }

    pub fn fingerprint(&self) -> String {
        self.source_ref
            .as_ref()
            .and_then(|r| r.fingerprint.clone())
            .unwrap_or_else(|| fingerprint(self.kind(), &self.pattern))
    }

    /// Active lessons are rendered into prompts.
    pub fn active(&self) -> bool {
        !self.retired && self.superseded_by.is_none()
    }

    pub fn last_seen_or_created(&self) -> Timestamp {
        self.last_seen.unwrap_or(self.ts)
    }
}

/// Lessons as Markdown for a planning or review prompt: one bullet each with its rule. The
/// text came from reviews, so prompts must fence it as data like any untrusted input.
pub fn render_for_prompt(lessons: &[Lesson]) -> String {
    let mut out = String::new();
    for l in lessons {
        out.push_str(&format!(
            "- {} (seen {}×): avoid \"{}\". Rule: {}\n",
            l.id,
            l.times_seen,
            l.pattern.replace('\n', " "),
            l.preventive_rule.replace('\n', " ")
        ));
    }
    out
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "not", "with", "without", "from", "into", "this", "that", "are", "was",
    "were", "has", "have", "had", "but", "its", "their", "there", "any", "all", "can", "may",
    "should", "must", "will", "when", "which", "where", "who", "what", "via", "per", "than",
    "then", "does", "did", "been", "being", "also", "only", "just", "every", "each", "new", "file",
    "line", "code", "function", "method",
];

/// The normalised words of a text: lower case, no numbers, identifiers with digits, quoted
/// values or stop words, each cut to its first six letters so that plural and tense do not
/// matter. Two wordings of the same mistake share most of these.
pub fn tokens(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_quote = false;
    let mut cleaned = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch == '`' || ch == '"' {
            in_quote = !in_quote;
            cleaned.push(' ');
        } else if !in_quote {
            cleaned.push(ch);
        }
    }
    for word in cleaned
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .filter(|w| !STOPWORDS.contains(w))
    {
        out.insert(stem(word));
    }
    out
}

/// A crude stem: plural endings off, then the first six letters.
fn stem(word: &str) -> String {
    let w = if let Some(base) = word.strip_suffix("ies") {
        format!("{base}y")
    } else if word.ends_with('s') && !word.ends_with("ss") && word.len() > 3 {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    };
    w.chars().take(6).collect()
}

/// The fingerprint of a mistake: its kind and a hash of its normalised words.
pub fn fingerprint(kind: &str, pattern: &str) -> String {
    let words: Vec<String> = tokens(pattern).into_iter().collect();
    let digest = Sha256::digest(words.join(" ").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

/// Jaccard similarity of two word sets, 0–1.
pub fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count() as f64;
    let union = a.union(b).count() as f64;
    inter / union
}

/// Similarity at or above which two patterns of the same kind are the same mistake.
pub const SAME_MISTAKE: f64 = 0.6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_changes_keep_the_fingerprint() {
        let a = fingerprint(
            "injection",
            "SQL query built with a template literal in `getUser`",
        );
        let b = fingerprint(
            "injection",
            "SQL queries built with template literals in `listOrders`!",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("auth", "SQL query built with a template literal")
        );
        assert_ne!(
            a,
            fingerprint("injection", "Shell command built from user input")
        );
    }

    #[test]
    fn prompt_lines_carry_the_rule_on_one_line() {
        let l = Lesson {
            id: "lesson-0007".into(),
            ts: "2026-11-01T00:00:00Z".parse().unwrap(),
            source_phase: "code_review".into(),
            source_ref: None,
            pattern: "SQL built\nby hand".into(),
            root_cause: "r".into(),
            preventive_rule: "Use bind parameters".into(),
            scope: "universal".into(),
            confidence: "high".into(),
            times_seen: 3,
            last_seen: None,
            superseded_by: None,
            tags: vec![],
            paths: vec![],
            retired: false,
        };
        assert_eq!(
            render_for_prompt(&[l]),
            "- lesson-0007 (seen 3×): avoid \"SQL built by hand\". Rule: Use bind parameters\n"
        );
    }

    #[test]
    fn similar_patterns_score_high_and_different_ones_low() {
        let a = tokens("Missing rate limit on the public login endpoint");
        let b = tokens("Public login endpoint has no rate limit (line 42)");
        let c = tokens("Password hashed with MD5");
        assert!(similarity(&a, &b) >= SAME_MISTAKE, "{a:?} {b:?}");
        assert!(similarity(&a, &c) < 0.2);
    }
}
