//! Secret rules: provider-specific token formats and a generic high-entropy assignment rule.

use super::Rule;

/// All secret rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    Vec::new()
}
