//! Posting a review on the forge: one pull-request review with inline comments on the lines of
//! the diff (RIGHT for added and context lines, LEFT for removed lines), and one sticky summary
//! comment, found again by its hidden marker and updated in place on every later review.
//!
//! Only findings that never had an inline comment on this pull request get one (the review
//! ledger remembers), at or above `outputs.inline_min_severity` and up to
//! `outputs.max_inline_comments_per_review`; the others, and those whose line is not in the diff,
//! are listed in the summary, which also counts the open, resolved and outdated findings. Before
//! posting, the pull request's reviews are listed: a cycle whose review is already there (a
//! re-run after a crash) is not posted twice. Every text that came from an agent or a diff is
//! sanitised: hidden comments (which could forge a marker) and invisible characters are removed.
//! docs/review.md describes all of it for users.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::fingerprint::path_of;
use super::ledger::{Counts, Inline, Ledger, Status};
use crate::forge::issues::{code, line};
use crate::forge::{
    Comment, Forge, ForgeError, InlineComment, NewReview, PostedReview, ReviewEvent, Side, TextKind,
};
use crate::preflight::diff::{LineKind, parse_str};
use crate::state::StateDir;
use crate::util::markers;
use crate::workflow::config::InlineSeverity;

/// Inline comments posted at most per review when the caller gives no cap (the default of
/// `outputs.max_inline_comments_per_review`); the rest go to the summary.
pub const MAX_INLINE: usize = 30;
/// Findings listed at most in the summary comment (GitHub caps a comment at 65,536
/// characters); the review artifact has them all.
pub const MAX_SUMMARY_ROWS: usize = 100;

/// The lines of a diff an inline comment can sit on, per path, with their text (which the
/// review fingerprints are computed from).
#[derive(Debug, Default)]
pub struct DiffLines {
    /// New-file numbers of added and context lines (side RIGHT) and their text.
    right: BTreeMap<String, BTreeMap<u32, String>>,
    /// Old-file numbers of removed lines (side LEFT) and their text.
    left: BTreeMap<String, BTreeMap<u32, String>>,
    /// Every path the diff changes.
    files: BTreeSet<String>,
}

impl DiffLines {
    /// Read a unified diff; an unparsable diff has no commentable lines.
    pub fn of(diff: &str) -> DiffLines {
        let mut out = DiffLines::default();
        for file in parse_str(diff).unwrap_or_default() {
            let path = file.path().to_string();
            out.files.insert(path.clone());
            for l in file.hunks.iter().flat_map(|h| &h.lines) {
                match (l.kind, l.new_line, l.old_line) {
                    (LineKind::Added | LineKind::Context, Some(n), _) => {
                        out.right
                            .entry(path.clone())
                            .or_default()
                            .insert(n, l.text.clone());
                    }
                    (LineKind::Removed, _, Some(o)) => {
                        out.left
                            .entry(path.clone())
                            .or_default()
                            .insert(o, l.text.clone());
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
        self.code(path, line).map(|(side, _)| side)
    }

    /// The side and text of `path` line `line` as the diff shows it (RIGHT first).
    pub fn code(&self, path: &str, line: u32) -> Option<(Side, &str)> {
        self.code_on(path, Side::Right, line)
            .map(|t| (Side::Right, t))
            .or_else(|| {
                self.code_on(path, Side::Left, line)
                    .map(|t| (Side::Left, t))
            })
    }

    /// Whether the diff changes `path`.
    pub fn has_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    fn on(&self, side: Side) -> &BTreeMap<String, BTreeMap<u32, String>> {
        match side {
            Side::Right => &self.right,
            Side::Left => &self.left,
        }
    }

    /// The text of `path` line `line` on `side`, if the diff shows it.
    pub fn code_on(&self, path: &str, side: Side, line: u32) -> Option<&str> {
        self.on(side)
            .get(path)
            .and_then(|s| s.get(&line))
            .map(String::as_str)
    }

    /// The numbers of `path`'s lines the diff shows on `side`, in order.
    pub fn numbers(&self, path: &str, side: Side) -> impl Iterator<Item = u32> + '_ {
        self.on(side)
            .get(path)
            .into_iter()
            .flat_map(|s| s.keys().copied())
    }
}

/// How inline comments are chosen (from `outputs`).
#[derive(Debug, Clone, Copy)]
pub struct InlinePolicy {
    /// New inline comments per review at most (`outputs.max_inline_comments_per_review`).
    pub max_inline: usize,
    /// The least severe finding posted inline (`outputs.inline_min_severity`).
    pub min_severity: InlineSeverity,
}

impl Default for InlinePolicy {
    fn default() -> InlinePolicy {
        InlinePolicy {
            max_inline: MAX_INLINE,
            min_severity: InlineSeverity::Important,
        }
    }
}

/// Where one finding of the current review ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A new inline comment in this review.
    Inline,
    /// Its inline comment was posted by the review of an earlier cycle.
    PostedIn(u32),
    /// Listed in the summary only, for this reason.
    Summary(&'static str),
}

/// Choose the inline comments of this review: a finding gets one when it has none yet, is at
/// or above the severity floor, sits on a line of the diff and the cap is not reached.
/// Everything else is listed in the summary comment. The ledger records each new comment.
pub fn plan(
    lines: &DiffLines,
    findings: &[Value],
    ledger: &mut Ledger,
    cycle: u32,
    policy: InlinePolicy,
) -> (Vec<InlineComment>, Vec<Placement>) {
    let mut inline = Vec::new();
    let mut placed = Vec::new();
    for f in findings {
        let fp = f["fingerprint"].as_str().unwrap_or("");
        if let Some(done) = ledger.get(fp).and_then(|e| e.inline.as_ref()) {
            placed.push(if done.cycle == cycle {
                Placement::Inline
            } else {
                Placement::PostedIn(done.cycle)
            });
            continue;
        }
        let path = path_of(f);
        let at = f["line"]
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .filter(|l| *l > 0)
            .and_then(|l| lines.side(&path, l).map(|s| (l, s)));
        let severity = InlineSeverity::of(f["severity"].as_str().unwrap_or(""));
        let placement = if severity < policy.min_severity {
            Placement::Summary("below the inline severity floor")
        } else if at.is_none() {
            Placement::Summary("not on a line of the diff")
        } else if inline.len() >= policy.max_inline {
            Placement::Summary("over the inline comment cap")
        } else {
            Placement::Inline
        };
        if let (Placement::Inline, Some((line, side))) = (&placement, at) {
            inline.push(InlineComment {
                path: path.clone(),
                line,
                side,
                body: finding_text(f),
            });
            if let Some(e) = ledger.get_mut(fp) {
                e.inline = Some(Inline {
                    cycle,
                    path,
                    line,
                    side,
                });
            }
        }
        placed.push(placement);
    }
    (inline, placed)
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

fn location(file: &str, line: Option<u64>) -> String {
    let file = code(if file.is_empty() { "(no file)" } else { file });
    match line.filter(|l| *l > 0) {
        Some(l) => format!("`{file}:{l}`"),
        None => format!("`{file}`"),
    }
}

fn cell(text: &str) -> String {
    line(text).replace('|', "\\|")
}

/// What was posted.
#[derive(Debug, Clone)]
pub struct Posted {
    pub review: PostedReview,
    /// New inline comments of this review.
    pub inline: usize,
    /// Open findings listed only in the summary (below the floor, not on a line of the diff,
    /// or past the cap).
    pub in_summary: usize,
    pub summary: Comment,
    /// Whether the summary comment existed and was updated (false: created).
    pub summary_updated: bool,
    /// The review of this cycle was already on the pull request (a re-run): not posted again.
    pub already_posted: bool,
    pub counts: Counts,
}

/// The coverage line of an incomplete review: "reviewed 7 of 12 files (58%); not covered: ...".
pub fn coverage_text(review: &Value) -> Option<String> {
    let c = &review["coverage"];
    if c["complete"] != Value::Bool(false) {
        return None;
    }
    let missing: Vec<String> = c["not_covered"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let total = c["files_total"].as_u64().unwrap_or(0);
    let done = c["files_reviewed"].as_u64().unwrap_or(0);
    let shown: Vec<String> = missing.iter().take(20).cloned().collect();
    let more = if missing.len() > shown.len() {
        format!(" and {} more", missing.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!(
        "reviewed {done} of {total} files ({}%); not covered: {}{more}",
        (done * 100).checked_div(total).unwrap_or(0),
        shown.join(", ")
    ))
}

/// The sticky summary comment's body: the verdict, the table of open, resolved and outdated
/// findings, the open findings (with where their inline comment is, or why there is none), the
/// resolved and outdated ones briefly, and the coverage of an incomplete review.
pub fn summary_body(
    pr: u64,
    cycle: u32,
    review: &Value,
    ledger: &Ledger,
    placed: &[Placement],
) -> String {
    let findings = review["findings"].as_array().cloned().unwrap_or_default();
    let counts = &review["security_assessment"]["findings_count"];
    let verdict = review["verdict"].as_str().unwrap_or("");
    let incomplete = coverage_text(review);
    let new_inline = placed.iter().filter(|p| **p == Placement::Inline).count();
    let status = ledger.counts();
    let mut out = format!(
        "{}\n## factory review: {}\n\n**Cycle {cycle}** · {} critical · {} important · {} advisory · {new_inline} new inline comment(s)\n\n{}\n",
        markers::review_summary(pr),
        match (verdict, &incomplete) {
            (_, Some(_)) => "incomplete, not approved",
            ("APPROVE", None) => "approved",
            _ => "changes requested",
        },
        counts["critical"],
        counts["important"],
        counts["advisory"],
        line(review["summary"].as_str().unwrap_or("")),
    );
    if let Some(text) = &incomplete {
        out.push_str(&format!(
            "\n**Coverage: {}.** The reviewer could not see the whole diff within `limits.review_chunk_bytes` x `limits.review_max_chunks`, so this review does not approve; a person should review the rest.\n",
            line(text)
        ));
    }
    out.push_str(&format!(
        "\n| Findings | Count |\n|---|---|\n| open | {} |\n| resolved | {} |\n| outdated | {} |\n",
        status.open, status.resolved, status.outdated
    ));
    if !findings.is_empty() {
        out.push_str("\n### Open\n\n| Severity | Where | Finding | Since | Inline comment |\n|---|---|---|---|---|\n");
        for (f, p) in findings.iter().zip(placed).take(MAX_SUMMARY_ROWS) {
            let fp = f["fingerprint"].as_str().unwrap_or("");
            let since = ledger.get(fp).map_or(cycle, |e| e.first_cycle);
            let (inline, fix) = match p {
                Placement::Inline => ("new".to_string(), false),
                Placement::PostedIn(c) => (format!("cycle {c}"), false),
                Placement::Summary(why) => (format!("none: {why}"), true),
            };
            let mut text = cell(f["description"].as_str().unwrap_or(""));
            let rec = cell(f["recommendation"].as_str().unwrap_or(""));
            if fix && !rec.is_empty() {
                text.push_str(&format!(" **Fix:** {rec}"));
            }
            out.push_str(&format!(
                "| {} | {} | {text} | cycle {since} | {inline} |\n",
                cell(f["severity"].as_str().unwrap_or("")),
                location(&path_of(f), f["line"].as_u64()),
            ));
        }
        if findings.len() > MAX_SUMMARY_ROWS {
            out.push_str(&format!(
                "\n… and {} more open finding(s) in `.factory/artifacts/reviews/`.\n",
                findings.len() - MAX_SUMMARY_ROWS
            ));
        }
    }
    for (status, title) in [
        (Status::Resolved, "Resolved"),
        (Status::Outdated, "Outdated"),
    ] {
        let gone: Vec<_> = ledger
            .findings
            .iter()
            .filter(|e| e.status == status)
            .collect();
        if gone.is_empty() {
            continue;
        }
        out.push_str(&format!("\n### {title}\n\n"));
        for e in gone.iter().take(MAX_SUMMARY_ROWS) {
            let reported = if e.first_cycle == e.last_cycle {
                format!("cycle {}", e.first_cycle)
            } else {
                format!("cycles {}–{}", e.first_cycle, e.last_cycle)
            };
            out.push_str(&format!(
                "- {} {}: {} (reported in {reported}, {} in cycle {})\n",
                location(&e.path, None),
                cell(&e.category),
                cell(&e.description),
                status.as_str(),
                e.status_cycle
            ));
        }
        if gone.len() > MAX_SUMMARY_ROWS {
            out.push_str(&format!(
                "- … and {} more in `.factory/artifacts/review-ledger/{pr}.json`\n",
                gone.len() - MAX_SUMMARY_ROWS
            ));
        }
    }
    out.push_str(
        "\n<sub>Updated in place by factory on every review of this pull request; each finding gets at most one inline comment.</sub>\n",
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

/// Post `review` (cycle `cycle`) on pull request `pr`, whose diff is `diff`: update the review
/// ledger, post one review carrying the new inline comments only (unless this cycle's review is
/// already on the pull request), and create or update the sticky summary comment.
pub fn post_review(
    forge: &dyn Forge,
    state: &StateDir,
    pr: u64,
    cycle: u32,
    review: &Value,
    diff: &str,
    policy: InlinePolicy,
) -> anyhow::Result<Posted> {
    let findings = review["findings"].as_array().cloned().unwrap_or_default();
    let lines = DiffLines::of(diff);
    let prev = Ledger::load(state, pr)?;
    // What the interrupted run of this same cycle planned (and may have posted).
    let planned_before: BTreeMap<String, Inline> = prev
        .as_ref()
        .filter(|l| l.cycle == cycle)
        .map(|l| {
            l.findings
                .iter()
                .filter_map(|e| {
                    e.inline
                        .clone()
                        .filter(|i| i.cycle == cycle)
                        .map(|i| (e.fingerprint.clone(), i))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ledger = Ledger::apply(prev, pr, cycle, &findings, &lines);
    let marker = markers::review(pr, cycle);
    let existing = forge
        .list_reviews(pr)?
        .into_iter()
        .find(|r| r.body.contains(&marker));
    let (comments, placed) = if existing.is_some() {
        // The review of this cycle is already posted: its inline comments are the ones the
        // earlier run planned; nothing is posted again.
        for (fp, i) in &planned_before {
            if let Some(e) = ledger.get_mut(fp) {
                e.inline = Some(i.clone());
            }
        }
        let (_, placed) = plan(
            &lines,
            &findings,
            &mut ledger,
            cycle,
            InlinePolicy {
                max_inline: 0,
                ..policy
            },
        );
        (Vec::new(), placed)
    } else {
        plan(&lines, &findings, &mut ledger, cycle, policy)
    };
    ledger.save(state)?;
    let approve = review["verdict"] == "APPROVE";
    let inline = comments.len();
    let counts = ledger.counts();
    let already_posted = existing.is_some();
    let posted = match existing {
        Some(r) => {
            tracing::info!(
                target: "factory::event",
                phase = crate::workflow::PhaseName::CodeReview.as_str(),
                action = crate::state::log::vocab::PR_REVIEW,
                tool = forge.name(),
                status = "skipped",
                detail = format!("#{pr} cycle {cycle}: the review of this cycle is already posted (review {}); not posted again", r.id),
                decision = "update the summary comment only"
            );
            PostedReview {
                id: r.id,
                event: r.event,
                downgraded: None,
            }
        }
        None => {
            let body = format!(
                "{marker}\nfactory review, cycle {cycle}: **{}**. {} open finding(s), {inline} new inline comment(s); the summary comment lists them all with what was resolved.",
                if approve {
                    "approved"
                } else {
                    "changes requested"
                },
                counts.open,
            );
            let created = forge.create_review(
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
            );
            match created {
                Ok(p) => p,
                Err(e) => {
                    // Nothing was posted: the ledger must not claim this cycle's comments.
                    for f in ledger.findings.iter_mut() {
                        if f.inline.as_ref().is_some_and(|i| i.cycle == cycle) {
                            f.inline = None;
                        }
                    }
                    ledger.save(state)?;
                    return Err(e.into());
                }
            }
        }
    };
    if let Some(why) = &posted.downgraded {
        tracing::info!(
            target: "factory::event",
            phase = crate::workflow::PhaseName::CodeReview.as_str(),
            action = crate::state::log::vocab::PR_REVIEW,
            tool = forge.name(),
            status = "downgraded",
            detail = format!("#{pr}: the verdict is posted as a COMMENT review: {why}"),
            decision = "post the review as a comment; the verdict stands in the summary and in artifacts/reviews"
        );
    }
    let text = summary_body(pr, cycle, review, &ledger, &placed);
    let (summary, summary_updated) =
        upsert_comment(forge, pr, &markers::review_summary(pr), &text)?;
    tracing::info!(
        target: "factory::event",
        phase = crate::workflow::PhaseName::CodeReview.as_str(),
        action = crate::state::log::vocab::PR_REVIEW,
        tool = forge.name(),
        status = "ok",
        detail = format!(
            "#{pr} cycle {cycle}: {} with {inline} new inline comment(s); {} open, {} resolved, {} outdated; summary comment {}",
            posted.event.as_str(),
            counts.open,
            counts.resolved,
            counts.outdated,
            if summary_updated { "updated" } else { "created" }
        ),
        refs = serde_json::json!({"pr": pr, "cycle": cycle, "review": posted.id, "comment": summary.id,
            "open": counts.open, "resolved": counts.resolved, "outdated": counts.outdated}).to_string()
    );
    Ok(Posted {
        review: posted,
        inline,
        in_summary: placed
            .iter()
            .filter(|p| matches!(p, Placement::Summary(_)))
            .count(),
        summary,
        summary_updated,
        already_posted,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::fingerprint::assign;
    use serde_json::json;

    const DIFF: &str = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -10,3 +10,3 @@\n keep\n-old\n+new\n keep2\n";

    fn f(line: Option<u64>, severity: &str, description: &str) -> Value {
        let mut v = json!({"file": "src/a.rs", "severity": severity, "category": "quality",
            "description": description, "recommendation": "x"});
        if let Some(l) = line {
            v["line"] = json!(l);
        }
        v
    }

    fn planned(
        diff: &str,
        mut findings: Vec<Value>,
        policy: InlinePolicy,
    ) -> (Vec<InlineComment>, Vec<Placement>, Ledger) {
        let lines = DiffLines::of(diff);
        assign(&mut findings, &[], &lines);
        let mut ledger = Ledger::apply(None, 1, 1, &findings, &lines);
        let (inline, placed) = plan(&lines, &findings, &mut ledger, 1, policy);
        (inline, placed, ledger)
    }

    const ALL: InlinePolicy = InlinePolicy {
        max_inline: MAX_INLINE,
        min_severity: InlineSeverity::Advisory,
    };

    #[test]
    fn findings_go_right_left_or_to_the_summary() {
        let (inline, placed, ledger) = planned(
            DIFF,
            vec![
                f(Some(11), "important", "new line"),
                f(Some(12), "advisory", "context"),
                f(Some(99), "critical", "far"),
                f(None, "advisory", "no line"),
            ],
            ALL,
        );
        assert_eq!(inline.len(), 2);
        assert_eq!((inline[0].line, inline[0].side), (11, Side::Right));
        assert_eq!((inline[1].line, inline[1].side), (12, Side::Right));
        assert_eq!(placed[2], Placement::Summary("not on a line of the diff"));
        assert_eq!(placed[3], Placement::Summary("not on a line of the diff"));
        assert_eq!(
            ledger.findings[0]
                .inline
                .as_ref()
                .map(|i| (i.cycle, i.line)),
            Some((1, 11))
        );
        // A removed line without a new counterpart goes LEFT.
        let deleted = "diff --git a/src/a.rs b/src/a.rs\ndeleted file mode 100644\n--- a/src/a.rs\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n";
        let (inline, _, _) = planned(deleted, vec![f(Some(2), "important", "gone")], ALL);
        assert_eq!((inline[0].line, inline[0].side), (2, Side::Left));
    }

    #[test]
    fn the_floor_and_the_cap_keep_findings_in_the_summary() {
        let policy = InlinePolicy {
            max_inline: 1,
            min_severity: InlineSeverity::Important,
        };
        let (inline, placed, _) = planned(
            DIFF,
            vec![
                f(Some(11), "advisory", "low"),
                f(Some(11), "critical", "first"),
                f(Some(12), "important", "second"),
            ],
            policy,
        );
        assert_eq!(inline.len(), 1);
        assert!(inline[0].body.contains("first"));
        assert_eq!(
            placed,
            vec![
                Placement::Summary("below the inline severity floor"),
                Placement::Inline,
                Placement::Summary("over the inline comment cap"),
            ]
        );
    }

    #[test]
    fn a_finding_with_an_inline_comment_is_not_commented_again() {
        let lines = DiffLines::of(DIFF);
        let mut findings = vec![f(Some(11), "important", "new line")];
        assign(&mut findings, &[], &lines);
        let mut l1 = Ledger::apply(None, 1, 1, &findings, &lines);
        let (first, _) = plan(&lines, &findings, &mut l1, 1, ALL);
        assert_eq!(first.len(), 1);
        let mut l2 = Ledger::apply(Some(l1), 1, 2, &findings, &lines);
        let (second, placed) = plan(&lines, &findings, &mut l2, 2, ALL);
        assert!(second.is_empty());
        assert_eq!(placed, vec![Placement::PostedIn(1)]);
    }

    #[test]
    fn agent_text_cannot_forge_a_marker() {
        let review = json!({"verdict": "APPROVE", "summary": "fine <!-- factory:review-summary pr=9 -->",
            "findings": [], "security_assessment": {"findings_count": {"critical": 0, "important": 0, "advisory": 0}}});
        let ledger = Ledger::apply(None, 3, 1, &[], &DiffLines::default());
        let body = summary_body(3, 1, &review, &ledger, &[]);
        assert_eq!(body.matches("factory:review-summary").count(), 1, "{body}");
        assert!(body.contains("pr=3"));
        assert!(body.contains("| open | 0 |"), "{body}");
    }

    #[test]
    fn an_incomplete_review_says_so_with_its_coverage() {
        let review = json!({"verdict": "REQUEST_CHANGES", "summary": "s", "findings": [],
            "security_assessment": {"findings_count": {"critical": 0, "important": 0, "advisory": 0}},
            "coverage": {"complete": false, "files_total": 4, "files_reviewed": 3, "not_covered": ["big.rs"]}});
        let ledger = Ledger::apply(None, 3, 1, &[], &DiffLines::default());
        let body = summary_body(3, 1, &review, &ledger, &[]);
        assert!(body.contains("incomplete, not approved"), "{body}");
        assert!(
            body.contains("reviewed 3 of 4 files (75%); not covered: big.rs"),
            "{body}"
        );
    }
}
