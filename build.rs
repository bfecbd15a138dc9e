//! Embeds the bundled eval fixtures (evals/) in the binary, so `factory evals` can run its own
//! suites anywhere, e.g. in a scheduled workflow of a repository that has no evals/ directory.

use std::fmt::Write;
use std::path::Path;

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // The labelled intake requests (about 110 KiB) and idiom cases are the project's
            // own quality gate, not something a user's scheduled evals need: they stay out of
            // the binary, whose size is budgeted (docs/release.md).
            if path
                .strip_prefix(root)
                .is_ok_and(|r| r == Path::new("intake") || r == Path::new("idioms"))
            {
                continue;
            }
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("below root");
            out.push(rel.to_str().expect("UTF-8 fixture path").replace('\\', "/"));
        }
    }
}

fn main() {
    println!("cargo::rerun-if-changed=evals");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("evals");
    let mut files = Vec::new();
    if root.is_dir() {
        walk(&root, &root, &mut files);
    }
    let mut code = String::from(
        "/// The bundled eval fixtures: path below evals/, contents.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        let abs = root.join(f);
        let _ = writeln!(
            code,
            "    ({f:?}, include_bytes!({:?})),",
            abs.to_str().unwrap()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_evals.rs");
    std::fs::write(out, code).expect("write embedded_evals.rs");
}
