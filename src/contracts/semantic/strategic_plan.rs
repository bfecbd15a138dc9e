//! Strategic plan: task graph, waves, scopes, validation commands, threat model, ADRs.

use std::collections::HashMap;

use serde_json::Value;

use crate::contracts::glob::{Scope, may_overlap, overlap};

use super::commands::placeholder;
use super::{Violation, strings};

/// Classes ordered by how much process they demand.
const CLASS_ORDER: &[&str] = &["hotfix", "refactor", "feature", "risky-infra"];

pub(crate) fn check(plan: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let tasks = plan["tasks"].as_array().cloned().unwrap_or_default();

    // SP001 unique ids.
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, t) in tasks.iter().enumerate() {
        let id = t["id"].as_str().unwrap_or("").to_string();
        if let Some(first) = index.get(&id) {
            out.push(Violation::new(
                "SP001",
                format!("/tasks/{i}/id"),
                format!(
                    "task id `{id}` is already used by /tasks/{first}; give every task its own id"
                ),
            ));
        } else {
            index.insert(id, i);
        }
    }

    // SP002 known dependencies, SP004 earlier waves.
    for (i, t) in tasks.iter().enumerate() {
        let wave = t["wave"].as_i64().unwrap_or(0);
        for (j, dep) in strings(&t["dependencies"]).iter().enumerate() {
            match index.get(dep) {
                None => out.push(Violation::new(
                    "SP002",
                    format!("/tasks/{i}/dependencies/{j}"),
                    format!("expected the id of a task in this plan, found `{dep}`"),
                )),
                Some(&d) => {
                    let dep_wave = tasks[d]["wave"].as_i64().unwrap_or(0);
                    if dep_wave >= wave && d != i {
                        out.push(Violation::new("SP004", format!("/tasks/{i}/dependencies/{j}"), format!(
                            "`{}` (wave {wave}) depends on `{dep}` in wave {dep_wave}: a dependency must sit in an earlier wave",
                            t["id"].as_str().unwrap_or("")
                        )));
                    }
                }
            }
        }
    }

    // SP003 cycles.
    if let Some(cycle) = find_cycle(&tasks, &index) {
        let at = index.get(&cycle[0]).copied().unwrap_or(0);
        out.push(Violation::new(
            "SP003",
            format!("/tasks/{at}/dependencies"),
            format!(
                "dependency cycle: {}; break it by removing one dependency",
                cycle.join(" → ")
            ),
        ));
    }

    // SP009 + SP005 disjoint scopes within a wave. Each glob is compiled on its own so the
    // prefix prefilter can skip most pairs before the automata are searched.
    let mut scopes: Vec<Vec<(String, Scope)>> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let mut compiled = Vec::new();
        for (j, g) in strings(&t["files_in_scope"]).into_iter().enumerate() {
            match Scope::new(&[g.as_str()]) {
                Ok(s) => compiled.push((g, s)),
                Err(e) => out.push(Violation::new(
                    "SP009",
                    format!("/tasks/{i}/files_in_scope/{j}"),
                    format!("{e}; fix the glob syntax"),
                )),
            }
        }
        for (j, g) in strings(&t["files_out_of_scope"]).into_iter().enumerate() {
            if let Err(e) = Scope::new(&[g.as_str()]) {
                out.push(Violation::new(
                    "SP009",
                    format!("/tasks/{i}/files_out_of_scope/{j}"),
                    format!("{e}; fix the glob syntax"),
                ));
            }
        }
        scopes.push(compiled);
    }
    let mut by_wave: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, t) in tasks.iter().enumerate() {
        by_wave
            .entry(t["wave"].as_i64().unwrap_or(0))
            .or_default()
            .push(i);
    }
    let mut waves: Vec<_> = by_wave.into_iter().collect();
    waves.sort();
    for (wave, members) in waves {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let shared = scopes[i].iter().find_map(|(ga, sa)| {
                    scopes[j].iter().find_map(|(gb, sb)| {
                        if !may_overlap(ga, gb) {
                            return None;
                        }
                        overlap(sa, sb).map(|path| (path, ga.clone(), gb.clone()))
                    })
                });
                if let Some((path, glob_a, glob_b)) = shared {
                    out.push(Violation::new("SP005", format!("/tasks/{j}/files_in_scope"), format!(
                        "`{}` and `{}` are both in wave {wave} and can both change `{path}` (`{glob_a}` and `{glob_b}`); give each file one owner or move a task to another wave",
                        tasks[i]["id"].as_str().unwrap_or(""),
                        tasks[j]["id"].as_str().unwrap_or(""),
                    )));
                }
            }
        }
    }

    // SP006 placeholder commands.
    check_commands(
        &plan["validation_commands"],
        "/validation_commands",
        &mut out,
    );
    for (i, t) in tasks.iter().enumerate() {
        check_commands(
            &t["validation_commands"],
            &format!("/tasks/{i}/validation_commands"),
            &mut out,
        );
    }

    // SP007 threat assessment (every plan but a hotfix's: a refactor can open a hole too),
    // SP008 ADR.
    let class = effective_class(plan, &tasks);
    if class != "hotfix" && !has_threat_assessment(plan, &tasks) {
        out.push(Violation::new("SP007", "/threat_assessment", format!(
            "a {class} plan needs a threat assessment: add `threat_assessment` with a summary, or `security_notes` on every task of medium or higher risk"
        )));
    }
    if class == "risky-infra"
        && plan["architectural_decisions"]
            .as_array()
            .is_none_or(Vec::is_empty)
    {
        out.push(Violation::new("SP008", "/architectural_decisions", "a risky-infra plan needs at least one architectural decision record in `architectural_decisions`"));
    }
    out
}

pub(crate) fn check_commands(commands: &Value, pointer: &str, out: &mut Vec<Violation>) {
    let Some(map) = commands.as_object() else {
        return;
    };
    for (name, value) in map {
        if let Some(cmd) = value.as_str()
            && let Some(why) = placeholder(cmd)
        {
            let code = if pointer.starts_with("/handoff") {
                "TP004"
            } else {
                "SP006"
            };
            out.push(Violation::new(
                code,
                format!("{pointer}/{name}"),
                format!(
                    "expected a command that proves the change works, found `{cmd}`, which {why}"
                ),
            ));
        }
    }
}

fn effective_class<'a>(plan: &'a Value, tasks: &'a [Value]) -> &'a str {
    if let Some(c) = plan["change_class"].as_str() {
        return c;
    }
    tasks
        .iter()
        .filter_map(|t| t["change_class"].as_str())
        .max_by_key(|c| CLASS_ORDER.iter().position(|o| o == c).unwrap_or(0))
        .unwrap_or("feature")
}

fn has_threat_assessment(plan: &Value, tasks: &[Value]) -> bool {
    if plan["threat_assessment"]["summary"]
        .as_str()
        .is_some_and(|s| !s.trim().is_empty())
    {
        return true;
    }
    let noted = |t: &Value| {
        t["security_notes"]
            .as_str()
            .is_some_and(|s| !s.trim().is_empty())
    };
    let risky = |t: &Value| {
        matches!(
            t["security_risk_level"].as_str(),
            Some("medium" | "high" | "critical")
        )
    };
    tasks.iter().any(noted) && tasks.iter().filter(|t| risky(t)).all(noted)
}

/// A dependency cycle as a list of ids (first repeated at the end), if any.
fn find_cycle(tasks: &[Value], index: &HashMap<String, usize>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; tasks.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        n: usize,
        tasks: &[Value],
        index: &HashMap<String, usize>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[n] = Mark::Open;
        stack.push(n);
        for dep in tasks[n]["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let Some(&d) = index.get(dep) else { continue };
            match marks[d] {
                Mark::Open => {
                    let start = stack.iter().position(|s| *s == d).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(d);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(d, tasks, index, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[n] = Mark::Done;
        None
    }
    for n in 0..tasks.len() {
        if marks[n] == Mark::New
            && let Some(cycle) = visit(n, tasks, index, &mut marks, &mut stack)
        {
            return Some(
                cycle
                    .into_iter()
                    .map(|i| tasks[i]["id"].as_str().unwrap_or("").to_string())
                    .collect(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(tasks: Value) -> Value {
        json!({"schema_version": "1.0", "tasks": tasks, "validation_commands": {"build": "make", "test": "make test"},
               "threat_assessment": {"summary": "no new attack surface beyond the API"}})
    }

    fn task(id: &str, wave: i64, scope: &[&str], deps: &[&str]) -> Value {
        json!({"id": id, "wave": wave, "files_in_scope": scope, "dependencies": deps, "change_class": "feature", "security_risk_level": "low"})
    }

    fn codes(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|x| x.code).collect()
    }

    #[test]
    fn a_clean_plan_has_no_violations() {
        let p = plan(json!([
            task("task-001", 1, &["src/a.rs"], &[]),
            task("task-002", 2, &["src/a.rs"], &["task-001"])
        ]));
        assert!(check(&p).is_empty(), "{:?}", check(&p));
    }

    #[test]
    fn graph_errors() {
        let p = plan(json!([
            task("task-001", 1, &["a"], &["task-009"]),
            task("task-001", 1, &["b"], &[]),
            task("task-002", 1, &["c"], &["task-003"]),
            task("task-003", 2, &["d"], &["task-002"]),
        ]));
        let found = check(&p);
        let c = codes(&found);
        assert!(
            c.contains(&"SP001")
                && c.contains(&"SP002")
                && c.contains(&"SP003")
                && c.contains(&"SP004"),
            "{c:?}"
        );
        let cycle = check(&p).into_iter().find(|v| v.code == "SP003").unwrap();
        assert!(
            cycle.message.contains("task-002 → task-003 → task-002"),
            "{}",
            cycle.message
        );
    }

    #[test]
    fn overlapping_globs_in_one_wave_name_a_shared_path() {
        let p = plan(json!([
            task("task-001", 1, &["src/**/*.ts"], &[]),
            task("task-002", 1, &["src/models/"], &[])
        ]));
        let v = check(&p);
        assert_eq!(codes(&v), vec!["SP005"]);
        assert!(v[0].message.contains("src/models/"), "{}", v[0].message);
    }

    #[test]
    fn threat_assessment_and_adr_by_class() {
        let mut p = plan(json!([task("task-001", 1, &["a"], &[])]));
        p.as_object_mut().unwrap().remove("threat_assessment");
        assert_eq!(codes(&check(&p)), vec!["SP007"]);
        p["tasks"][0]["security_notes"] = json!("no secrets handled");
        assert!(check(&p).is_empty());
        p["change_class"] = json!("risky-infra");
        assert_eq!(codes(&check(&p)), vec!["SP008"]);
        p["change_class"] = json!("refactor");
        p["tasks"][0]
            .as_object_mut()
            .unwrap()
            .remove("security_notes");
        assert_eq!(
            codes(&check(&p)),
            vec!["SP007"],
            "a refactor plan needs one too"
        );
        p["change_class"] = json!("hotfix");
        assert!(check(&p).is_empty());
    }
}
