//! Lockfile readers. Each reads the hunks of one lockfile diff (added and context lines) and
//! reports the package versions that added lines introduce. Hunks are fragments, so every
//! reader keeps just enough state to know which package a `version` line belongs to.

mod cargo_toml_like;
mod gemfile;
mod go_sum;
mod npm;
mod pnpm;
mod requirements;
mod yarn;

use crate::preflight::diff::{FileDiff, LineKind};

use super::PackageChange;

/// One non-removed line of the file's hunks.
pub(crate) struct Line<'a> {
    pub added: bool,
    pub number: u32,
    pub text: &'a str,
}

/// Added and context lines in order, with a marker before each hunk so readers can reset.
pub(crate) fn lines(file: &FileDiff) -> impl Iterator<Item = Option<Line<'_>>> {
    file.hunks.iter().flat_map(|h| {
        std::iter::once(None).chain(h.lines.iter().filter_map(|l| {
            let number = l.new_line?;
            (l.kind != LineKind::Removed).then_some(Some(Line {
                added: l.kind == LineKind::Added,
                number,
                text: l.text.as_str(),
            }))
        }))
    })
}

/// Which reader handles a path, and the OSV ecosystem of its packages.
pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let path = file.path();
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut found = match name {
        "Cargo.lock" => cargo_toml_like::extract(file, "crates.io"),
        "poetry.lock" | "uv.lock" | "pdm.lock" => cargo_toml_like::extract(file, "PyPI"),
        "package-lock.json" | "npm-shrinkwrap.json" => npm::extract(file),
        "yarn.lock" => yarn::extract(file),
        "pnpm-lock.yaml" => pnpm::extract(file),
        "go.sum" => go_sum::extract(file),
        "Gemfile.lock" | "gems.locked" => gemfile::extract(file),
        _ if requirements::is_requirements(path) => requirements::extract(file),
        _ => Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert((p.name.clone(), p.version.clone())));
    found
}

pub(crate) fn change(
    file: &FileDiff,
    ecosystem: &str,
    name: &str,
    version: &str,
    line: u32,
) -> PackageChange {
    PackageChange {
        ecosystem: ecosystem.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        path: file.path().to_string(),
        line,
    }
}

/// The value of `key = "value"` (TOML) or `key: value` / `"key": "value"` lines.
pub(crate) fn quoted_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let t = text.trim_start();
    let rest = t.strip_prefix(key).or_else(|| {
        t.strip_prefix('"')
            .and_then(|r| r.strip_prefix(key))
            .and_then(|r| r.strip_prefix('"'))
    })?;
    let rest = rest.trim_start().strip_prefix(['=', ':'])?.trim();
    let rest = rest.trim_end_matches(',');
    Some(rest.trim_matches(['"', '\'']))
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::preflight::diff::{ChangeKind, DiffLine, FileDiff, Hunk, LineKind};

    /// A file diff from a hunk body: lines start with `+`, `-` or a space.
    pub fn hunk(path: &str, start: u32, body: &str) -> FileDiff {
        let mut new_line = start;
        let mut old_line = start;
        let lines = body
            .lines()
            .map(|l| {
                let (kind, text) = match l.chars().next() {
                    Some('+') => (LineKind::Added, &l[1..]),
                    Some('-') => (LineKind::Removed, &l[1..]),
                    _ => (LineKind::Context, l.get(1..).unwrap_or("")),
                };
                let line = DiffLine {
                    kind,
                    new_line: (kind != LineKind::Removed).then_some(new_line),
                    old_line: (kind != LineKind::Added).then_some(old_line),
                    text: text.to_string(),
                };
                if kind != LineKind::Removed {
                    new_line += 1;
                }
                if kind != LineKind::Added {
                    old_line += 1;
                }
                line
            })
            .collect();
        FileDiff {
            old_path: Some(path.into()),
            new_path: Some(path.into()),
            kind: ChangeKind::Modified,
            binary: false,
            mode_change: None,
            hunks: vec![Hunk {
                old_start: start,
                old_len: 0,
                new_start: start,
                new_len: 0,
                lines,
            }],
        }
    }

    pub fn found(file: &FileDiff) -> Vec<(String, String, u32)> {
        super::extract(file)
            .into_iter()
            .map(|p| (p.name, p.version, p.line))
            .collect()
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "Cargo.lock",
        "poetry.lock",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.sum",
        "Gemfile.lock",
        "requirements.txt",
    ];

    proptest! {
        #[test]
        fn readers_never_panic(body in "(\\PC{0,40}\n){0,30}", which in 0..NAMES.len()) {
            let body: String = body.lines().map(|l| format!("+{l}\n")).collect();
            let file = super::test_support::hunk(NAMES[which], 1, &body);
            let _ = super::extract(&file);
        }
    }
}
