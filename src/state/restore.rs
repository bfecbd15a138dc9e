//! Restoring a state archive (`factory-state.tar`) that an earlier CI job saved. That job may
//! have run an agent, so the archive is untrusted: only `.factory/` may come out of it, as
//! plain files and directories. Every member is checked before anything is written, and one bad
//! member refuses the whole archive: a hook under `.git/hooks/`, a `.git/config`, a link, a
//! device, an absolute or `..` name never reach the disk of the job that holds a token.
//!
//! Policy is never taken from an archive: workflow.yaml, prompt templates, packs and the
//! lessons store come from the job's checkout of the trusted base. An archive member under one
//! of them is left out, and the restore reports it ([`Restored::refused_policy`]).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

/// The most an archive may unpack to: the state plus the local forge's branch bundle.
pub const MAX_TOTAL_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The most one member may hold.
pub const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;

/// Why an archive was refused (exit 2); nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{archive}: cannot read the archive: {source}")]
    Read {
        archive: String,
        source: std::io::Error,
    },
    #[error(
        "{archive}: member `{member}` refused: {why}; a state archive holds only regular files and directories under .factory/, so nothing was unpacked"
    )]
    Member {
        archive: String,
        member: String,
        why: String,
    },
    #[error(
        "{archive}: unpacks to more than {limit} bytes; nothing was unpacked (a state archive is the .factory/ directory of one session)"
    )]
    TooLarge { archive: String, limit: u64 },
    #[error("cannot restore {path}: {why}")]
    Target { path: String, why: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The entries of the state directory that are policy: what judges and prompts a job. A state
/// archive never carries them (`actions/phase/steps.sh pack` leaves them out).
pub const POLICY: [&str; 4] = [
    super::layout::WORKFLOW,
    super::layout::TEMPLATES_DIR,
    "packs",
    super::layout::LESSONS_DIR,
];

/// What a restore wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restored {
    pub files: usize,
    pub dirs: usize,
    pub bytes: u64,
    /// Members under a policy entry that were left out, as named in the archive.
    pub refused_policy: Vec<String>,
}

/// Whether `rel` (`.factory/...`) lies under a policy entry.
fn is_policy(rel: &Path) -> bool {
    rel.components()
        .nth(1)
        .is_some_and(|c| POLICY.iter().any(|p| c.as_os_str() == *p))
}

/// One member that passed the checks.
struct Member {
    rel: PathBuf,
    dir: bool,
    executable: bool,
    data: Vec<u8>,
}

/// Check every member of `archive`, then unpack them under `into` (the repository root: the
/// members are `.factory/...`).
pub fn restore(archive: &Path, into: &Path) -> Result<Restored, RestoreError> {
    let shown = archive.display().to_string();
    let read_err = |source| RestoreError::Read {
        archive: shown.clone(),
        source,
    };
    let file = std::fs::File::open(archive).map_err(read_err)?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    let mut members = Vec::new();
    let mut refused_policy = Vec::new();
    let mut total = 0u64;
    for entry in tar.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |why: &str| RestoreError::Member {
            archive: shown.clone(),
            member: raw.clone(),
            why: why.to_string(),
        };
        let rel = checked_name(&raw).map_err(&refuse)?;
        let kind = entry.header().entry_type();
        if is_policy(&rel) {
            if kind != EntryType::Directory {
                refused_policy.push(raw);
            }
            continue;
        }
        let dir = match kind {
            EntryType::Regular | EntryType::Continuous => false,
            EntryType::Directory => true,
            EntryType::Symlink => return Err(refuse("a symbolic link")),
            EntryType::Link => return Err(refuse("a hard link")),
            EntryType::Char | EntryType::Block => return Err(refuse("a device file")),
            EntryType::Fifo => return Err(refuse("a named pipe")),
            _ => return Err(refuse("not a regular file or a directory")),
        };
        let size = entry.size();
        if size > MAX_MEMBER_BYTES {
            return Err(refuse(&format!(
                "{size} bytes, over the {MAX_MEMBER_BYTES}-byte limit of one member"
            )));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(RestoreError::TooLarge {
                archive: shown.clone(),
                limit: MAX_TOTAL_BYTES,
            });
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
        let mut data = Vec::new();
        if !dir {
            entry.read_to_end(&mut data).map_err(read_err)?;
        }
        members.push(Member {
            rel,
            dir,
            executable,
            data,
        });
    }
    let mut done = write_members(into, &members)?;
    done.refused_policy = refused_policy;
    Ok(done)
}

/// `name` as a relative path under `.factory/`, or why not.
fn checked_name(name: &str) -> Result<PathBuf, &'static str> {
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("a `..` in its name"),
            Component::RootDir | Component::Prefix(_) => return Err("an absolute name"),
        }
    }
    match out.components().next() {
        Some(Component::Normal(first)) if first == ".factory" => Ok(out),
        _ => Err("outside .factory/"),
    }
}

/// Write the checked members, refusing to go through a link that is already on disk.
fn write_members(into: &Path, members: &[Member]) -> Result<Restored, RestoreError> {
    let mut done = Restored::default();
    for m in members {
        let target = into.join(&m.rel);
        // A link planted earlier would send the write elsewhere.
        super::no_links_below(into, &m.rel).map_err(|e| RestoreError::Target {
            path: target.display().to_string(),
            why: format!("{e}"),
        })?;
        let write_err = |source| RestoreError::Write {
            path: target.display().to_string(),
            source,
        };
        if m.dir {
            std::fs::create_dir_all(&target).map_err(write_err)?;
            done.dirs += 1;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        crate::state::write_atomic(&target, &m.data).map_err(write_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if m.executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .map_err(write_err)?;
        }
        done.files += 1;
        done.bytes += m.data.len() as u64;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_under_the_state_directory_pass() {
        assert_eq!(
            checked_name("./.factory/session.json").unwrap(),
            PathBuf::from(".factory/session.json")
        );
        assert!(checked_name(".factory/").is_ok());
        for bad in [
            ".git/hooks/pre-push",
            "/etc/passwd",
            ".factory/../.git/config",
            "../x",
            "README.md",
            "",
        ] {
            assert!(checked_name(bad).is_err(), "{bad}");
        }
    }
}
