//! Property tests over the semantic checker: arbitrary plans never panic, and the overlap
//! check agrees with concrete shared paths.

use factory::contracts::{self, Context, Contract};
use proptest::prelude::*;
use serde_json::{Value, json};

fn glob() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "src", "a", "b", "*", "**", "?", "[ab]", "{a,b}", "x.rs", "",
        ]),
        1..4,
    )
    .prop_map(|parts| parts.join("/"))
}

fn task(i: usize) -> impl Strategy<Value = Value> {
    (prop::collection::vec(glob(), 1..3), 1i64..4, prop::collection::vec(0usize..6, 0..3), prop::sample::select(vec!["low", "medium", "high"]))
        .prop_map(move |(scope, wave, deps, risk)| {
            let deps: Vec<String> = deps.into_iter().map(|d| format!("task-{d:03}")).collect();
            json!({"id": format!("task-{i:03}"), "title": "a task", "description": "d", "change_class": "feature",
                   "files_in_scope": scope, "dependencies": deps, "acceptance_criteria": ["works"],
                   "security_risk_level": risk, "wave": wave})
        })
}

fn plan() -> impl Strategy<Value = Value> {
    (1usize..6)
        .prop_flat_map(|n| (0..n).map(task).collect::<Vec<_>>())
        .prop_map(|tasks| json!({
            "schema_version": "1.0", "feature_title": "generated plan", "problem_statement": "a generated problem statement",
            "solution_overview": "a generated solution overview", "tasks": tasks,
            "validation_commands": {"build": "make", "test": "make test"}, "rollback": "git revert"
        }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_plans_never_panic(p in plan()) {
        for v in contracts::validate(Contract::StrategicPlan, &p, Context::default()) {
            prop_assert!(!v.code.is_empty());
        }
    }

    #[test]
    fn same_wave_tasks_sharing_a_literal_path_are_reported(path in "[a-c]{1,3}/[a-c]{1,3}\\.rs") {
        let p = json!({
            "schema_version": "1.0", "feature_title": "shared path", "problem_statement": "two tasks own one file here",
            "solution_overview": "detect the overlap exactly", "change_class": "refactor",
            "tasks": [
                {"id": "task-001", "title": "first task", "description": "d", "change_class": "refactor", "files_in_scope": [path.clone()], "acceptance_criteria": ["x"], "security_risk_level": "low", "wave": 1},
                {"id": "task-002", "title": "second task", "description": "d", "change_class": "refactor", "files_in_scope": ["*/*.rs"], "acceptance_criteria": ["x"], "security_risk_level": "low", "wave": 1}
            ],
            "validation_commands": {"build": "make", "test": "make test"}, "rollback": "git revert"
        });
        let v = contracts::validate(Contract::StrategicPlan, &p, Context::default());
        prop_assert!(v.iter().any(|x| x.code == "SP005"), "{:?}", v);
    }
}
