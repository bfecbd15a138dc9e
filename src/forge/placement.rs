//! Where a step that runs agent-written code happens: `inline`, in the process that did the
//! step before it, or `deferred`, left for a job of its own that holds no secret. Post-merge
//! verification (`FACTORY_VERIFY`) and validation (`FACTORY_VALIDATION`) are chosen this way;
//! each names its own variable and error.

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Placement {
    #[default]
    Inline,
    Deferred,
}

impl Placement {
    /// The placement a variable's value names (unset or blank: inline; case and surrounding
    /// spaces ignored); `Err` carries a value that is neither.
    pub fn parse(value: Option<&str>) -> Result<Placement, String> {
        match value.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("inline") => Ok(Placement::Inline),
            Some("deferred") => Ok(Placement::Deferred),
            Some(other) => Err(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_unless_deferred_is_named() {
        for unset in [None, Some(""), Some(" "), Some("inline")] {
            assert_eq!(Placement::parse(unset), Ok(Placement::Inline), "{unset:?}");
        }
        for deferred in ["deferred", "Deferred", " Deferred "] {
            assert_eq!(Placement::parse(Some(deferred)), Ok(Placement::Deferred));
        }
        assert_eq!(Placement::parse(Some("later")), Err("later".to_string()));
    }
}
