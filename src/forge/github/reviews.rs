//! Posting reviews on GitHub, and who posts them. GitHub lets no one approve or request
//! changes on a pull request they opened (422 "Can not approve your own pull request"). With
//! one identity — the token that opened factory's pull requests also reviews them — factory
//! posts a COMMENT review that carries its verdict in the body from the start (one write), and
//! the merge gate reads the verdict from factory's own state. A second identity
//! (`FACTORY_REVIEW_TOKEN`: a GitHub App's or a bot account's token) posts real approvals, which
//! branch protection requiring approvals needs; `factory doctor` says so.

use serde_json::json;

use super::GithubForge;
use super::http::Method;
use crate::forge::{ForgeError, NewReview, PostedReview, ReviewEvent};

/// The environment variable with the token of the identity that posts reviews.
pub const REVIEW_TOKEN_VAR: &str = "FACTORY_REVIEW_TOKEN";

/// Who opened a pull request: the author's login, and whether factory's marker is in its body.
#[derive(Debug, Clone)]
pub(super) struct Author {
    login: Option<String>,
    by_factory: bool,
}

impl Author {
    fn of(pr: &serde_json::Value) -> Author {
        Author {
            login: pr["user"]["login"].as_str().map(str::to_string),
            by_factory: pr["body"]
                .as_str()
                .is_some_and(|b| b.contains(crate::util::markers::PULL_REQUEST_PREFIX)),
        }
    }
}

/// Why a verdict went out as a COMMENT review with one identity.
const ONE_IDENTITY: &str = "one identity: the token that reviews also opened this pull request, and GitHub refuses a verdict on one's own pull request; the verdict is in the review's body and factory's state (set FACTORY_REVIEW_TOKEN to post real approvals as a second identity)";

impl GithubForge {
    /// Post `review` on pull request `number` as the reviewing identity.
    pub(super) fn post_review(
        &self,
        number: u64,
        review: &NewReview,
    ) -> Result<PostedReview, ForgeError> {
        if let Some(reviewer) = &self.reviewer {
            return reviewer.send_or_comment(number, review);
        }
        if review.event != ReviewEvent::Comment && self.opened_by_this_identity(number)? {
            let mut posted = self.send_review(number, review, ReviewEvent::Comment)?;
            posted.downgraded = Some(ONE_IDENTITY.into());
            return Ok(posted);
        }
        self.send_or_comment(number, review)
    }

    /// Post `review` with its verdict; one GitHub refuses goes out once more as a COMMENT.
    fn send_or_comment(&self, number: u64, review: &NewReview) -> Result<PostedReview, ForgeError> {
        match self.send_review(number, review, review.event) {
            // Refused anyway (the Actions token without "Allow GitHub Actions to approve pull
            // requests", a pull request opened elsewhere by the same account): as a comment.
            Err(e) if review.event != ReviewEvent::Comment && super::is_unprocessable(&e) => {
                let mut posted = self.send_review(number, review, ReviewEvent::Comment)?;
                posted.downgraded = Some(e.to_string());
                Ok(posted)
            }
            other => other,
        }
    }

    fn send_review(
        &self,
        number: u64,
        review: &NewReview,
        event: ReviewEvent,
    ) -> Result<PostedReview, ForgeError> {
        let body = json!({
            "event": event.as_str(),
            "body": review.body,
            "comments": review.comments.iter().map(|c| json!({
                "path": c.path, "line": c.line, "side": c.side, "body": c.body,
            })).collect::<Vec<_>>(),
        });
        let url = self.repo_url(&format!("/pulls/{number}/reviews"));
        let r = self.request(Method::Post, &url, Some(&body))?;
        Ok(PostedReview {
            id: r.body["id"].as_u64().unwrap_or(0),
            event,
            downgraded: None,
        })
    }

    /// Whether the token's identity opened pull request `number`: its author against the
    /// token's login, or — for tokens GitHub will not name (`GET /user` is refused to
    /// installation tokens such as the Actions token) — whether factory opened it.
    fn opened_by_this_identity(&self, number: u64) -> Result<bool, ForgeError> {
        let known = self
            .authors
            .lock()
            .ok()
            .and_then(|a| a.get(&number).cloned());
        let author = match known {
            Some(a) => a,
            None => Author::of(&self.get(&self.repo_url(&format!("/pulls/{number}")))?),
        };
        Ok(match (self.identity(), &author.login) {
            (Some(me), Some(login)) => me.eq_ignore_ascii_case(login),
            _ => author.by_factory,
        })
    }

    /// Keep who opened the pull request `pr` (GitHub's answer) for a later review.
    pub(super) fn remember_author(&self, pr: &serde_json::Value) {
        if let (Some(n), Ok(mut authors)) = (pr["number"].as_u64(), self.authors.lock()) {
            authors.insert(n, Author::of(pr));
        }
    }

    /// The token's login, asked once; `None` when GitHub will not say.
    fn identity(&self) -> Option<String> {
        self.identity
            .get_or_init(|| {
                let url = format!("{}/user", self.api);
                match self.request(Method::Get, &url, None) {
                    Ok(r) if r.status == 200 => r.body["login"].as_str().map(str::to_string),
                    _ => None,
                }
            })
            .clone()
    }
}
