//! Heuristics pack: preflight patterns compile and have unique ids.

use std::collections::HashMap;

use serde_json::Value;

use crate::contracts::glob::Scope;

use super::Violation;

pub(crate) fn check(pack: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (i, p) in pack["preflight_patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(re) = p["regex"].as_str()
            && let Err(e) = regex::Regex::new(re)
        {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            out.push(Violation::new(
                "HP001",
                format!("/preflight_patterns/{i}/regex"),
                format!("the regex does not compile: {first}"),
            ));
        }
        if let Some(id) = p["id"].as_str() {
            if let Some(first) = ids.get(id) {
                out.push(Violation::new(
                    "HP002",
                    format!("/preflight_patterns/{i}/id"),
                    format!("`{id}` is already used by /preflight_patterns/{first}"),
                ));
            } else {
                ids.insert(id.to_string(), i);
            }
        }
        for (j, g) in p["paths"].as_array().into_iter().flatten().enumerate() {
            if let Some(g) = g.as_str()
                && let Err(e) = Scope::new(&[g])
            {
                out.push(Violation::new(
                    "HP003",
                    format!("/preflight_patterns/{i}/paths/{j}"),
                    e.to_string(),
                ));
            }
        }
    }
    out
}
