//! Phase 1, intake: turn a request, an incident or a drift report into the intake record.
//!
//! The record says what was asked (sanitised, and marked as untrusted data), what started the
//! pipeline, the change class with its rationale and signals, the normalised incident or drift
//! payload, and the setup report. Storing it and starting the session is the caller's job.
//!
//! Untrusted text rule: the request and every payload string are data, never instructions.
//! They are sanitised ([`sanitize`]) and the record carries `request_untrusted: true` so every
//! later prompt fences them.

pub mod classify;
pub mod payload;
pub mod setup;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use classify::{ClassSource, Classification, classify};
pub use payload::{Drift, Incident, Normalised, PayloadError, PayloadFormat};
pub use setup::{SetupCheck, check_setup};

use crate::util::sanitize;
use crate::workflow::{ChangeClass, Trigger};

/// The contract version this module writes.
pub const SCHEMA_VERSION: &str = "1.0";

/// What the person (or the alert) handed to intake.
#[derive(Debug, Clone)]
pub struct IntakeRequest {
    /// The request text (from `--request` or `--request-file`); untrusted.
    pub request: String,
    /// An explicit class always wins over inference.
    pub class: Option<ChangeClass>,
    pub trigger: Trigger,
    /// `--payload`: the file name and its bytes, for `incident` and `runtime-drift`.
    pub payload: Option<(PathBuf, Vec<u8>)>,
    /// `--pack`: heuristics packs forced on, by name or file, on top of the detected ones.
    pub packs: Vec<String>,
}

/// How the class was chosen, as stored in the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationRecord {
    pub source: ClassSource,
    pub rationale: String,
    #[serde(default)]
    pub signals: Vec<String>,
    /// How sure the classifier was, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// An explicit class lighter than the evidence allows, and what the evidence says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
}

/// Where the payload came from: enough to find it again and to tell two deliveries apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadInfo {
    /// The file name only (no directories: they may name a person's machine).
    pub file: String,
    pub format: PayloadFormat,
    pub sha256: String,
    pub bytes: u64,
}

pub use crate::packs::PackMatch;

/// The intake record; serialises to a document valid against `Contract::Intake`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub schema_version: String,
    pub session_id: String,
    pub created_at: Timestamp,
    /// Sanitised request text: data, never instructions.
    pub request: String,
    /// Always true.
    pub request_untrusted: bool,
    pub trigger: Trigger,
    pub change_class: ChangeClass,
    pub classification: ClassificationRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<PackMatch>,
    #[serde(default)]
    pub setup: Vec<SetupCheck>,
}

impl IntakeRecord {
    /// Whether every required setup check passed.
    pub fn setup_ok(&self) -> bool {
        setup::required_ok(&self.setup)
    }

    /// The record as JSON.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the record serialises")
    }
}

/// Why intake refused its input. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(
        "the request is empty (after removing hidden comments and invisible characters): pass --request TEXT or --request-file FILE"
    )]
    EmptyRequest,
    #[error(
        "an incident needs a payload or a request: pass --payload FILE (a Sentry or PagerDuty webhook body) or describe the incident with --request"
    )]
    IncidentWithoutInput,
    #[error(
        "trigger runtime-drift needs --payload FILE: a drift report with check, service, expected, actual, observed_at"
    )]
    DriftWithoutPayload,
    #[error(
        "{file}: a payload was given with trigger user; pass --trigger incident (Sentry, PagerDuty) or --trigger runtime-drift (drift report), or drop --payload"
    )]
    PayloadWithUserTrigger { file: String },
    #[error("{file}: is a {format} payload but the trigger is {trigger}; use --trigger {wanted}")]
    TriggerMismatch {
        file: String,
        format: &'static str,
        trigger: Trigger,
        wanted: Trigger,
    },
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("session id is empty")]
    EmptySessionId,
    #[error("--pack: {0}")]
    Pack(#[from] crate::packs::PackError),
}

/// Build the intake record, including the setup report for `repo`.
///
/// Reads the repository (git state, and named YAML files to recognise Kubernetes manifests) and
/// runs `git`, `claude --version` and `codex --version`; writes nothing.
pub fn build(
    req: &IntakeRequest,
    repo: &Path,
    session_id: &str,
    now: Timestamp,
) -> Result<IntakeRecord, IntakeError> {
    let mut record = build_record(req, repo, session_id, now)?;
    record.setup = check_setup(repo);
    record.packs = crate::packs::for_intake(repo, &req.packs)?;
    Ok(record)
}

/// [`build`] without the setup report (`setup` stays empty): no process is started.
pub fn build_record(
    req: &IntakeRequest,
    repo: &Path,
    session_id: &str,
    now: Timestamp,
) -> Result<IntakeRecord, IntakeError> {
    build_record_with(req, repo, session_id, now, classify::vocabulary::terms())
}

/// [`build_record`] with the given vocabulary (the intake evals' mutation test removes a
/// family).
pub fn build_record_with(
    req: &IntakeRequest,
    repo: &Path,
    session_id: &str,
    now: Timestamp,
    terms: &[classify::vocabulary::Term],
) -> Result<IntakeRecord, IntakeError> {
    if session_id.trim().is_empty() {
        return Err(IntakeError::EmptySessionId);
    }
    let text = sanitize::request(&req.request);

    let mut incident = None;
    let mut drift = None;
    let mut payload_info = None;
    match (&req.payload, req.trigger) {
        (None, Trigger::User) if text.is_empty() => return Err(IntakeError::EmptyRequest),
        (None, Trigger::Incident) if text.is_empty() => {
            return Err(IntakeError::IncidentWithoutInput);
        }
        (None, Trigger::RuntimeDrift) => return Err(IntakeError::DriftWithoutPayload),
        (None, _) => {}
        (Some((path, _)), Trigger::User) => {
            return Err(IntakeError::PayloadWithUserTrigger {
                file: path.display().to_string(),
            });
        }
        (Some((path, bytes)), trigger) => {
            let file = path.display().to_string();
            let (format, normalised) = payload::parse(&file, bytes)?;
            let wanted = match normalised {
                Normalised::Incident(_) => Trigger::Incident,
                Normalised::Drift(_) => Trigger::RuntimeDrift,
            };
            if wanted != trigger {
                return Err(IntakeError::TriggerMismatch {
                    file,
                    format: format.as_str(),
                    trigger,
                    wanted,
                });
            }
            match normalised {
                Normalised::Incident(i) => incident = Some(i),
                Normalised::Drift(d) => drift = Some(d),
            }
            payload_info = Some(PayloadInfo {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file.clone()),
                format,
                sha256: format!("{:x}", Sha256::digest(bytes)),
                bytes: bytes.len() as u64,
            });
        }
    }

    // With no request text, the payload speaks: a one-line request built from sanitised fields.
    let request = if !text.is_empty() {
        text
    } else if let Some(i) = &incident {
        sanitize::request(&format!(
            "Fix the {} incident in {}: {}",
            source_name(i),
            i.service,
            i.message
        ))
    } else if let Some(d) = &drift {
        sanitize::request(&format!(
            "Restore {}: check {} drifted from its expected state",
            d.service, d.check
        ))
    } else {
        return Err(IntakeError::EmptyRequest);
    };

    // Paths an alert names (a Terraform apply that failed) count like paths in the request.
    let alert_paths = incident
        .as_ref()
        .map(|i| classify::extract_paths(&i.message))
        .unwrap_or_default();
    let manifests = kubernetes_manifests(repo, &classify::extract_paths(&request));
    let facts = repo_facts(repo);
    // A drift report's check and the fields it compares say what drifted (`dns-record`,
    // `replicas`): they are read with the request.
    let text = match &drift {
        Some(d) => format!("{request}. {}", drift_words(d)),
        None => request.clone(),
    };
    let c = classify::classify_in(
        terms,
        &classify::Request {
            text: &text,
            trigger: req.trigger,
            explicit: req.class,
            named_paths: &alert_paths,
            manifests: &manifests,
            repo: &facts,
        },
    );
    Ok(IntakeRecord {
        schema_version: SCHEMA_VERSION.into(),
        session_id: session_id.into(),
        created_at: now,
        request,
        request_untrusted: true,
        trigger: req.trigger,
        change_class: c.class,
        classification: ClassificationRecord {
            contradiction: c.contradiction(),
            confidence: Some(c.confidence),
            source: c.source,
            rationale: c.rationale,
            signals: c.signals,
        },
        incident,
        drift,
        payload: payload_info,
        packs: Vec::new(),
        setup: Vec::new(),
    })
}

/// The words of a drift report that say what drifted: its check and the names of the fields
/// it compares, with `-` and `_` read as spaces.
fn drift_words(d: &Drift) -> String {
    let mut words = vec![d.check.clone()];
    if let Some(obj) = d.expected.as_object() {
        words.extend(obj.keys().cloned());
    }
    words.join(" ").replace(['-', '_'], " ")
}

fn source_name(i: &Incident) -> &'static str {
    match i.source {
        payload::IncidentSource::Sentry => "Sentry",
        payload::IncidentSource::Pagerduty => "PagerDuty",
    }
}

/// The kinds of infrastructure among the repository's files: a walk that honours .gitignore,
/// stops after [`REPO_WALK_FILES`] files and reads names only.
fn repo_facts(repo: &Path) -> classify::RepoFacts {
    let mut facts = classify::RepoFacts::default();
    let walk = ignore::WalkBuilder::new(repo)
        .hidden(false)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != ".factory")
        .build();
    for entry in walk.flatten().take(REPO_WALK_FILES) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(repo) else {
            continue;
        };
        if let Some(kind) = classify::infra_kind(&rel.to_string_lossy()) {
            facts.infra_kinds.insert(kind);
        }
    }
    facts
}

/// How many files the repository walk for [`repo_facts`] looks at, at most.
const REPO_WALK_FILES: usize = 20_000;

/// Named YAML files inside `repo` whose content has top-level `apiVersion` and `kind`.
fn kubernetes_manifests(repo: &Path, paths: &[String]) -> Vec<String> {
    const PEEK: u64 = 64 * 1024;
    let mut found = Vec::new();
    for path in paths {
        let lower = path.to_ascii_lowercase();
        if !(lower.ends_with(".yaml") || lower.ends_with(".yml"))
            || classify::infra_kind(path).is_some()
        {
            continue;
        }
        // Only relative paths that stay inside the repository.
        let rel = Path::new(path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            continue;
        }
        let Ok(file) = std::fs::File::open(repo.join(rel)) else {
            continue;
        };
        let mut text = String::new();
        if file.take(PEEK).read_to_string(&mut text).is_err() {
            continue;
        }
        let has = |key: &str| {
            text.lines()
                .any(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
        };
        if has("apiVersion") && has("kind") {
            found.push(path.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests;
