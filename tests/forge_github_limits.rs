//! The GitHub forge's rate-limit policy, through the binary against the fake GitHub API: a
//! secondary limit without `retry-after` waits at least a minute (not until the primary reset
//! an hour away), a server error backs off from a second whatever the rate-limit headers say,
//! repeated limits back off exponentially until the time budget (`forge.time_budget_seconds`)
//! stops them, and content-creating writes are paced a second apart while reads are not.
//!
//! Waits are logged at their nominal length; the tests sleep a thousandth of them
//! (`FACTORY_GITHUB_TIME_SCALE`), except the pacing test, which measures real time.
#![cfg(unix)]

mod support;

use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::json;
use support::github::{
    Canned, Fake, PREFIX, TOKEN, backoffs, calls_at_t as calls, factory, factory_scaled,
};
use support::repo::{Repo, plan};

/// The rate-limit headers GitHub sends with every answer: `remaining` requests left, the
/// primary window resetting in 3594 s.
fn usual_headers(remaining: &str) -> Vec<(String, String)> {
    let reset = jiff::Timestamp::now().as_second() + 3594;
    vec![
        ("x-ratelimit-limit".into(), "5000".into()),
        ("x-ratelimit-remaining".into(), remaining.into()),
        ("x-ratelimit-used".into(), "13".into()),
        ("x-ratelimit-reset".into(), reset.to_string()),
        ("x-ratelimit-resource".into(), "core".into()),
    ]
}

/// GitHub's answer to a request over the secondary rate limit, without `retry-after`.
fn secondary_limit(method: &'static str, path: &str) -> Canned {
    Canned {
        method,
        path: format!("{PREFIX}{path}"),
        status: 403,
        headers: usual_headers("4987"),
        body: json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        }),
    }
}

/// The list read first by `issues create` (the issues updated since the session began).
fn list() -> String {
    format!("GET {PREFIX}/issues?state=all&per_page=100&since=T")
}

/// The read of the newest number, before the first issue is created.
fn newest() -> String {
    format!("GET {PREFIX}/issues?state=all&sort=created&direction=desc&per_page=1")
}

/// What `issues create` writes for the plan after reading the newest number: the parent and
/// three tasks with their final bodies, then the sub-issue links the parent lacks.
fn creation_writes() -> Vec<String> {
    let mut out = vec![format!("POST {PREFIX}/issues"); 4];
    out.push(format!("GET {PREFIX}/issues/1/sub_issues?per_page=100"));
    out.extend(vec![format!("POST {PREFIX}/issues/1/sub_issues"); 3]);
    out
}

/// The number after `prefix` in `text` (e.g. `waited 187s` → 187).
fn number_after(text: &str, prefix: &str) -> u64 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"));
    text[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn a_secondary_limit_without_retry_after_waits_a_minute_not_until_the_primary_reset() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(secondary_limit("GET", "/issues"));
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #1 (created)"));
    let mut want = vec![list(), list(), newest()];
    want.extend(creation_writes());
    assert_eq!(calls(&fake), want);

    let waits = backoffs(&repo);
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].0, "secondary rate limit");
    assert!(
        (60.0..=72.0).contains(&waits[0].1),
        "at least a minute, at most a fifth of jitter more, not the hour to the reset: {waits:?}"
    );
    let detail = repo.events("backoff")[0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.starts_with("GET /repos/acme/shop/issues?state=all&per_page=100&since=")
            && detail.contains("Z: secondary rate limit; waiting "),
        "{detail}"
    );
    assert!(
        (60..=72).contains(&number_after(&detail, "; waiting ")),
        "{detail}"
    );
    assert!(detail.contains("(retry 1 of 5;"), "{detail}");
    assert!(detail.ends_with("of the 900s budget waited)"), "{detail}");
    // The wait was slept, scaled by a thousand.
    let reqs = fake.requests();
    assert!(
        reqs[1].at - reqs[0].at >= Duration::from_millis(60),
        "{:?}",
        reqs[1].at - reqs[0].at
    );
}

#[test]
fn a_server_error_with_the_usual_rate_limit_headers_is_retried_after_a_second() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(Canned {
        method: "POST",
        path: format!("{PREFIX}/issues"),
        status: 502,
        headers: usual_headers("4999"),
        body: json!({"message": "Server Error"}),
    });
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .success();
    let mut want = vec![list(), newest(), format!("POST {PREFIX}/issues")];
    want.extend(creation_writes());
    assert_eq!(calls(&fake), want);
    assert_eq!(
        fake.world.lock().unwrap().issues.len(),
        4,
        "the failed create made nothing, the retry one issue"
    );
    let waits = backoffs(&repo);
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].0, "server error");
    assert!(
        (1.0..=1.2).contains(&waits[0].1),
        "about a second, not the 3594 s to the primary reset: {waits:?}"
    );
    let detail = repo.events("backoff")[0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.starts_with("POST /repos/acme/shop/issues: server error 502; waiting 1"),
        "{detail}"
    );
}

#[test]
fn server_errors_back_off_exponentially_and_stop_after_five_attempts() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    for _ in 0..6 {
        fake.can(Canned {
            method: "GET",
            path: format!("{PREFIX}/issues"),
            status: 502,
            headers: usual_headers("4999"),
            body: json!({"message": "Server Error"}),
        });
    }
    factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ": GitHub server error 502 after 5 attempt(s); GitHub is not answering normally: check https://www.githubstatus.com and run again later",
        ));
    assert_eq!(calls(&fake), vec![list(); 5]);
    let waits = backoffs(&repo);
    assert_eq!(waits.len(), 4, "{waits:?}");
    for (i, (reason, secs)) in waits.iter().enumerate() {
        let nominal = f64::from(1u32 << i);
        assert_eq!(reason, "server error");
        assert!(
            (nominal..=nominal * 1.2).contains(secs),
            "retry {}: {waits:?}",
            i + 1
        );
    }
}

#[test]
fn repeated_secondary_limits_back_off_exponentially_until_the_time_budget_stops_them() {
    let repo = Repo::with_plan(&plan());
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        "forge:\n  time_budget_seconds: 300\n",
    )
    .unwrap();
    let fake = Fake::start();
    for _ in 0..6 {
        fake.can(secondary_limit("GET", "/issues"));
    }
    let out = factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // 60 s and 120 s (plus jitter) fit in 300 s; the third wait, 240 s, would not.
    assert_eq!(calls(&fake), vec![list(); 3]);
    let waits = backoffs(&repo);
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits.iter().all(|(r, _)| r == "secondary rate limit"));
    assert!((60.0..=72.0).contains(&waits[0].1), "{waits:?}");
    assert!((120.0..=144.0).contains(&waits[1].1), "{waits:?}");

    assert!(
        stderr.contains("GET /repos/acme/shop/issues?state=all&per_page=100&since=")
            && stderr.contains("Z: GitHub secondary rate limit: waiting "),
        "{stderr}"
    );
    let next = number_after(&stderr, "secondary rate limit: waiting ");
    assert!((240..=288).contains(&next), "{stderr}");
    let waited = number_after(&stderr, "(waited ");
    let logged = (waits[0].1 + waits[1].1) as u64;
    assert!(
        waited.abs_diff(logged) <= 1,
        "{waited} vs {logged}: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "more would go over the time budget for waiting on GitHub (waited {waited}s of 300s, forge.time_budget_seconds in .factory/workflow.yaml); stopped after 3 attempt(s); GitHub is throttling this token's bursts of requests: run again in a few minutes"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("or raise forge.time_budget_seconds"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN));
}

#[test]
fn a_primary_limit_resetting_in_an_hour_stops_at_once_within_the_default_budget() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    fake.can(Canned {
        method: "GET",
        path: format!("{PREFIX}/issues"),
        status: 403,
        headers: usual_headers("0"),
        body: json!({"message": "API rate limit exceeded for installation ID 1."}),
    });
    let out = factory(&repo, &fake)
        .args(["issues", "create"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(calls(&fake), vec![list()], "no retry before the reset");
    assert!(backoffs(&repo).is_empty(), "nothing was waited");
    let wait = number_after(&stderr, "GitHub primary rate limit: waiting ");
    assert!((3594..=3596).contains(&wait), "until the reset: {stderr}");
    assert!(
        stderr.contains("(waited 0s of 900s, forge.time_budget_seconds in .factory/workflow.yaml); stopped after 1 attempt(s); the token's hourly request quota is used up: run again after it resets"),
        "{stderr}"
    );
}

#[test]
fn writes_are_paced_a_second_apart_and_reads_are_not() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    // Two pages of old issues: two reads before the first write.
    fake.seed(150);
    let started = Instant::now();
    factory_scaled(&repo, &fake, "1")
        .args(["issues", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parent #151 (created)"));
    let reqs = fake.requests();
    let (reads, writes): (Vec<_>, Vec<_>) = reqs.iter().partition(|r| r.method == "GET");
    assert_eq!(reads.len(), 4, "{:?}", calls(&fake));
    assert_eq!(writes.len(), 7, "{:?}", calls(&fake));
    assert!(
        reqs[..4]
            .iter()
            .map(|r| r.method.as_str())
            .eq(["GET", "GET", "GET", "POST"]),
        "{:?}",
        calls(&fake)
    );

    // Reads go at once: the first right after start, the second page right after the
    // first, the newest number right after, the first write right after the reads, and the
    // read of the parent's sub-issues right after the last issue (no second's gap).
    let quick = Duration::from_millis(900);
    assert!(reads[0].at - started < quick, "{:?}", reads[0].at - started);
    assert!(reads[1].at - reads[0].at < quick);
    assert!(reads[2].at - reads[1].at < quick);
    assert!(writes[0].at - reads[2].at < quick);
    assert!(
        reads[3].at - writes[3].at < quick,
        "{:?}",
        reads[3].at - writes[3].at
    );

    // Every two consecutive writes at least a second apart, and not much more.
    for pair in writes.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(990),
            "{} {} then {} {} after {gap:?}",
            pair[0].method,
            pair[0].path,
            pair[1].method,
            pair[1].path
        );
        assert!(gap < Duration::from_secs(3), "{gap:?}");
    }
    assert!(
        backoffs(&repo).is_empty(),
        "pacing is not logged as a backoff"
    );
}

#[test]
fn a_time_scale_that_is_not_a_fraction_is_refused() {
    let repo = Repo::with_plan(&plan());
    let fake = Fake::start();
    factory_scaled(&repo, &fake, "fast")
        .args(["issues", "create"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "FACTORY_GITHUB_TIME_SCALE=fast: expected a number from 0 to 1; it is a test setting, unset it",
        ));
    assert_eq!(calls(&fake), Vec::<String>::new());
}
