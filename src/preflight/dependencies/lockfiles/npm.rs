//! package-lock.json and npm-shrinkwrap.json, lockfile versions 1 to 3.

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines, quoted_value};

/// Keys that open an object but are not packages.
const NOT_PACKAGES: &[&str] = &[
    "",
    "packages",
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "requires",
    "engines",
    "bin",
    "funding",
    "license",
    "bundleDependencies",
];

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in lines(file) {
        let Some(line) = line else {
            current = None;
            continue;
        };
        let t = line.text.trim();
        if let Some(key) = object_key(t) {
            current = package_name(key).map(|n| (n.to_string(), line.added));
            continue;
        }
        if t.starts_with("\"version\"")
            && let Some(v) = quoted_value(t, "version")
            && let Some((name, key_added)) = &current
            && (line.added || *key_added)
        {
            out.push(change(file, "npm", name, v, line.number));
        }
    }
    out
}

/// `"key": {` → `key`.
fn object_key(t: &str) -> Option<&str> {
    let rest = t.strip_prefix('"')?;
    let (key, after) = rest.split_once('"')?;
    let after = after.trim_start().strip_prefix(':')?.trim();
    (after == "{").then_some(key)
}

fn package_name(key: &str) -> Option<&str> {
    let name = match key.rfind("node_modules/") {
        Some(i) => &key[i + "node_modules/".len()..],
        None => key,
    };
    (!NOT_PACKAGES.contains(&name) && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn v3_packages_including_nested_and_scoped() {
        let f = hunk(
            "package-lock.json",
            40,
            "     \"node_modules/lodash\": {\n-      \"version\": \"4.17.20\",\n+      \"version\": \"4.17.21\",\n       \"resolved\": \"x\"\n     },\n+    \"node_modules/a/node_modules/@types/node\": {\n+      \"version\": \"20.1.0\",\n+      \"dev\": true\n+    },",
        );
        assert_eq!(
            found(&f),
            vec![
                ("lodash".into(), "4.17.21".into(), 41),
                ("@types/node".into(), "20.1.0".into(), 45)
            ]
        );
    }

    #[test]
    fn v1_dependencies_and_root_are_handled() {
        let f = hunk(
            "package-lock.json",
            1,
            " {\n+  \"version\": \"2.0.0\",\n   \"dependencies\": {\n     \"minimist\": {\n-      \"version\": \"1.2.0\",\n+      \"version\": \"1.2.6\",",
        );
        assert_eq!(found(&f), vec![("minimist".into(), "1.2.6".into(), 5)]);
    }
}
