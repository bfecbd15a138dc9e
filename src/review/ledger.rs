//! The review ledger of one pull request: every finding any review of it reported, by
//! fingerprint, with the cycle it was first and last reported in, its status and where its
//! inline comment was posted. Kept in `.factory/artifacts/review-ledger/<pr>.json`, written
//! atomically. docs/review.md describes it for users.
//!
//! Statuses after review cycle `c`:
//! - **open**: reported in cycle `c`.
//! - **resolved**: reported earlier, not in cycle `c`, and the code it flagged is still in the
//!   pull request's diff (the same text, on the same side, anywhere in the same file): the
//!   problem was fixed without touching that code, or the reviewer no longer sees it. A finding
//!   about a whole file (no line in the diff) is resolved while the file is still in the diff.
//! - **outdated**: reported earlier, not in cycle `c`, and the code it flagged is no longer in
//!   the diff (the line was changed or removed, or the file left the pull request), so the
//!   finding no longer applies to anything the pull request shows.
//!
//! A resolved or outdated finding keeps its status until a later review reports it again, which
//! makes it open again. Each finding gets at most one inline comment in the life of the pull
//! request.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fingerprint::{code_present, flagged_code, path_of};
use super::post::DiffLines;
use crate::forge::Side;
use crate::state::{StateDir, StateError};

/// Where a finding stands after the latest review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Resolved,
    Outdated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Outdated => "outdated",
        }
    }
}

/// Where a finding's inline comment was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inline {
    pub cycle: u32,
    pub path: String,
    pub line: u32,
    pub side: Side,
}

/// One finding of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub severity: String,
    pub category: String,
    pub path: String,
    /// The line it was last reported on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub description: String,
    /// The hash of the flagged code, its side and length in lines (`None`: about the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_lines: Option<u32>,
    pub first_cycle: u32,
    /// The last cycle that reported it.
    pub last_cycle: u32,
    pub status: Status,
    /// The cycle its status was last set in.
    pub status_cycle: u32,
    /// Its inline comment, if one was posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<Inline>,
}

/// The ledger of one pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub schema_version: u32,
    pub pr: u64,
    /// The review cycle last applied.
    pub cycle: u32,
    pub findings: Vec<Entry>,
    /// The findings as they stood before `cycle` was applied: running the same cycle again
    /// (after a crash) starts from here, so it counts nothing twice.
    #[serde(default)]
    pub before: Vec<Entry>,
}

/// Counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub open: usize,
    pub resolved: usize,
    pub outdated: usize,
}

/// The ledger's path relative to the artifacts directory.
pub fn rel_path(pr: u64) -> String {
    format!("review-ledger/{pr}.json")
}

impl Ledger {
    /// The ledger of `pr`, if one was written.
    pub fn load(state: &StateDir, pr: u64) -> anyhow::Result<Option<Ledger>> {
        let path = state.artifacts_dir().join(rel_path(pr));
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a review ledger: {e}; delete it to start the ledger again (docs/review.md)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    /// Write the ledger atomically.
    pub fn save(&self, state: &StateDir) -> Result<PathBuf, StateError> {
        let value = serde_json::to_value(self).expect("a ledger serialises");
        state.write_artifact(&rel_path(self.pr), &value)
    }

    /// The ledger after review cycle `cycle` of `pr` reported `findings` (fingerprinted) on the
    /// diff `lines`. Running a cycle the ledger already holds starts again from `before`.
    pub fn apply(
        prev: Option<Ledger>,
        pr: u64,
        cycle: u32,
        findings: &[Value],
        lines: &DiffLines,
    ) -> Ledger {
        let base = match prev {
            Some(l) if l.cycle == cycle => l.before,
            Some(l) => l.findings,
            None => Vec::new(),
        };
        let mut entries: Vec<Entry> = base.clone();
        let mut index: BTreeMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.fingerprint.clone(), i))
            .collect();
        let mut reported = std::collections::BTreeSet::new();
        for f in findings {
            let Some(fp) = f["fingerprint"].as_str() else {
                continue;
            };
            reported.insert(fp.to_string());
            let path = path_of(f);
            let code = flagged_code(lines, &path, f);
            let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
            let line = f["line"]
                .as_u64()
                .and_then(|l| u32::try_from(l).ok())
                .filter(|l| *l > 0);
            match index.get(fp) {
                Some(&i) => {
                    let e = &mut entries[i];
                    if e.status != Status::Open {
                        e.status = Status::Open;
                        e.status_cycle = cycle;
                    }
                    e.last_cycle = cycle;
                    e.severity = text("severity");
                    e.description = text("description");
                    e.line = line;
                    if let Some((side, c, n)) = code {
                        (e.side, e.code, e.code_lines) = (Some(side), Some(c), Some(n));
                    }
                }
                None => {
                    index.insert(fp.to_string(), entries.len());
                    entries.push(Entry {
                        fingerprint: fp.to_string(),
                        severity: text("severity"),
                        category: text("category"),
                        path,
                        line,
                        description: text("description"),
                        side: code.as_ref().map(|c| c.0),
                        code_lines: code.as_ref().map(|c| c.2),
                        code: code.map(|c| c.1),
                        first_cycle: cycle,
                        last_cycle: cycle,
                        status: Status::Open,
                        status_cycle: cycle,
                        inline: None,
                    });
                }
            }
        }
        for e in entries.iter_mut() {
            if e.status != Status::Open || reported.contains(&e.fingerprint) {
                continue;
            }
            let still_there = match (&e.code, e.side) {
                (Some(code), Some(side)) => {
                    code_present(lines, &e.path, side, code, e.code_lines.unwrap_or(1))
                }
                _ => lines.has_file(&e.path),
            };
            e.status = if still_there {
                Status::Resolved
            } else {
                Status::Outdated
            };
            e.status_cycle = cycle;
        }
        Ledger {
            schema_version: 1,
            pr,
            cycle,
            findings: entries,
            before: base,
        }
    }

    pub fn get(&self, fingerprint: &str) -> Option<&Entry> {
        self.findings.iter().find(|e| e.fingerprint == fingerprint)
    }

    pub fn get_mut(&mut self, fingerprint: &str) -> Option<&mut Entry> {
        self.findings
            .iter_mut()
            .find(|e| e.fingerprint == fingerprint)
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for e in &self.findings {
            match e.status {
                Status::Open => c.open += 1,
                Status::Resolved => c.resolved += 1,
                Status::Outdated => c.outdated += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::fingerprint::assign;
    use serde_json::json;

    const FILE: &str = "src/a.rs";

    fn diff(added: &[&str]) -> String {
        let body: String = added.iter().map(|l| format!("+{l}\n")).collect();
        format!(
            "diff --git a/{FILE} b/{FILE}\n--- a/{FILE}\n+++ b/{FILE}\n@@ -0,0 +1,{} @@\n{body}",
            added.len()
        )
    }

    fn finding(line: u64, category: &str) -> Value {
        json!({"severity": "important", "category": category, "file": FILE, "line": line,
            "description": "d", "recommendation": "r"})
    }

    fn run(prev: Option<Ledger>, cycle: u32, diff: &str, mut findings: Vec<Value>) -> Ledger {
        let lines = DiffLines::of(diff);
        assign(&mut findings, &[], &lines);
        Ledger::apply(prev, 5, cycle, &findings, &lines)
    }

    #[test]
    fn findings_stay_open_then_resolve_or_go_outdated() {
        let d1 = diff(&["let a = 1;", "let b = 2;", "let c = 3;"]);
        let l1 = run(
            None,
            1,
            &d1,
            vec![
                finding(1, "quality"),
                finding(2, "injection"),
                finding(3, "testing"),
            ],
        );
        assert_eq!(
            l1.counts(),
            Counts {
                open: 3,
                resolved: 0,
                outdated: 0
            }
        );
        // Cycle 2: a line inserted on top; `a` still reported (shifted), `b` no longer reported
        // but its code is still there (resolved), `c` changed (outdated).
        let d2 = diff(&["use x;", "let a = 1;", "let b = 2;", "let c = 4;"]);
        let l2 = run(Some(l1.clone()), 2, &d2, vec![finding(2, "quality")]);
        assert_eq!(
            l2.counts(),
            Counts {
                open: 1,
                resolved: 1,
                outdated: 1
            }
        );
        let open = l2
            .findings
            .iter()
            .find(|e| e.status == Status::Open)
            .unwrap();
        assert_eq!(
            (open.first_cycle, open.last_cycle, open.line),
            (1, 2, Some(2))
        );
        let resolved = l2
            .findings
            .iter()
            .find(|e| e.status == Status::Resolved)
            .unwrap();
        assert_eq!(
            (resolved.category.as_str(), resolved.status_cycle),
            ("injection", 2)
        );
        // Running cycle 2 again gives the same ledger, not a second round of changes.
        let again = run(Some(l2.clone()), 2, &d2, vec![finding(2, "quality")]);
        assert_eq!(again, l2);
        // Cycle 3: the file left the pull request; the open one goes outdated, the others keep
        // their status; the resolved one reported again is open again.
        let other = "diff --git a/src/b.rs b/src/b.rs\n--- a/src/b.rs\n+++ b/src/b.rs\n@@ -0,0 +1,1 @@\n+x\n";
        let l3 = run(Some(l2), 3, other, vec![]);
        assert_eq!(
            l3.counts(),
            Counts {
                open: 0,
                resolved: 1,
                outdated: 2
            }
        );
        let l4 = run(Some(l3), 4, &d2, vec![finding(3, "injection")]);
        let back = l4
            .findings
            .iter()
            .find(|e| e.category == "injection")
            .unwrap();
        assert_eq!(
            (back.status, back.status_cycle, back.first_cycle),
            (Status::Open, 4, 1)
        );
    }

    #[test]
    fn a_finding_about_the_file_resolves_while_the_file_is_in_the_diff() {
        let d = diff(&["x"]);
        let mut f = finding(0, "testing");
        f.as_object_mut().unwrap().remove("line");
        let l1 = run(None, 1, &d, vec![f]);
        assert!(l1.findings[0].code.is_none());
        let l2 = run(Some(l1.clone()), 2, &d, vec![]);
        assert_eq!(l2.findings[0].status, Status::Resolved);
        let l2 = run(Some(l1), 2, "", vec![]);
        assert_eq!(l2.findings[0].status, Status::Outdated);
    }
}
