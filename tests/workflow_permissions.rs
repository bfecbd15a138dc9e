//! docs/security.md's table of who holds what, checked row by row against every job of the
//! workflows the project ships and of those `factory init` writes: the job's permissions
//! exactly as the row says, and for a job that holds no token, that no step of it receives a
//! forge token or a write identity (and, for "no agent key", no secret at all). A job with no
//! row, or a row naming no job, fails too.
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::factory_in as factory;

/// The shipped workflows, and the names `factory init` gives the ones it writes.
const SHIPPED: &[&str] = &[
    "factory.yml",
    "factory-wave.yml",
    "code-review.yml",
    "feature.yml",
    "incident.yml",
    "pipeline-evals.yml",
];
const INIT: &[(&str, &str)] = &[
    ("factory-code-review.yml", "code-review.yml"),
    ("factory-feature.yml", "feature.yml"),
    ("factory-evals.yml", "pipeline-evals.yml"),
];

/// What a row of the table says.
#[derive(Debug)]
struct Row {
    text: String,
    /// `code-review.yml` for a row naming its file; none for the pipeline's own two files.
    file: Option<String>,
    jobs: Vec<String>,
    permissions: BTreeSet<String>,
    token: Token,
}

#[derive(Debug, PartialEq)]
enum Token {
    Yes,
    None,
    NoneNoSecret,
    PassedOn,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Backticked words of `cell`.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn rows() -> Vec<Row> {
    let doc = std::fs::read_to_string(root().join("docs/security.md")).unwrap();
    let start = doc
        .find("| job | runs | `GITHUB_TOKEN` permissions | token in the job |")
        .expect("the table in docs/security.md");
    doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 4, "a row of four cells: {line}");
            let names = ticked(cells[0]);
            let (file, jobs) = match cells[0].split_once("`: ") {
                Some(_) => (Some(names[0].clone()), names[1..].to_vec()),
                None => (None, names),
            };
            let permissions = ticked(cells[2])
                .into_iter()
                .filter(|p| p.contains(": "))
                .collect();
            let token = match cells[3] {
                t if t.starts_with("none, and no agent key") => Token::NoneNoSecret,
                t if t.starts_with("none") => Token::None,
                t if t.starts_with("yes") => Token::Yes,
                t if t.starts_with("passed on") => Token::PassedOn,
                t => panic!("token cell `{t}` is none, yes or passed on: {line}"),
            };
            Row {
                text: line.to_string(),
                file,
                jobs,
                permissions,
                token,
            }
        })
        .collect()
}

/// The jobs of a workflow file: name → job.
fn jobs(path: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    doc["jobs"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: no jobs", path.display()))
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A round copy (`implementation_round_2_apply`) is covered by its first round's row.
fn base_name(job: &str) -> String {
    ["_round_2", "_round_3"]
        .iter()
        .fold(job.to_string(), |j, r| j.replace(r, ""))
}

fn check(
    file: &str,
    shown: &str,
    job: &str,
    spec: &Value,
    rows: &[Row],
    used: &mut BTreeSet<usize>,
) {
    let pipeline = matches!(file, "factory.yml" | "factory-wave.yml");
    let found = rows.iter().enumerate().find(|(_, r)| {
        let in_file = match &r.file {
            Some(f) => f == file,
            None => pipeline,
        };
        in_file && (r.jobs.iter().any(|j| j == job) || r.jobs.iter().any(|j| *j == base_name(job)))
    });
    let Some((i, row)) = found else {
        panic!("{shown}: job `{job}` has no row in docs/security.md's table of who holds what");
    };
    used.insert(i);
    let permissions: BTreeSet<String> = spec["permissions"]
        .as_object()
        .unwrap_or_else(|| panic!("{shown}: job `{job}` sets no permissions of its own"))
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap()))
        .collect();
    assert_eq!(
        permissions, row.permissions,
        "{shown}: job `{job}`'s permissions differ from its row:\n{}",
        row.text
    );
    let text = serde_json::to_string(spec).unwrap();
    let forge_token = [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "github.token",
        "secrets.FACTORY_TOKEN",
        "secrets.FACTORY_APP_PRIVATE_KEY",
        "create-github-app-token",
    ];
    match row.token {
        Token::None | Token::NoneNoSecret => {
            for t in forge_token {
                assert!(
                    !text.contains(t),
                    "{shown}: job `{job}` holds no token by its row, but it mentions {t}:\n{}",
                    row.text
                );
            }
            if row.token == Token::NoneNoSecret {
                assert!(
                    !text.contains("secrets."),
                    "{shown}: job `{job}` holds no secret by its row, but it is given one"
                );
            }
        }
        Token::Yes => {
            // A job that runs factory with a token gets it as GITHUB_TOKEN on factory's step.
            let runs_factory = text.contains("/actions/");
            assert!(
                !runs_factory || text.contains("\"GITHUB_TOKEN\""),
                "{shown}: job `{job}` writes by its row, but no factory step gets GITHUB_TOKEN"
            );
        }
        Token::PassedOn => assert!(
            spec["uses"]
                .as_str()
                .is_some_and(|u| u.ends_with(".yml") || u.contains(".yml@")),
            "{shown}: job `{job}` passes secrets on by its row, but calls no workflow"
        ),
    }
}

/// Whether [`check`] refuses `spec` as factory-wave.yml's job `job` (it panics on a job that
/// does not match its row).
fn caught_in_wave(job: &str, spec: &Value, rows: &[Row]) -> bool {
    std::panic::catch_unwind(|| {
        check(
            "factory-wave.yml",
            "test",
            job,
            spec,
            rows,
            &mut BTreeSet::new(),
        )
    })
    .is_err()
}

#[test]
fn every_job_of_every_shipped_and_written_workflow_matches_its_row() {
    let rows = rows();
    let mut used = BTreeSet::new();
    for file in SHIPPED {
        let path = root().join(".github/workflows").join(file);
        for (job, spec) in jobs(&path) {
            check(
                file,
                &path.display().to_string(),
                &job,
                &spec,
                &rows,
                &mut used,
            );
        }
    }
    let repo = tempfile::tempdir().unwrap();
    factory(repo.path()).arg("init").assert().success();
    for (written, like) in INIT {
        let path = repo.path().join(".github/workflows").join(written);
        assert!(path.is_file(), "factory init writes {written}");
        for (job, spec) in jobs(&path) {
            check(like, written, &job, &spec, &rows, &mut used);
        }
    }
    for (i, row) in rows.iter().enumerate() {
        assert!(
            used.contains(&i),
            "a row of docs/security.md names no job of the workflows: {}",
            row.text
        );
    }
}

/// The check itself: a job given a token that its row says it does not hold is caught.
#[test]
fn a_token_in_a_job_that_holds_none_is_caught() {
    let rows = rows();
    let spec: Value = serde_json::json!({
        "permissions": {"contents": "read"},
        "steps": [{"uses": "$/actions/phase", "env": {"GITHUB_TOKEN": "${{ github.token }}"}}]
    });
    assert!(
        caught_in_wave("verify", &spec, &rows),
        "a token in the verify job went unnoticed"
    );
    let wider: Value = serde_json::json!({"permissions": {"contents": "write"}, "steps": []});
    assert!(
        caught_in_wave("verify", &wider, &rows),
        "wider permissions in the verify job went unnoticed"
    );
}

/// The validation jobs run the agent's code: an agent key (any secret) or a forge token handed
/// to one of them is caught, and so is a job of the wave left without its validation job.
#[test]
fn a_key_or_a_token_in_a_validation_job_is_caught() {
    let rows = rows();
    for job in ["validation", "validation_round_2", "validation_round_3"] {
        let keyed: Value = serde_json::json!({
            "permissions": {"contents": "read"},
            "steps": [{"uses": "$/actions/phase", "env": {"CODEX_API_KEY": "${{ secrets.CODEX_API_KEY }}"}}]
        });
        assert!(
            caught_in_wave(job, &keyed, &rows),
            "an agent key in {job} went unnoticed"
        );
        let token: Value = serde_json::json!({
            "permissions": {"contents": "read"},
            "steps": [{"uses": "$/actions/phase", "env": {"GITHUB_TOKEN": "${{ github.token }}"}}]
        });
        assert!(
            caught_in_wave(job, &token, &rows),
            "a token in {job} went unnoticed"
        );
    }
    let wave = jobs(&root().join(".github/workflows/factory-wave.yml"));
    for (implementation, validation, apply) in [
        ("implementation", "validation", "implementation_apply"),
        (
            "implementation_round_2",
            "validation_round_2",
            "implementation_round_2_apply",
        ),
        (
            "implementation_round_3",
            "validation_round_3",
            "implementation_round_3_apply",
        ),
    ] {
        let needs = |job: &str| -> Vec<String> {
            wave[job]["needs"]
                .as_array()
                .unwrap_or_else(|| panic!("{job} needs nothing"))
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect()
        };
        assert!(
            needs(validation).contains(&implementation.to_string()),
            "{validation} does not follow {implementation}"
        );
        assert!(
            needs(apply).contains(&validation.to_string()),
            "{apply} does not wait for {validation}"
        );
        let text = serde_json::to_string(&wave[validation]).unwrap();
        assert!(
            text.contains("\"mode\":\"validate\""),
            "{validation} does not validate"
        );
        let implement = serde_json::to_string(&wave[implementation]).unwrap();
        assert!(
            implement.contains("\"defer-validation\":\"true\""),
            "{implementation} validates next to the agent's key"
        );
        let apply_text = serde_json::to_string(&wave[apply]).unwrap();
        assert!(
            apply_text.contains("\"FACTORY_VALIDATION\":\"deferred\""),
            "{apply} would publish an unvalidated head"
        );
    }
}
