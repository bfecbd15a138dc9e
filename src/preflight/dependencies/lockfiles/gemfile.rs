//! Gemfile.lock: gem specs are the four-space-indented `name (version)` lines under `specs:`;
//! six-space lines are their dependency constraints.

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines};

const PLATFORMS: &[&str] = &[
    "x86_64",
    "x86",
    "arm64",
    "aarch64",
    "arm",
    "java",
    "mingw",
    "mswin",
    "universal",
    "darwin",
    "linux",
];

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    for line in lines(file).flatten() {
        if !line.added {
            continue;
        }
        let text = line.text;
        if !text.starts_with("    ") || text.starts_with("     ") {
            continue;
        }
        let t = text.trim();
        let Some((name, rest)) = t.split_once(" (") else {
            continue;
        };
        let Some(version) = rest.strip_suffix(')') else {
            continue;
        };
        if version.starts_with(['~', '>', '<', '=']) {
            continue;
        }
        let version = match version.split_once('-') {
            Some((v, platform)) if PLATFORMS.iter().any(|p| platform.starts_with(p)) => v,
            _ => version,
        };
        out.push(change(file, "RubyGems", name, version, line.number));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn specs_with_platforms_but_not_constraints() {
        let f = hunk(
            "Gemfile.lock",
            3,
            "   specs:\n+    nokogiri (1.15.4-x86_64-linux)\n+      racc (~> 1.4)\n+    rack (2.2.8)",
        );
        assert_eq!(
            found(&f),
            vec![
                ("nokogiri".into(), "1.15.4".into(), 4),
                ("rack".into(), "2.2.8".into(), 6)
            ]
        );
    }
}
