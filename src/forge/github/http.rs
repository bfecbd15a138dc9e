//! The request layer of the GitHub forge: one exchange with the API, writes paced and failures
//! retried as GitHub asks (the rules are in `retry.rs`; the waits share the forge's time
//! budget), pages of lists, and errors that name the permission or input missing.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::GithubForge;
use super::retry::{self, Budget, Kind, Pacer, RateHeaders, Retries};
use crate::forge::ForgeError;

/// Longest time for one request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether GitHub counts the request as content-creating, and so paces it.
    fn is_write(self) -> bool {
        self != Method::Get
    }
}

/// Percent-encode one path segment (branch names hold `#` and `/`).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encode a ref path, keeping its slashes.
pub(super) fn ref_path(s: &str) -> String {
    s.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// The URL of `rel="next"` in a Link header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rest) = part.split_once(';')?;
        rest.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// The permission a request needs, for 403 messages.
fn permission_for(method: Method, path: &str) -> &'static str {
    if path.contains("/pulls") && path.ends_with("/merge") {
        "contents: write and pull-requests: write"
    } else if path.contains("/git/refs") || path.contains("/git/ref/") {
        if method == Method::Get {
            "contents: read"
        } else {
            "contents: write"
        }
    } else if path.contains("/pulls") {
        if method == Method::Get {
            "pull-requests: read"
        } else {
            "pull-requests: write"
        }
    } else if path.contains("/issues") {
        if method == Method::Get {
            "issues: read"
        } else {
            "issues: write"
        }
    } else {
        "contents: read"
    }
}

pub(super) struct Response {
    pub(super) status: u16,
    pub(super) body: Value,
    /// The body as sent, for media types that are not JSON (a diff).
    pub(super) text: String,
    pub(super) link: Option<String>,
}

/// The media type of ordinary API calls.
const JSON_MEDIA: &str = "application/vnd.github+json";
/// The media type that makes `GET /pulls/{n}` answer with the unified diff.
pub(super) const DIFF_MEDIA: &str = "application/vnd.github.diff";

/// What one exchange with the API gave: the status, the headers factory reads, the body text.
struct Answer {
    status: u16,
    headers: RateHeaders,
    link: Option<String>,
    text: String,
}

/// An attempt that may be retried: its kind, the status and headers of the answer (none for a
/// network error), and GitHub's message or the transport's cause.
struct Failure {
    kind: Kind,
    status: Option<u16>,
    headers: RateHeaders,
    cause: String,
}

impl Failure {
    /// The failure in a message: the kind, with the status of a server error or the cause of
    /// a network error.
    fn label(&self) -> String {
        match (self.kind, self.status) {
            (Kind::ServerError, Some(status)) => format!("server error {status}"),
            (Kind::Network, _) => format!("network error ({})", self.cause),
            (kind, _) => kind.as_str().to_string(),
        }
    }
}

/// The error when the next wait would go over the time budget: the limit hit, the time waited,
/// the budget and its setting, and what to do.
fn over_budget(
    what: &str,
    failure: &Failure,
    wait: Duration,
    budget: Budget,
    attempt: u32,
) -> ForgeError {
    ForgeError::Api(format!(
        "{what}: GitHub {}: waiting {} more would go over the time budget for waiting on GitHub (waited {} of {}, forge.time_budget_seconds in .factory/workflow.yaml); stopped after {attempt} attempt(s); {}, or raise forge.time_budget_seconds",
        failure.label(),
        secs(wait),
        secs(budget.spent),
        secs(budget.limit),
        failure.kind.advice()
    ))
}

/// A wait as people read it: whole seconds, with a tenth under ten seconds.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(10) && d.subsec_millis() != 0 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}

/// A random fraction in [0, 1) for backoff jitter; the middle when the system has no
/// randomness to give.
fn jitter() -> f64 {
    getrandom::u64()
        .map(|r| (r >> 11) as f64 / (1u64 << 53) as f64)
        .unwrap_or(0.5)
}

impl GithubForge {
    /// One exchange: the request as given, asking for the media type `accept` (POST, PATCH and
    /// PUT always carry a JSON body, `{}` when there is none), the answer read whole. It is
    /// built and sent as octocrab's raw `_get`/`_post`/... do, with the one `Accept` header this
    /// request needs. An error is a transport failure or a timeout.
    fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Answer, String> {
        let client = &self.client;
        let empty = json!({});
        let payload = match method {
            Method::Get | Method::Delete => None,
            Method::Post | Method::Patch | Method::Put => Some(body.unwrap_or(&empty)),
        };
        let call = async {
            let builder = http::Request::builder()
                .method(method.as_str())
                .uri(url)
                .header(http::header::ACCEPT, accept);
            let request = client
                .build_request(builder, payload)
                .map_err(|e| crate::util::errors::causes(&e))?;
            let response = client.execute(request).await.map_err(|e| {
                // octocrab wraps transport failures as `Service Error: <cause>`.
                let text = crate::util::errors::causes(&e);
                text.strip_prefix("Service Error: ")
                    .map(str::to_string)
                    .unwrap_or(text)
            })?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let mut answer = Answer {
                status: response.status().as_u16(),
                headers: RateHeaders {
                    retry_after: header("retry-after"),
                    remaining: header("x-ratelimit-remaining"),
                    reset: header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok()),
                },
                link: header("link"),
                text: String::new(),
            };
            answer.text = client.body_to_string(response).await.unwrap_or_default();
            Ok(answer)
        };
        self.runtime.block_on(async {
            tokio::time::timeout(REQUEST_TIMEOUT, call)
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))
        })
    }

    /// One request with bounded retries on rate limits and server errors; 2xx and 404 (for
    /// existence checks) come back, everything else is an error that says what to do.
    pub(super) fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Response, ForgeError> {
        self.request_as(method, url, body, JSON_MEDIA)
    }

    /// [`Self::request`] asking for the media type `accept`. Failures GitHub asks clients to
    /// retry are waited out as [`retry`] says, within the forge's time budget.
    pub(super) fn request_as(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Response, ForgeError> {
        let path = url.strip_prefix(&self.api).unwrap_or(url).to_string();
        let what = format!("{} {path}", method.as_str());
        let mut retries = Retries::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send(method, url, body, accept) {
                Err(cause) => Failure {
                    kind: Kind::Network,
                    status: None,
                    headers: RateHeaders::default(),
                    cause,
                },
                Ok(answer) => {
                    let value: Value = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
                    let status = answer.status;
                    if (200..300).contains(&status) || status == 404 && method == Method::Get {
                        return Ok(Response {
                            status,
                            body: value,
                            text: answer.text,
                            link: answer.link,
                        });
                    }
                    let message = value["message"].as_str().unwrap_or("").to_string();
                    let Some(kind) = retry::classify(status, &answer.headers, &message) else {
                        return Err(self.refusal(method, &path, status, &value));
                    };
                    Failure {
                        kind,
                        status: Some(status),
                        headers: answer.headers,
                        cause: message,
                    }
                }
            };
            self.back_off(&what, &failure, &mut retries, attempt)?;
        }
    }

    /// One exchange, paced when it creates content: GitHub asks for a second between such
    /// requests and at most about 80 a minute. Reads go at once.
    fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Answer, String> {
        if !method.is_write() {
            return self.exchange(method, url, body, accept);
        }
        let pause = self.pacer().wait(Instant::now());
        self.sleep(pause);
        let answer = self.exchange(method, url, body, accept);
        self.pacer().record(Instant::now());
        answer
    }

    /// Wait before the next attempt of a failed request, or say why there is none: the kind's
    /// retries are used up, or the wait would go over the time budget.
    fn back_off(
        &self,
        what: &str,
        failure: &Failure,
        retries: &mut Retries,
        attempt: u32,
    ) -> Result<(), ForgeError> {
        let kind = failure.kind;
        let Some(retry) = retries.next(kind) else {
            return Err(self.gave_up(what, failure, attempt));
        };
        let now = Timestamp::now().as_second();
        let wait = retry::wait(kind, &failure.headers, retry, now, jitter());
        let budget = {
            let mut budget = self.budget();
            if !budget.take(wait) {
                return Err(over_budget(what, failure, wait, *budget, attempt));
            }
            *budget
        };
        let event = format!(
            "{what}: {}; waiting {} (retry {retry} of {}; {} of the {} budget waited)",
            failure.label(),
            secs(wait),
            kind.max_retries(),
            secs(budget.spent),
            secs(budget.limit)
        );
        tracing::info!(target: "factory::event", phase = "forge", action = "backoff", tool = "github", status = "waiting", reason = kind.as_str(), wait_seconds = wait.as_millis() as f64 / 1000.0, detail = event);
        self.sleep(wait);
        Ok(())
    }

    /// The error when a kind's retries are used up, in the words of the kind.
    fn gave_up(&self, what: &str, failure: &Failure, attempt: u32) -> ForgeError {
        ForgeError::Api(match failure.kind {
            Kind::Network => format!(
                "{what}: cannot reach GitHub at {}: {}; check GITHUB_API_URL and the network",
                self.api, failure.cause
            ),
            kind => format!(
                "{what}: GitHub {} after {attempt} attempt(s); {}",
                failure.label(),
                kind.advice()
            ),
        })
    }

    /// Sleep `nominal` scaled by the forge's time scale (1 but in tests).
    fn sleep(&self, nominal: Duration) {
        if !nominal.is_zero() && self.time_scale > 0.0 {
            std::thread::sleep(nominal.mul_f64(self.time_scale));
        }
    }

    /// The pacing of writes (a poisoned lock still holds valid times).
    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time budget (a poisoned lock still holds a valid account).
    fn budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error for an answer that retrying cannot change: what is missing, and where.
    fn refusal(&self, method: Method, path: &str, status: u16, value: &Value) -> ForgeError {
        let what = format!("{} {path}", method.as_str());
        let message = value["message"].as_str().unwrap_or("");
        ForgeError::Api(match status {
            401 => format!(
                "{what}: 401 Unauthorized: GitHub rejected the token; check that GITHUB_TOKEN (or GH_TOKEN) is valid and not expired"
            ),
            403 => format!(
                "{what}: 403 Forbidden: the token lacks the permission `{}` on {}; grant it in the workflow's `permissions:` or the token's scopes{}",
                permission_for(method, path),
                self.repo,
                if message.is_empty() {
                    String::new()
                } else {
                    format!(" (GitHub: {message})")
                }
            ),
            404 => format!(
                "{what}: 404 Not Found: check GITHUB_REPOSITORY ({}) and that the token can see it (GitHub answers 404 when a permission such as `{}` is missing)",
                self.repo,
                permission_for(method, path)
            ),
            422 => format!(
                "{what}: 422 Unprocessable: GitHub rejected the input: {}{}",
                if message.is_empty() {
                    "validation failed"
                } else {
                    message
                },
                value["errors"]
                    .as_array()
                    .map(|e| format!(
                        " ({})",
                        e.iter()
                            .map(|x| x
                                .get("message")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string()))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))
                    .unwrap_or_default()
            ),
            other => format!("{what}: HTTP {other}: {message}"),
        })
    }

    pub(super) fn not_found(&self, url: &str) -> ForgeError {
        let path = url.strip_prefix(&self.api).unwrap_or(url);
        ForgeError::Api(format!(
            "GET {path}: 404 Not Found: check GITHUB_REPOSITORY ({}) and that the token can see it",
            self.repo
        ))
    }

    pub(super) fn get(&self, url: &str) -> Result<Value, ForgeError> {
        let r = self.request(Method::Get, url, None)?;
        if r.status == 404 {
            return Err(self.not_found(url));
        }
        Ok(r.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::Forge;

    #[test]
    fn link_headers_give_the_next_page() {
        let link = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn branch_names_are_encoded_in_paths() {
        assert_eq!(ref_path("feat/#2-reset token"), "feat/%232-reset%20token");
    }

    #[test]
    fn permissions_are_named_per_endpoint() {
        assert_eq!(
            permission_for(Method::Post, "/repos/a/b/issues"),
            "issues: write"
        );
        assert_eq!(
            permission_for(Method::Post, "/repos/a/b/pulls"),
            "pull-requests: write"
        );
        assert_eq!(
            permission_for(Method::Post, "/repos/a/b/git/refs"),
            "contents: write"
        );
        assert_eq!(
            permission_for(Method::Put, "/repos/a/b/pulls/3/merge"),
            "contents: write and pull-requests: write"
        );
    }

    #[test]
    fn an_unreachable_api_is_named_with_its_cause_after_bounded_retries() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = format!("http://127.0.0.1:{port}/api/v3");
        // Waits are computed in full but not slept.
        let f = GithubForge::new(&api, "a/b", "ghp_secret")
            .unwrap()
            .with_time_scale(0.0);
        let e = f.default_branch().unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "GET /repos/a/b: cannot reach GitHub at {api}: client error"
            )),
            "{e}"
        );
        assert!(e.to_ascii_lowercase().contains("connect"), "{e}");
        assert!(e.ends_with("check GITHUB_API_URL and the network"), "{e}");
        assert!(!e.contains("ghp_secret"), "{e}");
        // Three retries, a second then doubling, all taken from the budget.
        let spent = f.budget().spent;
        assert!(
            spent >= Duration::from_secs(7) && spent <= Duration::from_millis(8400),
            "{spent:?}"
        );
    }

    #[test]
    fn a_wait_over_the_budget_is_not_taken() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let f = GithubForge::new(&format!("http://127.0.0.1:{port}"), "a/b", "t")
            .unwrap()
            .with_time_budget(Duration::from_secs(2))
            .with_time_scale(0.0);
        let e = f.default_branch().unwrap_err().to_string();
        assert!(
            e.contains("GitHub network error (client error (Connect)")
                && e.contains("): waiting 2")
                && e.contains("(waited 1"),
            "{e}"
        );
        assert!(e.contains("of 2s, forge.time_budget_seconds"), "{e}");
        assert!(e.contains("check https://www.githubstatus.com"), "{e}");
    }

    #[test]
    fn only_content_creating_requests_are_paced() {
        assert!(!Method::Get.is_write());
        for m in [Method::Post, Method::Patch, Method::Put, Method::Delete] {
            assert!(m.is_write(), "{m:?}");
        }
    }

    #[test]
    fn waits_read_in_seconds() {
        assert_eq!(secs(Duration::from_millis(1130)), "1.1s");
        assert_eq!(secs(Duration::from_secs(2)), "2s");
        assert_eq!(secs(Duration::from_millis(63_900)), "63s");
        assert_eq!(secs(Duration::ZERO), "0s");
    }

    /// A server on 127.0.0.1 that answers each connection with the next of `answers` and
    /// returns the request heads it read (lower-cased).
    fn one_shot_server(answers: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut heads = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line.trim_end().is_empty() {
                        break;
                    }
                    head.push_str(&line.to_ascii_lowercase());
                }
                heads.push(head);
                stream.write_all(answer.as_bytes()).unwrap();
            }
            heads
        });
        (port, handle)
    }

    #[test]
    fn a_redirect_to_another_host_is_followed_without_the_token() {
        let body = r#"{"default_branch":"trunk"}"#;
        let (elsewhere, other) = one_shot_server(vec![format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )]);
        let (api_port, api) = one_shot_server(vec![format!(
            "HTTP/1.1 301 Moved\r\nlocation: http://127.0.0.1:{elsewhere}/repositories/7\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )]);
        let f = GithubForge::new(
            &format!("http://127.0.0.1:{api_port}/api/v3"),
            "a/b",
            "ghp_secret",
        )
        .unwrap();
        assert_eq!(f.default_branch().unwrap(), "trunk");
        let first = api.join().unwrap().remove(0);
        assert!(
            first.starts_with("get /api/v3/repos/a/b http/1.1"),
            "{first}"
        );
        assert!(
            first.contains("authorization: bearer ghp_secret"),
            "{first}"
        );
        assert!(
            first.contains("accept: application/vnd.github+json"),
            "{first}"
        );
        assert!(
            first.contains("x-github-api-version: 2022-11-28"),
            "{first}"
        );
        let second = other.join().unwrap().remove(0);
        assert!(
            second.starts_with("get /repositories/7 http/1.1"),
            "{second}"
        );
        assert!(!second.contains("ghp_secret"), "{second}");
        assert!(!second.contains("authorization"), "{second}");
    }

    #[test]
    fn a_diff_is_asked_for_with_one_accept_header_and_read_as_text() {
        let diff = "diff --git a/x b/x\n+added\n";
        let (port, server) = one_shot_server(vec![format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{diff}",
            diff.len()
        )]);
        let f = GithubForge::new(&format!("http://127.0.0.1:{port}"), "a/b", "t").unwrap();
        assert_eq!(f.pull_request_diff(5).unwrap(), diff);
        let head = server.join().unwrap().remove(0);
        assert!(
            head.starts_with("get /repos/a/b/pulls/5 http/1.1"),
            "{head}"
        );
        assert_eq!(
            head.lines()
                .filter(|l| l.starts_with("accept:"))
                .collect::<Vec<_>>(),
            vec!["accept: application/vnd.github.diff"],
            "{head}"
        );
        assert_eq!(head.matches("user-agent:").count(), 1, "{head}");
    }

    #[test]
    fn causes_are_listed_once_each() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            crate::util::errors::causes(&e),
            "client error (Connect): connection refused"
        );
    }
}
