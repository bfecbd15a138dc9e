//! Heuristics packs: domain knowledge (planning checklists, review focus points, threat-model
//! prompts, extra preflight rules) bundled in the binary and chosen per repository at intake.

pub mod detect;

use std::path::Path;

use serde_json::Value;

use crate::contracts::{self, Contract};

pub use detect::{detect, for_intake};

/// A heuristics pack that applies to a repository, and why (stored in the intake record).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackMatch {
    pub name: String,
    pub reason: String,
}

/// The packs built into the binary: file name, contents.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "pack-saas-api.json",
        include_str!("../../packs/pack-saas-api.json"),
    ),
    (
        "pack-rust-cli.json",
        include_str!("../../packs/pack-rust-cli.json"),
    ),
    (
        "pack-web-frontend.json",
        include_str!("../../packs/pack-web-frontend.json"),
    ),
    (
        "pack-terraform-infra.json",
        include_str!("../../packs/pack-terraform-infra.json"),
    ),
    (
        "pack-github-actions.json",
        include_str!("../../packs/pack-github-actions.json"),
    ),
];

/// Why a pack could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(
        "unknown pack `{name}`: run `factory packs list` to see the bundled packs, or pass a pack file"
    )]
    Unknown { name: String },
    #[error("cannot read pack {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}, column {column}: not JSON: {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: not a valid heuristics pack: {problems}")]
    Invalid { path: String, problems: String },
}

/// A validated heuristics pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    /// Where it came from: `bundled` or a file path.
    pub source: String,
    pub doc: Value,
}

impl Pack {
    /// Parse and validate a pack document.
    pub fn parse(source: &str, text: &str) -> Result<Pack, PackError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| PackError::Json {
            path: source.to_string(),
            line: e.line(),
            column: e.column(),
            message: crate::util::errors::without_position(&e),
        })?;
        let violations = contracts::validate(Contract::HeuristicsPack, &doc, Default::default());
        if !violations.is_empty() {
            return Err(PackError::Invalid {
                path: source.to_string(),
                problems: violations
                    .iter()
                    .map(|v| format!("{}: {}", v.pointer, v.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(Pack {
            name: doc["name"].as_str().unwrap_or_default().to_string(),
            source: source.to_string(),
            doc,
        })
    }

    pub fn domain(&self) -> &str {
        self.doc["domain"].as_str().unwrap_or_default()
    }

    pub fn description(&self) -> &str {
        self.doc["description"].as_str().unwrap_or_default()
    }

    /// Tags used to rank lessons: the domain and the words of the name after `pack-`.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = vec![self.domain().to_string()];
        for w in self.name.trim_start_matches("pack-").split('-') {
            if !w.is_empty() && !tags.iter().any(|t| t == w) {
                tags.push(w.to_string());
            }
        }
        tags
    }

    fn strings(&self, key: &str, field: &str) -> Vec<String> {
        self.doc[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                if field.is_empty() {
                    v.as_str()
                } else {
                    v[field].as_str()
                }
            })
            .map(str::to_string)
            .collect()
    }

    /// Planning checklist lines: `trigger: rule`.
    pub fn planning_checklist(&self) -> Vec<String> {
        self.doc["planning_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}: {}",
                    r["trigger"].as_str().unwrap_or_default(),
                    r["rule"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    /// Review focus points.
    pub fn review_checks(&self) -> Vec<String> {
        self.strings("review_checks", "check")
    }

    pub fn threat_model_prompts(&self) -> Vec<String> {
        self.strings("threat_model_prompts", "")
    }

    /// Ids of the extra preflight rules.
    pub fn preflight_rule_ids(&self) -> Vec<String> {
        self.strings("preflight_patterns", "id")
    }
}

/// The guidance of some packs as Markdown for a planning or review prompt: per pack, its
/// planning checklist, review focus points and threat-model prompts. Unknown names are
/// skipped (the intake record names only packs that exist).
pub fn guidance(names: &[String]) -> String {
    let mut out = String::new();
    for p in names.iter().filter_map(|n| find(n).ok()) {
        out.push_str(&format!("### {} ({})\n\n", p.name, p.domain()));
        for (title, items) in [
            ("Planning checklist", p.planning_checklist()),
            ("Review focus", p.review_checks()),
            ("Threat model", p.threat_model_prompts()),
        ] {
            if items.is_empty() {
                continue;
            }
            out.push_str(&format!("{title}:\n"));
            for i in items {
                out.push_str(&format!("- {i}\n"));
            }
            out.push('\n');
        }
    }
    out
}

/// Every bundled pack, in a stable order. A bundled pack that fails its contract is a build
/// bug; the unit tests catch it.
pub fn bundled() -> Vec<Pack> {
    BUNDLED
        .iter()
        .map(|(file, text)| {
            Pack::parse(&format!("bundled:{file}"), text).expect("bundled packs are valid")
        })
        .collect()
}

/// A bundled pack by name (`pack-rust-cli` or `rust-cli`), or a pack file by path.
pub fn find(name_or_path: &str) -> Result<Pack, PackError> {
    let want = if name_or_path.starts_with("pack-") {
        name_or_path.to_string()
    } else {
        format!("pack-{name_or_path}")
    };
    if let Some(p) = bundled().into_iter().find(|p| p.name == want) {
        return Ok(p);
    }
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".json") || path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|source| PackError::Read {
            path: path.display().to_string(),
            source,
        })?;
        return Pack::parse(&path.display().to_string(), &text);
    }
    Err(PackError::Unknown {
        name: name_or_path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_packs_are_valid_and_named_after_their_file() {
        let packs = bundled();
        assert_eq!(packs.len(), 5);
        for (p, (file, _)) in packs.iter().zip(BUNDLED) {
            assert_eq!(format!("{}.json", p.name), *file);
            assert!(!p.planning_checklist().is_empty());
            assert!(!p.review_checks().is_empty());
            assert!(!p.threat_model_prompts().is_empty());
        }
    }

    #[test]
    fn guidance_lists_checklists_focus_and_threats() {
        let text = guidance(&["pack-rust-cli".into(), "nope".into()]);
        assert!(text.starts_with("### pack-rust-cli (rust-cli)"));
        assert!(text.contains("Planning checklist:\n- new subcommand or flag: "));
        assert!(text.contains("Review focus:\n- no unwrap/expect"));
        assert!(text.contains("Threat model:\n- "));
        assert!(!text.contains("nope"));
    }

    #[test]
    fn find_accepts_short_names_and_rejects_unknown_ones() {
        assert_eq!(find("rust-cli").unwrap().name, "pack-rust-cli");
        assert_eq!(find("pack-saas-api").unwrap().tags()[0], "saas-api");
        assert!(matches!(find("cobol"), Err(PackError::Unknown { .. })));
    }
}
