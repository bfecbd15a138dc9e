//! The fixtures of the bundled evals, embedded at build time (see build.rs). They run from a
//! temporary copy because the suites read real files (the offline OSV database is a directory).

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_evals.rs"));

/// A temporary directory holding the embedded fixtures; removed when dropped.
pub struct Extracted {
    dir: PathBuf,
}

impl Extracted {
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Extracted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Write the embedded fixtures to a fresh temporary directory.
pub fn extract() -> std::io::Result<Extracted> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("factory-evals-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir)?;
    let extracted = Extracted { dir };
    for (path, contents) in FILES {
        let target = extracted.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, contents)?;
    }
    Ok(extracted)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifests_are_embedded() {
        let names: Vec<&str> = super::FILES.iter().map(|(p, _)| *p).collect();
        for m in ["plans/manifest.json", "diffs/manifest.json", "rules.json"] {
            assert!(names.contains(&m), "{m} is not embedded");
        }
        let dir = super::extract().unwrap();
        let path = dir.path().to_path_buf();
        assert!(path.join("diffs/manifest.json").is_file());
        drop(dir);
        assert!(!path.exists());
    }
}
