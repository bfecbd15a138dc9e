//! Text templates (prompts, issue and PR bodies), rendered with minijinja.
//!
//! Each template is embedded in the binary from `templates/`; a repository overrides one by
//! putting a file of the same name in `.factory/templates/`. Rendering is strict: a variable the
//! template uses but the caller did not bind is an error naming the template and line, never an
//! empty string in a prompt or an issue.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The embedded templates: (file name, text). Later phases add theirs here.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "CLAUDE_PLAN.md",
        include_str!("../../templates/CLAUDE_PLAN.md"),
    ),
    (
        "CLAUDE_TACTICAL.md",
        include_str!("../../templates/CLAUDE_TACTICAL.md"),
    ),
    (
        "CLAUDE_REVIEW.md",
        include_str!("../../templates/CLAUDE_REVIEW.md"),
    ),
    (
        "CODEX_IMPLEMENT.md",
        include_str!("../../templates/CODEX_IMPLEMENT.md"),
    ),
    (
        "ADR_TEMPLATE.md",
        include_str!("../../templates/ADR_TEMPLATE.md"),
    ),
    (
        "ISSUE_BODY.md",
        include_str!("../../templates/ISSUE_BODY.md"),
    ),
    (
        "PULL_REQUEST_TEMPLATE.md",
        include_str!("../../templates/PULL_REQUEST_TEMPLATE.md"),
    ),
];

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template `{0}`: the built-in ones are {1}")]
    Unknown(String, String),
    #[error("cannot read the override {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Render { origin: String, message: String },
}

/// Where a template comes from: the repository's override if present, else the built-in one.
#[derive(Debug, Clone)]
pub struct Templates {
    override_dir: Option<PathBuf>,
}

impl Templates {
    /// Templates with overrides looked up in `dir` (normally `.factory/templates`).
    pub fn with_overrides(dir: impl Into<PathBuf>) -> Templates {
        Templates {
            override_dir: Some(dir.into()),
        }
    }

    /// Built-in templates only.
    pub fn builtin() -> Templates {
        Templates { override_dir: None }
    }

    /// The text of template `name` and where it came from.
    pub fn source(&self, name: &str) -> Result<(String, String), TemplateError> {
        if let Some(dir) = &self.override_dir {
            let path = dir.join(name);
            if path.is_file() {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                        path: path.clone(),
                        source,
                    })?;
                return Ok((text, path.display().to_string()));
            }
        }
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (t.to_string(), format!("built-in templates/{n}")))
            .ok_or_else(|| {
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                TemplateError::Unknown(
                    name.to_string(),
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                )
            })
    }

    /// Render template `name` with `context`.
    pub fn render<C: Serialize>(&self, name: &str, context: C) -> Result<String, TemplateError> {
        let (text, origin) = self.source(name)?;
        render_str(&origin, &text, context)
    }
}

/// Render `text` (reported as `origin` in errors) strictly.
pub fn render_str<C: Serialize>(
    origin: &str,
    text: &str,
    context: C,
) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let fail = |e: minijinja::Error| TemplateError::Render {
        origin: match e.line() {
            Some(line) => format!("{origin}:{line}"),
            None => origin.to_string(),
        },
        message: e.to_string(),
    };
    env.add_template("t", text).map_err(fail)?;
    env.get_template("t")
        .map_err(fail)?
        .render(context)
        .map_err(fail)
}

/// The override directory inside a state directory.
pub fn override_dir(state_root: &Path) -> PathBuf {
    state_root.join("templates")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_bound_variables_and_refuses_unbound_ones() {
        assert_eq!(
            render_str("t.md", "Hi {{ name }}\n", json!({"name": "A"})).unwrap(),
            "Hi A\n"
        );
        let err = render_str("t.md", "line\n{{ missing }}", json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.md:2:"), "{err}");
    }

    #[test]
    fn an_override_in_the_directory_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("X.md"), "override {{ v }}").unwrap();
        let t = Templates::with_overrides(dir.path());
        assert_eq!(t.render("X.md", json!({"v": 1})).unwrap(), "override 1");
        assert!(matches!(
            Templates::builtin().render("X.md", json!({})),
            Err(TemplateError::Unknown(..))
        ));
    }
}
