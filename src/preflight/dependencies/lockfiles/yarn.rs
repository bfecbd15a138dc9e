//! yarn.lock, classic (v1) and berry (v2+).

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines};

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in lines(file) {
        let Some(line) = line else {
            current = None;
            continue;
        };
        let text = line.text;
        if !text.starts_with([' ', '\t'])
            && text.trim_end().ends_with(':')
            && !text.starts_with('#')
        {
            current = entry_name(text.trim_end().trim_end_matches(':')).map(|n| (n, line.added));
            continue;
        }
        let t = text.trim();
        let version = t
            .strip_prefix("version ")
            .or_else(|| t.strip_prefix("version: "))
            .map(|v| v.trim().trim_matches('"'));
        if let Some(v) = version
            && let Some((name, header_added)) = &current
            && (line.added || *header_added)
            && !v.contains("use.local")
        {
            out.push(change(file, "npm", name, v, line.number));
        }
    }
    out
}

/// `"@scope/name@^1.0.0", "@scope/name@npm:^1.2.0"` → `@scope/name`.
fn entry_name(header: &str) -> Option<String> {
    let first = header.split(',').next()?.trim().trim_matches('"');
    if first == "__metadata" {
        return None;
    }
    // Skip a leading `@` of a scoped name: the version separator is the next `@`.
    let (at, _) = first.char_indices().skip(1).find(|(_, c)| *c == '@')?;
    Some(first[..at].to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn classic_and_berry_entries() {
        let classic = hunk(
            "yarn.lock",
            5,
            "+\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n+  version \"7.22.5\"\n+  resolved \"x\"\n lodash@^4.17.0:\n-  version \"4.17.20\"\n+  version \"4.17.21\"",
        );
        assert_eq!(
            found(&classic),
            vec![
                ("@babel/core".into(), "7.22.5".into(), 6),
                ("lodash".into(), "4.17.21".into(), 9)
            ]
        );
        let berry = hunk(
            "yarn.lock",
            1,
            " \"minimist@npm:^1.2.0\":\n-  version: 1.2.5\n+  version: 1.2.8",
        );
        assert_eq!(found(&berry), vec![("minimist".into(), "1.2.8".into(), 2)]);
    }
}
