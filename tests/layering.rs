//! The layers hold: the adapters and leaves below the pipeline never reach up into it. Read
//! from the source: every `crate::` path in a module of a lower layer is checked against the
//! layers above it, so a new import that breaks the shape fails here, naming file and line.

use std::path::{Path, PathBuf};

/// Modules that run the pipeline: the phases, the runner, and the implementation phase's work
/// (worktrees, validation, the implementation record).
const PIPELINE: [&str; 3] = ["runner", "phases", "implement"];

/// Modules below the pipeline: what the phases call. None of them may name a pipeline module.
const BELOW: [&str; 8] = [
    "agents",
    "forge",
    "review",
    "scorecard",
    "state",
    "contracts",
    "findings",
    "preflight",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_below_the_pipeline_never_import_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut checked = 0;
    for module in BELOW {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        for file in files {
            checked += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for upper in PIPELINE {
                    if code.contains(&format!("crate::{upper}::"))
                        || code.contains(&format!("crate::{upper};"))
                        || code.contains(&format!("crate::{upper}::{{"))
                    {
                        found.push(format!(
                            "{}:{}: {module} imports {upper}: {}",
                            file.strip_prefix(&src).unwrap().display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files read: is src/ where it was?"
    );
    assert!(
        found.is_empty(),
        "a module below the pipeline reaches up into it (move the code into src/phases/ or pass what it needs down):\n{}",
        found.join("\n")
    );
}
