//! The OSV API client: `POST /v1/querybatch` for the advisory ids per package version, then
//! `GET /v1/vulns/{id}` once per id for the details.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::advisory::Advisory;
use super::{AuditError, AuditOptions, PackageChange};

/// OSV accepts at most 1000 queries per batch.
const BATCH: usize = 1000;

pub(crate) struct OsvClient {
    base: String,
    agent: ureq::Agent,
    options: AuditOptions,
    cache: HashMap<String, Advisory>,
}

impl OsvClient {
    pub(crate) fn new(base_url: &str, options: AuditOptions) -> OsvClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.request_timeout))
            .http_status_as_error(false)
            .user_agent(concat!("software-factory/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        OsvClient {
            base: base_url.trim_end_matches('/').to_string(),
            agent,
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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match &body {
                Some(b) => self
                    .agent
                    .post(url)
                    .header("content-type", "application/json")
                    .send(b.to_string()),
                None => self.agent.get(url).call(),
            };
            let retryable = match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let text = response.body_mut().read_to_string().unwrap_or_default();
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
                Err(e) => AuditError::Transport {
                    url: url.to_string(),
                    message: e.to_string(),
                },
            };
            if attempt > self.options.retries {
                return Err(retryable);
            }
            std::thread::sleep(self.options.backoff * 2u32.saturating_pow(attempt - 1));
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
