//! `[[package]]` tables with `name` and `version` keys: Cargo.lock, poetry.lock, uv.lock, pdm.lock.

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines, quoted_value};

pub(crate) fn extract(file: &FileDiff, ecosystem: &str) -> Vec<PackageChange> {
    let mut out = Vec::new();
    let mut name: Option<(String, bool)> = None;
    for line in lines(file) {
        let Some(line) = line else {
            name = None;
            continue;
        };
        let t = line.text.trim();
        if t.starts_with("[[package]]") || (t.starts_with('[') && !t.starts_with("[[package")) {
            name = None;
            continue;
        }
        if let Some(n) = quoted_value(t, "name").filter(|_| t.starts_with("name")) {
            name = Some((n.to_string(), line.added));
            continue;
        }
        if t.starts_with("version")
            && let Some(v) = quoted_value(t, "version")
            && let Some((n, name_added)) = &name
            && (line.added || *name_added)
        {
            out.push(change(file, ecosystem, n, v, line.number));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn bumped_and_added_crates() {
        let f = hunk(
            "Cargo.lock",
            10,
            " [[package]]\n name = \"regex\"\n-version = \"1.9.0\"\n+version = \"1.10.2\"\n source = \"registry\"\n+\n+[[package]]\n+name = \"time\"\n+version = \"0.3.20\"",
        );
        assert_eq!(
            found(&f),
            vec![
                ("regex".into(), "1.10.2".into(), 12),
                ("time".into(), "0.3.20".into(), 17)
            ]
        );
    }

    #[test]
    fn untouched_and_removed_packages_are_ignored() {
        let f = hunk(
            "poetry.lock",
            1,
            " [[package]]\n name = \"django\"\n version = \"4.2.0\"\n-[[package]]\n-name = \"old\"\n-version = \"1.0\"",
        );
        assert!(found(&f).is_empty());
    }
}
