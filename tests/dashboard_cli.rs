//! `factory dashboard` and `factory report --html` through the real binary: every JSON view of
//! a recorded state directory, the event stream, and robustness (a malformed log line, a
//! missing `.factory`, hundreds of archived sessions, a large log read incrementally).

mod support;

use std::io::{BufRead, BufReader};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use support::dashboard::{SID, Server, append, state};

const ARCHIVED: &str = "20261118T090000Z-cc0003";

#[test]
fn every_view_of_the_recorded_session() {
    let (_dir, root) = state();
    let server = Server::start(&root);

    let (status, s) = server.get("/api/session");
    assert_eq!(status, 200);
    assert_eq!(s["id"], SID);
    assert_eq!(s["current_phase"], "completion");
    assert!(
        s["next_step"]
            .as_str()
            .unwrap()
            .contains("phase 8 completion"),
        "{s}"
    );
    assert_eq!(s["counters"]["review_cycles"], 3);
    assert_eq!(s["phases"][1]["name"], "strategic_plan");
    assert_eq!(s["phases"][1]["duration_ms"], 297_000);

    let (_, t) = server.get("/api/timeline");
    assert_eq!(t["malformed"], 1, "{t}");
    let entries = t["entries"].as_array().unwrap();
    let bad: Vec<&Value> = entries.iter().filter(|e| e["malformed"] == true).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 5);
    assert!(bad[0]["text"].as_str().unwrap().contains("BROKEN LINE"));
    // Events of other sessions stay out; the lines after the malformed one are read.
    assert!(
        entries
            .iter()
            .all(|e| e["malformed"] == true || e["sid"] == SID)
    );
    assert!(entries.iter().any(|e| e["action"] == "verify"));
    assert_eq!(entries[1]["gap_ms"], 1000);

    let (_, k) = server.get("/api/kanban");
    let merged = &k["columns"][2];
    assert_eq!(merged["name"], "merged");
    assert_eq!(merged["cards"].as_array().unwrap().len(), 2);
    assert_eq!(merged["cards"][1]["wave"], 2);
    assert_eq!(
        k["waves"],
        serde_json::json!([
            {"wave": 1, "status": "merged", "issues": [56]},
            {"wave": 2, "status": "merged", "issues": [59]}
        ])
    );

    let (_, r) = server.get("/api/reviews");
    let first = &r["reviews"][0];
    assert_eq!(first["pr"], 57);
    assert_eq!(first["cycle"], 1);
    assert_eq!(
        first["findings"][0]["severity"], "critical",
        "critical first"
    );
    assert_eq!(first["findings"][0]["file"], "src/routes/users.ts");
    assert_eq!(first["findings"][0]["line"], 7);

    let (_, c) = server.get("/api/scorecards");
    let scores: Vec<i64> = c["scorecards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["score"].as_i64().unwrap())
        .collect();
    assert_eq!(scores, [72, 85, 100], "oldest first");

    let (_, l) = server.get("/api/lessons");
    assert_eq!(l["lessons"][0]["id"], "lesson-0001");
    assert_eq!(l["lessons"][0]["hits"], 3);
    assert_eq!(l["lessons"][2]["active"], false, "retired last");

    let (_, d) = server.get("/api/decisions");
    let decisions = d["decisions"].as_array().unwrap();
    assert!(decisions.iter().any(|x| {
        x["decision"]
            .as_str()
            .unwrap()
            .starts_with("Split search and auth")
    }));

    let (_, list) = server.get("/api/sessions");
    assert_eq!(list["current"], SID);
    assert_eq!(list["archived"][0], ARCHIVED);
}

#[test]
fn an_archived_session_is_shown_on_request_and_bad_ids_are_refused() {
    let (_dir, root) = state();
    let server = Server::start(&root);
    let (status, snap) = server.get(&format!("/api/snapshot?session={ARCHIVED}"));
    assert_eq!(status, 200);
    assert_eq!(snap["session"]["id"], ARCHIVED);
    assert_eq!(snap["session"]["archived"], true);
    assert_eq!(snap["reviews"]["reviews"][0]["pr"], 71);

    let (status, body) = server.get("/api/session?session=..%2F..%2Fetc");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("not a session id"));
    let (status, body) = server.get("/api/session?session=20990101T000000Z-none");
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("/api/sessions"));
    let (status, _) = server.get("/nope");
    assert_eq!(status, 404);
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let (_dir, root) = state();
    let server = Server::start(&root);
    let agent = ureq::Agent::new_with_defaults();
    let mut res = agent.get(&server.url).call().unwrap();
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"));
    let html = res.body_mut().read_to_string().unwrap();
    assert!(html.contains(r#"<script src="assets/app.js">"#));
    for asset in ["assets/app.js", "assets/app.css"] {
        let body = agent
            .get(format!("{}{asset}", server.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        assert!(body.len() > 1000, "{asset}");
    }
}

#[test]
fn requests_for_another_host_name_are_refused() {
    let (_dir, root) = state();
    let server = Server::start(&root);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let res = agent
        .get(format!("{}api/session", server.url))
        .header("Host", "attacker.example:7878")
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 421);
}

#[test]
fn appended_log_lines_and_state_changes_are_pushed_as_events() {
    let (_dir, root) = state();
    let server = Server::start(&root);
    let res = ureq::get(format!("{}api/events", server.url))
        .call()
        .unwrap();
    assert!(
        res.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(res.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next_data = |event: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut current = String::new();
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no `{event}` event within 15 s"));
            if let Some(name) = line.strip_prefix("event: ") {
                current = name.to_string();
            } else if let Some(data) = line.strip_prefix("data: ")
                && current == event
            {
                return data.to_string();
            }
        }
    };
    next_data("hello");
    append(
        &root.join("workflow.log"),
        &format!(
            "{{\"ts\":\"2026-11-20T11:01:00Z\",\"sid\":\"{SID}\",\"phase\":\"completion\",\"action\":\"phase_start\",\"status\":\"started\",\"detail\":\"pushed live\"}}\nnot json at all\n"
        ),
    );
    let first: Value = serde_json::from_str(&next_data("log")).unwrap();
    assert_eq!(first["detail"], "pushed live");
    assert_eq!(first["line"], 11, "the line number in the log");
    let second: Value = serde_json::from_str(&next_data("log")).unwrap();
    assert_eq!(second["malformed"], true);
    assert_eq!(second["text"], "not json at all");

    // A state change: session.json replaced.
    let text = std::fs::read_to_string(root.join("session.json")).unwrap();
    std::fs::write(
        root.join("session.json"),
        text.replace("\"review_cycles\": 3", "\"review_cycles\": 4"),
    )
    .unwrap();
    let changed: Value = serde_json::from_str(&next_data("state")).unwrap();
    assert!(
        changed["changed"]
            .as_array()
            .unwrap()
            .contains(&"session".into()),
        "{changed}"
    );
    let (_, s) = server.get("/api/session");
    assert_eq!(s["counters"]["review_cycles"], 4);
    // The server is still fine after the malformed line.
    let (_, t) = server.get("/api/timeline");
    assert_eq!(t["malformed"], 2);
}

#[test]
fn a_missing_state_directory_serves_empty_views() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(".factory");
    let server = Server::start(&root);
    let (status, snap) = server.get("/api/snapshot");
    assert_eq!(status, 200);
    assert_eq!(snap["session"]["present"], false);
    assert!(
        snap["session"]["message"]
            .as_str()
            .unwrap()
            .contains("factory run")
    );
    assert_eq!(snap["timeline"]["total"], 0);
    assert_eq!(snap["reviews"]["reviews"], Value::Array(vec![]));
    assert_eq!(snap["sessions"]["archived"], Value::Array(vec![]));
    // The directory appears later: the views follow.
    support::dashboard::copy_dir(&support::dashboard::fixture(), &root);
    let (_, s) = server.get("/api/session");
    assert_eq!(s["id"], SID);
}

#[test]
fn hundreds_of_archived_sessions_and_a_large_log_stay_responsive() {
    let (_dir, root) = state();
    let archived =
        std::fs::read_to_string(root.join("sessions").join(ARCHIVED).join("session.json")).unwrap();
    for i in 0..400 {
        let id = format!("20261001T{:06}Z-dd{i:04}", i);
        let dir = root.join("sessions").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("session.json"), archived.replace(ARCHIVED, &id)).unwrap();
    }
    // ~40 MB of log: 200k events of other sessions.
    let mut big = String::new();
    for i in 0..200_000 {
        big.push_str(&format!(
            "{{\"ts\":\"2026-11-01T00:00:00Z\",\"sid\":\"other-{}\",\"phase\":\"implementation\",\"action\":\"invoke_agent\",\"status\":\"ok\",\"detail\":\"{}\"}}\n",
            i % 400,
            "x".repeat(120)
        ));
    }
    let log = root.join("workflow.log");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.insert_str(0, &big);
    std::fs::write(&log, text).unwrap();

    let server = Server::start(&root);
    let (_, list) = server.get("/api/sessions");
    assert_eq!(list["archived"].as_array().unwrap().len(), 401);
    let (status, snap) = server.get("/api/snapshot?session=20261001T000399Z-dd0399");
    assert_eq!(status, 200);
    assert_eq!(snap["session"]["id"], "20261001T000399Z-dd0399");
    // Later requests read only what was appended: each one is quick.
    let started = Instant::now();
    for _ in 0..10 {
        let (_, t) = server.get("/api/timeline?limit=3");
        assert_eq!(t["shown"], 3);
        assert_eq!(t["total"], 9, "the session's own lines among 200k others");
        assert_eq!(t["malformed"], 1);
    }
    let per_request = started.elapsed() / 10;
    assert!(
        per_request < Duration::from_millis(1500),
        "a timeline request took {per_request:?}"
    );
}

#[test]
fn the_bind_warning_and_a_port_in_use() {
    let (_dir, root) = state();
    let server = Server::start(&root);
    let port = server
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    Command::cargo_bin("factory")
        .unwrap()
        .args(["dashboard", "--port", &port, "--state-dir"])
        .arg(&root)
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot listen on 127.0.0.1"))
        .stderr(predicate::str::contains("--port"));
    let out = Command::cargo_bin("factory")
        .unwrap()
        .args([
            "dashboard",
            "--bind",
            "0.0.0.0",
            "--port",
            &port,
            "--state-dir",
        ])
        .arg(&root)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reachable from other machines"), "{stderr}");
}

#[test]
fn report_html_is_one_self_contained_file() {
    let (dir, root) = state();
    let out = dir.path().join("out/report.html");
    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--html", "--output"])
        .arg(&out)
        .arg("--state-dir")
        .arg(&root)
        .assert()
        .success()
        .stdout(predicate::str::contains("report.html"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("window.FACTORY_SNAPSHOT"));
    assert!(!html.contains("src=\"assets/") && !html.contains("href=\"assets/"));
    assert!(html.contains(SID));
    assert!(html.contains("BROKEN LINE"), "the malformed line is shown");

    // An archived session, to the default path.
    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--html", "--session", ARCHIVED, "--state-dir"])
        .arg(&root)
        .assert()
        .success();
    let html = std::fs::read_to_string(root.join(format!("report-{ARCHIVED}.html"))).unwrap();
    assert!(html.contains("Fix the typo"));

    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--html", "--session", "nope", "--state-dir"])
        .arg(&root)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--session"))
        .stderr(predicate::str::contains("no archived session \"nope\""));
}

#[test]
fn report_without_a_session_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--html", "--state-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("factory run"));
    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--state-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no session"));
}

#[test]
fn report_without_html_writes_report_md() {
    let (_dir, root) = state();
    // REPORT.md is strict about the log: drop the malformed line first.
    let log = std::fs::read_to_string(root.join("workflow.log")).unwrap();
    let clean: String = log
        .lines()
        .filter(|l| !l.contains("BROKEN LINE"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(root.join("workflow.log"), clean).unwrap();
    Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--state-dir"])
        .arg(&root)
        .assert()
        .success()
        .stdout(predicate::str::contains(SID));
    assert!(root.join("REPORT.md").is_file());
}

#[test]
fn an_archived_session_reached_through_a_link_is_not_served() {
    let (dir, root) = state();
    // A session directory elsewhere on the machine, linked in as if archived.
    let elsewhere = dir.path().join("elsewhere");
    copy_archived(&root, &elsewhere);
    std::os::unix::fs::symlink(&elsewhere, root.join("sessions/20261201T000000Z-linked")).unwrap();
    let server = Server::start(&root);
    let (_, list) = server.get("/api/sessions");
    let archived = list["archived"].as_array().unwrap();
    assert!(
        archived.iter().all(|a| a != "20261201T000000Z-linked"),
        "{list}"
    );
    assert!(archived.iter().any(|a| a == ARCHIVED), "{list}");
    let (status, _) = server.get("/api/session?session=20261201T000000Z-linked");
    assert_ne!(status, 200);
}

/// The archived session of the fixture, copied to `to`.
fn copy_archived(root: &std::path::Path, to: &std::path::Path) {
    let from = root.join("sessions").join(ARCHIVED);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
