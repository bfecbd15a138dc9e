//! Stable fingerprints of review findings, so a re-review recognises a finding it reported
//! before even when the code moved up or down.
//!
//! A fingerprint is a hash of three things and nothing else:
//! - the concern: the rule id of a machine finding (`secret-aws-access-key`), the category of an
//!   agent finding (`injection`);
//! - the path of the file;
//! - the flagged code: the text of the flagged line(s) as the diff shows them, with whitespace
//!   runs collapsed to one space and trimmed, tagged with the side (new or removed code).
//!
//! The line number is left out on purpose: lines inserted above a finding do not change it.
//! The description is left out too, because an agent words the same finding differently from
//! one run to the next. Factory computes every fingerprint itself; one an agent supplies is
//! discarded. Two findings of one review with the same fingerprint (same concern on the same
//! code) are told apart by their order: the second gets `-2`, the third `-3`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::post::DiffLines;
use crate::findings::Finding;
use crate::forge::Side;

/// Lines of one finding's range that go into its fingerprint at most.
const MAX_LINES: u32 = 20;

/// `code` with every run of whitespace collapsed to one space, trimmed.
pub fn normalise(code: &str) -> String {
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The code a finding flags, as the diff shows it: its side, the hash of its normalised text
/// and how many lines it spans. `None` when the finding has no line or its line is not in the
/// diff.
pub fn flagged_code(lines: &DiffLines, path: &str, f: &Value) -> Option<(Side, String, u32)> {
    let first = f["line"]
        .as_u64()
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l > 0)?;
    let last = f["end_line"]
        .as_u64()
        .and_then(|l| u32::try_from(l).ok())
        .filter(|l| *l >= first)
        .unwrap_or(first)
        .min(first.saturating_add(MAX_LINES - 1));
    let (side, _) = lines.code(path, first)?;
    let (code, span) = span(lines, path, side, first, last)?;
    Some((side, code, span))
}

/// The hash of lines `first..=last` of `path` on `side`, stopping at the first line the diff
/// does not show, and how many lines that is.
fn span(lines: &DiffLines, path: &str, side: Side, first: u32, last: u32) -> Option<(String, u32)> {
    let mut code = normalise(lines.code_on(path, side, first)?);
    let mut n = 1;
    for l in first + 1..=last {
        match lines.code_on(path, side, l) {
            Some(t) => {
                code.push('\n');
                code.push_str(&normalise(t));
                n += 1;
            }
            None => break,
        }
    }
    Some((code_hash(side, &code), n))
}

/// Whether code with hash `code`, `lines_long` lines on `side`, is anywhere in `path`'s part
/// of the diff.
pub fn code_present(
    lines: &DiffLines,
    path: &str,
    side: Side,
    code: &str,
    lines_long: u32,
) -> bool {
    lines.numbers(path, side).any(|first| {
        span(lines, path, side, first, first + lines_long.max(1) - 1)
            .is_some_and(|(c, n)| n == lines_long.max(1) && c == code)
    })
}

/// The hash of normalised code on `side`: what the ledger keeps to tell later whether the
/// flagged code is still in the diff (the code itself is not stored).
pub fn code_hash(side: Side, normalised: &str) -> String {
    let tag = match side {
        Side::Right => "+",
        Side::Left => "-",
    };
    hash(&["code", tag, normalised])
}

/// The fingerprint of a finding about `concern` in `path` on the code `code` (a
/// [`code_hash`]; `None` for a finding about the whole file).
pub fn fingerprint(concern: &str, path: &str, code: Option<&str>) -> String {
    format!(
        "rf-{}",
        hash(&["review-finding/1", concern, path, code.unwrap_or("")])
    )
}

/// A finding's path as the diff names it.
pub fn path_of(f: &Value) -> String {
    f["file"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("./")
        .to_string()
}

/// Give every finding of a merged review its fingerprint (replacing whatever it carried). A
/// finding that still carries the preflight fingerprint of a machine finding is that machine
/// finding, and its concern is the rule id; any other finding's concern is its category.
pub fn assign(findings: &mut [Value], machine: &[Finding], lines: &DiffLines) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings.iter_mut() {
        let rule = f["fingerprint"]
            .as_str()
            .and_then(|fp| machine.iter().find(|m| m.fingerprint == fp))
            .map(|m| format!("rule:{}", m.rule_id));
        let concern = rule
            .unwrap_or_else(|| format!("category:{}", f["category"].as_str().unwrap_or("quality")));
        let path = path_of(f);
        let code = flagged_code(lines, &path, f).map(|(_, c, _)| c);
        let base = fingerprint(&concern, &path, code.as_deref());
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let fp = if *n == 1 { base } else { format!("{base}-{n}") };
        f["fingerprint"] = json!(fp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Category, Severity};

    fn diff(lines_above: usize) -> String {
        let mut body = String::new();
        for i in 0..lines_above {
            body.push_str(&format!("+// note {i}\n"));
        }
        body.push_str("+let q = format!(\"SELECT * FROM t WHERE id = {}\", id);\n");
        body.push_str("+run(q);\n");
        let n = lines_above + 2;
        format!(
            "diff --git a/src/db.rs b/src/db.rs\n--- a/src/db.rs\n+++ b/src/db.rs\n@@ -0,0 +1,{n} @@\n{body}"
        )
    }

    fn agent(line: u64) -> Value {
        json!({"severity": "critical", "category": "injection", "file": "src/db.rs", "line": line,
            "description": "SQL built from input", "recommendation": "bind it"})
    }

    fn fp_of(diff: &str, mut f: Value, machine: &[Finding]) -> String {
        let lines = DiffLines::of(diff);
        let mut v = [f.take()];
        assign(&mut v, machine, &lines);
        v[0]["fingerprint"].as_str().unwrap().to_string()
    }

    #[test]
    fn lines_inserted_above_keep_the_fingerprint() {
        let before = fp_of(&diff(0), agent(1), &[]);
        let after = fp_of(&diff(5), agent(6), &[]);
        assert_eq!(before, after);
        assert!(before.starts_with("rf-"), "{before}");
    }

    #[test]
    fn whitespace_changes_keep_it_and_different_code_changes_it() {
        let spaced = diff(0).replace("let q = format!", "let   q =  format!");
        assert_eq!(
            fp_of(&diff(0), agent(1), &[]),
            fp_of(&spaced, agent(1), &[])
        );
        // Another line, another concern, another file: another fingerprint.
        let base = fp_of(&diff(0), agent(1), &[]);
        assert_ne!(base, fp_of(&diff(0), agent(2), &[]));
        let mut other = agent(1);
        other["category"] = json!("database");
        assert_ne!(base, fp_of(&diff(0), other, &[]));
        let moved = diff(0).replace("src/db.rs", "src/db2.rs");
        let mut f = agent(1);
        f["file"] = json!("src/db2.rs");
        assert_ne!(base, fp_of(&moved, f, &[]));
        // The description does not count: agents word things differently each time.
        let mut reworded = agent(1);
        reworded["description"] = json!("Injection risk");
        assert_eq!(base, fp_of(&diff(0), reworded, &[]));
    }

    #[test]
    fn an_agent_supplied_fingerprint_is_replaced() {
        let mut f = agent(1);
        f["fingerprint"] = json!("rf-chosen-by-the-agent");
        assert_eq!(fp_of(&diff(0), f, &[]), fp_of(&diff(0), agent(1), &[]));
    }

    #[test]
    fn machine_findings_use_their_rule_and_duplicates_are_numbered() {
        let m = Finding {
            rule_id: "sql-string-concat".into(),
            category: Category::Pattern,
            severity: Severity::Important,
            path: "src/db.rs".into(),
            line: 1,
            message: "m".into(),
            fingerprint: "sql-string-concat:src/db.rs:abcd".into(),
            redacted: String::new(),
        };
        let mut machine = agent(1);
        machine["fingerprint"] = json!(m.fingerprint);
        let from_rule = fp_of(&diff(0), machine, std::slice::from_ref(&m));
        assert_ne!(from_rule, fp_of(&diff(0), agent(1), &[]));
        let lines = DiffLines::of(&diff(0));
        let mut two = [agent(1), agent(1)];
        assign(&mut two, &[], &lines);
        assert_eq!(
            format!("{}-2", two[0]["fingerprint"].as_str().unwrap()),
            two[1]["fingerprint"].as_str().unwrap()
        );
    }

    #[test]
    fn a_finding_off_the_diff_is_about_its_file() {
        let a = fp_of(&diff(0), agent(99), &[]);
        let mut no_line = agent(1);
        no_line.as_object_mut().unwrap().remove("line");
        assert_eq!(a, fp_of(&diff(0), no_line, &[]));
    }
}
