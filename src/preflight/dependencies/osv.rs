//! The OSV API client: `POST /v1/querybatch` for the advisory ids per package version, then
//! `GET /v1/vulns/{id}` once per id for the details.

use std::collections::HashMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{HttpConnector, proxy::Tunnel};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::util::errors::causes;

use super::advisory::Advisory;
use super::{AuditError, AuditOptions, PackageChange};

/// OSV accepts at most 1000 queries per batch.
const BATCH: usize = 1000;

/// The bytes of a response body kept at most; an OSV answer is far smaller.
const MAX_BODY: usize = 64 * 1024 * 1024;

const USER_AGENT: &str = concat!("software-factory/", env!("CARGO_PKG_VERSION"));

/// The HTTP stack the GitHub client already links (hyper, rustls with ring, the bundled webpki
/// roots), so the OSV client adds no second one to the binary: straight to the API, or through
/// the HTTP CONNECT proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, as curl reads them).
enum Https {
    Direct(Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>),
    Proxied(Client<hyper_rustls::HttpsConnector<Tunnel<HttpConnector>>, Full<Bytes>>),
}

pub(crate) struct OsvClient {
    base: String,
    /// A current-thread runtime the synchronous calls block on, and the client built on it;
    /// the error when either could not be set up, reported by the first request.
    http: Result<(tokio::runtime::Runtime, Https), String>,
    options: AuditOptions,
    cache: HashMap<String, Advisory>,
}

impl OsvClient {
    pub(crate) fn new(base_url: &str, options: AuditOptions) -> OsvClient {
        OsvClient {
            base: base_url.trim_end_matches('/').to_string(),
            http: http_client(base_url, options.connect_timeout),
            options,
            cache: HashMap::new(),
        }
    }

    /// Advisory ids per package change, in the order given.
    pub(crate) fn query(
        &mut self,
        changes: &[PackageChange],
    ) -> Result<Vec<Vec<String>>, AuditError> {
        let mut ids = vec![Vec::new(); changes.len()];
        for (chunk_index, chunk) in changes.chunks(BATCH).enumerate() {
            let offset = chunk_index * BATCH;
            let mut pending: Vec<(usize, Option<String>)> =
                (0..chunk.len()).map(|i| (i, None)).collect();
            let mut rounds = 0;
            while !pending.is_empty() {
                rounds += 1;
                if rounds > 100 {
                    return Err(AuditError::InvalidResponse {
                        url: self.url("/v1/querybatch"),
                        message: "more than 100 pages of results: giving up".into(),
                    });
                }
                let queries: Vec<Value> = pending
                    .iter()
                    .map(|(i, token)| {
                        let c = &chunk[*i];
                        let mut q = json!({"package": {"name": c.name, "ecosystem": c.ecosystem}, "version": c.version});
                        if let Some(t) = token {
                            q["page_token"] = json!(t);
                        }
                        q
                    })
                    .collect();
                let url = self.url("/v1/querybatch");
                let body = self.send(&url, Some(json!({"queries": queries})))?;
                let results = body
                    .get("results")
                    .and_then(Value::as_array)
                    .ok_or_else(|| AuditError::InvalidResponse {
                        url: url.clone(),
                        message: "no `results` array".into(),
                    })?;
                if results.len() != pending.len() {
                    return Err(AuditError::InvalidResponse {
                        url,
                        message: format!("{} results for {} queries", results.len(), pending.len()),
                    });
                }
                let mut next = Vec::new();
                for ((i, _), result) in pending.iter().zip(results) {
                    if let Some(vulns) = result.get("vulns").and_then(Value::as_array) {
                        ids[offset + i].extend(
                            vulns
                                .iter()
                                .filter_map(|v| v.get("id").and_then(Value::as_str))
                                .map(str::to_string),
                        );
                    }
                    if let Some(token) = result.get("next_page_token").and_then(Value::as_str) {
                        next.push((*i, Some(token.to_string())));
                    }
                }
                pending = next;
            }
        }
        for list in &mut ids {
            list.sort();
            list.dedup();
        }
        Ok(ids)
    }

    /// Full advisory for an id, fetched once per run.
    pub(crate) fn advisory(&mut self, id: &str) -> Result<Advisory, AuditError> {
        if let Some(a) = self.cache.get(id) {
            return Ok(a.clone());
        }
        let url = self.url(&format!("/v1/vulns/{id}"));
        let body = self.send(&url, None)?;
        let advisory: Advisory =
            serde_json::from_value(body).map_err(|e| AuditError::InvalidResponse {
                url,
                message: format!("not an OSV advisory: {e}"),
            })?;
        self.cache.insert(id.to_string(), advisory.clone());
        Ok(advisory)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// One request with bounded retries on transport errors, 429 and 5xx.
    fn send(&self, url: &str, body: Option<Value>) -> Result<Value, AuditError> {
        let transport = |message: String| AuditError::Transport {
            url: url.to_string(),
            message,
        };
        let (runtime, client) = self.http.as_ref().map_err(|e| transport(e.clone()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request =
                build_request(url, body.as_ref()).map_err(|e| transport(e.to_string()))?;
            let call = async {
                let response = match client {
                    Https::Direct(c) => c.request(request).await,
                    Https::Proxied(c) => c.request(request).await,
                }
                .map_err(|e| causes(&e))?;
                let status = response.status().as_u16();
                let bytes = http_body_util::Limited::new(response.into_body(), MAX_BODY)
                    .collect()
                    .await
                    .map_err(|e| format!("reading the response: {e}"))?
                    .to_bytes();
                Ok::<_, String>((status, String::from_utf8_lossy(&bytes).into_owned()))
            };
            let timeout = self.options.request_timeout;
            let result = runtime.block_on(async {
                tokio::time::timeout(timeout, call)
                    .await
                    .unwrap_or_else(|_| Err(format!("no complete answer within {timeout:?}")))
            });
            let retryable = match result {
                Ok((status, text)) => {
                    if (200..300).contains(&status) {
                        return serde_json::from_str(&text).map_err(|e| {
                            AuditError::InvalidResponse {
                                url: url.to_string(),
                                message: format!("response is not JSON: {e}"),
                            }
                        });
                    }
                    let error = AuditError::Http {
                        url: url.to_string(),
                        status,
                        body: text.chars().take(200).collect(),
                    };
                    if status == 429 || status >= 500 {
                        error
                    } else {
                        return Err(error);
                    }
                }
                Err(message) => transport(message),
            };
            if attempt > self.options.retries {
                return Err(retryable);
            }
            std::thread::sleep(self.options.backoff * 2u32.saturating_pow(attempt - 1));
        }
    }
}

/// The runtime and the client for `base`, or why they could not be set up.
fn http_client(
    base: &str,
    connect_timeout: Duration,
) -> Result<(tokio::runtime::Runtime, Https), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime for OSV requests: {e}"))?;
    let uri: hyper::Uri = base
        .parse()
        .map_err(|e| format!("`{base}` is not a URL: {e}"))?;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    let tls = || {
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
    };
    let client = match Matcher::from_env().intercept(&uri) {
        None => {
            Https::Direct(Client::builder(TokioExecutor::new()).build(tls().wrap_connector(tcp)))
        }
        Some(proxy) => {
            // The proxy's address only: its user and password never reach a message.
            let host = proxy.uri().host().unwrap_or("?").to_string();
            if proxy.uri().scheme_str() != Some("http") {
                return Err(format!(
                    "the proxy set for {base} ({}://{host}) is not an http:// proxy; OSV is reached through HTTP CONNECT proxies only: point HTTPS_PROXY at one or add the host to NO_PROXY",
                    proxy.uri().scheme_str().unwrap_or("?")
                ));
            }
            let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            Https::Proxied(
                Client::builder(TokioExecutor::new()).build(tls().wrap_connector(tunnel)),
            )
        }
    };
    Ok((runtime, client))
}

fn build_request(
    url: &str,
    body: Option<&Value>,
) -> Result<hyper::Request<Full<Bytes>>, hyper::http::Error> {
    let builder = hyper::Request::builder()
        .uri(url)
        .header(hyper::header::USER_AGENT, USER_AGENT)
        .header(hyper::header::ACCEPT, "application/json");
    match body {
        Some(b) => builder
            .method(hyper::Method::POST)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(b.to_string()))),
        None => builder
            .method(hyper::Method::GET)
            .body(Full::new(Bytes::new())),
    }
}

impl AuditOptions {
    /// Limits for the default audit, which must not hold a review up for long on a machine
    /// without the network: a short connect, one retry.
    pub fn auto() -> AuditOptions {
        AuditOptions {
            connect_timeout: Duration::from_secs(5),
            retries: 1,
            ..AuditOptions::default()
        }
    }
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}
