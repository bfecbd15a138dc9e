//! Phase 6 against a pull request: the diff comes from the forge, the scope from the issue's
//! tactical plan (else its task's files_in_scope), the review is written as
//! `artifacts/reviews/<pr>-<cycle>.json` (with the machine findings in
//! `artifacts/preflight/<pr>.json`) and posted on the pull request. Used by
//! `factory review --pr N` and the `code_review` phase ([`crate::phases::code_review`]).

use serde_json::Value;

use super::pipeline::{self, ReviewError, ReviewRequest, Reviewed, ScopeSource};
use super::post::{self, Posted};
use crate::forge::issues::line;
use crate::forge::{Forge, State};
use crate::preflight::scope::Scope;
use crate::state::{Session, StateDir};
use crate::util::markers;
use crate::workflow::config::ReviewMode;
use crate::workflow::{AdapterKind, Workflow};

/// Options of one pull-request review.
#[derive(Debug, Clone, Default)]
pub struct PrOptions {
    pub mode: Option<ReviewMode>,
    /// A scope file that replaces the plan's scope.
    pub scope_file: Option<std::path::PathBuf>,
    pub adapter: Option<AdapterKind>,
    pub model: Option<String>,
    /// The pull request's diff, when the caller has just read it from the forge.
    pub diff: Option<String>,
}

/// A reviewed and posted pull request.
#[derive(Debug, Clone)]
pub struct PrReview {
    pub pr: u64,
    pub reviewed: Reviewed,
    pub posted: Posted,
    /// Changes were requested in the last cycle the limit allows: a person decides next.
    pub limit_reached: bool,
}

/// The issue a pull request works on: the session's record, else its marker or `Closes #N`.
fn issue_of(session: Option<&Session>, pr: &crate::forge::PullRequest) -> Option<u64> {
    session
        .and_then(|s| s.pull_requests.iter().find(|p| p.number == pr.number))
        .and_then(|p| p.issue)
        .or_else(|| crate::forge::pr::closed_issue(pr))
}

/// The scope of `issue`: its tactical plan's handoff, else its task's files in the strategic
/// plan; the session's class decides whether protected paths may change.
pub fn scope_for_issue(
    state: &StateDir,
    session: Option<&Session>,
    issue: u64,
) -> anyhow::Result<Option<ScopeSource>> {
    let class = session.map(|s| s.change_class.as_str().to_string());
    let tactical = crate::agents::tactical::artifact_path(state, issue);
    if tactical.is_file() {
        let mut scope = Scope::load_plan(&tactical)?;
        scope.change_class = class;
        return Ok(Some(ScopeSource {
            scope,
            origin: format!("the tactical plan of issue #{issue}"),
        }));
    }
    let Some(session) = session else {
        return Ok(None);
    };
    let Ok(strategic) = crate::agents::tactical::load_strategic(state) else {
        return Ok(None);
    };
    let Ok(task) = crate::agents::tactical::task_of(session, &strategic, issue) else {
        return Ok(None);
    };
    let globs = |k: &str| -> Vec<String> {
        task[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_string))
            .collect()
    };
    let id = task["id"].as_str().unwrap_or("").to_string();
    Ok(Some(ScopeSource {
        scope: Scope::new(
            &globs("files_in_scope"),
            &globs("files_out_of_scope"),
            class,
            "the strategic plan",
        )?,
        origin: format!("the files_in_scope of task {id} (issue #{issue})"),
    }))
}

/// Review pull request `number` and post the review.
pub fn review_pull_request(
    state: &StateDir,
    workflow: &Workflow,
    session: Option<&Session>,
    forge: &dyn Forge,
    number: u64,
    opts: &PrOptions,
) -> Result<PrReview, ReviewError> {
    let pr = forge
        .get_pull_request(number)
        .map_err(anyhow::Error::from)?;
    if pr.state != State::Open {
        return Err(anyhow::anyhow!(
            "pull request #{number} is {}: only open pull requests are reviewed",
            pr.state.as_str()
        )
        .into());
    }
    let diff = match &opts.diff {
        Some(d) => d.clone(),
        None => forge
            .pull_request_diff(number)
            .map_err(anyhow::Error::from)?,
    };
    if diff.trim().is_empty() {
        return Err(anyhow::anyhow!(
            "pull request #{number} changes nothing (`{}` has no commits beyond `{}`): push the change first",
            pr.head,
            pr.base
        )
        .into());
    }
    let scope = match &opts.scope_file {
        Some(f) => Some(ScopeSource {
            scope: Scope::load(f)?,
            origin: f.display().to_string(),
        }),
        None => match issue_of(session, &pr) {
            Some(issue) => scope_for_issue(state, session, issue)?,
            None => None,
        },
    };
    let cycle = pipeline::next_cycle(state, session, number);
    let reviewed = pipeline::review(ReviewRequest {
        state,
        workflow,
        diff: &diff,
        number,
        cycle,
        scope,
        mode: opts
            .mode
            .unwrap_or_else(|| pipeline::route_mode(workflow, session)),
        adapter: opts.adapter,
        model: opts.model.clone(),
        timeout: pipeline::phase_timeout(workflow, session),
        preflight_artifact: true,
    })?;
    let policy = post::InlinePolicy {
        max_inline: workflow.outputs.max_inline_comments_per_review as usize,
        min_severity: workflow.outputs.inline_min_severity,
    };
    let posted = post::post_review(forge, state, number, cycle, &reviewed.review, &diff, policy)?;
    if let Some(s) = session
        && s.pull_requests.iter().any(|p| p.number == number)
    {
        let seen = diff_fingerprint(&diff);
        state
            .update_session(|s| {
                for p in s.pull_requests.iter_mut().filter(|p| p.number == number) {
                    p.review_cycle = cycle;
                    p.reviewed_diff = Some(seen.clone());
                    p.reviewed_head = pr.head_sha.clone();
                }
            })
            .map_err(anyhow::Error::from)?;
    }
    let max = workflow.limits.max_review_cycles;
    let limit_reached = !reviewed.approved() && session.is_some() && cycle >= max;
    if limit_reached {
        let body = format!(
            "{}\n**Review cycle limit reached.** Cycle {cycle} of at most {max} (`limits.max_review_cycles`) still requests changes, so factory stops sending this pull request back for rework. A person should decide: fix it by hand, re-plan the task, or close the pull request. Then clear the escalation with `factory run --resume --acknowledge`.\n",
            markers::review_limit(number)
        );
        post::upsert_comment(forge, number, &markers::review_limit(number), &body)
            .map_err(anyhow::Error::from)?;
    }
    Ok(PrReview {
        pr: number,
        reviewed,
        posted,
        limit_reached,
    })
}

/// SHA-256 of a pull request's diff with the hunk headers' line numbers left out: an update
/// that only moves the change (the base grew elsewhere in the file) keeps the fingerprint.
pub fn diff_fingerprint(diff: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for line in diff.lines() {
        if line.starts_with("index ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@@")
            && let Some(end) = rest.find("@@")
        {
            h.update(b"@@");
            h.update(rest[end + 2..].trim().as_bytes());
        } else {
            h.update(line.as_bytes());
        }
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

/// The findings of a review as a compact list an implementer can act on: most severe first,
/// at most `max` lines.
pub fn rework_list(pr: u64, review: &Value, max: usize) -> String {
    let mut findings: Vec<&Value> = review["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let rank = |f: &Value| match f["severity"].as_str() {
        Some("critical") => 0,
        Some("important") => 1,
        _ => 2,
    };
    findings.sort_by_key(|f| rank(f));
    let mut out = format!(
        "PR #{pr}: changes requested, {} finding(s):\n",
        findings.len()
    );
    for f in findings.iter().take(max) {
        let at = match f["line"].as_u64().filter(|l| *l > 0) {
            Some(l) => format!("{}:{l}", f["file"].as_str().unwrap_or("")),
            None => f["file"].as_str().unwrap_or("").to_string(),
        };
        out.push_str(&format!(
            "- [{}] {} ({}): {} Fix: {}\n",
            f["severity"].as_str().unwrap_or(""),
            line(&at),
            f["category"].as_str().unwrap_or(""),
            line(f["description"].as_str().unwrap_or("")),
            line(f["recommendation"].as_str().unwrap_or("")),
        ));
    }
    if findings.len() > max {
        out.push_str(&format!(
            "- … {} more in .factory/artifacts/reviews/\n",
            findings.len() - max
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rework_list_puts_critical_findings_first() {
        let review = json!({"findings": [
            {"severity": "advisory", "category": "quality", "file": "src/a.rs", "description": "naming", "recommendation": "rename"},
            {"severity": "critical", "category": "secrets", "file": "src/b.rs", "line": 3, "description": "key", "recommendation": "remove it"}]});
        let text = rework_list(5, &review, 1);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "PR #5: changes requested, 2 finding(s):");
        assert_eq!(
            lines[1],
            "- [critical] src/b.rs:3 (secrets): key Fix: remove it"
        );
        assert!(lines[2].contains("1 more"));
    }
}
