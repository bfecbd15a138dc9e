//! The request layer of the GitHub forge: one exchange with the API, retries on rate limits
//! and server errors, pages of lists, and errors that name the permission or input missing.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::GithubForge;
use crate::forge::ForgeError;

/// Requests retried at most this many times after a rate limit or a server error.
pub const MAX_RETRIES: u32 = 3;
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
    retry_after: Option<u64>,
    remaining: Option<String>,
    reset: Option<i64>,
    link: Option<String>,
    text: String,
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
                retry_after: header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()),
                remaining: header("x-ratelimit-remaining"),
                reset: header("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok()),
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

    /// [`Self::request`] asking for the media type `accept`.
    pub(super) fn request_as(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> Result<Response, ForgeError> {
        let path = url.strip_prefix(&self.api).unwrap_or(url).to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = match self.exchange(method, url, body, accept) {
                Ok(a) => a,
                Err(e) => {
                    if attempt > MAX_RETRIES {
                        return Err(ForgeError::Api(format!(
                            "{} {path}: cannot reach GitHub at {}: {e}; check GITHUB_API_URL and the network",
                            method.as_str(),
                            self.api
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                    continue;
                }
            };
            let Answer {
                status,
                retry_after,
                remaining,
                reset,
                link,
                text,
            } = answer;
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if (200..300).contains(&status) || status == 404 && method == Method::Get {
                return Ok(Response {
                    status,
                    body: value,
                    text,
                    link,
                });
            }
            let message = value["message"].as_str().unwrap_or("").to_string();
            // Primary limit: remaining 0 with a reset time; secondary: retry-after, or a 403/429
            // whose message says so.
            let limited = status == 429
                || (status == 403
                    && (retry_after.is_some()
                        || remaining.as_deref() == Some("0")
                        || message.to_ascii_lowercase().contains("rate limit")));
            if limited || status >= 500 {
                let wait = match (retry_after, reset) {
                    (Some(s), _) => Duration::from_secs(s),
                    (None, Some(at)) => {
                        let now = Timestamp::now().as_second();
                        Duration::from_secs(u64::try_from(at - now).unwrap_or(0))
                    }
                    (None, None) => Duration::from_secs(u64::from(attempt)),
                };
                if attempt > MAX_RETRIES || wait > self.max_wait {
                    return Err(ForgeError::Api(format!(
                        "{} {path}: {} after {attempt} attempt(s){}; try again later",
                        method.as_str(),
                        if limited {
                            "GitHub rate limit".to_string()
                        } else {
                            format!("GitHub server error {status}")
                        },
                        if wait > self.max_wait {
                            format!(" (the limit resets in {}s)", wait.as_secs())
                        } else {
                            String::new()
                        }
                    )));
                }
                let event = format!(
                    "{} {path}: {}; waiting {}s (attempt {attempt} of {})",
                    method.as_str(),
                    if limited {
                        "rate limited"
                    } else {
                        "server error"
                    },
                    wait.as_secs(),
                    MAX_RETRIES + 1
                );
                tracing::info!(target: "factory::event", phase = "forge", action = "backoff", tool = "github", status = "waiting", detail = event);
                std::thread::sleep(wait);
                continue;
            }
            let what = format!("{} {path}", method.as_str());
            return Err(ForgeError::Api(match status {
                401 => format!(
                    "{what}: 401 Unauthorized: GitHub rejected the token; check that GITHUB_TOKEN (or GH_TOKEN) is valid and not expired"
                ),
                403 => format!(
                    "{what}: 403 Forbidden: the token lacks the permission `{}` on {}; grant it in the workflow's `permissions:` or the token's scopes{}",
                    permission_for(method, &path),
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
                    permission_for(method, &path)
                ),
                422 => format!(
                    "{what}: 422 Unprocessable: GitHub rejected the input: {}{}",
                    if message.is_empty() {
                        "validation failed"
                    } else {
                        &message
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
            }));
        }
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
        let f = GithubForge::new(&api, "a/b", "ghp_secret").unwrap();
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
