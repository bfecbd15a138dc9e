//! GitHub's rate-limit guidance as pure functions: which answers are retried, how long to wait
//! before each retry, how many retries each kind of failure gets, the time budget all waits of
//! one forge share, and the pacing of content-creating writes. The request layer (`http.rs`)
//! feeds them what it saw and sleeps what they say; nothing here sleeps or reads a clock.
//!
//! The rules follow GitHub's "Best practices for using the REST API" and "Rate limits for the
//! REST API": honour `retry-after`; with `x-ratelimit-remaining: 0` wait until
//! `x-ratelimit-reset`; otherwise wait at least a minute after a secondary limit and back off
//! exponentially; leave at least a second between content-creating requests and keep them
//! under about 80 a minute.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Why a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The hourly request quota is used up (`x-ratelimit-remaining: 0`).
    PrimaryLimit,
    /// GitHub throttles a burst of requests (the secondary or "abuse" limit).
    SecondaryLimit,
    /// A 5xx answer.
    ServerError,
    /// No answer: the connection failed or timed out.
    Network,
}

impl Kind {
    /// Every kind, in the order [`Retries`] counts them.
    const ALL: [Kind; 4] = [
        Kind::PrimaryLimit,
        Kind::SecondaryLimit,
        Kind::ServerError,
        Kind::Network,
    ];

    /// The kind's name in messages and in the log's `refs.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PrimaryLimit => "primary rate limit",
            Kind::SecondaryLimit => "secondary rate limit",
            Kind::ServerError => "server error",
            Kind::Network => "network error",
        }
    }

    /// Retries after the first attempt. A primary limit lifts at its reset, so two are plenty;
    /// a secondary limit is mostly bounded by the time budget; server and network errors are
    /// usually brief, and a longer outage is better met by re-running later.
    pub fn max_retries(self) -> u32 {
        match self {
            Kind::PrimaryLimit => 2,
            Kind::SecondaryLimit => 5,
            Kind::ServerError => 4,
            Kind::Network => 3,
        }
    }

    /// The wait before the first retry when the answer says nothing better; doubled for each
    /// further retry. GitHub asks for at least a minute after a secondary limit.
    fn base(self) -> Duration {
        match self {
            Kind::PrimaryLimit | Kind::SecondaryLimit => Duration::from_secs(60),
            Kind::ServerError | Kind::Network => Duration::from_secs(1),
        }
    }

    /// The longest backoff step, so a long run of failures is ended by the budget or the
    /// retry count rather than by one enormous wait.
    fn cap(self) -> Duration {
        match self {
            Kind::PrimaryLimit | Kind::SecondaryLimit => Duration::from_secs(960),
            Kind::ServerError | Kind::Network => Duration::from_secs(30),
        }
    }

    /// What a user can do when factory stops on this kind.
    pub fn advice(self) -> &'static str {
        match self {
            Kind::PrimaryLimit => {
                "the token's hourly request quota is used up: run again after it resets"
            }
            Kind::SecondaryLimit => {
                "GitHub is throttling this token's bursts of requests: run again in a few minutes, and avoid running several factory jobs with one token at once"
            }
            Kind::ServerError | Kind::Network => {
                "GitHub is not answering normally: check https://www.githubstatus.com and run again later"
            }
        }
    }
}

/// The rate-limit headers of one answer, as GitHub sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `retry-after`: seconds, or an HTTP-date.
    pub retry_after: Option<String>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<String>,
    /// `x-ratelimit-reset`: when the primary window resets, in Unix seconds.
    pub reset: Option<i64>,
}

impl RateHeaders {
    /// Whether the primary quota is used up.
    fn exhausted(&self) -> bool {
        self.remaining.as_deref().map(str::trim) == Some("0")
    }
}

/// Which kind of retry an answer calls for; `None` when it is final (a success or an error
/// that retrying cannot fix). GitHub answers both limits with 403 or 429: its message names a
/// secondary limit, `x-ratelimit-remaining: 0` marks the primary one, and a 429 or a
/// `retry-after` with neither counts as secondary.
pub fn classify(status: u16, headers: &RateHeaders, message: &str) -> Option<Kind> {
    if (500..600).contains(&status) {
        return Some(Kind::ServerError);
    }
    if status != 403 && status != 429 {
        return None;
    }
    let message = message.to_ascii_lowercase();
    if message.contains("secondary rate limit") || message.contains("abuse") {
        Some(Kind::SecondaryLimit)
    } else if headers.exhausted() || message.contains("rate limit") {
        Some(Kind::PrimaryLimit)
    } else if status == 429 || headers.retry_after.is_some() {
        Some(Kind::SecondaryLimit)
    } else {
        None
    }
}

/// The wait before retry number `retry` (1 for the first) of `kind`, at Unix time `now`, with
/// `jitter` in [0, 1): `retry-after` when given; for a rate limit with the quota used up, until
/// `x-ratelimit-reset` plus a second (GitHub's clock and ours may differ); otherwise the kind's
/// exponential backoff. A server error ignores `x-ratelimit-reset`: it is only the primary
/// window, unrelated to the failure.
pub fn wait(kind: Kind, headers: &RateHeaders, retry: u32, now: i64, jitter: f64) -> Duration {
    if let Some(d) = headers
        .retry_after
        .as_deref()
        .and_then(|v| retry_after(v, now))
    {
        return d;
    }
    let limited = matches!(kind, Kind::PrimaryLimit | Kind::SecondaryLimit);
    if limited
        && headers.exhausted()
        && let Some(reset) = headers.reset
    {
        return Duration::from_secs(u64::try_from(reset - now).unwrap_or(0) + 1);
    }
    backoff(kind, retry, jitter)
}

/// The kind's base doubled for each retry after the first, capped, plus up to a fifth more at
/// random so that many clients do not retry in step. Jitter only lengthens a wait, so a
/// secondary limit is never retried within a minute.
pub fn backoff(kind: Kind, retry: u32, jitter: f64) -> Duration {
    let doublings = retry.saturating_sub(1).min(20);
    let nominal = kind.base().saturating_mul(1 << doublings).min(kind.cap());
    nominal + nominal.mul_f64(0.2 * jitter.clamp(0.0, 1.0))
}

/// A `retry-after` value at Unix time `now`: delay seconds, or an HTTP-date (a date in the
/// past is no wait). `None` when it is neither.
pub fn retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::from_secs(
        u64::try_from(at.as_second() - now).unwrap_or(0),
    ))
}

/// Retries made so far for one request, per kind, so a server error after a secondary limit
/// starts its own short backoff instead of inheriting the minutes.
#[derive(Debug, Default)]
pub struct Retries {
    counts: [u32; 4],
}

impl Retries {
    /// Count one more retry of `kind`: its number (1 for the first), or `None` when the kind's
    /// retries are used up.
    pub fn next(&mut self, kind: Kind) -> Option<u32> {
        let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let n = self.counts[i] + 1;
        (n <= kind.max_retries()).then(|| {
            self.counts[i] = n;
            n
        })
    }
}

/// The time one forge may spend waiting on GitHub (retries, not pacing), and what it has
/// spent. One forge is opened per phase attempt, so this is the phase's allowance
/// (`forge.time_budget_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: Duration,
    pub spent: Duration,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            spent: Duration::ZERO,
        }
    }

    /// Take `wait` from the budget; `false`, with nothing taken, when it does not fit.
    pub fn take(&mut self, wait: Duration) -> bool {
        let after = self.spent.saturating_add(wait);
        let fits = after <= self.limit;
        if fits {
            self.spent = after;
        }
        fits
    }
}

/// Least time between two content-creating requests.
pub const WRITE_GAP: Duration = Duration::from_secs(1);
/// Most content-creating requests in any [`WRITE_WINDOW`].
pub const WRITES_PER_WINDOW: usize = 80;
/// The rolling window of [`WRITES_PER_WINDOW`].
pub const WRITE_WINDOW: Duration = Duration::from_secs(60);

/// When the last content-creating requests finished. Gaps are measured from the end of the
/// previous write, so a write is never in flight within a second of the next one's start.
#[derive(Debug, Default)]
pub struct Pacer {
    /// The last [`WRITES_PER_WINDOW`] writes' ends, oldest first.
    done: VecDeque<Instant>,
}

impl Pacer {
    /// How long a write about to start at `now` must wait: a second after the previous one,
    /// and past the window of the write [`WRITES_PER_WINDOW`] back.
    pub fn wait(&self, now: Instant) -> Duration {
        let gap = self.done.back().map_or(Duration::ZERO, |last| {
            (*last + WRITE_GAP).saturating_duration_since(now)
        });
        let window = match self.done.len().checked_sub(WRITES_PER_WINDOW) {
            Some(i) => (self.done[i] + WRITE_WINDOW).saturating_duration_since(now),
            None => Duration::ZERO,
        };
        gap.max(window)
    }

    /// Note a write that finished at `at`.
    pub fn record(&mut self, at: Instant) {
        self.done.push_back(at);
        while self.done.len() > WRITES_PER_WINDOW {
            self.done.pop_front();
        }
    }
}

/// The environment variable that scales the real sleeping of the GitHub forge (backoff and
/// pacing), for tests only; waits are computed, logged and budgeted at their nominal length.
pub const TIME_SCALE_ENV: &str = "FACTORY_GITHUB_TIME_SCALE";

/// [`TIME_SCALE_ENV`]'s value: a number from 0 (no sleeping) to 1 (real time).
pub fn parse_time_scale(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{TIME_SCALE_ENV}={value}: expected a number from 0 to 1; it is a test setting, unset it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(
        retry_after: Option<&str>,
        remaining: Option<&str>,
        reset: Option<i64>,
    ) -> RateHeaders {
        RateHeaders {
            retry_after: retry_after.map(str::to_string),
            remaining: remaining.map(str::to_string),
            reset,
        }
    }

    const NOW: i64 = 1_800_000_000;
    const HOUR_AWAY: i64 = NOW + 3594;

    #[test]
    fn answers_are_classified_as_github_documents_them() {
        let none = RateHeaders::default();
        let usual = headers(None, Some("4999"), Some(HOUR_AWAY));
        let exhausted = headers(None, Some("0"), Some(HOUR_AWAY));
        let secondary = "You have exceeded a secondary rate limit. Please wait a few minutes.";
        assert_eq!(classify(403, &usual, secondary), Some(Kind::SecondaryLimit));
        assert_eq!(
            classify(
                403,
                &none,
                "You have triggered an abuse detection mechanism"
            ),
            Some(Kind::SecondaryLimit)
        );
        assert_eq!(
            classify(403, &exhausted, "API rate limit exceeded for installation"),
            Some(Kind::PrimaryLimit)
        );
        assert_eq!(classify(429, &exhausted, ""), Some(Kind::PrimaryLimit));
        assert_eq!(classify(429, &none, ""), Some(Kind::SecondaryLimit));
        assert_eq!(
            classify(403, &headers(Some("30"), None, None), ""),
            Some(Kind::SecondaryLimit)
        );
        assert_eq!(
            classify(502, &usual, "Bad Gateway"),
            Some(Kind::ServerError)
        );
        assert_eq!(classify(503, &none, ""), Some(Kind::ServerError));
        // A permission problem is not a limit, whatever the headers say.
        assert_eq!(
            classify(403, &usual, "Resource not accessible by integration"),
            None
        );
        assert_eq!(classify(404, &exhausted, "Not Found"), None);
        assert_eq!(classify(422, &none, "Validation Failed"), None);
    }

    #[test]
    fn retry_after_wins_in_seconds_or_as_an_http_date() {
        let h = headers(Some("17"), Some("0"), Some(HOUR_AWAY));
        assert_eq!(
            wait(Kind::SecondaryLimit, &h, 1, NOW, 0.5),
            Duration::from_secs(17)
        );
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&jiff::Timestamp::from_second(NOW + 42).unwrap())
            .unwrap();
        assert_eq!(retry_after(&date, NOW), Some(Duration::from_secs(42)));
        assert_eq!(retry_after(&date, NOW + 100), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", NOW), None);
        // An unreadable retry-after falls back to the kind's rule.
        let h = headers(Some("soon"), None, None);
        assert_eq!(
            wait(Kind::SecondaryLimit, &h, 1, NOW, 0.0),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn a_used_up_quota_waits_until_its_reset_and_a_second() {
        let h = headers(None, Some("0"), Some(NOW + 30));
        assert_eq!(
            wait(Kind::PrimaryLimit, &h, 1, NOW, 0.9),
            Duration::from_secs(31)
        );
        let past = headers(None, Some("0"), Some(NOW - 5));
        assert_eq!(
            wait(Kind::PrimaryLimit, &past, 1, NOW, 0.9),
            Duration::from_secs(1)
        );
        // A secondary limit with the quota used up waits for the reset too (GitHub's rule).
        assert_eq!(
            wait(Kind::SecondaryLimit, &h, 1, NOW, 0.9),
            Duration::from_secs(31)
        );
    }

    #[test]
    fn a_secondary_limit_without_retry_after_waits_a_minute_then_doubles() {
        // The reset an hour away is the primary window: it does not set this wait.
        let h = headers(None, Some("4999"), Some(HOUR_AWAY));
        let secs = |retry, jitter| wait(Kind::SecondaryLimit, &h, retry, NOW, jitter).as_secs();
        assert_eq!(
            (1..=5).map(|r| secs(r, 0.0)).collect::<Vec<_>>(),
            vec![60, 120, 240, 480, 960]
        );
        assert_eq!(secs(6, 0.0), 960, "capped");
        assert_eq!(secs(1, 0.999), 71, "jitter lengthens, never shortens");
        assert!(secs(2, 0.5) == 132);
    }

    #[test]
    fn server_and_network_errors_back_off_from_a_second_whatever_the_reset() {
        let h = headers(None, Some("4999"), Some(HOUR_AWAY));
        let ms = |kind, retry| wait(kind, &h, retry, NOW, 0.0).as_millis();
        assert_eq!(
            (1..=4)
                .map(|r| ms(Kind::ServerError, r))
                .collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 8000]
        );
        assert_eq!(ms(Kind::Network, 3), 4000);
        assert_eq!(ms(Kind::ServerError, 10), 30_000, "capped");
        let used_up = headers(None, Some("0"), Some(HOUR_AWAY));
        assert_eq!(wait(Kind::ServerError, &used_up, 1, NOW, 0.0).as_secs(), 1);
        assert_eq!(
            wait(
                Kind::ServerError,
                &headers(Some("5"), None, None),
                1,
                NOW,
                0.0
            )
            .as_secs(),
            5,
            "a 503 with retry-after is honoured"
        );
    }

    #[test]
    fn retries_are_bounded_per_kind() {
        let mut r = Retries::default();
        assert_eq!(r.next(Kind::SecondaryLimit), Some(1));
        assert_eq!(r.next(Kind::ServerError), Some(1), "counted apart");
        assert_eq!(r.next(Kind::SecondaryLimit), Some(2));
        for n in 3..=5 {
            assert_eq!(r.next(Kind::SecondaryLimit), Some(n));
        }
        assert_eq!(r.next(Kind::SecondaryLimit), None);
        assert_eq!(r.next(Kind::SecondaryLimit), None);
        let mut r = Retries::default();
        assert_eq!(r.next(Kind::PrimaryLimit), Some(1));
        assert_eq!(r.next(Kind::PrimaryLimit), Some(2));
        assert_eq!(r.next(Kind::PrimaryLimit), None);
    }

    #[test]
    fn the_budget_takes_only_waits_that_fit() {
        let mut b = Budget::new(Duration::from_secs(300));
        assert!(b.take(Duration::from_secs(60)));
        assert!(b.take(Duration::from_secs(120)));
        assert!(!b.take(Duration::from_secs(240)));
        assert_eq!(
            b.spent,
            Duration::from_secs(180),
            "a refused wait is not spent"
        );
        assert!(
            b.take(Duration::from_secs(120)),
            "exactly at the limit fits"
        );
        assert!(!b.take(Duration::from_millis(1)));
        let mut none = Budget::new(Duration::ZERO);
        assert!(none.take(Duration::ZERO));
        assert!(!none.take(Duration::from_secs(1)));
    }

    #[test]
    fn writes_are_a_second_apart_and_at_most_80_a_minute() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Pacer::default();
        assert_eq!(p.wait(t0), Duration::ZERO, "the first write goes at once");
        p.record(at(200));
        assert_eq!(p.wait(at(300)), Duration::from_millis(900));
        assert_eq!(p.wait(at(1200)), Duration::ZERO);
        assert_eq!(p.wait(at(5000)), Duration::ZERO);

        // 80 writes a second apart end at 79.2 s (the first at 0.2 s): the 81st waits until a
        // minute after the first, although a second has passed since the last.
        let mut p = Pacer::default();
        for i in 0..80 {
            p.record(at(200 + i * 1000));
        }
        assert_eq!(p.wait(at(79_200 + 1000)), Duration::ZERO);
        let mut burst = Pacer::default();
        for i in 0..80 {
            burst.record(at(200 + i * 100));
        }
        // The 80th ended at 8.1 s; the first at 0.2 s, so the window frees at 60.2 s.
        assert_eq!(burst.wait(at(9_100)), Duration::from_millis(51_100));
        assert_eq!(burst.wait(at(60_200)), Duration::ZERO);
        burst.record(at(60_300));
        // The oldest now counted is the second, at 0.3 s.
        assert_eq!(burst.wait(at(61_300)), Duration::ZERO);
        assert_eq!(burst.wait(at(60_400)), Duration::from_millis(900));
    }

    #[test]
    fn the_time_scale_is_a_fraction_of_real_time() {
        assert_eq!(parse_time_scale("0.001"), Ok(0.001));
        assert_eq!(parse_time_scale(" 1 "), Ok(1.0));
        assert_eq!(parse_time_scale("0"), Ok(0.0));
        for bad in ["2", "-1", "NaN", "fast", ""] {
            let e = parse_time_scale(bad).unwrap_err();
            assert!(e.contains(TIME_SCALE_ENV) && e.contains("unset it"), "{e}");
        }
    }
}
