//! What the tests of the binary share, in one place. This module: the `factory` command with
//! nothing inherited from the environment the tests run in (no state directory, forge, token,
//! write mode, log level or colour setting of the developer's shell), git with a fixed identity,
//! a recursive copy for fixtures. Below it:
//!
//! - [`repo`]: the scratch repository every pipeline test starts from (sessions, plans, the
//!   local forge's files, job copies for CI matrices);
//! - [`agents`]: scripted `claude`/`codex` executables (tests/fixtures/agents) for that
//!   repository;
//! - [`engine`]: the same repository with every phase run by the fake phase program;
//! - [`github`]: the fake GitHub API server;
//! - [`dashboard`]: the dashboard process and a headless Chromium;
//! - [`corpus`]: the labelled corpus tests' generator and tallies.
//!
//! Every test binary compiles all of it and uses a part, so unused items are expected.
#![allow(dead_code)]

pub mod agents;
pub mod corpus;
pub mod dashboard;
pub mod engine;
pub mod github;
pub mod repo;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Environment variables that would change what `factory` does if the tests inherited them.
const INHERITED: [&str; 12] = [
    "FACTORY_STATE_DIR",
    "FACTORY_FORGE",
    "FACTORY_WRITES",
    "FACTORY_LOG",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "FACTORY_GITHUB_TIME_SCALE",
    "GITHUB_EVENT_PATH",
    "GITHUB_STEP_SUMMARY",
    "NO_COLOR",
];

/// The built `factory`, run in the current directory.
pub fn factory() -> Command {
    let mut cmd = Command::cargo_bin("factory").unwrap();
    for name in INHERITED {
        cmd.env_remove(name);
    }
    cmd
}

/// The built `factory`, run in `dir`.
pub fn factory_in(dir: &Path) -> Command {
    let mut cmd = factory();
    cmd.current_dir(dir);
    cmd
}

/// Run git in `dir` with a fixed identity; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// Copy the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A path inside the project (fixtures, bundled plans, docs).
pub fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
