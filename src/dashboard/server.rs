//! The dashboard's HTTP server: the page, its assets, the JSON API and the event stream.
//!
//! One background task polls the state directory (every [`Options::poll`]): it reads what was
//! appended to `workflow.log` since the last poll and pushes each new entry to the browsers
//! as a `log` event, and pushes a `state` event when `session.json`, the reviews, the
//! scorecards, the lessons or the archived sessions changed. Requests read the log entries
//! kept in memory; the log file itself is only ever read from where the last read stopped.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::data::{self, DEFAULT_LIMIT, DashboardError, Which};
use super::tail::LogTail;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `.factory` directory to show.
    pub root: PathBuf,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// How often the state directory is checked for changes.
    pub poll: Duration,
}

/// Something the browsers are told about.
#[derive(Debug, Clone)]
enum Push {
    /// A new log entry (JSON of [`super::tail::Entry`]).
    Log(String),
    /// These parts of the state changed; reload.
    State(String),
}

struct App {
    root: PathBuf,
    tail: Mutex<LogTail>,
    tx: broadcast::Sender<Push>,
    loopback_only: bool,
}

impl App {
    /// The log entries, brought up to date.
    fn tail(&self) -> MutexGuard<'_, LogTail> {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = tail.poll() {
            tracing::warn!("cannot read {}: {e}", tail.path().display());
        }
        tail
    }
}

/// Serve the dashboard until Ctrl-C. `ready` is called with the bound address once the server
/// accepts connections.
pub fn serve(opts: Options, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((opts.bind, opts.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{} (is the port in use? pick another with --port, or --port 0 for any free one)",
                    opts.bind, opts.port
                )
            })?;
        let addr = listener.local_addr()?;
        let (tx, _) = broadcast::channel(1024);
        let app = Arc::new(App {
            tail: Mutex::new(LogTail::new(opts.root.join("workflow.log"))),
            root: opts.root.clone(),
            tx,
            loopback_only: opts.bind.is_loopback(),
        });
        // Read the log once before the first request.
        let sent = app.tail().entries().len();
        tokio::spawn(watch(app.clone(), opts.poll, sent));
        ready(addr);
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the dashboard server stopped")
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/app.js", get(app_js))
        .route("/assets/app.css", get(app_css))
        .route("/api/sessions", get(api_sessions))
        .route("/api/session", get(api_session))
        .route("/api/timeline", get(api_timeline))
        .route("/api/kanban", get(api_kanban))
        .route("/api/reviews", get(api_reviews))
        .route("/api/scorecards", get(api_scorecards))
        .route("/api/lessons", get(api_lessons))
        .route("/api/decisions", get(api_decisions))
        .route("/api/snapshot", get(api_snapshot))
        .route("/api/events", get(api_events))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such page: see docs/dashboard.md for the API".into(),
            )
        })
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Bound to loopback, only requests addressed to a loopback name are answered: a web page
/// elsewhere cannot read the state through DNS rebinding. Every response gets `nosniff`.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if app.loopback_only {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_loopback_host(host) {
            return error(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "the dashboard answers requests for 127.0.0.1, localhost or [::1] only, not {host:?}"
                ),
            );
        }
    }
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

fn json_ok(v: Value) -> Response {
    let mut res = axum::Json(v).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn index() -> Response {
    let mut res = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        super::page(None),
    )
        .into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    res
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", super::APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", super::APP_CSS)
}

#[derive(Debug, Deserialize)]
struct ViewQuery {
    session: Option<String>,
    limit: Option<usize>,
}

impl ViewQuery {
    fn which(&self, root: &Path) -> Result<Which, Box<Response>> {
        Which::parse(root, self.session.as_deref()).map_err(|e| {
            let status = match e {
                DashboardError::BadSessionId(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::NOT_FOUND,
            };
            Box::new(error(status, e.to_string()))
        })
    }
}

macro_rules! which_or_return {
    ($q:expr, $app:expr) => {
        match $q.which(&$app.root) {
            Ok(w) => w,
            Err(res) => return *res,
        }
    };
}

fn sid_of(app: &App, which: &Which) -> Option<String> {
    data::load_session(&app.root, which).map(|s| s.id)
}

async fn api_sessions(State(app): State<Arc<App>>) -> Response {
    json_ok(data::sessions(&app.root))
}

async fn api_session(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    json_ok(data::session(&app.root, &which))
}

async fn api_timeline(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    let sid = sid_of(&app, &which);
    let tail = app.tail();
    json_ok(data::timeline(
        tail.entries(),
        sid.as_deref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    ))
}

async fn api_kanban(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    json_ok(data::kanban(data::load_session(&app.root, &which).as_ref()))
}

async fn api_reviews(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    json_ok(data::reviews(&which.dir(&app.root)))
}

async fn api_scorecards(State(app): State<Arc<App>>) -> Response {
    json_ok(data::scorecards(&app.root))
}

async fn api_lessons(State(app): State<Arc<App>>) -> Response {
    json_ok(data::lessons(&app.root))
}

async fn api_decisions(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    let sid = sid_of(&app, &which);
    let tail = app.tail();
    json_ok(data::decisions(tail.entries(), sid.as_deref()))
}

async fn api_snapshot(State(app): State<Arc<App>>, Query(q): Query<ViewQuery>) -> Response {
    let which = which_or_return!(q, app);
    let tail = app.tail();
    json_ok(data::snapshot(
        &app.root,
        &which,
        tail.entries(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    ))
}

async fn api_events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = app.tx.subscribe();
    let hello = SseEvent::default()
        .event("hello")
        .data(json!({"state_dir": app.root.display().to_string()}).to_string());
    let updates = stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(Push::Log(line)) => SseEvent::default().event("log").data(line),
            Ok(Push::State(what)) => SseEvent::default().event("state").data(what),
            // Too slow to keep up: tell the page to reload everything.
            Err(broadcast::error::RecvError::Lagged(_)) => SseEvent::default()
                .event("state")
                .data(json!({"changed": ["lagged"]}).to_string()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(stream::once(async move { Ok(hello) }).chain(updates)).keep_alive(KeepAlive::default())
}

/// The parts of the state directory whose change means "reload": (name, modification time,
/// size). Writers replace files atomically, so a directory's own mtime changes with them.
fn fingerprint(root: &Path) -> Vec<(&'static str, Option<(SystemTime, u64)>)> {
    [
        ("session", root.join("session.json")),
        ("reviews", root.join("artifacts").join("reviews")),
        ("artifacts", root.join("artifacts")),
        ("scorecards", root.join("scorecards")),
        ("lessons", root.join("lessons")),
        ("sessions", root.join("sessions")),
    ]
    .into_iter()
    .map(|(name, path)| {
        let meta = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        (name, meta)
    })
    .collect()
}

async fn watch(app: Arc<App>, every: Duration, mut sent: usize) {
    let mut seen = fingerprint(&app.root);
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let fresh: Vec<String> = {
            let tail = app.tail();
            let entries = tail.entries();
            if entries.len() < sent {
                // The log was truncated or replaced: everything is new.
                sent = 0;
                let _ = app
                    .tx
                    .send(Push::State(json!({"changed": ["log"]}).to_string()));
            }
            let fresh = entries[sent..]
                .iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default())
                .collect();
            sent = entries.len();
            fresh
        };
        for line in fresh {
            let _ = app.tx.send(Push::Log(line));
        }
        let now = fingerprint(&app.root);
        let changed: Vec<&str> = now
            .iter()
            .zip(&seen)
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect();
        if !changed.is_empty() {
            let _ = app
                .tx
                .send(Push::State(json!({"changed": changed}).to_string()));
            seen = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_pass_the_host_check() {
        for ok in [
            "127.0.0.1:8080",
            "localhost:1",
            "LOCALHOST",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "",
            "10.0.0.1:80",
            "[2001:db8::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
