//! Scripted agents for the scratch repository: the fake `claude` and `codex` of
//! tests/fixtures/agents first on PATH, reading their answers from the repository's
//! `.factory/fake/` in the order of its `script`.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

use super::manifest;
use super::repo::Repo;

/// The fake agents of tests/fixtures/agents.
pub fn agent_fixtures() -> PathBuf {
    manifest("tests/fixtures/agents")
}

impl Repo {
    /// The fake agents' directory (`fake/`, holding the fixtures, the script and what each call
    /// received), and a workflow override that lets planner and reviewer see it.
    pub fn fake_agents(&self, script: &[&str]) -> PathBuf {
        let fake = self.path().join(".factory/fake");
        std::fs::create_dir_all(&fake).unwrap();
        for entry in std::fs::read_dir(agent_fixtures()).unwrap() {
            let p = entry.unwrap().path();
            std::fs::copy(&p, fake.join(p.file_name().unwrap())).unwrap();
        }
        std::fs::write(fake.join("script"), script.join("\n") + "\n").unwrap();
        std::fs::write(
            self.path().join(".factory/workflow.yaml"),
            "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 1\n  max_attempts: 2\nagents:\n  planner:\n    env: [FAKE_AGENT_DIR]\n  reviewer:\n    env: [FAKE_AGENT_DIR]\n",
        )
        .unwrap();
        fake
    }

    /// `factory` with the fake agents first on PATH.
    pub fn factory_with_agents(&self) -> Command {
        let mut cmd = self.factory();
        cmd.env(
            "PATH",
            format!(
                "{}:{}",
                agent_fixtures().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("FAKE_AGENT_DIR", self.path().join(".factory/fake"))
        .env("ANTHROPIC_API_KEY", "test-key");
        cmd
    }

    /// What the fake agent received or wrote (`prompt-1`, `argv-1`, `count`).
    pub fn fake_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(".factory/fake").join(name)).unwrap_or_default()
    }

    /// Put a JSON answer for the fake agent in its directory.
    pub fn fake_answer(&self, name: &str, value: &Value) {
        std::fs::write(
            self.path().join(".factory/fake").join(name),
            serde_json::to_string_pretty(value).unwrap(),
        )
        .unwrap();
    }
}

/// A review answer with `verdict` and `findings` (counts computed), valid against review-output.
pub fn review_answer(verdict: &str, findings: Value) -> Value {
    let count = |s: &str| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == s)
            .count()
    };
    serde_json::json!({
        "schema_version": "1.0", "pr_number": 1, "verdict": verdict, "findings": findings,
        "scope_compliance": {"in_scope_match": true, "out_of_scope_violation": false},
        "security_assessment": {"passed": count("critical") == 0, "findings_count": {
            "critical": count("critical"), "important": count("important"), "advisory": count("advisory")}},
        "test_coverage": {"happy_path": "covered"},
        "summary": "Reviewed."
    })
}
