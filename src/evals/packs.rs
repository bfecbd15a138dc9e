//! The `packs` suite: every heuristics pack (`*.json` in the eval directory's `packs/` and in
//! [`Config::extra_pack_dirs`]) must satisfy the heuristics-pack contract and its
//! `preflight_patterns` must build into rules. A broken pack is a failed case, not a broken
//! fixture: the packs are what is under test.

use std::path::{Path, PathBuf};

use super::{CaseResult, Config, EvalError};
use crate::contracts::{self, Context, Contract};
use crate::preflight::rules::patterns::from_pack;

fn pack_files(dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| EvalError::fixture(dir, format!("cannot list: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every problem with one pack; empty when it is valid.
pub fn problems(path: &Path) -> Vec<String> {
    let document = match contracts::input::read_json(path) {
        Ok(d) => d,
        Err(e) => return vec![format!("unreadable: {e}")],
    };
    let mut out: Vec<String> =
        contracts::validate(Contract::HeuristicsPack, &document, Context::default())
            .into_iter()
            .map(|v| {
                let at = if v.pointer.is_empty() {
                    "(document)".to_string()
                } else {
                    v.pointer
                };
                format!("{} {at}: {}", v.code, v.message)
            })
            .collect();
    if out.is_empty()
        && let Err(e) = from_pack(&document, &path.display().to_string())
    {
        out.push(format!("rules: {e}"));
    }
    out
}

pub fn run(config: &Config) -> Result<Vec<CaseResult>, EvalError> {
    let mut dirs = vec![config.dir.join("packs")];
    dirs.extend(config.extra_pack_dirs.iter().cloned());
    let mut results = Vec::new();
    let mut seen = Vec::new();
    for dir in dirs {
        let canonical = dir.canonicalize().unwrap_or(dir.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        for file in pack_files(&dir)? {
            let mut actual = problems(&file);
            if actual.is_empty() {
                actual.push("valid".to_string());
            }
            // Relative names keep reports stable wherever the eval directory lives.
            let name = file.strip_prefix(&config.dir).unwrap_or(&file);
            results.push(CaseResult::compare(
                name.display().to_string(),
                vec!["valid".to_string()],
                actual,
            ));
        }
    }
    Ok(results)
}
