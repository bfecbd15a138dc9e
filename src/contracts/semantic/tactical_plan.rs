//! Tactical plan: its scope lies inside its task's scope, commands are real, steps stay in scope.

use serde_json::Value;

use crate::contracts::glob::{Scope, escapes, overlap};

use super::strategic_plan::check_commands;
use super::{Violation, strings};

fn compile(globs: &[String], pointer: &str, out: &mut Vec<Violation>) -> Option<Scope> {
    Scope::new(globs)
        .map_err(|e| {
            out.push(Violation::new(
                "TP006",
                pointer,
                format!("{e}; fix the glob syntax"),
            ))
        })
        .ok()
}

pub(crate) fn check(plan: &Value, strategic: Option<&Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    let handoff = &plan["handoff"];
    check_commands(
        &handoff["validation_commands"],
        "/handoff/validation_commands",
        &mut out,
    );
    let in_scope = strings(&handoff["in_scope_files"]);
    let Some(scope) = compile(&in_scope, "/handoff/in_scope_files", &mut out) else {
        return out;
    };
    let _ = compile(
        &strings(&handoff["out_of_scope_files"]),
        "/handoff/out_of_scope_files",
        &mut out,
    );

    // TP005 every step's file is in scope.
    for (i, step) in plan["implementation_steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(file) = step["file"].as_str()
            && !scope.matches(file.trim_start_matches("./"))
        {
            out.push(Violation::new("TP005", format!("/implementation_steps/{i}/file"), format!(
                "step {} changes `{file}`, which is not in handoff.in_scope_files; add it to the scope or drop the step",
                step["order"]
            )));
        }
    }

    // TP001-TP003 against the parent task.
    let Some(strategic) = strategic else {
        return out;
    };
    let task_id = plan["task_id"].as_str().unwrap_or("");
    let Some(task) = strategic["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == task_id)
    else {
        out.push(Violation::new(
            "TP002",
            "/task_id",
            format!("expected a task id of the strategic plan, found `{task_id}`"),
        ));
        return out;
    };
    let parent_globs = strings(&task["files_in_scope"]);
    if let Ok(parent) = Scope::new(&parent_globs)
        && let Some(path) = escapes(&scope, &parent)
    {
        out.push(Violation::new("TP001", "/handoff/in_scope_files", format!(
            "the scope allows `{path}`, which task `{task_id}` does not own (its scope: {}); narrow the tactical scope or re-plan the task",
            parent_globs.join(", ")
        )));
    }
    let excluded = strings(&task["files_out_of_scope"]);
    if !excluded.is_empty()
        && let Ok(excluded_scope) = Scope::new(&excluded)
        && let Some(path) = overlap(&scope, &excluded_scope)
    {
        out.push(Violation::new(
            "TP003",
            "/handoff/in_scope_files",
            format!("the scope allows `{path}`, which task `{task_id}` lists as out of scope"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tactical(scope: &[&str], steps: &[&str]) -> Value {
        let steps: Vec<Value> = steps
            .iter()
            .enumerate()
            .map(
                |(i, f)| json!({"order": i + 1, "file": f, "action": "modify", "description": "x"}),
            )
            .collect();
        json!({"task_id": "task-001", "implementation_steps": steps,
               "handoff": {"in_scope_files": scope, "out_of_scope_files": [], "validation_commands": {"build": "make", "test": "make test"}, "rollback": "revert"}})
    }

    fn strategic() -> Value {
        json!({"tasks": [{"id": "task-001", "files_in_scope": ["src/api/", "tests/api_*.rs"], "files_out_of_scope": ["src/api/secrets.rs"]}]})
    }

    fn codes(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|x| x.code).collect()
    }

    #[test]
    fn scope_inside_the_task_passes() {
        let t = tactical(
            &["src/api/users.rs", "tests/api_users.rs"],
            &["src/api/users.rs"],
        );
        assert!(check(&t, Some(&strategic())).is_empty());
    }

    #[test]
    fn scope_outside_or_excluded_or_unknown_task() {
        let v = check(
            &tactical(&["src/**"], &["src/api/users.rs"]),
            Some(&strategic()),
        );
        assert_eq!(codes(&v), vec!["TP001", "TP003"]);
        let mut t = tactical(&["src/api/a.rs"], &["src/db.rs"]);
        assert_eq!(codes(&check(&t, Some(&strategic()))), vec!["TP005"]);
        t["task_id"] = json!("task-042");
        t["implementation_steps"] = json!([]);
        assert_eq!(codes(&check(&t, Some(&strategic()))), vec!["TP002"]);
        t["handoff"]["validation_commands"]["test"] = json!("echo ok");
        assert!(codes(&check(&t, None)).contains(&"TP004"));
    }
}
