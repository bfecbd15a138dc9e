//! What every test of the binary starts from: the `factory` command with nothing inherited from
//! the environment the tests run in (no state directory, forge, token, write mode, log level or
//! colour setting of the developer's shell), and a recursive copy for fixtures.
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

/// Environment variables that would change what `factory` does if the tests inherited them.
const INHERITED: [&str; 11] = [
    "FACTORY_STATE_DIR",
    "FACTORY_FORGE",
    "FACTORY_WRITES",
    "FACTORY_LOG",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
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
