//! go.sum: `module version h1:hash` lines; `/go.mod` hash lines carry no code and are skipped.

use crate::preflight::diff::FileDiff;

use super::{PackageChange, change, lines};

pub(crate) fn extract(file: &FileDiff) -> Vec<PackageChange> {
    let mut out = Vec::new();
    for line in lines(file).flatten() {
        if !line.added {
            continue;
        }
        let mut parts = line.text.split_whitespace();
        let (Some(module), Some(version)) = (parts.next(), parts.next()) else {
            continue;
        };
        if version.ends_with("/go.mod") || !version.starts_with('v') {
            continue;
        }
        let version = version.trim_end_matches("+incompatible");
        out.push(change(
            file,
            "Go",
            module,
            version.trim_start_matches('v'),
            line.number,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, hunk};

    #[test]
    fn module_lines_without_go_mod_entries() {
        let f = hunk(
            "go.sum",
            1,
            "+golang.org/x/net v0.17.0 h1:abc=\n+golang.org/x/net v0.17.0/go.mod h1:def=\n+github.com/docker/docker v20.10.0+incompatible h1:x=",
        );
        assert_eq!(
            found(&f),
            vec![
                ("golang.org/x/net".into(), "0.17.0".into(), 1),
                ("github.com/docker/docker".into(), "20.10.0".into(), 3)
            ]
        );
    }
}
