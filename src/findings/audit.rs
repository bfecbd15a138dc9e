//! What a report says about its dependency audit: the status every renderer shows.

/// What the dependency audit did. Every report carries it, so an audit that could not run is
/// said, never skipped in silence.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditStatus {
    /// Turned off on purpose (`--audit off`, `audit.source: off`).
    #[default]
    Off,
    /// The change touches no lockfile: there was nothing to look up.
    NoLockfileChanges,
    /// `packages` package versions were looked up in `source`.
    Audited { source: String, packages: usize },
    /// The audit could not run; `reason` says why and what to do.
    Unavailable { reason: String },
}

impl AuditStatus {
    /// One line for people: "dependency audit unavailable: <why>".
    pub fn line(&self) -> String {
        match self {
            AuditStatus::Off => "dependency audit off".to_string(),
            AuditStatus::NoLockfileChanges => {
                "dependency audit: no lockfile changes to check".to_string()
            }
            AuditStatus::Audited { source, packages } => format!(
                "dependency audit: {packages} package version{} checked against {source}",
                if *packages == 1 { "" } else { "s" }
            ),
            AuditStatus::Unavailable { reason } => {
                format!("dependency audit unavailable: {reason}")
            }
        }
    }

    /// [`AuditStatus::line`] as a sentence's start: "Dependency audit unavailable: <why>".
    pub fn sentence(&self) -> String {
        let line = self.line();
        let mut chars = line.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuditStatus::Unavailable { .. })
    }

    /// The status word of the `dependency_audit` event.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditStatus::Off => "off",
            AuditStatus::NoLockfileChanges => "no_lockfile_changes",
            AuditStatus::Audited { .. } => "audited",
            AuditStatus::Unavailable { .. } => "unavailable",
        }
    }
}
