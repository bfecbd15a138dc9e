//! A fake GitHub API for the tests: a small HTTP server started by each test that records every
//! request (method, path, body), answers canned responses first, and otherwise keeps issues,
//! comments and reviews in memory. With [`Fake::with_origin`] it also serves pull requests,
//! branches, compare, update-branch and squash merges from a bare git repository that stands
//! for the GitHub repository (the test's clone pushes to it as `origin`), and answers as
//! GitHub's rules do: a pull request is opened by the token's identity ([`BOT`]), which may
//! not approve or request changes on it (422); a pushed commit has no check run until the
//! repository's CI has started, i.e. the first time its checks are read it has none.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const TOKEN: &str = "test-token-0123456789";
pub const PREFIX: &str = "/api/v3/repos/acme/shop";
/// The login of the token's identity (`GET /user`).
pub const BOT: &str = "factory-bot";

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub authorization: String,
    pub accept: String,
    /// The status the fake answered with.
    pub status: u16,
    /// When the request line arrived, to measure the pacing of writes.
    pub at: std::time::Instant,
}

/// A canned answer for the first request matching `method` and `path` (prefix).
pub struct Canned {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

#[derive(Default)]
pub struct World {
    pub requests: Vec<Request>,
    pub issues: Vec<Value>,
    pub canned: VecDeque<Canned>,
    /// Reviews posted without a canned answer: (pull request, review as GitHub lists it).
    pub reviews: Vec<(u64, Value)>,
    /// Conversation comments posted without a canned answer: (issue or pull request, comment).
    pub comments: Vec<(u64, Value)>,
    /// Sub-issue links: (parent number, child number), in the order they were made.
    pub sub_issues: Vec<(u64, u64)>,
    /// The bare git repository that stands for the GitHub repository, when the fake serves
    /// pull requests and branches ([`Fake::with_origin`]).
    pub origin: Option<std::path::PathBuf>,
    /// Commits whose checks were read once: CI has started on them.
    pub checks_started: std::collections::BTreeSet<String>,
    /// A pull request whose branch somebody pushes to (a file of theirs) just before factory
    /// merges it, once: the merge names the head it checked, so GitHub answers 409.
    pub push_before_merge: Option<u64>,
}

pub struct Fake {
    pub base: String,
    pub world: Arc<Mutex<World>>,
}

impl Fake {
    pub fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let world = Arc::new(Mutex::new(World::default()));
        let w = world.clone();
        let b = base.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, &w, &b);
            }
        });
        Fake { base, world }
    }

    /// A fake that also serves branches and pull requests from the bare repository `origin`.
    pub fn with_origin(origin: &std::path::Path) -> Fake {
        let fake = Fake::start();
        fake.world.lock().unwrap().origin = Some(origin.to_path_buf());
        fake
    }

    pub fn api(&self) -> String {
        format!("{}/api/v3", self.base)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.world.lock().unwrap().requests.clone()
    }

    pub fn clear(&self) {
        self.world.lock().unwrap().requests.clear();
    }

    pub fn can(&self, c: Canned) {
        self.world.lock().unwrap().canned.push_back(c);
    }

    pub fn issue(&self, n: u64) -> Value {
        self.world.lock().unwrap().issues[n as usize - 1].clone()
    }

    pub fn seed(&self, count: u64) {
        let mut w = self.world.lock().unwrap();
        for n in 1..=count {
            w.issues.push(json!({"number": n, "title": format!("old {n}"), "body": "unrelated", "state": "closed", "labels": []}));
        }
    }
}

pub fn serve(stream: std::net::TcpStream, world: &Mutex<World>, base: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let at = std::time::Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    let mut authorization = String::new();
    let mut accept = String::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => authorization = v.trim().to_string(),
            "accept" => accept = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, headers, answer) = {
        let mut w = world.lock().unwrap();
        w.requests.push(Request {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
            authorization,
            accept,
            status: 0,
            at,
        });
        let answer = route(&mut w, &method, &path, &body, base);
        if let Some(last) = w.requests.last_mut() {
            last.status = answer.0;
        }
        answer
    };
    // A string answer is sent as it is (a diff), anything else as JSON.
    let (text, media) = match answer {
        Value::String(raw) => (raw, "text/plain"),
        other => (other.to_string(), "application/json"),
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {media}\r\ncontent-length: {}\r\nconnection: close\r\n",
        text.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&text);
    let mut stream = stream;
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

pub fn route(
    w: &mut World,
    method: &str,
    path: &str,
    body: &Value,
    base: &str,
) -> (u16, Vec<(String, String)>, Value) {
    if let Some(i) = w.canned.iter().position(|c| {
        c.method == method
            && match c.path.strip_suffix('$') {
                Some(exact) => path == exact,
                None => path.starts_with(&c.path),
            }
    }) {
        let c = w.canned.remove(i).unwrap();
        return (c.status, c.headers, c.body);
    }
    // The token's identity: factory's own bot account.
    if method == "GET" && path == "/api/v3/user" {
        return (200, vec![], json!({"login": BOT, "type": "User"}));
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return (404, vec![], json!({"message": "Not Found"}));
    };
    let (route, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(origin) = w.origin.clone()
        && let Some(answer) = repository_route(w, &origin, method, route, body)
    {
        return answer;
    }
    let segs: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        // Branch protection and rulesets: none, unless a test cans them.
        ("GET", ["branches", name]) => (
            200,
            vec![],
            json!({"name": decode(name), "protected": false,
                   "protection": {"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}}}),
        ),
        ("GET", ["rules", "branches", _]) => (200, vec![], json!([])),
        ("GET", ["issues"]) => {
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            };
            let page: usize = param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let per_page: usize = param("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30)
                .min(100);
            // Labels filter as GitHub's does: every one named must be on the issue.
            let labels: Vec<String> = param("labels")
                .map(|l| l.split(',').map(decode).collect())
                .unwrap_or_default();
            let mut all: Vec<Value> = w
                .issues
                .iter()
                .filter(|i| {
                    labels.iter().all(|l| {
                        i["labels"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|x| x["name"] == l.as_str()))
                    })
                })
                .cloned()
                .collect();
            if param("direction") == Some("desc") {
                all.reverse();
            }
            let items: Vec<Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let mut headers = vec![];
            if all.len() > page * per_page {
                headers.push((
                    "link".to_string(),
                    format!(
                        "<{base}{PREFIX}/issues?state=all&per_page=100&page={}>; rel=\"next\"",
                        page + 1
                    ),
                ));
            }
            (200, headers, Value::Array(items))
        }
        ("POST", ["issues"]) => {
            let n = w.issues.len() as u64 + 1;
            let labels: Vec<Value> = body["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|l| json!({"name": l}))
                .collect();
            let issue = json!({"id": 9000 + n, "number": n, "title": body["title"], "body": body["body"], "state": "open", "labels": labels});
            w.issues.push(issue.clone());
            (201, vec![], issue)
        }
        ("PATCH", ["issues", n]) => {
            let i = &mut w.issues[n.parse::<usize>().unwrap() - 1];
            for k in ["title", "body", "state"] {
                if !body[k].is_null() {
                    i[k] = body[k].clone();
                }
            }
            (200, vec![], i.clone())
        }
        ("POST", ["issues", n, "sub_issues"]) => {
            let parent: u64 = n.parse().unwrap();
            let Some(child) = w
                .issues
                .iter()
                .find(|i| i["id"] == body["sub_issue_id"])
                .cloned()
            else {
                return (404, vec![], json!({"message": "Not Found"}));
            };
            let number = child["number"].as_u64().unwrap();
            if w.sub_issues.iter().any(|(_, c)| *c == number) {
                return (
                    422,
                    vec![],
                    json!({"message": "Validation Failed", "errors": [{"message": "Sub issue may only have one parent"}]}),
                );
            }
            w.sub_issues.push((parent, number));
            (201, vec![], w.issues[parent as usize - 1].clone())
        }
        ("GET", ["issues", n, "sub_issues"]) => {
            let parent: u64 = n.parse().unwrap();
            let list: Vec<Value> = w
                .sub_issues
                .iter()
                .filter(|(p, _)| *p == parent)
                .map(|(_, c)| w.issues[*c as usize - 1].clone())
                .collect();
            (200, vec![], Value::Array(list))
        }
        ("POST", ["issues", n, "labels"]) => {
            let i = &mut w.issues[n.parse::<usize>().unwrap() - 1];
            let labels = i["labels"].as_array_mut().unwrap();
            for l in body["labels"].as_array().unwrap() {
                if !labels.iter().any(|x| x["name"] == *l) {
                    labels.push(json!({"name": l}));
                }
            }
            (200, vec![], i["labels"].clone())
        }
        ("GET", ["pulls", n, "reviews"]) => {
            let n: u64 = n.parse().unwrap();
            let list: Vec<Value> = w
                .reviews
                .iter()
                .filter(|(p, _)| *p == n)
                .map(|(_, r)| r.clone())
                .collect();
            (200, vec![], Value::Array(list))
        }
        ("POST", ["pulls", n, "reviews"]) => {
            // GitHub: no verdict on a pull request by the identity that opened it.
            let own = w
                .requests
                .last()
                .is_some_and(|r| r.authorization == format!("Bearer {TOKEN}"))
                && w.issues
                    .iter()
                    .any(|i| i["number"].as_u64() == n.parse().ok() && i["user"]["login"] == BOT);
            if own && body["event"] != "COMMENT" {
                let what = if body["event"] == "APPROVE" {
                    "approve"
                } else {
                    "request changes on"
                };
                return (
                    422,
                    vec![],
                    json!({"message": "Unprocessable Entity", "errors": [format!("Can not {what} your own pull request")]}),
                );
            }
            let id = 700 + w.reviews.len() as u64;
            let state = match body["event"].as_str() {
                Some("APPROVE") => "APPROVED",
                Some("REQUEST_CHANGES") => "CHANGES_REQUESTED",
                _ => "COMMENTED",
            };
            let review = json!({"id": id, "state": state, "body": body["body"],
                "submitted_at": "2026-12-01T00:00:00Z"});
            w.reviews.push((n.parse().unwrap(), review.clone()));
            (200, vec![], review)
        }
        ("GET", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap();
            let list: Vec<Value> = w
                .comments
                .iter()
                .filter(|(i, _)| *i == n)
                .map(|(_, c)| c.clone())
                .collect();
            (200, vec![], Value::Array(list))
        }
        ("POST", ["issues", n, "comments"]) => {
            let id = 900 + w.comments.len() as u64;
            let c = json!({"id": id, "body": body["body"], "created_at": "2026-12-01T00:00:00Z"});
            w.comments.push((n.parse().unwrap(), c.clone()));
            (201, vec![], c)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap();
            match w.comments.iter_mut().find(|(_, c)| c["id"] == id) {
                Some((_, c)) => {
                    c["body"] = body["body"].clone();
                    (200, vec![], c.clone())
                }
                None => (404, vec![], json!({"message": "Not Found"})),
            }
        }
        _ => (404, vec![], json!({"message": "Not Found"})),
    }
}

pub fn reqs_bodies(fake: &Fake, suffix: &str) -> Vec<Value> {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with(suffix))
        .map(|r| r.body.clone())
        .collect()
}

pub fn calls(fake: &Fake) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// [`calls`] with the value of every `since=` query parameter (a time taken from the session)
/// shown as `T`.
pub fn calls_at_t(fake: &Fake) -> Vec<String> {
    calls(fake)
        .into_iter()
        .map(|c| match c.split_once("since=") {
            Some((head, rest)) => {
                let tail = rest.find('&').map(|i| &rest[i..]).unwrap_or("");
                format!("{head}since=T{tail}")
            }
            None => c,
        })
        .collect()
}

pub fn canned(method: &'static str, path: &str, status: u16, body: Value) -> Canned {
    Canned {
        method,
        path: format!("{PREFIX}{path}"),
        status,
        headers: vec![],
        body,
    }
}

/// An answer: status, headers, body (a string body is sent as it is).
pub type Answer = (u16, Vec<(String, String)>, Value);

/// Git in the bare repository `origin`: stdout, and whether it succeeded.
fn git_in(origin: &std::path::Path, args: &[&str]) -> (String, bool) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=GitHub",
            "-c",
            "user.email=noreply@github.com",
        ])
        .args(args)
        .current_dir(origin)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        out.status.success(),
    )
}

fn sha_of(origin: &std::path::Path, branch: &str) -> Option<String> {
    let (out, ok) = git_in(
        origin,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ],
    );
    ok.then_some(out)
}

fn decode(s: &str) -> String {
    s.replace("%23", "#")
        .replace("%2F", "/")
        .replace("%25", "%")
}

/// The base merged with the head: the tree, or `None` on a conflict.
fn merged_tree(origin: &std::path::Path, base: &str, head: &str) -> Option<String> {
    let (out, ok) = git_in(origin, &["merge-tree", "--write-tree", base, head]);
    ok.then(|| out.lines().next().unwrap_or("").to_string())
}

fn commit_tree(origin: &std::path::Path, tree: &str, parents: &[&str], message: &str) -> String {
    let mut args = vec!["commit-tree", tree];
    for p in parents {
        args.extend(["-p", p]);
    }
    args.extend(["-m", message]);
    git_in(origin, &args).0
}

/// Somebody's push: a commit adding `file` on top of `parent`, moved onto `head_ref`.
fn push_file(origin: &std::path::Path, head_ref: &str, parent: &str, file: &str) -> String {
    let index = tempfile::NamedTempFile::new().unwrap();
    let git = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write as _;
        let mut child = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=Someone",
                "-c",
                "user.email=someone@example.com",
            ])
            .args(args)
            .current_dir(origin)
            .env("GIT_INDEX_FILE", index.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or("").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let blob = git(&["hash-object", "-w", "--stdin"], Some("pushed by hand\n"));
    git(&["read-tree", parent], None);
    git(
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{blob},{file}"),
        ],
        None,
    );
    let tree = git(&["write-tree"], None);
    let commit = git(
        &[
            "commit-tree",
            &tree,
            "-p",
            parent,
            "-m",
            "A push after the review",
        ],
        None,
    );
    git(&["update-ref", head_ref, &commit, parent], None);
    commit
}

/// A pull request as GitHub answers it, with the head's current commit.
fn pull_json(origin: &std::path::Path, pr: &Value) -> Value {
    let mut v = pr.clone();
    if v["merged"] != true
        && let Some(sha) = sha_of(origin, v["head"]["ref"].as_str().unwrap_or(""))
    {
        v["head"]["sha"] = sha.into();
    }
    v
}

/// Branches and pull requests backed by `origin`; `None` for what the in-memory routes serve.
fn repository_route(
    w: &mut World,
    origin: &std::path::Path,
    method: &str,
    route: &str,
    body: &Value,
) -> Option<Answer> {
    let route = route.trim_start_matches('/');
    let not_found = (404, vec![], json!({"message": "Not Found"}));
    let pr_index = |w: &World, n: &str| {
        let n: u64 = n.parse().ok()?;
        w.issues
            .iter()
            .position(|i| i["number"] == n && i.get("pull_request").is_some())
    };
    let accept_diff = w.requests.last().is_some_and(|r| r.accept.contains("diff"));
    if route.is_empty() && method == "GET" {
        return Some((
            200,
            vec![],
            json!({"default_branch": "main", "full_name": "acme/shop"}),
        ));
    }
    if let Some(branch) = route.strip_prefix("git/ref/heads/") {
        return Some(match sha_of(origin, &decode(branch)) {
            Some(sha) => (
                200,
                vec![],
                json!({"object": {"sha": sha, "type": "commit"}}),
            ),
            None => not_found,
        });
    }
    if let Some(branch) = route.strip_prefix("git/refs/heads/")
        && method == "DELETE"
    {
        git_in(
            origin,
            &[
                "update-ref",
                "-d",
                &format!("refs/heads/{}", decode(branch)),
            ],
        );
        return Some((204, vec![], Value::Null));
    }
    if route == "git/refs" && method == "POST" {
        let r = body["ref"].as_str().unwrap_or("");
        git_in(
            origin,
            &["update-ref", r, body["sha"].as_str().unwrap_or("")],
        );
        return Some((
            201,
            vec![],
            json!({"ref": r, "object": {"sha": body["sha"]}}),
        ));
    }
    if let Some(range) = route.strip_prefix("compare/") {
        let (base, head) = decode(range)
            .split_once("...")
            .map(|(a, b)| (a.to_string(), b.to_string()))?;
        let count = |range: String| {
            git_in(origin, &["rev-list", "--count", &range])
                .0
                .parse::<u64>()
                .unwrap_or(0)
        };
        return Some((
            200,
            vec![],
            json!({"behind_by": count(format!("refs/heads/{head}..refs/heads/{base}")),
                   "ahead_by": count(format!("refs/heads/{base}..refs/heads/{head}"))}),
        ));
    }
    if let Some(sha) = route
        .strip_prefix("commits/")
        .and_then(|r| r.strip_suffix("/check-runs"))
    {
        // Right after a push CI has not created its check run yet.
        if w.checks_started.insert(sha.to_string()) {
            return Some((200, vec![], json!({"total_count": 0, "check_runs": []})));
        }
        return Some((
            200,
            vec![],
            json!({"total_count": 1, "check_runs": [{"name": "ci", "status": "completed", "conclusion": "success"}]}),
        ));
    }
    if route.starts_with("commits/") && route.ends_with("/status") {
        // GitHub's combined state with no status at all is `pending`.
        return Some((
            200,
            vec![],
            json!({"state": "pending", "total_count": 0, "statuses": []}),
        ));
    }
    if let Some(n) = route.strip_prefix("issues/")
        && method == "GET"
        && !n.contains('/')
    {
        let n: u64 = n.parse().ok()?;
        return Some(match w.issues.iter().find(|i| i["number"] == n) {
            Some(i) => (200, vec![], i.clone()),
            None => not_found,
        });
    }
    if route == "pulls" && method == "GET" {
        let list: Vec<Value> = w
            .issues
            .iter()
            .filter(|i| i.get("pull_request").is_some())
            .map(|p| pull_json(origin, p))
            .collect();
        return Some((200, vec![], Value::Array(list)));
    }
    if route == "pulls" && method == "POST" {
        let (head, base) = (body["head"].as_str()?, body["base"].as_str()?);
        if sha_of(origin, head).is_none() || sha_of(origin, base).is_none() {
            return Some((
                422,
                vec![],
                json!({"message": "Validation Failed", "errors": [{"message": "head or base does not exist"}]}),
            ));
        }
        let n = w.issues.len() as u64 + 1;
        let pr = json!({"id": 9000 + n, "number": n, "title": body["title"], "body": body["body"],
            "state": "open", "merged": false, "labels": [], "user": {"login": BOT},
            "pull_request": {"url": format!("https://api.github.com/repos/acme/shop/pulls/{n}")},
            "head": {"ref": head}, "base": {"ref": base}});
        w.issues.push(pr.clone());
        return Some((201, vec![], pull_json(origin, &pr)));
    }
    let segs: Vec<&str> = route.split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["pulls", n]) => {
            let i = pr_index(w, n)?;
            let pr = pull_json(origin, &w.issues[i]);
            if accept_diff {
                let (base, head) = (pr["base"]["ref"].as_str()?, pr["head"]["sha"].as_str()?);
                let (diff, _) = git_in(origin, &["diff", &format!("refs/heads/{base}...{head}")]);
                return Some((200, vec![], Value::String(diff + "\n")));
            }
            Some((200, vec![], pr))
        }
        ("PATCH", ["pulls", n]) => {
            let i = pr_index(w, n)?;
            for k in ["title", "body", "state"] {
                if !body[k].is_null() {
                    w.issues[i][k] = body[k].clone();
                }
            }
            Some((200, vec![], pull_json(origin, &w.issues[i])))
        }
        ("PUT", ["pulls", n, "update-branch"]) => {
            let i = pr_index(w, n)?;
            let pr = pull_json(origin, &w.issues[i]);
            let (base, head) = (
                pr["base"]["ref"].as_str()?.to_string(),
                pr["head"]["ref"].as_str()?.to_string(),
            );
            let head_sha = pr["head"]["sha"].as_str()?.to_string();
            if body["expected_head_sha"].is_string()
                && body["expected_head_sha"] != head_sha.as_str()
            {
                return Some((
                    422,
                    vec![],
                    json!({"message": "expected head sha didn't match current head ref."}),
                ));
            }
            let base_sha = sha_of(origin, &base)?;
            let Some(tree) = merged_tree(origin, &base_sha, &head_sha) else {
                return Some((
                    422,
                    vec![],
                    json!({"message": "merge conflict between base and head"}),
                ));
            };
            let commit = commit_tree(
                origin,
                &tree,
                &[&head_sha, &base_sha],
                &format!("Merge branch '{base}' into {head}"),
            );
            git_in(
                origin,
                &[
                    "update-ref",
                    &format!("refs/heads/{head}"),
                    &commit,
                    &head_sha,
                ],
            );
            Some((
                202,
                vec![],
                json!({"message": "Updating pull request branch.", "url": format!("https://github.com/acme/shop/pull/{n}")}),
            ))
        }
        ("PUT", ["pulls", n, "merge"]) => {
            let i = pr_index(w, n)?;
            let pr = pull_json(origin, &w.issues[i]);
            if pr["state"] != "open" {
                return Some((
                    405,
                    vec![],
                    json!({"message": "Pull Request is not mergeable"}),
                ));
            }
            let (base, mut head_sha) = (
                pr["base"]["ref"].as_str()?.to_string(),
                pr["head"]["sha"].as_str()?.to_string(),
            );
            if w.push_before_merge.take() == n.parse().ok() {
                let head_ref = format!("refs/heads/{}", pr["head"]["ref"].as_str()?);
                head_sha = push_file(origin, &head_ref, &head_sha, "PUSHED_BY_HAND.md");
            }
            if body["sha"].is_string() && body["sha"] != head_sha.as_str() {
                return Some((
                    409,
                    vec![],
                    json!({"message": "Head branch was modified. Review and try the merge again."}),
                ));
            }
            let base_sha = sha_of(origin, &base)?;
            let Some(tree) = merged_tree(origin, &base_sha, &head_sha) else {
                return Some((
                    405,
                    vec![],
                    json!({"message": "Pull Request is not mergeable"}),
                ));
            };
            let title = body["commit_title"].as_str().unwrap_or("squash");
            let message = format!(
                "{title}\n\n{}",
                body["commit_message"].as_str().unwrap_or("")
            );
            let commit = commit_tree(origin, &tree, &[&base_sha], &message);
            git_in(
                origin,
                &[
                    "update-ref",
                    &format!("refs/heads/{base}"),
                    &commit,
                    &base_sha,
                ],
            );
            let p = &mut w.issues[i];
            p["state"] = "closed".into();
            p["merged"] = true.into();
            p["merged_at"] = "2026-12-01T00:00:00Z".into();
            p["merge_commit_sha"] = commit.clone().into();
            p["head"]["sha"] = head_sha.into();
            Some((
                200,
                vec![],
                json!({"sha": commit, "merged": true, "message": "Pull Request successfully merged"}),
            ))
        }
        _ => None,
    }
}

/// `factory` in `repo` against the fake API, sleeping `scale` of each wait on GitHub (waits
/// are still computed and logged at their nominal length).
pub fn factory_scaled(repo: &super::repo::Repo, fake: &Fake, scale: &str) -> assert_cmd::Command {
    let mut cmd = repo.factory();
    cmd.env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", fake.api())
        .env("FACTORY_GITHUB_TIME_SCALE", scale);
    cmd
}

/// `factory` in `repo` against the fake API, sleeping a thousandth of each wait.
pub fn factory(repo: &super::repo::Repo, fake: &Fake) -> assert_cmd::Command {
    factory_scaled(repo, fake, "0.001")
}

/// Every `backoff` event of the forge in `repo`'s log: the reason and the nominal wait in
/// seconds.
pub fn backoffs(repo: &super::repo::Repo) -> Vec<(String, f64)> {
    repo.events("backoff")
        .iter()
        .filter(|e| e["phase"] == "forge")
        .map(|e| {
            (
                e["refs"]["reason"].as_str().unwrap().to_string(),
                e["refs"]["wait_seconds"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Cans the checks of head commit `abc123` right after a push: no check run yet, and GitHub's
/// combined status `pending` because no status exists.
pub fn can_no_checks_yet(fake: &Fake) {
    fake.can(canned(
        "GET",
        "/commits/abc123/check-runs",
        200,
        json!({"total_count": 0, "check_runs": []}),
    ));
    fake.can(canned(
        "GET",
        "/commits/abc123/status",
        200,
        json!({"state": "pending", "total_count": 0, "statuses": []}),
    ));
}

/// Cans what a successful squash merge of pull request #5 (closing issue #2, up to date with
/// its base) reads and writes after its checks.
pub fn can_merge_of_5(fake: &Fake) {
    fake.can(canned("GET", "/compare/", 200, json!({"behind_by": 0})));
    fake.can(canned(
        "PUT",
        "/pulls/5/merge",
        200,
        json!({"sha": "0123456789abcdef", "merged": true}),
    ));
    fake.can(canned("DELETE", "/git/refs/heads/", 204, Value::Null));
    fake.can(canned(
        "POST",
        "/issues/5/comments",
        201,
        json!({"id": 1, "body": "x"}),
    ));
    fake.can(canned(
        "POST",
        "/issues/2/comments",
        201,
        json!({"id": 2, "body": "x"}),
    ));
    fake.can(canned(
        "PATCH",
        "/issues/2",
        200,
        json!({"number": 2, "state": "closed"}),
    ));
}
