//! Contract validation benchmark: a generated 1 MB strategic plan through schema and semantic
//! checks, the change-class decision of intake on a long request, and the start-up time of
//! `factory --version`. Prints figures and their ratio to the targets (20 ms, 2 ms and 5 ms);
//! run with `cargo bench --bench contracts`.

use std::process::Command;
use std::time::{Duration, Instant};

use factory::contracts::{self, Context, Contract};
use serde_json::{Value, json};

/// A plan of about `bytes` bytes: tasks of realistic size, ten per wave, disjoint scopes,
/// dependencies on the previous wave.
fn plan(bytes: usize) -> Value {
    let criterion = "WHEN a request arrives with an expired token THEN the service answers 401 and logs the attempt without the token value";
    let mut tasks = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < bytes {
        let wave = i / 10 + 1;
        let deps: Vec<String> = if wave > 1 {
            vec![format!("task-{:03}", (wave - 2) * 10)]
        } else {
            vec![]
        };
        let task = json!({
            "id": format!("task-{:03}", i % 1000),
            "title": format!("Implement component {i} of the service"),
            "description": "Implements one component end to end: model, service, handler and tests, following the existing error handling and logging conventions.".repeat(3),
            "change_class": "feature",
            "files_in_scope": [format!("src/component_{i}/**"), format!("tests/component_{i}_*.rs"), format!("docs/component_{i}.md")],
            "files_out_of_scope": ["src/shared/**"],
            "dependencies": deps,
            "acceptance_criteria": vec![criterion; 8],
            "security_risk_level": "medium",
            "security_notes": "Validates every input at the boundary; secrets come from the environment only.",
            "wave": wave
        });
        size += task.to_string().len();
        tasks.push(task);
        i += 1;
    }
    json!({
        "schema_version": "1.0", "feature_title": "Generated benchmark plan",
        "problem_statement": "A large plan that exercises every schema and semantic check.",
        "solution_overview": "Many tasks in many waves with disjoint scopes.",
        "tasks": tasks,
        "validation_commands": {"build": "cargo build", "test": "cargo test"},
        "rollback": "git revert the merge commits"
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let doc = plan(1024 * 1024);
    let text = doc.to_string();
    let tasks = doc["tasks"].as_array().map_or(0, Vec::len);
    // Warm up: compile the schema once, as a long-running process would.
    assert!(contracts::validate(Contract::StrategicPlan, &doc, Context::default()).is_empty());
    let mut parse_and_check = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let parsed = contracts::input::parse("bench.json", text.as_bytes()).unwrap();
        let violations = contracts::validate(Contract::StrategicPlan, &parsed, Context::default());
        parse_and_check.push(start.elapsed());
        assert!(violations.is_empty());
    }
    let validate = median(parse_and_check);
    println!(
        "validate 1 MB strategic plan ({} bytes, {tasks} tasks): {:.2} ms median (target 20 ms, {:.2}x of target)",
        text.len(),
        validate.as_secs_f64() * 1e3,
        validate.as_secs_f64() * 1e3 / 20.0
    );

    // Intake's classifier on a long request (every vocabulary family compiled once, as in a
    // process that classifies one request: the first call is measured separately).
    let request = "Since the last deploy customers can't log in: the session cookie is rejected \
        and the load balancer health checks fail. We also need to rotate the credentials in \
        Secrets Manager and move the Terraform VPC module to the new AWS provider, without \
        changing behaviour of the billing service. "
        .repeat(8);
    let start = Instant::now();
    let first =
        factory::intake::classify::classify(&request, factory::workflow::Trigger::User, None, &[]);
    let cold = start.elapsed();
    let mut runs = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let c = factory::intake::classify::classify(
            &request,
            factory::workflow::Trigger::User,
            None,
            &[],
        );
        runs.push(start.elapsed());
        assert_eq!(c.class, first.class);
    }
    let classify = median(runs);
    println!(
        "classify a {}-byte request: {:.3} ms median (target 2 ms, {:.2}x of target); first call with the vocabulary compiled: {:.2} ms",
        request.len(),
        classify.as_secs_f64() * 1e3,
        classify.as_secs_f64() * 1e3 / 2.0,
        cold.as_secs_f64() * 1e3
    );

    let bin = env!("CARGO_BIN_EXE_factory");
    let mut starts = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let status = Command::new(bin).arg("--version").output().unwrap().status;
        starts.push(start.elapsed());
        assert!(status.success());
    }
    let startup = median(starts);
    // Process spawn cost on this machine, for context: `true` does nothing.
    let mut baseline = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let _ = Command::new("true").output();
        baseline.push(start.elapsed());
    }
    let baseline = median(baseline);
    println!(
        "factory --version: {:.2} ms median (target 5 ms, {:.2}x of target); spawning `true`: {:.2} ms ({:.2}x)",
        startup.as_secs_f64() * 1e3,
        startup.as_secs_f64() * 1e3 / 5.0,
        baseline.as_secs_f64() * 1e3,
        startup.as_secs_f64() / baseline.as_secs_f64()
    );
}
