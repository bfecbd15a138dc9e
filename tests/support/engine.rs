//! A scratch repository with a `.factory/workflow.yaml` whose every phase runs the fake phase
//! program (tests/fixtures/engine/phase.sh), so the real engine runs end to end without agents
//! or a forge.

pub use super::repo::Repo;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub const PHASES: [&str; 7] = [
    "strategic_plan",
    "issue_creation",
    "tactical_plan",
    "implementation",
    "code_review",
    "merge",
    "completion",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine")
}

pub fn intake_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/intake")
        .join(name)
}

impl Repo {
    /// A git repository whose workflow runs the fake phase for every phase, with `extra` YAML
    /// appended to the override (a fast backoff is always set).
    pub fn engine(extra: &str) -> Repo {
        Repo::engine_with_phases(&[], extra)
    }

    /// Like [`Repo::engine`], with the YAML body of some phases (indented four spaces) given.
    pub fn engine_with_phases(bodies: &[(&str, &str)], extra: &str) -> Repo {
        let repo = Repo::new();
        let root = repo.path();
        let fake = root.join("fake");
        std::fs::create_dir_all(fake.join("script")).unwrap();
        std::fs::create_dir_all(fake.join("fixtures")).unwrap();
        for entry in std::fs::read_dir(fixtures()).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                std::fs::copy(&p, fake.join("fixtures").join(p.file_name().unwrap())).unwrap();
            }
        }
        let script = fixtures().join("phase.sh");
        let mut yaml = String::from("phases:\n");
        for phase in PHASES {
            if let Some((_, body)) = bodies.iter().find(|(p, _)| *p == phase) {
                yaml.push_str(&format!("  {phase}:\n{body}"));
                continue;
            }
            yaml.push_str(&format!(
                "  {phase}:\n    command: [\"sh\", \"{}\"]\n    env: [FAKE_DIR]\n    timeout_seconds: 20\n",
                script.display()
            ));
        }
        yaml.push_str(
            "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 3\n",
        );
        yaml.push_str(extra);
        std::fs::create_dir_all(root.join(".factory")).unwrap();
        std::fs::write(root.join(".factory/workflow.yaml"), yaml).unwrap();
        // The scratch files of the fake phase must not make the tree look dirty to git.
        std::fs::write(root.join(".git/info/exclude"), "fake/\n.factory/\n").unwrap();
        repo
    }

    /// Give `phase` one behaviour per attempt (see phase.sh).
    pub fn script(&self, phase: &str, behaviours: &[&str]) {
        std::fs::write(
            self.path().join("fake/script").join(phase),
            behaviours.join("\n") + "\n",
        )
        .unwrap();
    }

    pub fn status(&self, phase: &str) -> String {
        self.session()["phases"][phase]["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("fake/calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn calls_of(&self, phase: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(&format!("{phase} ")))
            .count()
    }

    /// Every log line, parsed; panics on a line that is not JSON.
    pub fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path().join(".factory/workflow.log"))
            .unwrap_or_default()
            .lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {}: {e}: {l}", i + 1))
            })
            .collect()
    }

    /// An event of `phase` with this action and status is in the log.
    pub fn phase_logged(&self, phase: &str, action: &str, status: &str) -> bool {
        self.log()
            .iter()
            .any(|e| e["phase"] == phase && e["action"] == action && e["status"] == status)
    }
}
