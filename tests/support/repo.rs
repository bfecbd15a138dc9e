//! A scratch git repository with a session and a strategic plan, for the forge tests.

use std::path::Path;

pub use super::manifest;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub struct Repo {
    pub dir: TempDir,
}

/// The bundled valid strategic plan, with validation commands that run the repository's
/// `check.sh` (which the tests make pass or fail).
pub fn plan() -> Value {
    let mut plan: Value = serde_json::from_slice(
        &std::fs::read(manifest("evals/plans/valid-strategic-plan.json")).unwrap(),
    )
    .unwrap();
    plan["validation_commands"] = serde_json::json!({
        "build": "sh check.sh build",
        "test": "sh check.sh test"
    });
    plan
}

impl Repo {
    /// A git repository with one commit holding `check.sh` (exits with the code in the file
    /// `status`, 0 when absent).
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        std::fs::write(
            repo.path().join("check.sh"),
            "echo \"check $1\"\nif [ -f status ]; then exit \"$(cat status)\"; fi\n",
        )
        .unwrap();
        repo.git(&["add", "check.sh"]);
        repo.git(&["commit", "-q", "-m", "init"]);
        std::fs::write(repo.path().join(".git/info/exclude"), ".factory/\n").unwrap();
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = StdCommand::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `factory` run in this repository, nothing inherited from the test's environment; the
    /// fake phase program of [`super::engine`] finds its directory through `FAKE_DIR`.
    pub fn factory(&self) -> Command {
        let mut cmd = super::factory_in(self.path());
        cmd.env("FAKE_DIR", self.path().join("fake"));
        cmd
    }

    /// `factory intake` for a feature, then the plan in place.
    pub fn with_plan(plan: &Value) -> Repo {
        let repo = Repo::with_session();
        repo.write_plan(plan);
        repo
    }

    /// `factory intake` for a feature: a session without a plan.
    pub fn with_session() -> Repo {
        let repo = Repo::new();
        repo.intake_feature();
        repo
    }

    /// Like [`Repo::with_session`], with `.factory/workflow.yaml` written first (the route is
    /// fixed at intake, so an override must be in place before it).
    pub fn with_workflow(yaml: &str) -> Repo {
        let repo = Repo::new();
        std::fs::create_dir_all(repo.path().join(".factory")).unwrap();
        std::fs::write(repo.path().join(".factory/workflow.yaml"), yaml).unwrap();
        repo.intake_feature();
        repo
    }

    /// What one job of a CI matrix starts from: a clone of this repository (its commits and
    /// branches, its git excludes) with a copy of everything else in the working tree, the
    /// `.factory` state included.
    pub fn job_copy(&self) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let copy = Repo { dir };
        let status = StdCommand::new("git")
            .args(["clone", "-q"])
            .arg(self.path())
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success(), "git clone of {}", self.path().display());
        std::fs::copy(
            self.path().join(".git/info/exclude"),
            copy.path().join(".git/info/exclude"),
        )
        .unwrap();
        let untracked = self.git(&[
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
        ]);
        for entry in untracked.lines() {
            let rel = entry.trim_end_matches('/');
            let to = copy.path().join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let status = StdCommand::new("cp")
                .arg("-a")
                .arg(self.path().join(rel))
                .arg(&to)
                .status()
                .unwrap();
            assert!(status.success(), "copy {entry}");
        }
        copy
    }

    /// `factory intake` for the feature request the forge tests share.
    fn intake_feature(&self) {
        self.intake("Add password reset by e-mail", "feature");
    }

    /// `factory intake` of `request` as `class`, which must start a session.
    pub fn intake(&self, request: &str, class: &str) {
        self.factory()
            .args(["intake", "--request", request, "--class", class])
            .assert()
            .success();
    }

    pub fn write_plan(&self, plan: &Value) {
        let dir = self.path().join(".factory/artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("strategic-plan.json"),
            serde_json::to_string_pretty(plan).unwrap(),
        )
        .unwrap();
    }

    pub fn issue(&self, n: u64) -> Value {
        self.json(&format!(".factory/forge/issues/{n}.json"))
    }

    pub fn pull(&self, n: u64) -> Value {
        self.json(&format!(".factory/forge/pulls/{n}.json"))
    }

    pub fn session(&self) -> Value {
        self.json(".factory/session.json")
    }

    pub fn json(&self, rel: &str) -> Value {
        let path = self.path().join(rel);
        serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    }

    pub fn issue_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(".factory/forge/issues"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A commit on `branch` (created from main when missing) adding `file`.
    pub fn commit_on(&self, branch: &str, file: &str) {
        self.commit_content(branch, file, &format!("content of {file}\n"));
    }

    /// A commit on `branch` (created from main when missing) writing `content` to `file`.
    pub fn commit_content(&self, branch: &str, file: &str, content: &str) {
        let exists = StdCommand::new("git")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .current_dir(self.path())
            .output()
            .unwrap()
            .status
            .success();
        if exists {
            self.git(&["checkout", "-q", branch]);
        } else {
            self.git(&["checkout", "-q", "-b", branch, "main"]);
        }
        let path = self.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        self.git(&["add", file]);
        self.git(&["commit", "-q", "-m", &format!("add {file}")]);
        self.git(&["checkout", "-q", "main"]);
    }

    /// A review of `pr`, cycle `cycle`, with `verdict` (APPROVE or REQUEST_CHANGES).
    pub fn review(&self, pr: u64, cycle: u32, verdict: &str) {
        let mut r: Value = serde_json::from_slice(
            &std::fs::read(manifest("evals/plans/valid-review-output.json")).unwrap(),
        )
        .unwrap();
        r["pr_number"] = pr.into();
        r["verdict"] = verdict.into();
        if verdict == "APPROVE" {
            let advisory = r["findings"][1].clone();
            r["findings"] = serde_json::json!([advisory]);
            r["security_assessment"] = serde_json::json!({
                "passed": true,
                "findings_count": {"critical": 0, "important": 0, "advisory": 1}
            });
        }
        let dir = self.path().join(".factory/artifacts/reviews");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{pr}-{cycle}.json")), r.to_string()).unwrap();
    }

    pub fn labels(&self, issue: u64) -> Vec<String> {
        self.issue(issue)["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    }

    pub fn last_comment(&self, issue: u64) -> String {
        self.issue(issue)["comments"]
            .as_array()
            .unwrap()
            .last()
            .expect("a comment")["body"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The events of `.factory/workflow.log` with `action`, in order.
    pub fn events(&self, action: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path().join(".factory/workflow.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["action"] == action)
            .collect()
    }

    pub fn log_has(&self, action: &str, status: &str) -> bool {
        std::fs::read_to_string(self.path().join(".factory/workflow.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .any(|e| e["action"] == action && e["status"] == status)
    }
}
