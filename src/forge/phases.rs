//! Where the repository of a state directory is, for the phases and commands that work on it.

use std::path::{Path, PathBuf};

use crate::state::StateDir;

/// The repository a state directory belongs to: the parent of `.factory` when that is a git
/// repository, else the current directory.
pub fn repo_for(state: &StateDir) -> PathBuf {
    if let Some(parent) = state.root().parent()
        && parent.join(".git").exists()
    {
        return parent.to_path_buf();
    }
    std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf())
}
