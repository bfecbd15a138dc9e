//! The dependency audit against a local fake OSV server and an offline database written by
//! the test. Nothing here reaches the internet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use factory::findings::Severity;
use factory::preflight::dependencies::{
    AuditError, AuditOptions, AuditSource, PackageChange, audit, audit_with,
};
use serde_json::{Value, json};

fn change(ecosystem: &str, name: &str, version: &str, line: u32) -> PackageChange {
    PackageChange {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: version.into(),
        path: "package-lock.json".into(),
        line,
    }
}

fn lodash_advisory() -> Value {
    json!({
        "id": "GHSA-35jh-r3h4-6jhm",
        "summary": "Command injection in lodash",
        "aliases": ["CVE-2021-23337"],
        "database_specific": {"severity": "HIGH"},
        "affected": [{
            "package": {"name": "lodash", "ecosystem": "npm"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]
        }]
    })
}

struct Request {
    method: String,
    path: String,
    /// Header lines as sent, `name: value`.
    headers: Vec<String>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        headers.push(line.trim_end().to_string());
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into(),
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A fake OSV API on 127.0.0.1 that answers with `handler` and records every request.
fn serve(
    handler: impl Fn(&Request, usize) -> Option<(u16, String)> + Send + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let count = AtomicUsize::new(0);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(req) = read_request(&mut stream) else {
                continue;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            seen.lock()
                .unwrap()
                .push(format!("{} {} {}", req.method, req.path, req.body));
            match handler(&req, n) {
                Some((status, body)) => respond(&mut stream, status, &body),
                // Hang: keep the connection open without answering.
                None => thread::sleep(Duration::from_secs(5)),
            }
        }
    });
    (base, log)
}

fn fast() -> AuditOptions {
    AuditOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(800),
        retries: 2,
        backoff: Duration::from_millis(10),
    }
}

#[test]
fn querybatch_with_pagination_then_details() {
    let (base, log) = serve(|req, _| {
        if req.path == "/v1/querybatch" {
            let body: Value = serde_json::from_str(&req.body).unwrap();
            let first = &body["queries"][0];
            if first.get("page_token").is_some() {
                // Second page: only the paged query is repeated.
                assert_eq!(body["queries"].as_array().unwrap().len(), 1);
                return Some((
                    200,
                    json!({"results": [{"vulns": [{"id": "GHSA-p2"}]}]}).to_string(),
                ));
            }
            return Some((
                200,
                json!({"results": [
                    {"vulns": [{"id": "GHSA-35jh-r3h4-6jhm"}], "next_page_token": "t1"},
                    {}
                ]})
                .to_string(),
            ));
        }
        if req.path == "/v1/vulns/GHSA-35jh-r3h4-6jhm" {
            return Some((200, lodash_advisory().to_string()));
        }
        if req.path == "/v1/vulns/GHSA-p2" {
            return Some((200, json!({"id": "GHSA-p2", "summary": "Prototype pollution", "database_specific": {"severity": "LOW"}}).to_string()));
        }
        Some((404, "{}".into()))
    });
    let changes = [
        change("npm", "lodash", "4.17.20", 12),
        change("npm", "left-pad", "1.3.0", 30),
    ];
    let findings = audit_with(&changes, &AuditSource::Osv { base_url: base }, &fast()).unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let high = findings
        .iter()
        .find(|f| f.message.contains("GHSA-35jh"))
        .unwrap();
    assert_eq!(high.severity, Severity::Critical);
    assert_eq!(high.line, 12);
    assert!(high.message.contains("lodash@4.17.20"));
    assert!(high.message.contains("CVE-2021-23337"));
    assert!(high.message.contains("fixed in 4.17.21"));
    let low = findings
        .iter()
        .find(|f| f.message.contains("GHSA-p2"))
        .unwrap();
    assert_eq!(low.severity, Severity::Advisory);
    let requests = log.lock().unwrap().clone();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("POST /v1/querybatch"))
            .count(),
        2
    );
    assert!(
        requests[0].contains(r#""ecosystem":"npm""#)
            && requests[0].contains(r#""version":"4.17.20""#)
    );
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let (base, log) = serve(|req, n| {
        if n == 0 {
            return Some((503, "busy".into()));
        }
        if req.path == "/v1/querybatch" {
            return Some((200, json!({"results": [{}]}).to_string()));
        }
        Some((404, "{}".into()))
    });
    let findings = audit_with(
        &[change("npm", "x", "1.0.0", 1)],
        &AuditSource::Osv { base_url: base },
        &fast(),
    )
    .unwrap();
    assert!(findings.is_empty());
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[test]
fn client_errors_are_not_retried_and_name_the_url() {
    let (base, log) = serve(|_, _| Some((400, r#"{"message":"bad ecosystem"}"#.into())));
    let err = audit_with(
        &[change("npm", "x", "1.0.0", 1)],
        &AuditSource::Osv {
            base_url: base.clone(),
        },
        &fast(),
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::Http { status: 400, .. }));
    assert!(
        err.to_string().contains(&format!("{base}/v1/querybatch")),
        "{err}"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[test]
fn a_hanging_server_times_out_with_a_clear_error() {
    let (base, _) = serve(|_, _| None);
    let options = AuditOptions {
        retries: 0,
        ..fast()
    };
    let started = std::time::Instant::now();
    let err = audit_with(
        &[change("npm", "x", "1.0.0", 1)],
        &AuditSource::Osv { base_url: base },
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::Transport { .. }), "{err}");
    assert!(err.to_string().contains("--audit offline:DIR"));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn offline_database_by_ecosystem_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("npm")).unwrap();
    std::fs::create_dir_all(dir.path().join("PyPI")).unwrap();
    std::fs::write(
        dir.path().join("npm/GHSA-35jh-r3h4-6jhm.json"),
        lodash_advisory().to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("PyPI/PYSEC-1.json"),
        json!({"id": "PYSEC-1", "summary": "x", "affected": [{"package": {"name": "Django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "4.0"}, {"fixed": "4.2.2"}]}]}]})
        .to_string(),
    )
    .unwrap();
    let source = AuditSource::Offline {
        dir: dir.path().to_path_buf(),
    };
    let changes = [
        change("npm", "lodash", "4.17.20", 3),
        change("npm", "lodash", "4.17.21", 9),
        PackageChange {
            path: "requirements.txt".into(),
            ..change("PyPI", "django", "4.2.1", 1)
        },
    ];
    let findings = audit(&changes, &source).unwrap();
    let found: Vec<(String, u32)> = findings.iter().map(|f| (f.path.clone(), f.line)).collect();
    assert_eq!(
        found,
        vec![
            ("package-lock.json".into(), 3),
            ("requirements.txt".into(), 1)
        ]
    );
    assert_eq!(
        findings[0].fingerprint,
        audit(&changes[..1], &source).unwrap()[0].fingerprint
    );
}

#[test]
fn broken_offline_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("BAD.json"), "{not json").unwrap();
    let err = audit(
        &[change("npm", "x", "1.0.0", 1)],
        &AuditSource::Offline {
            dir: dir.path().to_path_buf(),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("BAD.json"), "{err}");
    let missing = audit(
        &[change("npm", "x", "1.0.0", 1)],
        &AuditSource::Offline {
            dir: dir.path().join("nope"),
        },
    )
    .unwrap_err();
    assert!(
        missing.to_string().contains("is not a directory"),
        "{missing}"
    );
}

/// A diff that bumps lodash to a vulnerable version in package-lock.json (line 5 of the new file).
const LOCKFILE_DIFF: &str = "diff --git a/package-lock.json b/package-lock.json
--- a/package-lock.json
+++ b/package-lock.json
@@ -3,4 +3,4 @@
   \"packages\": {
     \"node_modules/lodash\": {
-      \"version\": \"4.17.21\",
+      \"version\": \"4.17.20\",
       \"resolved\": \"https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz\"
";

const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `factory preflight ARGS --format json` with no proxy variables but those in `env`.
fn preflight_output(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("factory").unwrap();
    for name in PROXY_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .arg("preflight")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

fn preflight_json_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, Value) {
    let out = preflight_output(args, env);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

fn preflight_json(args: &[&str]) -> (Option<i32>, Value) {
    preflight_json_with(args, &[])
}

/// The fake OSV API's answers for the lodash bump.
fn osv_answer(req: &Request) -> (u16, String) {
    match req.path.as_str() {
        "/v1/querybatch" => (
            200,
            json!({"results": [{"vulns": [{"id": "GHSA-35jh-r3h4-6jhm"}]}]}).to_string(),
        ),
        "/v1/vulns/GHSA-35jh-r3h4-6jhm" => (200, lodash_advisory().to_string()),
        _ => (404, "{}".into()),
    }
}

#[test]
fn binary_reports_a_vulnerable_bump_from_an_offline_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("osv/npm")).unwrap();
    std::fs::write(
        dir.path().join("osv/npm/GHSA-35jh-r3h4-6jhm.json"),
        lodash_advisory().to_string(),
    )
    .unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    let source = format!("offline:{}", dir.path().join("osv").display());
    let (code, report) = preflight_json(&["--diff", diff.to_str().unwrap(), "--audit", &source]);
    assert_eq!(code, Some(1), "{report}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["rule_id"], "vulnerable-dependency");
    assert_eq!(findings[0]["path"], "package-lock.json");
    assert_eq!(findings[0]["line"], 5);
    assert_eq!(findings[0]["severity"], "critical");
    assert_eq!(report["summary"]["dependency_audit"]["status"], "audited");
    // With the audit turned off the same diff is clean, and the report says the audit was off.
    let (code, report) = preflight_json(&["--diff", diff.to_str().unwrap(), "--audit", "off"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        report["summary"]["dependency_audit"],
        json!({"status": "off"})
    );
}

#[test]
fn binary_queries_the_osv_api_at_the_given_url() {
    let (base, log) = serve(|req, _| Some(osv_answer(req)));
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    let (code, report) = preflight_json(&[
        "--diff",
        diff.to_str().unwrap(),
        "--audit",
        "osv",
        "--osv-url",
        &base,
    ]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["findings"][0]["rule_id"], "vulnerable-dependency");
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fixed in 4.17.21")
    );
    let requests = log.lock().unwrap().clone();
    assert!(
        requests[0].starts_with("POST /v1/querybatch"),
        "{requests:?}"
    );
    assert!(
        requests[0].contains(r#""name":"lodash""#)
            && requests[0].contains(r#""version":"4.17.20""#)
    );
}

/// A fake HTTP CONNECT proxy on 127.0.0.1 that opens every tunnel itself and serves the fake
/// OSV API inside it, recording the CONNECT lines (with their Proxy-Authorization) and the
/// requests. Returns its address.
fn serve_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(connect) = read_request(&mut stream) else {
                continue;
            };
            seen.lock().unwrap().push(format!(
                "{} {} auth={}",
                connect.method,
                connect.path,
                connect.header("proxy-authorization").unwrap_or("-")
            ));
            if connect.method != "CONNECT" {
                respond(&mut stream, 405, "{}");
                continue;
            }
            let _ = write!(stream, "HTTP/1.1 200 Connection established\r\n\r\n");
            if let Some(req) = read_request(&mut stream) {
                seen.lock()
                    .unwrap()
                    .push(format!("{} {}", req.method, req.path));
                let (status, body) = osv_answer(&req);
                respond(&mut stream, status, &body);
            }
        }
    });
    (addr, log)
}

#[test]
fn binary_reaches_osv_through_the_proxy_the_environment_names() {
    let (proxy, log) = serve_proxy();
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    // osv.invalid resolves nowhere: only the proxy can reach it.
    let proxy_url = format!("http://user:secret-pass@{proxy}");
    let args = [
        "--diff",
        diff.to_str().unwrap(),
        "--audit",
        "osv",
        "--osv-url",
        "http://osv.invalid:8080",
    ];
    let (code, report) = preflight_json_with(&args, &[("HTTP_PROXY", &proxy_url)]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["findings"][0]["rule_id"], "vulnerable-dependency");
    let requests = log.lock().unwrap().clone();
    assert_eq!(
        requests[..2],
        [
            "CONNECT osv.invalid:8080 auth=Basic dXNlcjpzZWNyZXQtcGFzcw==".to_string(),
            "POST /v1/querybatch".to_string()
        ],
        "{requests:?}"
    );
    assert!(requests.contains(&"GET /v1/vulns/GHSA-35jh-r3h4-6jhm".to_string()));

    // NO_PROXY sends it straight to the address, which does not resolve.
    let out = preflight_output(
        &args,
        &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "osv.invalid")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        log.lock().unwrap().len(),
        requests.len(),
        "the proxy saw nothing new"
    );
}

#[test]
fn a_proxy_that_is_not_http_is_refused_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    let out = preflight_output(
        &["--diff", diff.to_str().unwrap(), "--audit", "osv"],
        &[("ALL_PROXY", "socks5://user:secret-pass@127.0.0.1:1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not an http:// proxy"), "{stderr}");
    assert!(stderr.contains("socks5://127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("secret-pass"), "{stderr}");
}

/// An address on the loopback where nothing listens: connections are refused at once.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// An offline database with the lodash advisory, in `dir`/osv.
fn offline_db(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir.join("osv/npm")).unwrap();
    std::fs::write(
        dir.join("osv/npm/GHSA-35jh-r3h4-6jhm.json"),
        lodash_advisory().to_string(),
    )
    .unwrap();
    dir.join("osv").display().to_string()
}

#[test]
fn the_default_audit_asks_osv_and_reports_what_it_checked() {
    let (base, log) = serve(|req, _| Some(osv_answer(req)));
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    // No --audit: the default is auto.
    let (code, report) = preflight_json(&["--diff", diff.to_str().unwrap(), "--osv-url", &base]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["findings"][0]["rule_id"], "vulnerable-dependency");
    assert_eq!(
        report["summary"]["dependency_audit"],
        json!({"status": "audited", "source": format!("OSV ({base})"), "packages": 1})
    );
    assert!(!log.lock().unwrap().is_empty());

    // A diff without a lockfile asks nothing and says there was nothing to check.
    let plain = dir.path().join("plain.diff");
    std::fs::write(
        &plain,
        "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n",
    )
    .unwrap();
    let before = log.lock().unwrap().len();
    let (code, report) = preflight_json(&["--diff", plain.to_str().unwrap(), "--osv-url", &base]);
    assert_eq!(code, Some(0));
    assert_eq!(
        report["summary"]["dependency_audit"]["status"],
        "no_lockfile_changes"
    );
    assert_eq!(
        log.lock().unwrap().len(),
        before,
        "no request without a lockfile change"
    );
}

#[test]
fn an_unreachable_osv_is_said_in_every_format_and_is_not_a_failure() {
    let osv = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    let diff = diff.to_str().unwrap();
    let (code, report) = preflight_json(&["--diff", diff, "--osv-url", &osv]);
    assert_eq!(code, Some(0), "{report}");
    let audit = &report["summary"]["dependency_audit"];
    assert_eq!(audit["status"], "unavailable");
    let reason = audit["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("OSV request to {osv}/v1/querybatch failed")),
        "{reason}"
    );
    assert!(reason.contains("audit.offline_db"), "{reason}");

    let run = |format: &str| {
        let mut cmd = assert_cmd::Command::cargo_bin("factory").unwrap();
        for name in PROXY_VARIABLES {
            cmd.env_remove(name);
        }
        let summary = dir.path().join(format!("summary-{format}.md"));
        let out = cmd
            .env_remove("GITHUB_STEP_SUMMARY")
            .args([
                "preflight",
                "--diff",
                diff,
                "--osv-url",
                &osv,
                "--format",
                format,
            ])
            .arg("--summary")
            .arg(&summary)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            std::fs::read_to_string(summary).unwrap(),
        )
    };
    let (text, markdown) = run("text");
    assert!(
        text.contains("warning: dependency audit unavailable: OSV request to"),
        "{text}"
    );
    assert!(
        markdown.contains("⚠️ Dependency audit unavailable: OSV request to"),
        "{markdown}"
    );
    let (github, _) = run("github");
    assert!(
        github.contains(
            "::warning title=factory dependency audit::dependency audit unavailable: OSV request to"
        ),
        "{github}"
    );
    let (sarif, _) = run("sarif");
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["level"] == "warning"
                && n["message"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("dependency audit unavailable")),
        "{notes}"
    );

    // Asked for by name, OSV that cannot be reached is an error (exit 2), not a note.
    let out = preflight_output(&["--diff", diff, "--audit", "osv", "--osv-url", &osv], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OSV request to"));
}

#[test]
fn the_default_audit_falls_back_to_the_offline_database() {
    let osv = closed_port_url();
    let dir = tempfile::tempdir().unwrap();
    let db = offline_db(dir.path());
    let diff = dir.path().join("bump.diff");
    std::fs::write(&diff, LOCKFILE_DIFF).unwrap();
    let (code, report) = preflight_json(&[
        "--diff",
        diff.to_str().unwrap(),
        "--osv-url",
        &osv,
        "--offline-db",
        &db,
    ]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["findings"][0]["rule_id"], "vulnerable-dependency");
    let audit = &report["summary"]["dependency_audit"];
    assert_eq!(audit["status"], "audited");
    let source = audit["source"].as_str().unwrap();
    assert!(
        source.starts_with(&format!(
            "the offline database {db} (OSV was unavailable: OSV request to {osv}"
        )),
        "{source}"
    );

    // --offline-db belongs to auto; elsewhere, or naming no directory, it is refused.
    let out = preflight_output(
        &[
            "--diff",
            diff.to_str().unwrap(),
            "--audit",
            "osv",
            "--offline-db",
            &db,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--offline-db is the fallback of --audit auto")
    );
    let out = preflight_output(
        &[
            "--diff",
            diff.to_str().unwrap(),
            "--offline-db",
            "no-such-dir",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--offline-db no-such-dir: not a directory")
    );
}
