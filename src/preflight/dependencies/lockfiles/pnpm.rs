//! pnpm-lock.yaml: package keys carry the version (`/name@1.2.3:` in v6, `name@1.2.3:` in v9,
//! `/name/1.2.3:` in v5), so an added key line is an added version.

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines};

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    for line in lines(file).flatten() {
        if !line.added {
            continue;
        }
        if let Some((name, version)) = package_key(line.text) {
            out.push(change(file, "npm", &name, &version, line.number));
        }
    }
    out
}

fn package_key(text: &str) -> Option<(String, String)> {
    let indent = text.len() - text.trim_start().len();
    if indent != 2 {
        return None;
    }
    let key = text.trim().strip_suffix(':')?.trim_matches(['\'', '"']);
    let key = key.strip_prefix('/').unwrap_or(key);
    // Peer-dependency suffixes: `name@1.0.0(react@18.2.0)` or v5 `_react@18.2.0`.
    let key = key.split('(').next()?;
    let separator = key.char_indices().skip(1).find(|(_, c)| *c == '@');
    let (name, version) = match separator {
        Some((i, _)) => (&key[..i], &key[i + 1..]),
        None => {
            // v5: `name/1.2.3` or `@scope/name/1.2.3`.
            let (n, v) = key.rsplit_once('/')?;
            (n, v.split('_').next()?)
        }
    };
    if name.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn v5_v6_and_v9_keys() {
        let f = hunk(
            "pnpm-lock.yaml",
            100,
            " packages:\n+  /lodash@4.17.21:\n+    resolution: {integrity: sha512-x}\n+  '@types/node@20.1.0':\n+  /react-dom@18.2.0(react@18.2.0):\n+  /minimist/1.2.8:\n+  specifiers:\n",
        );
        assert_eq!(
            found(&f),
            vec![
                ("lodash".into(), "4.17.21".into(), 101),
                ("@types/node".into(), "20.1.0".into(), 103),
                ("react-dom".into(), "18.2.0".into(), 104),
                ("minimist".into(), "1.2.8".into(), 105),
            ]
        );
    }
}
