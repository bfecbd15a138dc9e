//! Direct or deferred writes. Direct (the default, and what a laptop run uses): a phase writes
//! to the forge itself. Deferred: the phase writes apply artifacts and needs no forge token;
//! `factory apply` performs the writes. Chosen per process with `factory run --defer-writes`
//! or the environment variable `FACTORY_WRITES=deferred` (`direct` or empty: direct).

use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that selects the mode.
pub const WRITES_ENV: &str = "FACTORY_WRITES";

/// `FACTORY_WRITES` holds something other than `direct` or `deferred`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModeError(String);

static DEFERRED: AtomicBool = AtomicBool::new(false);

/// Defer this process's forge writes (`--defer-writes`).
pub fn set_deferred() {
    DEFERRED.store(true, Ordering::SeqCst);
}

/// Whether this process defers its forge writes: `--defer-writes`, else `FACTORY_WRITES`.
pub fn deferred_writes() -> Result<bool, ModeError> {
    if DEFERRED.load(Ordering::SeqCst) {
        return Ok(true);
    }
    parse(std::env::var(WRITES_ENV).ok().as_deref())
}

fn parse(value: Option<&str>) -> Result<bool, ModeError> {
    match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("direct") => Ok(false),
        Some("deferred") => Ok(true),
        Some(other) => Err(ModeError(format!(
            "{WRITES_ENV}={other}: expected `direct` or `deferred` (docs/security.md#deferred-writes)"
        ))),
    }
}

static PHASE: std::sync::RwLock<Option<String>> = std::sync::RwLock::new(None);

/// The phase running now, which names the artifacts it leaves (set by the runner).
pub fn set_phase(phase: &str) {
    if let Ok(mut p) = PHASE.write() {
        *p = Some(phase.to_string());
    }
}

/// The phase set by [`set_phase`], else `command` (a command run outside the pipeline).
pub fn current_phase() -> String {
    PHASE
        .read()
        .ok()
        .and_then(|p| p.clone())
        .unwrap_or_else(|| "command".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_direct_unless_deferred_is_named() {
        assert!(!parse(None).unwrap());
        assert!(!parse(Some("")).unwrap());
        assert!(!parse(Some("direct")).unwrap());
        assert!(parse(Some("Deferred")).unwrap());
        let e = parse(Some("later")).unwrap_err().to_string();
        assert!(
            e.contains("FACTORY_WRITES=later") && e.contains("`deferred`"),
            "{e}"
        );
    }
}
