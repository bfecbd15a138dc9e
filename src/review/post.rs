//! Posting a review on the forge: one pull-request review with inline comments on the lines of
//! the diff (RIGHT for added and context lines, LEFT for removed lines), and one sticky summary
//! comment, found again by its hidden marker and updated in place on every later review.
//!
//! Findings whose line is not in the diff (or that have no line, or past the inline cap) are
//! listed in the summary instead. Every text that came from an agent or a diff is sanitised:
//! hidden comments (which could forge a marker) and invisible characters are removed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::forge::issues::{code, line};
use crate::forge::{
    Comment, Forge, ForgeError, InlineComment, NewReview, PostedReview, ReviewEvent, Side,
    TextKind, markers,
};
use crate::preflight::diff::{LineKind, parse_str};

/// Inline comments posted at most per review when the caller gives no cap (the default of
/// `outputs.max_inline_comments_per_review`); the rest go to the summary.
pub const MAX_INLINE: usize = 30;
/// Findings listed at most in the summary comment (GitHub caps a comment at 65,536
/// characters); the review artifact has them all.
pub const MAX_SUMMARY_ROWS: usize = 100;

/// The lines of a diff an inline comment can sit on, per path.
#[derive(Debug, Default)]
pub struct DiffLines {
    /// New-file numbers of added and context lines (side RIGHT).
    right: BTreeMap<String, BTreeSet<u32>>,
    /// Old-file numbers of removed lines (side LEFT).
    left: BTreeMap<String, BTreeSet<u32>>,
}

impl DiffLines {
    /// Read a unified diff; an unparsable diff has no commentable lines.
    pub fn of(diff: &str) -> DiffLines {
        let mut out = DiffLines::default();
        for file in parse_str(diff).unwrap_or_default() {
            let path = file.path().to_string();
            for l in file.hunks.iter().flat_map(|h| &h.lines) {
                match (l.kind, l.new_line, l.old_line) {
                    (LineKind::Added | LineKind::Context, Some(n), _) => {
                        out.right.entry(path.clone()).or_default().insert(n);
                    }
                    (LineKind::Removed, _, Some(o)) => {
                        out.left.entry(path.clone()).or_default().insert(o);
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Where a comment on `path` line `line` goes: RIGHT when the new file shows the line in the
    /// diff, LEFT when only a removed line has that number, `None` when the diff does not show it.
    pub fn side(&self, path: &str, line: u32) -> Option<Side> {
        let has =
            |m: &BTreeMap<String, BTreeSet<u32>>| m.get(path).is_some_and(|s| s.contains(&line));
        if has(&self.right) {
            Some(Side::Right)
        } else if has(&self.left) {
            Some(Side::Left)
        } else {
            None
        }
    }
}

/// The review's findings split into inline comments and the indices of those that go to the
/// summary.
pub fn place(
    diff: &str,
    findings: &[Value],
    max_inline: usize,
) -> (Vec<InlineComment>, Vec<usize>) {
    let lines = DiffLines::of(diff);
    let mut inline = Vec::new();
    let mut outside = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let path = f["file"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("./")
            .to_string();
        let at = f["line"]
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0);
        match at.and_then(|l| lines.side(&path, l).map(|s| (l, s))) {
            Some((l, side)) if inline.len() < max_inline => inline.push(InlineComment {
                path,
                line: l,
                side,
                body: finding_text(f),
            }),
            _ => outside.push(i),
        }
    }
    (inline, outside)
}

/// A finding as Markdown for an inline comment.
fn finding_text(f: &Value) -> String {
    let s = |k: &str| line(f[k].as_str().unwrap_or(""));
    let mut out = format!(
        "**{}** · {}: {}",
        s("severity"),
        s("category"),
        s("description")
    );
    let rec = s("recommendation");
    if !rec.is_empty() {
        out.push_str(&format!("\n\n**Fix:** {rec}"));
    }
    out
}

fn location(f: &Value) -> String {
    let file = code(f["file"].as_str().unwrap_or("(no file)"));
    match f["line"].as_u64().filter(|l| *l > 0) {
        Some(l) => format!("`{file}:{l}`"),
        None => format!("`{file}`"),
    }
}

/// What was posted.
#[derive(Debug, Clone)]
pub struct Posted {
    pub review: PostedReview,
    pub inline: usize,
    /// Findings listed only in the summary (not on a line of the diff, or past the cap).
    pub in_summary: usize,
    pub summary: Comment,
    /// Whether the summary comment existed and was updated (false: created).
    pub summary_updated: bool,
}

/// The sticky summary comment's body.
pub fn summary_body(
    pr: u64,
    cycle: u32,
    review: &Value,
    outside: &[usize],
    inline: usize,
) -> String {
    let findings = review["findings"].as_array().cloned().unwrap_or_default();
    let counts = &review["security_assessment"]["findings_count"];
    let verdict = review["verdict"].as_str().unwrap_or("");
    let mut out = format!(
        "{}\n## factory review: {}\n\n**Cycle {cycle}** · {} critical · {} important · {} advisory · {inline} inline comment(s)\n\n{}\n",
        markers::review_summary(pr),
        if verdict == "APPROVE" {
            "approved"
        } else {
            "changes requested"
        },
        counts["critical"],
        counts["important"],
        counts["advisory"],
        line(review["summary"].as_str().unwrap_or("")),
    );
    if !findings.is_empty() {
        out.push_str("\n| Severity | Where | Finding |\n|---|---|---|\n");
        for f in findings.iter().take(MAX_SUMMARY_ROWS) {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                line(f["severity"].as_str().unwrap_or("")),
                location(f),
                line(f["description"].as_str().unwrap_or("")).replace('|', "\\|"),
            ));
        }
    }
    if findings.len() > MAX_SUMMARY_ROWS {
        out.push_str(&format!(
            "\n… and {} more finding(s) in `.factory/artifacts/reviews/`.\n",
            findings.len() - MAX_SUMMARY_ROWS
        ));
    }
    if !outside.is_empty() {
        out.push_str("\n### Not on a line of the diff\n\n");
        for i in outside.iter().take(MAX_SUMMARY_ROWS) {
            let f = &findings[*i];
            out.push_str(&format!(
                "- {}: {}\n",
                location(f),
                finding_text(f).replace('\n', " ")
            ));
        }
    }
    out.push_str(
        "\n<sub>Updated in place by factory on every review of this pull request.</sub>\n",
    );
    out
}

/// Update the comment on `number` that holds `marker`, or create it: never a second one.
pub fn upsert_comment(
    forge: &dyn Forge,
    number: u64,
    marker: &str,
    body: &str,
) -> Result<(Comment, bool), ForgeError> {
    let existing = forge
        .list_comments(number)?
        .into_iter()
        .find(|c| c.body.contains(marker));
    match existing {
        // Compare with what the forge would store (sanitised), so an unchanged summary is
        // not edited again on every review.
        Some(c) if c.body == body || c.body == forge.as_written(TextKind::Comment, body) => {
            Ok((c, true))
        }
        Some(c) => Ok((forge.update_comment(number, c.id, body)?, true)),
        None => Ok((forge.comment_issue(number, body)?, false)),
    }
}

/// Post `review` (cycle `cycle`) on pull request `pr`, whose diff is `diff`, with at most
/// `max_inline` inline comments (the rest go to the summary).
pub fn post_review(
    forge: &dyn Forge,
    pr: u64,
    cycle: u32,
    review: &Value,
    diff: &str,
    max_inline: usize,
) -> Result<Posted, ForgeError> {
    let findings = review["findings"].as_array().cloned().unwrap_or_default();
    let (comments, outside) = place(diff, &findings, max_inline);
    let approve = review["verdict"] == "APPROVE";
    let inline = comments.len();
    let body = format!(
        "{}\nfactory review, cycle {cycle}: **{}**. {} finding(s): {inline} inline, the rest in the summary comment.",
        markers::review(pr, cycle),
        if approve {
            "approved"
        } else {
            "changes requested"
        },
        findings.len(),
    );
    let posted = forge.create_review(
        pr,
        &NewReview {
            event: if approve {
                ReviewEvent::Approve
            } else {
                ReviewEvent::RequestChanges
            },
            body,
            comments,
        },
    )?;
    if let Some(why) = &posted.downgraded {
        tracing::info!(
            target: "factory::event",
            phase = "code_review",
            action = crate::state::log::vocab::PR_REVIEW,
            tool = forge.name(),
            status = "downgraded",
            detail = format!("the forge refused the verdict on #{pr}, posted as COMMENT instead: {why}"),
            decision = "post the review as a comment; the verdict stands in the summary and in artifacts/reviews"
        );
    }
    let text = summary_body(pr, cycle, review, &outside, inline);
    let (summary, summary_updated) =
        upsert_comment(forge, pr, &markers::review_summary(pr), &text)?;
    tracing::info!(
        target: "factory::event",
        phase = "code_review",
        action = crate::state::log::vocab::PR_REVIEW,
        tool = forge.name(),
        status = "ok",
        detail = format!(
            "#{pr} cycle {cycle}: {} with {inline} inline comment(s); summary comment {}",
            posted.event.as_str(),
            if summary_updated { "updated" } else { "created" }
        ),
        refs = serde_json::json!({"pr": pr, "cycle": cycle, "review": posted.id, "comment": summary.id}).to_string()
    );
    Ok(Posted {
        review: posted,
        inline,
        in_summary: outside.len(),
        summary,
        summary_updated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIFF: &str = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -10,3 +10,3 @@\n keep\n-old\n+new\n keep2\n";

    #[test]
    fn findings_go_right_left_or_to_the_summary() {
        let findings = vec![
            json!({"file": "src/a.rs", "line": 11, "severity": "important", "category": "quality", "description": "new line", "recommendation": "x"}),
            json!({"file": "src/a.rs", "line": 12, "severity": "advisory", "category": "quality", "description": "context", "recommendation": "x"}),
            json!({"file": "src/a.rs", "line": 99, "severity": "critical", "category": "secrets", "description": "far", "recommendation": "x"}),
            json!({"file": "src/b.rs", "severity": "advisory", "category": "quality", "description": "no line", "recommendation": "x"}),
        ];
        let (inline, outside) = place(DIFF, &findings, MAX_INLINE);
        assert_eq!(inline.len(), 2);
        assert_eq!((inline[0].line, inline[0].side), (11, Side::Right));
        assert_eq!((inline[1].line, inline[1].side), (12, Side::Right));
        assert_eq!(outside, vec![2, 3]);
        // Old line 11 was removed and new line 11 exists: the new side wins; a removed line
        // without a new counterpart goes LEFT.
        let deleted = "diff --git a/src/c.rs b/src/c.rs\ndeleted file mode 100644\n--- a/src/c.rs\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n";
        let (inline, _) = place(
            deleted,
            &[
                json!({"file": "src/c.rs", "line": 2, "severity": "advisory", "category": "quality", "description": "gone", "recommendation": "x"}),
            ],
            MAX_INLINE,
        );
        assert_eq!((inline[0].line, inline[0].side), (2, Side::Left));
        // Past the cap, findings on diff lines go to the summary too.
        let (inline, outside) = place(
            deleted,
            &[
                json!({"file": "src/c.rs", "line": 1, "description": "a"}),
                json!({"file": "src/c.rs", "line": 2, "description": "b"}),
            ],
            1,
        );
        assert_eq!(inline.len(), 1);
        assert_eq!(outside, vec![1]);
    }

    #[test]
    fn agent_text_cannot_forge_a_marker() {
        let review = json!({"verdict": "APPROVE", "summary": "fine <!-- factory:review-summary pr=9 -->",
            "findings": [], "security_assessment": {"findings_count": {"critical": 0, "important": 0, "advisory": 0}}});
        let body = summary_body(3, 1, &review, &[], 0);
        assert_eq!(body.matches("factory:review-summary").count(), 1, "{body}");
        assert!(body.contains("pr=3"));
    }
}
