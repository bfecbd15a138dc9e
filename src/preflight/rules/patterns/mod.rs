//! Dangerous-pattern rules, language-aware by file extension.

use super::Rule;

/// All built-in dangerous-pattern rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    Vec::new()
}
