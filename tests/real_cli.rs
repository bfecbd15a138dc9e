//! The real agent CLIs (Claude Code and Codex, found on PATH) through the built `factory`,
//! talking only to the scripted model API of tests/fixtures/model-api/server.py on 127.0.0.1.
//! The fake CLIs of the other tests show what factory does with an answer; these show that the
//! flags, schema forms and configuration factory passes work with the CLIs as released.
//!
//! Skipped (with a note on stderr) unless `FACTORY_REAL_CLIS=1`; with it, a missing CLI fails.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// Whether to run: `FACTORY_REAL_CLIS=1` and `programs` on PATH (a missing one then fails).
fn real_clis(programs: &[&str]) -> bool {
    if std::env::var("FACTORY_REAL_CLIS").as_deref() != Ok("1") {
        eprintln!("skipped: set FACTORY_REAL_CLIS=1 with claude and codex on PATH to run");
        return false;
    }
    for program in programs {
        assert!(
            on_path(program).is_some(),
            "FACTORY_REAL_CLIS=1 but `{program}` is not on PATH"
        );
    }
    true
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The scripted model API: one server process per test, stopped when dropped.
struct ModelApi {
    child: Child,
    port: u16,
    recording: PathBuf,
}

impl ModelApi {
    /// Start the server in `dir` with `answers` (see the server's docstring for their shapes).
    fn start(dir: &Path, answers: &Value) -> ModelApi {
        let script = dir.join("answers.json");
        std::fs::write(&script, answers.to_string()).unwrap();
        let recording = dir.join("requests.jsonl");
        let mut child = Command::new("python3")
            .arg(support::manifest("tests/fixtures/model-api/server.py"))
            .arg(&recording)
            .arg(&script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the scripted model API");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        ModelApi {
            child,
            port,
            recording,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in order.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.recording)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The requests that took a scripted answer.
    fn model_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| !r["answer"].is_null())
            .collect()
    }

    /// "METHOD /path" of every request, for assertion messages.
    fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                )
            })
            .collect()
    }
}

impl Drop for ModelApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch git repository with its own HOME (the CLIs write their state there, never in the
/// developer's) and a workflow.yaml whose `agents:` section the test gives.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// `agents_yaml`: the `agents:` keys, indented two spaces.
    fn new(agents_yaml: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        std::fs::write(root.join("AGENTS.md"), "Run cargo test before finishing.\n").unwrap();
        std::fs::create_dir_all(root.join(".factory")).unwrap();
        std::fs::write(
            root.join(".factory/workflow.yaml"),
            format!(
                "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 2\nagents:\n{agents_yaml}"
            ),
        )
        .unwrap();
        support::git(&root, &["init", "-q", "-b", "main"]);
        std::fs::write(root.join(".git/info/exclude"), ".factory/\n*.diff\n").unwrap();
        support::git(&root, &["add", "src", "AGENTS.md"]);
        support::git(&root, &["commit", "-q", "-m", "init"]);
        Scratch { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// `factory` in the repository, with no agent setting of the developer's environment and
    /// HOME in the scratch directory.
    fn factory(&self) -> assert_cmd::Command {
        without_agent_settings(
            support::factory_in(&self.root()),
            &self.dir.path().join("home"),
        )
    }

    /// `factory` with Claude Code pointed at `api`.
    fn factory_for_claude(&self, api: &ModelApi) -> assert_cmd::Command {
        let mut cmd = self.factory();
        cmd.env("ANTHROPIC_BASE_URL", api.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-test");
        cmd
    }

    /// `factory` with Codex pointed at `api`: only the two variables a user would set.
    fn factory_for_codex(&self, api: &ModelApi) -> assert_cmd::Command {
        let mut cmd = self.factory();
        cmd.env("OPENAI_BASE_URL", format!("{}/v1", api.url()))
            .env("OPENAI_API_KEY", "sk-test");
        cmd
    }

    fn artifact(&self, rel: &str) -> Value {
        let path = self.root().join(".factory/artifacts").join(rel);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }
}

/// A valid strategic plan.
fn plan() -> Value {
    let text =
        std::fs::read_to_string(support::manifest("tests/fixtures/agents/plan.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The plan factory wrote is the scripted one. Compared field by field: factory masks
/// secret-looking text in artifacts (the fixture's "bearer credentials" becomes "cred****"),
/// and the tasks are what later phases read.
fn assert_written_plan(s: &Scratch) {
    let written = s.artifact("strategic-plan.json");
    let expected = plan();
    for key in ["feature_title", "tasks", "validation_commands", "rollback"] {
        assert_eq!(written[key], expected[key], "{key}");
    }
    assert!(
        !written.to_string().contains("null"),
        "optional nulls are dropped"
    );
}

/// An approving review.
fn approving_review() -> Value {
    let text = std::fs::read_to_string(support::manifest(
        "tests/fixtures/agents/review-approve.json",
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Claude Code's tool for the answer to `--json-schema`, found in the request's `tools`.
const STRUCTURED_OUTPUT: &str = "StructuredOutput";

/// The structured-output tool offered in a recorded Messages request.
fn structured_output_tool(request: &Value) -> Value {
    request["body"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == STRUCTURED_OUTPUT)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no {STRUCTURED_OUTPUT} tool in {}",
                request["body"]["tools"]
            )
        })
}

/// Every request is a Messages call: nothing else (the connectivity check, telemetry, a title
/// request) went out.
fn assert_only_messages_calls(api: &ModelApi) {
    let summary = api.summary();
    assert!(
        summary.iter().all(|r| r.starts_with("POST /v1/messages")
            && !r.starts_with("POST /v1/messages/count_tokens")),
        "{summary:?}"
    );
}

#[test]
fn claude_plans_through_its_structured_output_tool_and_loads_no_repository_settings() {
    if !real_clis(&["claude"]) {
        return;
    }
    let s = Scratch::new("  planner:\n    adapter: claude\n    timeout_seconds: 60\n");
    // The repository's own Claude settings would run a hook in the planner's session.
    std::fs::create_dir_all(s.root().join(".claude")).unwrap();
    std::fs::write(
        s.root().join(".claude/settings.json"),
        r#"{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch pwned"}]}]}}"#,
    )
    .unwrap();
    let api = ModelApi::start(
        s.dir.path(),
        &json!([
            {"tool": STRUCTURED_OUTPUT, "input": plan(), "usage": {"input_tokens": 3000, "output_tokens": 800}},
            {"text": "The plan is above."}
        ]),
    );
    s.factory_for_claude(&api)
        .args([
            "plan",
            "strategic",
            "--request",
            "Let users reset their password by e-mail",
        ])
        .assert()
        .success();
    assert_written_plan(&s);

    let calls = api.model_requests();
    assert!(!calls.is_empty(), "{:?}", api.summary());
    let first = &calls[0];
    // The tool's input schema is factory's contract, without the dialect Claude rejects.
    let schema = &structured_output_tool(first)["input_schema"];
    assert!(schema.get("$schema").is_none(), "{schema}");
    let contract: Value = serde_json::from_str(
        &std::fs::read_to_string(support::manifest("schemas/strategic-plan.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        schema["required"], contract["required"],
        "the strategic-plan contract"
    );
    assert_eq!(schema["properties"], contract["properties"]);
    // Read-only tools only, and the prompt carries the repository's instructions.
    let tools: Vec<&str> = first["body"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|n| *n != STRUCTURED_OUTPUT && *n != "DeferredToolPlaceholder")
        .collect();
    assert_eq!(tools, ["Glob", "Grep", "Read"], "{tools:?}");
    let body = first["body"].to_string();
    assert!(body.contains("Run cargo test before finishing."));
    assert!(body.contains("Let users reset their password by e-mail"));
    assert_eq!(
        first["headers"]["x-api-key"], "<redacted>",
        "the key was sent"
    );

    // `--setting-sources ""`: the repository's SessionStart hook did not run.
    assert!(
        !s.root().join("pwned").exists(),
        "the repository's hook ran"
    );
    // CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: without it Claude Code first sends
    // `HEAD /api/hello`.
    assert_only_messages_calls(&api);
}

#[test]
fn codex_plans_with_a_strict_schema_and_a_reconnect_is_one_call_with_its_tokens() {
    if !real_clis(&["codex"]) {
        return;
    }
    let s = Scratch::new(
        "  planner:\n    adapter: codex\n    timeout_seconds: 60\n  prices:\n    default:\n      input_per_mtok: 1.0\n      cached_input_per_mtok: 0.1\n      output_per_mtok: 10.0\n",
    );
    s.factory()
        .args([
            "intake",
            "--request",
            "Let users reset their password by e-mail",
            "--class",
            "feature",
        ])
        .assert()
        .success();
    // Strict mode: optional fields come back as null, which factory drops.
    let mut answer = plan();
    answer["change_class"] = Value::Null;
    for task in answer["tasks"].as_array_mut().unwrap() {
        task["preventive_controls"] = Value::Null;
        task["validation_commands"] = Value::Null;
    }
    let api = ModelApi::start(
        s.dir.path(),
        &json!([
            {"drop": true},
            {"text": answer.to_string(), "usage": {"input_tokens": 20000, "cached_tokens": 5000, "output_tokens": 1500}}
        ]),
    );
    s.factory_for_codex(&api)
        .args([
            "plan",
            "strategic",
            "--agent",
            "codex",
            "--request",
            "Let users reset their password by e-mail",
        ])
        .assert()
        .success();
    assert_written_plan(&s);

    // Two HTTP attempts (the first cut short), both Responses calls through factory's provider.
    let calls = api.model_requests();
    assert_eq!(calls.len(), 2, "{:?}", api.summary());
    assert_eq!(api.summary(), ["POST /v1/responses", "POST /v1/responses"]);
    let first = &calls[0];
    assert_eq!(first["headers"]["authorization"], "<redacted>");
    assert_eq!(first["body"]["stream"], true);
    let format = &first["body"]["text"]["format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["strict"], true);
    assert_strict(&format["schema"], "$");
    let contract: Value = serde_json::from_str(
        &std::fs::read_to_string(support::manifest("schemas/strategic-plan.schema.json")).unwrap(),
    )
    .unwrap();
    let mut properties: Vec<&String> = format["schema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut expected: Vec<&String> = contract["properties"].as_object().unwrap().keys().collect();
    properties.sort();
    expected.sort();
    assert_eq!(properties, expected, "the strategic-plan contract's fields");
    assert!(
        first["body"]
            .to_string()
            .contains("Let users reset their password by e-mail"),
        "the prompt"
    );

    // One call in the session, with the completed attempt's tokens and cost.
    let session: Value = serde_json::from_str(
        &std::fs::read_to_string(s.root().join(".factory/session.json")).unwrap(),
    )
    .unwrap();
    let usage = session["usage"].as_array().unwrap();
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(usage[0]["agent"], "codex");
    assert_eq!(usage[0]["input_tokens"], 20000);
    assert_eq!(usage[0]["cached_input_tokens"], 5000);
    assert_eq!(usage[0]["output_tokens"], 1500);
    let cost = usage[0]["cost_usd"].as_f64().unwrap();
    let expected_cost = (15000.0 * 1.0 + 5000.0 * 0.1 + 1500.0 * 10.0) / 1e6;
    assert!((cost - expected_cost).abs() < 1e-9, "{cost}");
    let log = std::fs::read_to_string(s.root().join(".factory/workflow.log")).unwrap();
    let invocations: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"invoke_agent\""))
        .collect();
    assert_eq!(invocations.len(), 1, "{invocations:?}");
    assert!(
        invocations[0].contains("recovered: Reconnecting"),
        "{}",
        invocations[0]
    );
}

/// Strict mode's rules, at every object of `schema`: every property required, no others
/// allowed.
fn assert_strict(schema: &Value, at: &str) {
    match schema {
        Value::Object(o) => {
            if let Some(Value::Object(props)) = o.get("properties") {
                let required: Vec<&str> = o["required"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: no `required`"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                for key in props.keys() {
                    assert!(
                        required.contains(&key.as_str()),
                        "{at}: `{key}` not required"
                    );
                }
                assert_eq!(o.get("additionalProperties"), Some(&json!(false)), "{at}");
            }
            for (k, v) in o {
                assert_strict(v, &format!("{at}.{k}"));
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                assert_strict(v, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn claude_reviews_through_its_structured_output_tool() {
    if !real_clis(&["claude"]) {
        return;
    }
    let s = Scratch::new("  reviewer:\n    adapter: claude\n    timeout_seconds: 60\n");
    std::fs::write(
        s.root().join("change.diff"),
        "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,1 +1,2 @@\n pub fn f() {}\n+pub fn g() {}\n",
    )
    .unwrap();
    let api = ModelApi::start(
        s.dir.path(),
        &json!([
            {"tool": STRUCTURED_OUTPUT, "input": approving_review()},
            {"text": "Reviewed."}
        ]),
    );
    s.factory_for_claude(&api)
        .args(["review", "--diff", "change.diff", "--number", "7"])
        .assert()
        .success()
        .stdout(predicates::str::contains("APPROVE"));
    let review = s.artifact("reviews/7-1.json");
    assert_eq!(review["verdict"], "APPROVE");

    let calls = api.model_requests();
    assert!(!calls.is_empty(), "{:?}", api.summary());
    let schema = &structured_output_tool(&calls[0])["input_schema"];
    assert!(schema.get("$schema").is_none(), "{schema}");
    assert!(schema["properties"].get("verdict").is_some(), "{schema}");
    assert!(
        calls[0]["body"].to_string().contains("+pub fn g() {}"),
        "the diff is in the prompt"
    );
    assert_only_messages_calls(&api);
}

/// The file the implementer writes: task-001 of the bundled plan has it in scope.
const TASK_FILE: &str = "src/auth/reset_token.ts";
const TASK_CONTENT: &str = "export const resetTokenBytes = 32;\n";

/// A repository on the local forge with a one-task plan and its issues (#1 parent, #2
/// task-001), `implementer_yaml` under `agents:`, and its own HOME.
fn implementation_repo(implementer_yaml: &str) -> (support::repo::Repo, PathBuf) {
    let repo = support::repo::Repo::new();
    let home = repo.path().join(".factory/home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        repo.path().join(".factory/workflow.yaml"),
        format!(
            "backoff:\n  base_seconds: 0.01\n  factor: 2\n  max_seconds: 0.05\n  max_attempts: 2\nagents:\n  implementer:\n{implementer_yaml}"
        ),
    )
    .unwrap();
    repo.intake("Add password reset by e-mail", "feature");
    let mut plan = support::repo::plan();
    let first = plan["tasks"][0].clone();
    plan["tasks"] = json!([first]);
    repo.write_plan(&plan);
    isolated(repo.factory(), &home)
        .env("FACTORY_FORGE", "local")
        .args(["issues", "create"])
        .assert()
        .success();
    (repo, home)
}

/// `cmd` without the agent settings of the developer's environment, with HOME at `home`, on
/// the local forge.
fn isolated(cmd: assert_cmd::Command, home: &Path) -> assert_cmd::Command {
    let mut cmd = without_agent_settings(cmd, home);
    cmd.env("FACTORY_FORGE", "local");
    cmd
}

/// `cmd` without the agent settings of the developer's environment, with HOME at `home`.
fn without_agent_settings(mut cmd: assert_cmd::Command, home: &Path) -> assert_cmd::Command {
    for (name, _) in std::env::vars() {
        if [
            "ANTHROPIC_",
            "CLAUDE_",
            "OPENAI_",
            "CODEX_",
            "AZURE_OPENAI_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home);
    cmd
}

/// The branch of issue #2 holds the implementer's file, committed by factory.
fn assert_implemented(repo: &support::repo::Repo) {
    let branch = "feat/#2-reset-token-store";
    assert_eq!(
        repo.git(&["diff", "--name-only", &format!("main...{branch}")]),
        TASK_FILE
    );
    assert_eq!(
        repo.git(&["show", &format!("{branch}:{TASK_FILE}")]),
        TASK_CONTENT.trim_end()
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the checkout is untouched"
    );
}

/// The working directory a recorded request names: outside the repository.
fn assert_worktree_outside(request: &Value, repo: &support::repo::Repo) -> String {
    let text = request["body"].to_string();
    let cwd = ["Primary working directory: ", "<cwd>"]
        .iter()
        .find_map(|marker| {
            let start = text.find(marker)? + marker.len();
            let rest = &text[start..];
            let end = rest.find(['<', '\\', '"'])?;
            Some(rest[..end].to_string())
        })
        .unwrap_or_else(|| panic!("no working directory in the request"));
    let repo_dir = std::fs::canonicalize(repo.path()).unwrap();
    assert!(cwd.ends_with("/issue-2"), "{cwd}");
    assert!(!Path::new(&cwd).starts_with(&repo_dir), "{cwd}");
    cwd
}

#[test]
fn codex_implements_an_issue_through_its_apply_patch_tool() {
    if !real_clis(&["codex"]) {
        return;
    }
    let (repo, home) = implementation_repo("    adapter: codex\n    timeout_seconds: 60\n");
    // Codex 0.171 offers the model one freeform tool, `exec` (JavaScript), through which it
    // calls the others: `tools.apply_patch(patch)` edits files.
    let patch = format!(
        "*** Begin Patch\n*** Add File: {TASK_FILE}\n+{}\n*** End Patch\n",
        TASK_CONTENT.trim_end()
    );
    let script = format!(
        "const result = await tools.apply_patch({});\ntext(result);\n",
        serde_json::to_string(&patch).unwrap()
    );
    let api = ModelApi::start(
        &home,
        &json!([
            {"custom_tool": "exec", "input": script},
            {"text": "Added the reset token constant."}
        ]),
    );
    isolated(repo.factory(), &home)
        .env("OPENAI_BASE_URL", format!("{}/v1", api.url()))
        .env("OPENAI_API_KEY", "sk-test")
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    assert_implemented(&repo);

    let calls = api.model_requests();
    assert_eq!(calls.len(), 2, "{:?}", api.summary());
    assert_worktree_outside(&calls[0], &repo);
    let offered = calls[0]["body"]["input"].to_string();
    assert!(
        offered.contains("\"name\":\"exec\"") && offered.contains("apply_patch"),
        "Codex offers apply_patch through exec"
    );
    let metadata = calls[0]["body"]["client_metadata"]["x-codex-turn-metadata"]
        .as_str()
        .unwrap_or_default();
    assert!(
        metadata.contains("\"sandbox_mode\":\"workspace-write\""),
        "the implementer's sandbox: {metadata}"
    );
    // The second request carries the tool's result back: the patch applied.
    let result = calls[1]["body"]["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "custom_tool_call_output")
        .cloned()
        .expect("the exec result");
    assert!(result.to_string().contains("Script completed"), "{result}");
}

#[test]
fn claude_implements_an_issue_with_its_write_tool_in_the_worktree() {
    if !real_clis(&["claude"]) {
        return;
    }
    let (repo, home) = implementation_repo("    adapter: claude\n    timeout_seconds: 60\n");
    let api = ModelApi::start(
        &home,
        &json!([
            {"tool": "Write", "input": {"file_path": format!("{{{{cwd}}}}/{TASK_FILE}"), "content": TASK_CONTENT}},
            {"text": "Added the reset token constant."}
        ]),
    );
    isolated(repo.factory(), &home)
        .env("ANTHROPIC_BASE_URL", api.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .args(["implement", "--issue", "2"])
        .assert()
        .success();
    assert_implemented(&repo);

    let calls = api.model_requests();
    assert_eq!(calls.len(), 2, "{:?}", api.summary());
    assert_worktree_outside(&calls[0], &repo);
    let tools: Vec<&str> = calls[0]["body"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for tool in ["Read", "Grep", "Glob", "Edit", "Write", "Bash"] {
        assert!(tools.contains(&tool), "{tool} missing from {tools:?}");
    }
    // The Write went through: its result, not a refusal, went back to the model.
    let result = calls[1]["body"]["messages"].to_string();
    assert!(result.contains("tool_result"), "{result}");
    assert!(!result.contains("\"is_error\":true"), "{result}");
    assert_only_messages_calls(&api);
}
