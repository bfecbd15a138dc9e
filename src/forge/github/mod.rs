//! The GitHub forge: the REST API over HTTPS through `octocrab` (rustls with ring, webpki
//! roots). The `Forge` trait is synchronous like the rest of factory, so the forge owns a small
//! current-thread tokio runtime and blocks on each octocrab future. Requests go through
//! octocrab's raw `_get`/`_post`/`_patch`/`_put`/`_delete`, so factory keeps exact control of
//! every method, path and body, and of the answers' status codes and headers.
//!
//! The API base comes from `GITHUB_API_URL` (GitHub Enterprise Server works:
//! `https://ghe.example.com/api/v3`), the token from `GITHUB_TOKEN` or `GH_TOKEN`, the repository
//! from `GITHUB_REPOSITORY` or the `origin` remote. Lists are followed page by page
//! (`Link: rel="next"`); rate limits, server and network errors are retried as GitHub asks
//! (`retry.rs`: `retry-after`, `x-ratelimit-reset`, at least a minute after a secondary limit,
//! exponential backoff) within a time budget per forge, and content-creating requests are
//! paced; 401, 403, 404 and 422 become errors that say which permission or input is missing.
//! The token is handed to octocrab (which keeps it as a secret and sends it only in the
//! Authorization header to the API host) and never appears in an error, the log or state.

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use octocrab::Octocrab;
use serde_json::{Value, json};

use super::{
    Checks, Comment, Comparison, Forge, ForgeError, Issue, IssueQuery, Label, NewIssue,
    NewPullRequest, NewReview, PostedReview, PullRequest, Review, ReviewEvent, State, SubIssueLink,
    SubIssues,
};

mod checks;
mod http;
mod pages;
mod retry;
mod reviews;

use http::{DIFF_MEDIA, Method, ref_path};
pub use retry::TIME_SCALE_ENV;

/// Default API base (github.com).
pub const DEFAULT_API: &str = "https://api.github.com";
/// Longest time to open a connection to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The time budget for waiting on GitHub when the workflow gives none.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(900);

/// A GitHub repository reached through the REST API.
pub struct GithubForge {
    api: String,
    repo: String,
    /// Holds the token (as a secret); dropped before `runtime`, whose worker task it uses.
    client: Octocrab,
    /// Current-thread runtime that the synchronous methods block on.
    runtime: tokio::runtime::Runtime,
    /// The second identity that posts reviews (`FACTORY_REVIEW_TOKEN`), when one is set.
    reviewer: Option<Box<GithubForge>>,
    /// The login of the token's identity, asked once (`None`: the API would not say).
    identity: std::sync::OnceLock<Option<String>>,
    /// Who opened the pull requests read so far, so posting a review needs no second read.
    authors: std::sync::Mutex<std::collections::BTreeMap<u64, reviews::Author>>,
    /// The time this forge may spend waiting on GitHub (`forge.time_budget_seconds`), and what
    /// it has spent.
    budget: Mutex<retry::Budget>,
    /// When the last content-creating requests finished, to pace the next.
    pacer: Mutex<retry::Pacer>,
    /// The fraction of each wait actually slept: 1, or less in tests ([`TIME_SCALE_ENV`]).
    time_scale: f64,
}

impl std::fmt::Debug for GithubForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubForge")
            .field("api", &self.api)
            .field("repo", &self.repo)
            .field("token", &"********")
            .finish()
    }
}

impl GithubForge {
    /// A forge for `repo` (`owner/name`) at `api`. Fails when `api` is not an http(s) URL or
    /// the token cannot be sent in a header.
    pub fn new(api: &str, repo: &str, token: &str) -> Result<GithubForge, ForgeError> {
        let api = api.trim_end_matches('/').to_string();
        if !(api.starts_with("https://") || api.starts_with("http://")) {
            return Err(ForgeError::Unsupported(format!(
                "GITHUB_API_URL `{api}` is not an http(s) URL; set it to the API base, e.g. https://api.github.com or https://ghe.example.com/api/v3"
            )));
        }
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ForgeError::Unsupported(
                "the GitHub token (GITHUB_TOKEN or GH_TOKEN) is empty or holds spaces or control characters; set it to the token alone".into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                ForgeError::Api(format!("cannot start the runtime for GitHub requests: {e}"))
            })?;
        let client = {
            // octocrab spawns its request worker on the runtime it is built in.
            let _inside = runtime.enter();
            Octocrab::builder()
                .base_uri(api.as_str())
                .map_err(|_| {
                    ForgeError::Unsupported(format!(
                        "GITHUB_API_URL `{api}` is not a valid URL; set it to the API base, e.g. https://ghe.example.com/api/v3"
                    ))
                })?
                .personal_token(token.to_string())
                .set_connect_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|e| {
                    ForgeError::Api(format!("cannot set up the GitHub client: {}", crate::util::errors::causes(&e)))
                })?
        };
        Ok(GithubForge {
            api,
            repo: repo.to_string(),
            client,
            runtime,
            budget: Mutex::new(retry::Budget::new(DEFAULT_TIME_BUDGET)),
            pacer: Mutex::new(retry::Pacer::default()),
            time_scale: 1.0,
            reviewer: None,
            identity: std::sync::OnceLock::new(),
            authors: Default::default(),
        })
    }

    /// The same forge with `limit` as its time budget for waiting on GitHub: the workflow's
    /// `forge.time_budget_seconds`, so a phase attempt never waits longer than its owner chose.
    pub fn with_time_budget(self, limit: Duration) -> GithubForge {
        GithubForge {
            budget: Mutex::new(retry::Budget::new(limit)),
            ..self
        }
    }

    /// The same forge sleeping `scale` of each wait (0 to 1): for tests, which must not sleep
    /// for minutes; waits are still computed, logged and budgeted at their nominal length.
    pub fn with_time_scale(self, scale: f64) -> GithubForge {
        GithubForge {
            time_scale: scale.clamp(0.0, 1.0),
            ..self
        }
    }

    /// From the environment: `GITHUB_API_URL`, `GITHUB_TOKEN`/`GH_TOKEN`, `repo`, and the
    /// test-only [`TIME_SCALE_ENV`].
    pub fn from_env(repo: &str) -> Result<GithubForge, ForgeError> {
        let token = super::git::forge_token().ok_or_else(|| {
            ForgeError::Unsupported(
                "the GitHub forge needs a token: set GITHUB_TOKEN or GH_TOKEN".into(),
            )
        })?;
        let api = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API.to_string());
        let scale = match std::env::var(TIME_SCALE_ENV) {
            Ok(v) if !v.is_empty() => {
                retry::parse_time_scale(&v).map_err(ForgeError::Unsupported)?
            }
            _ => 1.0,
        };
        let forge = GithubForge::new(&api, repo, &token)?.with_time_scale(scale);
        // A second identity posts reviews: its own client, paced and budgeted on its own.
        let reviewer = match std::env::var(reviews::REVIEW_TOKEN_VAR) {
            Ok(t) if !t.trim().is_empty() => Some(Box::new(
                GithubForge::new(&api, repo, &t)
                    .map_err(|e| {
                        ForgeError::Unsupported(format!("{}: {e}", reviews::REVIEW_TOKEN_VAR))
                    })?
                    .with_time_scale(scale),
            )),
            _ => None,
        };
        Ok(GithubForge { reviewer, ..forge })
    }

    fn repo_url(&self, rest: &str) -> String {
        format!("{}/repos/{}{rest}", self.api, self.repo)
    }

    /// One exchange: the request as given, asking for the media type `accept` (POST, PATCH and
    /// PUT always carry a JSON body, `{}` when there is none), the answer read whole. It is
    /// built and sent as octocrab's raw `_get`/`_post`/... do, with the one `Accept` header this
    fn comments(&self, number: u64) -> Result<Vec<Comment>, ForgeError> {
        Ok(self
            .list(self.repo_url(&format!("/issues/{number}/comments?per_page=100")))?
            .iter()
            .map(to_comment)
            .collect())
    }

    fn ref_sha(&self, branch: &str) -> Result<Option<String>, ForgeError> {
        let r = self.request(
            Method::Get,
            &self.repo_url(&format!("/git/ref/heads/{}", ref_path(branch))),
            None,
        )?;
        if r.status == 404 {
            return Ok(None);
        }
        Ok(r.body["object"]["sha"].as_str().map(str::to_string))
    }
}

/// Whether `e` is GitHub's 404 answer to a write (an API this GitHub does not have).
fn is_not_found(e: &ForgeError) -> bool {
    matches!(e, ForgeError::Api(m) if m.contains(": 404 Not Found"))
}

/// Whether `e` is GitHub's 403 answer (a permission the token lacks).
fn is_forbidden(e: &ForgeError) -> bool {
    matches!(e, ForgeError::Api(m) if m.contains(": 403 Forbidden"))
}

/// Whether `e` is GitHub's 422 answer (the input was refused, e.g. a token that may not approve).
fn is_unprocessable(e: &ForgeError) -> bool {
    matches!(e, ForgeError::Api(m) if m.contains(": 422 Unprocessable"))
}

fn time(v: &Value) -> Timestamp {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(Timestamp::now)
}

fn to_comment(v: &Value) -> Comment {
    Comment {
        id: v["id"].as_u64().unwrap_or(0),
        body: v["body"].as_str().unwrap_or("").to_string(),
        created_at: time(&v["created_at"]),
        author: v["user"]["login"].as_str().map(str::to_string),
    }
}

fn labels_of(v: &Value) -> Vec<Label> {
    v["labels"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["name"].as_str().or(l.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn to_issue(v: &Value, comments: Vec<Comment>) -> Issue {
    Issue {
        number: v["number"].as_u64().unwrap_or(0),
        title: v["title"].as_str().unwrap_or("").to_string(),
        body: v["body"].as_str().unwrap_or("").to_string(),
        state: if v["state"] == "closed" {
            State::Closed
        } else {
            State::Open
        },
        labels: labels_of(v),
        comments,
        created_at: time(&v["created_at"]),
        updated_at: time(&v["updated_at"]),
        closed_at: v["closed_at"].as_str().and_then(|s| s.parse().ok()),
        id: v["id"].as_u64(),
        sub_issues: Vec::new(),
        author: v["user"]["login"].as_str().map(str::to_string),
    }
}

fn to_pull(v: &Value) -> PullRequest {
    let merged = v["merged"].as_bool().unwrap_or(false) || v["merged_at"].is_string();
    PullRequest {
        number: v["number"].as_u64().unwrap_or(0),
        title: v["title"].as_str().unwrap_or("").to_string(),
        body: v["body"].as_str().unwrap_or("").to_string(),
        state: match (v["state"].as_str(), merged) {
            (_, true) => State::Merged,
            (Some("closed"), _) => State::Closed,
            _ => State::Open,
        },
        head: v["head"]["ref"].as_str().unwrap_or("").to_string(),
        base: v["base"]["ref"].as_str().unwrap_or("").to_string(),
        labels: labels_of(v),
        comments: Vec::new(),
        merge_commit: if merged {
            v["merge_commit_sha"].as_str().map(str::to_string)
        } else {
            None
        },
        created_at: time(&v["created_at"]),
        updated_at: time(&v["updated_at"]),
        merged_at: v["merged_at"].as_str().and_then(|s| s.parse().ok()),
        head_sha: v["head"]["sha"].as_str().map(str::to_string),
    }
}

impl Forge for GithubForge {
    fn name(&self) -> &'static str {
        "github"
    }

    fn list_issues(&self) -> Result<Vec<Issue>, ForgeError> {
        self.find_issues(&IssueQuery::default())
    }

    /// One narrow list: GitHub filters by `labels` and `since` itself.
    fn find_issues(&self, query: &IssueQuery) -> Result<Vec<Issue>, ForgeError> {
        let mut url = self.repo_url("/issues?state=all&per_page=100");
        if !query.labels.is_empty() {
            let labels: Vec<String> = query.labels.iter().map(|l| http::segment(l)).collect();
            url.push_str(&format!("&labels={}", labels.join(",")));
        }
        if let Some(since) = query.since {
            url.push_str(&format!("&since={}", since.strftime("%Y-%m-%dT%H:%M:%SZ")));
        }
        let mut issues: Vec<Issue> = self
            .list(url)?
            .iter()
            .filter(|v| v.get("pull_request").is_none())
            .map(|v| to_issue(v, Vec::new()))
            .collect();
        issues.sort_by_key(|i| i.number);
        Ok(issues)
    }

    fn list_sub_issues(&self, parent: u64) -> Result<SubIssues, ForgeError> {
        let url = self.repo_url(&format!("/issues/{parent}/sub_issues?per_page=100"));
        match self.list(url) {
            Ok(items) => Ok(SubIssues::Listed(
                items.iter().filter_map(|v| v["number"].as_u64()).collect(),
            )),
            Err(e) if is_not_found(&e) => Ok(SubIssues::Unavailable(
                "this GitHub has no sub-issues API (404)".into(),
            )),
            Err(e) => Err(e),
        }
    }

    /// Issues and pull requests share one sequence; the newest of either is the last number
    /// given. (A discussion also takes a number: then the prediction is off by one and the
    /// bodies are corrected after creation.)
    fn next_issue_number(&self) -> Result<Option<u64>, ForgeError> {
        let newest =
            self.get(&self.repo_url("/issues?state=all&sort=created&direction=desc&per_page=1"))?;
        Ok(Some(
            newest
                .as_array()
                .and_then(|a| a.first())
                .and_then(|i| i["number"].as_u64())
                .unwrap_or(0)
                + 1,
        ))
    }

    fn get_issue(&self, number: u64) -> Result<Issue, ForgeError> {
        let r = self.request(
            Method::Get,
            &self.repo_url(&format!("/issues/{number}")),
            None,
        )?;
        if r.status == 404 || r.body.get("pull_request").is_some() {
            return Err(ForgeError::NoIssue(number, "github"));
        }
        Ok(to_issue(&r.body, self.comments(number)?))
    }

    fn create_issue(&self, new: &NewIssue) -> Result<Issue, ForgeError> {
        let body = json!({"title": new.title, "body": new.body, "labels": new.labels});
        let r = self.request(Method::Post, &self.repo_url("/issues"), Some(&body))?;
        Ok(to_issue(&r.body, Vec::new()))
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> Result<Issue, ForgeError> {
        let b = json!({"title": title, "body": body});
        let r = self.request(
            Method::Patch,
            &self.repo_url(&format!("/issues/{number}")),
            Some(&b),
        )?;
        Ok(to_issue(&r.body, Vec::new()))
    }

    fn add_labels(&self, number: u64, labels: &[Label]) -> Result<(), ForgeError> {
        let b = json!({"labels": labels});
        self.request(
            Method::Post,
            &self.repo_url(&format!("/issues/{number}/labels")),
            Some(&b),
        )?;
        Ok(())
    }

    fn comment_issue(&self, number: u64, body: &str) -> Result<Comment, ForgeError> {
        let b = json!({"body": body});
        let r = self.request(
            Method::Post,
            &self.repo_url(&format!("/issues/{number}/comments")),
            Some(&b),
        )?;
        Ok(to_comment(&r.body))
    }

    fn link_sub_issue(&self, parent: u64, child: &Issue) -> Result<SubIssueLink, ForgeError> {
        let Some(id) = child.id else {
            return Ok(SubIssueLink::Unavailable(format!(
                "GitHub gave no id for #{}",
                child.number
            )));
        };
        let url = self.repo_url(&format!("/issues/{parent}/sub_issues"));
        match self.request(Method::Post, &url, Some(&json!({"sub_issue_id": id}))) {
            Ok(r) if r.status == 404 => Ok(SubIssueLink::Unavailable(
                "this GitHub has no sub-issues API (404)".into(),
            )),
            Ok(_) => Ok(SubIssueLink::Linked),
            // Already linked, or GitHub's own limits (a parent already set elsewhere): the task
            // list still links the issues, so this is reported, not fatal.
            Err(e) if is_unprocessable(&e) => {
                let text = e.to_string();
                if text.to_lowercase().contains("duplicate") || text.contains("already") {
                    Ok(SubIssueLink::AlreadyLinked)
                } else {
                    Ok(SubIssueLink::Unavailable(text))
                }
            }
            Err(e) if is_not_found(&e) => Ok(SubIssueLink::Unavailable(
                "this GitHub has no sub-issues API (404)".into(),
            )),
            Err(e) => Err(e),
        }
    }

    fn set_issue_state(&self, number: u64, state: State) -> Result<(), ForgeError> {
        let b = json!({"state": if state == State::Open { "open" } else { "closed" }});
        self.request(
            Method::Patch,
            &self.repo_url(&format!("/issues/{number}")),
            Some(&b),
        )?;
        Ok(())
    }

    fn default_branch(&self) -> Result<String, ForgeError> {
        let v = self.get(&self.repo_url(""))?;
        v["default_branch"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ForgeError::Api("the repository has no default_branch".into()))
    }

    fn ensure_branch(&self, name: &str, base: &str) -> Result<bool, ForgeError> {
        if self.ref_sha(name)?.is_some() {
            return Ok(false);
        }
        let sha = self
            .ref_sha(base)?
            .ok_or_else(|| ForgeError::NoBranch(base.to_string()))?;
        let b = json!({"ref": format!("refs/heads/{name}"), "sha": sha});
        self.request(Method::Post, &self.repo_url("/git/refs"), Some(&b))?;
        Ok(true)
    }

    fn branch_exists(&self, name: &str) -> Result<bool, ForgeError> {
        Ok(self.ref_sha(name)?.is_some())
    }

    fn delete_branch(&self, name: &str) -> Result<(), ForgeError> {
        self.request(
            Method::Delete,
            &self.repo_url(&format!("/git/refs/heads/{}", ref_path(name))),
            None,
        )?;
        Ok(())
    }

    fn list_pull_requests(&self) -> Result<Vec<PullRequest>, ForgeError> {
        let mut prs: Vec<PullRequest> = self
            .list(self.repo_url("/pulls?state=all&per_page=100"))?
            .iter()
            .map(|v| {
                self.remember_author(v);
                to_pull(v)
            })
            .collect();
        prs.sort_by_key(|p| p.number);
        Ok(prs)
    }

    fn get_pull_request(&self, number: u64) -> Result<PullRequest, ForgeError> {
        let r = self.request(
            Method::Get,
            &self.repo_url(&format!("/pulls/{number}")),
            None,
        )?;
        if r.status == 404 {
            return Err(ForgeError::NoPullRequest(number, "github"));
        }
        self.remember_author(&r.body);
        Ok(to_pull(&r.body))
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let b = json!({"title": new.title, "body": new.body, "head": new.head, "base": new.base});
        let r = self.request(Method::Post, &self.repo_url("/pulls"), Some(&b))?;
        Ok(to_pull(&r.body))
    }

    fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let b = json!({"title": title, "body": body});
        let r = self.request(
            Method::Patch,
            &self.repo_url(&format!("/pulls/{number}")),
            Some(&b),
        )?;
        Ok(to_pull(&r.body))
    }

    fn checks(&self, pr: &PullRequest) -> Result<Checks, ForgeError> {
        self.head_checks(pr)
    }

    fn compare(&self, base: &str, head: &str) -> Result<Option<Comparison>, ForgeError> {
        let v =
            self.get(&self.repo_url(&format!("/compare/{}...{}", ref_path(base), ref_path(head))))?;
        let status = |s: &str| match s {
            "added" => 'A',
            "removed" => 'D',
            "modified" | "changed" => 'M',
            "renamed" => 'R',
            _ => '?',
        };
        Ok(Some(Comparison {
            files: v["files"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    Some((
                        status(f["status"].as_str().unwrap_or("")),
                        f["filename"].as_str()?.to_string(),
                    ))
                })
                .collect(),
            commits: v["commits"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let message = c["commit"]["message"].as_str()?;
                    Some(message.lines().next().unwrap_or("").to_string())
                })
                .collect(),
        }))
    }

    fn is_up_to_date(&self, pr: &PullRequest) -> Result<bool, ForgeError> {
        let v = self.get(&self.repo_url(&format!(
            "/compare/{}...{}",
            ref_path(&pr.base),
            ref_path(&pr.head)
        )))?;
        Ok(v["behind_by"].as_u64() == Some(0))
    }

    fn update_branch(
        &self,
        pr: &PullRequest,
        method: crate::workflow::config::UpdateMethod,
    ) -> Result<super::update::BranchUpdate, ForgeError> {
        if method != crate::workflow::config::UpdateMethod::Merge {
            return Err(ForgeError::Unsupported(
                "GitHub's update-branch endpoint only merges; a rebase is made locally and pushed"
                    .into(),
            ));
        }
        // The expected head makes GitHub refuse (422) when commits arrived after the review.
        let mut body = json!({});
        if let Some(sha) = &pr.head_sha {
            body["expected_head_sha"] = sha.clone().into();
        }
        let url = self.repo_url(&format!("/pulls/{}/update-branch", pr.number));
        match self.request(Method::Put, &url, Some(&body)) {
            Ok(_) => Ok(super::update::BranchUpdate::Started),
            Err(ForgeError::Api(message))
                if message.contains("422") && message.to_ascii_lowercase().contains("conflict") =>
            {
                Ok(super::update::BranchUpdate::Conflict { paths: Vec::new() })
            }
            Err(e) => Err(e),
        }
    }

    fn squash_merge(
        &self,
        number: u64,
        message: &str,
        head: Option<&str>,
    ) -> Result<String, ForgeError> {
        let (title, rest) = message.split_once('\n').unwrap_or((message, ""));
        let mut b =
            json!({"merge_method": "squash", "commit_title": title, "commit_message": rest.trim()});
        // GitHub refuses with 409 when the head is no longer this commit.
        if let Some(sha) = head {
            b["sha"] = sha.into();
        }
        let r = self
            .request(
                Method::Put,
                &self.repo_url(&format!("/pulls/{number}/merge")),
                Some(&b),
            )
            .map_err(|e| match (e, head) {
                (ForgeError::Api(m), Some(sha)) if m.contains(": HTTP 409") => {
                    ForgeError::HeadMoved {
                        number,
                        expected: sha.to_string(),
                        detail: format!("GitHub: {}", m.rsplit(": ").next().unwrap_or("409")),
                    }
                }
                (e, _) => e,
            })?;
        r.body["sha"].as_str().map(str::to_string).ok_or_else(|| {
            ForgeError::Api(format!("PUT /pulls/{number}/merge: no sha in the answer"))
        })
    }

    fn pull_request_diff(&self, number: u64) -> Result<String, ForgeError> {
        let url = self.repo_url(&format!("/pulls/{number}"));
        let r = self.request_as(Method::Get, &url, None, DIFF_MEDIA)?;
        if r.status == 404 {
            return Err(ForgeError::NoPullRequest(number, "github"));
        }
        Ok(r.text)
    }

    fn create_review(&self, number: u64, review: &NewReview) -> Result<PostedReview, ForgeError> {
        self.post_review(number, review)
    }

    fn list_reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError> {
        Ok(self
            .list(self.repo_url(&format!("/pulls/{number}/reviews?per_page=100")))?
            .iter()
            .map(|v| Review {
                id: v["id"].as_u64().unwrap_or(0),
                event: match v["state"].as_str() {
                    Some("APPROVED") => ReviewEvent::Approve,
                    Some("CHANGES_REQUESTED") => ReviewEvent::RequestChanges,
                    _ => ReviewEvent::Comment,
                },
                body: v["body"].as_str().unwrap_or("").to_string(),
                comments: Vec::new(),
                created_at: time(&v["submitted_at"]),
            })
            .collect())
    }

    fn list_comments(&self, number: u64) -> Result<Vec<Comment>, ForgeError> {
        self.comments(number)
    }

    fn update_comment(&self, _number: u64, id: u64, body: &str) -> Result<Comment, ForgeError> {
        let b = json!({"body": body});
        let r = self.request(
            Method::Patch,
            &self.repo_url(&format!("/issues/comments/{id}")),
            Some(&b),
        )?;
        Ok(to_comment(&r.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let f = GithubForge::new(DEFAULT_API, "a/b", "ghp_secret").unwrap();
        assert!(!format!("{f:?}").contains("ghp_secret"));
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_refused_without_showing_it() {
        for bad in ["ghp_sec ret", "ghp_secret\nx", ""] {
            let e = GithubForge::new(DEFAULT_API, "a/b", bad).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("GITHUB_TOKEN or GH_TOKEN"), "{text}");
            assert!(bad.is_empty() || !text.contains(bad), "{text}");
        }
        // Surrounding whitespace (a trailing newline from a file) is not part of the token.
        assert!(GithubForge::new(DEFAULT_API, "a/b", " ghp_secret\n").is_ok());
    }

    #[test]
    fn an_api_base_that_is_not_a_url_is_refused() {
        for bad in ["ghe.example.com/api/v3", "https://exa mple.com"] {
            let e = GithubForge::new(bad, "a/b", "t").unwrap_err().to_string();
            assert!(e.contains("GITHUB_API_URL"), "{e}");
            assert!(e.contains("https://ghe.example.com/api/v3"), "{e}");
        }
    }
}
