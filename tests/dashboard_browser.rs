//! The dashboard in a real browser: headless Chromium loads every view of `factory dashboard`
//! and of `factory report --html`, the tests read the DOM, and a line appended to the log
//! appears on the open page through the event stream without a reload.
//!
//! Skipped when no Chromium is installed, unless `FACTORY_REQUIRE_BROWSER=1` (CI). With
//! `FACTORY_SCREENSHOTS=DIR` the views are also saved as PNG files (docs/dashboard/).

mod support;

use support::dashboard::{Browser, SID, Server, append, chromium, state};

const VIEWS: [&str; 7] = [
    "session",
    "timeline",
    "kanban",
    "reviews",
    "scorecards",
    "lessons",
    "decisions",
];

/// What each view must show for the recorded session.
fn expected(view: &str) -> &'static [&'static str] {
    match view {
        "session" => &[
            SID,
            "Next step",
            "phase 8 completion",
            "strategic_plan",
            "review cycles",
        ],
        "timeline" => &[
            "malformed line skipped",
            "BROKEN LINE",
            "health checks pass on /users/search",
            "invoke_agent",
        ],
        "kanban" => &["Merged (2)", "#56", "task-001", "PR #57"],
        "reviews" => &[
            "PR #57, cycle 1",
            "REQUEST_CHANGES",
            "src/routes/users.ts:7",
            "bind parameter",
        ],
        "scorecards" => &["Extract the mailer", "excellent", "72"],
        "lessons" => &["lesson-0001", "SQL assembled from request input", "retired"],
        "decisions" => &[
            "Split search and auth into two tasks",
            "Send back to implementation",
        ],
        _ => unreachable!(),
    }
}

fn check_views(browser: &mut Browser, base: &str, shots: Option<&std::path::Path>, prefix: &str) {
    for view in VIEWS {
        browser.goto(&format!("{base}#{view}"));
        browser.wait_for(
            "document.body && document.body.getAttribute('data-loaded') === 'true'",
            "the page to render",
        );
        browser.wait_for(
            &format!("document.querySelector('#view-{view}').classList.contains('active')"),
            view,
        );
        let text = browser.text();
        for want in expected(view) {
            assert!(
                text.contains(want),
                "{prefix} view {view}: {want:?} not on the page:\n{text}"
            );
        }
        if view == "scorecards" {
            let dots =
                browser.eval("document.querySelectorAll('#view-scorecards svg circle').length");
            assert_eq!(dots, 3, "one point per scorecard on the chart");
        }
        if let Some(dir) = shots {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(
                dir.join(format!("{prefix}{view}.png")),
                browser.screenshot(),
            )
            .unwrap();
        }
    }
}

/// Open a page and wait until it rendered and its event stream is connected.
fn open_live(browser: &mut Browser, url: &str) {
    browser.goto(url);
    browser.wait_for(
        "document.body && document.body.getAttribute('data-loaded') === 'true'",
        "the page to render",
    );
    browser.wait_for(
        "document.getElementById('live').textContent === 'live'",
        "the event stream to connect",
    );
}

#[test]
fn every_view_renders_in_chromium_and_a_new_log_line_appears_live() {
    let Some(exe) = chromium() else { return };
    let (_dir, root) = state();
    let server = Server::start(&root);
    let mut browser = Browser::launch(&exe);
    let shots = std::env::var_os("FACTORY_SCREENSHOTS").map(std::path::PathBuf::from);
    check_views(&mut browser, &server.url, shots.as_deref(), "");

    // Live: the timeline is open; append an event and a malformed line.
    open_live(&mut browser, &format!("{}#timeline", server.url));
    // Survives only if the page is not reloaded.
    browser.eval("window.__still_the_same_page = true");
    let rows_before = browser.eval("document.querySelectorAll('#timeline-table tbody tr').length");
    append(
        &root.join("workflow.log"),
        &format!(
            "{{\"ts\":\"2026-11-20T11:01:00Z\",\"sid\":\"{SID}\",\"phase\":\"completion\",\"action\":\"phase_start\",\"status\":\"started\",\"detail\":\"appended while the page was open\",\"decision\":\"complete now\"}}\n{{oops\n"
        ),
    );
    browser.wait_for(
        "document.querySelector('#timeline-table').textContent.includes('appended while the page was open')",
        "the appended event on the timeline",
    );
    browser.wait_for(
        "document.querySelector('#timeline-table').textContent.includes('{oops')",
        "the appended malformed line, shown as such",
    );
    let rows_after = browser.eval("document.querySelectorAll('#timeline-table tbody tr').length");
    assert_eq!(
        rows_after.as_u64().unwrap(),
        rows_before.as_u64().unwrap() + 2
    );
    assert!(browser.text_of("#decisions-table").contains("complete now"));
    assert_eq!(
        browser.eval("window.__still_the_same_page === true"),
        true,
        "no reload"
    );

    // A state change reloads the views in place.
    let text = std::fs::read_to_string(root.join("session.json")).unwrap();
    open_live(&mut browser, &format!("{}#session", server.url));
    std::fs::write(
        root.join("session.json"),
        text.replace("\"review_cycles\": 3", "\"review_cycles\": 7"),
    )
    .unwrap();
    browser.wait_for(
        "/review cycles\\s*7/.test(document.querySelector('#view-session').innerText)",
        "the session view to show the new counter",
    );
}

#[test]
fn the_html_report_renders_every_view_offline() {
    let Some(exe) = chromium() else { return };
    let (dir, root) = state();
    let out = dir.path().join("report.html");
    assert_cmd::Command::cargo_bin("factory")
        .unwrap()
        .args(["report", "--html", "--out"])
        .arg(&out)
        .arg("--state-dir")
        .arg(&root)
        .assert()
        .success();
    let mut browser = Browser::launch(&exe);
    check_views(
        &mut browser,
        &format!("file://{}", out.display()),
        None,
        "report-",
    );
    assert!(browser.text_of("#mode").starts_with("report generated"));
}
