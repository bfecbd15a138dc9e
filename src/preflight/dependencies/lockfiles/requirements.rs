//! requirements*.txt (pinned `name==version` lines, with extras, markers and hash continuations).

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines};

pub(crate) fn is_requirements(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    (name.starts_with("requirements") && (name.ends_with(".txt") || name.ends_with(".in")))
        || (path.contains("requirements/") && name.ends_with(".txt"))
        || name == "constraints.txt"
}

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    for line in lines(file).flatten() {
        if !line.added {
            continue;
        }
        let t = line.text.trim();
        if t.starts_with(['#', '-']) || t.is_empty() {
            continue;
        }
        let spec = t
            .split([';', '#'])
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches('\\')
            .trim();
        let Some((name, version)) = spec.split_once("===").or_else(|| spec.split_once("==")) else {
            continue;
        };
        let name = name.split('[').next().unwrap_or("").trim();
        let version = version
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(',');
        if name.is_empty() || version.is_empty() || version.contains('*') {
            continue;
        }
        out.push(change(
            file,
            "PyPI",
            &name.to_ascii_lowercase(),
            version,
            line.number,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};
    use super::is_requirements;

    #[test]
    fn pinned_lines_with_extras_markers_and_hashes() {
        let f = hunk(
            "requirements-dev.txt",
            1,
            "+Django==4.2.1 \\\n+    --hash=sha256:abc\n+requests[socks]==2.31.0 ; python_version >= \"3.8\"\n+flask>=2.0\n+# pinned==1.0\n-urllib3==1.26.0",
        );
        assert_eq!(
            found(&f),
            vec![
                ("django".into(), "4.2.1".into(), 1),
                ("requests".into(), "2.31.0".into(), 3)
            ]
        );
        assert!(is_requirements("requirements/prod.txt"));
        assert!(!is_requirements("notes.txt"));
    }
}
