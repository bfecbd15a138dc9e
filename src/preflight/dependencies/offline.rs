//! An OSV database on disk: `<dir>/<ecosystem>/<ID>.json` (the layout of the per-ecosystem
//! `all.zip` exports, unzipped) or a flat directory of advisories.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::AuditError;
use super::advisory::Advisory;

/// Advisories indexed by (lower-case ecosystem, package name).
pub(crate) struct OfflineDb {
    by_package: HashMap<(String, String), Vec<Advisory>>,
}

impl OfflineDb {
    /// Read the advisories for `ecosystems`. A sub-directory named after an ecosystem is read
    /// alone when it exists; otherwise every `*.json` below `dir` is read.
    pub(crate) fn open(dir: &Path, ecosystems: &BTreeSet<String>) -> Result<OfflineDb, AuditError> {
        if !dir.is_dir() {
            return Err(AuditError::OfflineDb {
                path: dir.to_path_buf(),
                message: "is not a directory; download an OSV export (e.g. <ecosystem>/all.zip) and unzip it there".into(),
            });
        }
        let mut roots: Vec<PathBuf> = Vec::new();
        let mut all = false;
        for eco in ecosystems {
            match find_subdir(dir, eco) {
                Some(sub) => roots.push(sub),
                None => all = true,
            }
        }
        if all {
            roots = vec![dir.to_path_buf()];
        }
        let mut db = OfflineDb {
            by_package: HashMap::new(),
        };
        for root in roots {
            db.read_tree(&root)?;
        }
        Ok(db)
    }

    fn read_tree(&mut self, root: &Path) -> Result<(), AuditError> {
        let entries = std::fs::read_dir(root).map_err(|e| AuditError::OfflineDb {
            path: root.to_path_buf(),
            message: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| AuditError::OfflineDb {
                path: root.to_path_buf(),
                message: e.to_string(),
            })?;
            let path = entry.path();
            if path.is_dir() {
                self.read_tree(&path)?;
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| AuditError::OfflineDb {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let advisory: Advisory =
                serde_json::from_str(&text).map_err(|e| AuditError::OfflineDb {
                    path: path.clone(),
                    message: format!("not an OSV advisory: {e}"),
                })?;
            let keys: BTreeSet<(String, String)> = advisory
                .affected
                .iter()
                .filter_map(|a| a.package.as_ref())
                .map(|p| (eco_key(&p.ecosystem), name_key(&p.ecosystem, &p.name)))
                .collect();
            for key in keys {
                self.by_package
                    .entry(key)
                    .or_default()
                    .push(advisory.clone());
            }
        }
        Ok(())
    }

    /// Advisories that affect `name@version`.
    pub(crate) fn matching(&self, ecosystem: &str, name: &str, version: &str) -> Vec<&Advisory> {
        self.by_package
            .get(&(eco_key(ecosystem), name_key(ecosystem, name)))
            .map(|list| {
                list.iter()
                    .filter(|a| a.affects(ecosystem, name, version))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn eco_key(ecosystem: &str) -> String {
    ecosystem
        .split(':')
        .next()
        .unwrap_or(ecosystem)
        .to_ascii_lowercase()
}

fn name_key(ecosystem: &str, name: &str) -> String {
    if ecosystem.eq_ignore_ascii_case("pypi") {
        name.to_ascii_lowercase().replace(['_', '.'], "-")
    } else {
        name.to_string()
    }
}

fn find_subdir(dir: &Path, ecosystem: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(ecosystem))
        })
}
