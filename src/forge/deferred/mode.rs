//! Direct or deferred writes. Direct (the default, and what a laptop run uses): a phase writes
//! to the forge itself. Deferred: the phase writes apply artifacts and needs no forge token;
//! `factory apply` performs the writes. Chosen with `factory run --defer-writes` or the
//! environment variable `FACTORY_WRITES=deferred` (`direct` or empty: direct); the pipeline
//! hands the mode to each phase in its context, and a command run on its own reads it from the
//! environment ([`Writes::from_env`]).

/// The environment variable that selects the mode.
pub const WRITES_ENV: &str = "FACTORY_WRITES";

/// `FACTORY_WRITES` holds something other than `direct` or `deferred`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModeError(String);

/// How a phase's forge writes are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Writes {
    /// The phase writes to the forge itself.
    #[default]
    Direct,
    /// The phase leaves apply artifacts; `factory apply` writes them.
    Deferred,
}

impl Writes {
    /// The mode `FACTORY_WRITES` selects.
    pub fn from_env() -> Result<Writes, ModeError> {
        parse(std::env::var(WRITES_ENV).ok().as_deref())
    }

    /// Deferred when a command's `--defer-writes` flag says so, else what `FACTORY_WRITES`
    /// selects.
    pub fn chosen(defer_flag: bool) -> Result<Writes, ModeError> {
        if defer_flag {
            Ok(Writes::Deferred)
        } else {
            Writes::from_env()
        }
    }

    pub fn deferred(self) -> bool {
        self == Writes::Deferred
    }
}

fn parse(value: Option<&str>) -> Result<Writes, ModeError> {
    match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("direct") => Ok(Writes::Direct),
        Some("deferred") => Ok(Writes::Deferred),
        Some(other) => Err(ModeError(format!(
            "{WRITES_ENV}={other}: expected `direct` or `deferred` (docs/security.md#deferred-writes)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_direct_unless_deferred_is_named() {
        assert_eq!(parse(None).unwrap(), Writes::Direct);
        assert_eq!(parse(Some("")).unwrap(), Writes::Direct);
        assert_eq!(parse(Some("direct")).unwrap(), Writes::Direct);
        assert_eq!(parse(Some("Deferred")).unwrap(), Writes::Deferred);
        let e = parse(Some("later")).unwrap_err().to_string();
        assert!(
            e.contains("FACTORY_WRITES=later") && e.contains("`deferred`"),
            "{e}"
        );
    }
}
