//! The layers hold. Every top-level module of `src/` has a place in [`LAYERS`], and a module may
//! name (`crate::x`) only modules of a layer below its own: so no two modules import each other,
//! directly or round a circle, and an adapter never reaches up into the pipeline. Read from the
//! source, test code included, so a new import that breaks the shape fails here with its file
//! and line. docs/ARCHITECTURE.md draws the same layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// From the bottom up. A module may import the layers below its own, never its own or above.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves: shared helpers, findings and their renderers, prompt templates",
        &["util", "findings", "templates"],
    ),
    ("contracts: schemas and semantic checks", &["contracts"]),
    ("workflow.yaml: routes, phases, agents", &["workflow"]),
    ("heuristics packs", &["packs"]),
    ("the preflight gate", &["preflight"]),
    ("intake: requests, payloads, classification", &["intake"]),
    (
        "state: session, log, lock, atomic writes, merge",
        &["state"],
    ),
    ("typed phase artifacts kept in the state", &["artifacts"]),
    ("lessons learned", &["lessons"]),
    ("REPORT.md and status text", &["report"]),
    ("adapter: agent CLIs", &["agents"]),
    (
        "adapter: forges (GitHub, local, deferred, safe), git",
        &["forge"],
    ),
    ("the review engine", &["review"]),
    (
        "applying deferred writes; scorecards",
        &["apply", "scorecard"],
    ),
    ("the pipeline: runner, gates, phase context", &["pipeline"]),
    ("the eight phases and the command phase", &["phases"]),
    (
        "features on top: dashboard, evals, init",
        &["dashboard", "evals", "init"],
    ),
    ("one file per subcommand", &["commands"]),
    ("the command line", &["cli"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(path).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules `src/` holds: its folders and its `.rs` files but the crate roots.
fn top_level_modules() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = p.file_stem()?.to_str()?.to_string();
            (p.is_dir()
                || (p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main"))
                .then_some(name)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every `crate::name` a line of code names (comments left out).
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let boundary = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if boundary && !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

fn layer_of() -> BTreeMap<&'static str, usize> {
    LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, modules))| modules.iter().map(move |m| (*m, i)))
        .collect()
}

#[test]
fn every_top_level_module_has_a_layer() {
    let layers = layer_of();
    let missing: Vec<String> = top_level_modules()
        .into_iter()
        .filter(|m| !layers.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "top-level modules without a layer (add them to LAYERS in tests/layering.rs and to docs/ARCHITECTURE.md): {missing:?}"
    );
    for m in layers.keys() {
        let p = src().join(m);
        assert!(
            p.is_dir() || p.with_extension("rs").is_file(),
            "LAYERS names `{m}`, which src/ does not hold"
        );
    }
}

#[test]
fn no_module_imports_its_own_layer_or_one_above() {
    let layers = layer_of();
    let mut found = Vec::new();
    let mut checked = 0;
    for (module, &level) in &layers {
        let mut files = Vec::new();
        let dir = src().join(module);
        rust_files(
            &if dir.is_dir() {
                dir
            } else {
                dir.with_extension("rs")
            },
            &mut files,
        );
        for file in files {
            checked += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for target in crate_paths(line) {
                    let Some(&to) = layers.get(target.as_str()) else {
                        continue;
                    };
                    if target != *module && to >= level {
                        found.push(format!(
                            "{}:{}: {module} ({}) imports {target} ({}): {}",
                            file.strip_prefix(src()).unwrap().display(),
                            n + 1,
                            LAYERS[level].0,
                            LAYERS[to].0,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked > 150,
        "only {checked} files read: is src/ where it was?"
    );
    assert!(
        found.is_empty(),
        "a module imports a layer that is not below its own (move the code down, or pass what it needs in):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_sees_an_import_upward() {
    assert_eq!(
        crate_paths("use crate::phases::merge; // crate::cli"),
        vec!["phases"]
    );
    assert_eq!(
        crate_paths("let x = crate::report::write(&s).map(|_| crate::state::now());"),
        vec!["report", "state"]
    );
    assert!(crate_paths("use some_crate::forge;").is_empty());
    assert!(crate_paths("/// see [`crate::pipeline`]").is_empty());
}

#[test]
fn the_phases_are_named_as_the_seed_names_them() {
    let names = factory::workflow::PhaseName::ALL
        .iter()
        .map(|p| p.as_str())
        .chain(["command"]);
    for phase in names {
        let p = src().join("phases").join(phase);
        assert!(
            p.is_dir() || p.with_extension("rs").is_file(),
            "src/phases/ has no module for the {phase} phase"
        );
    }
}
