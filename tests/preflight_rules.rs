//! Rule contracts that hold for every rule, whichever engineer wrote it: unique kebab-case ids,
//! complete documentation, and examples that behave as documented when run through the engine.
//! Also engine behaviour (keyword prefilter, added-line guard, suppression) with test rules.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use factory::findings::{Category, Finding, Severity, fingerprint, redact};
use factory::preflight::diff::{FileDiff, parse_str};
use factory::preflight::engine::{Engine, ScanReport};
use factory::preflight::rules::{self, Rule, RuleMeta};
use factory::preflight::{scope, suppress};

/// A diff that adds `text` as a new file at `path`.
fn added_file_diff(path: &str, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut d = format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
        lines.len()
    );
    for l in lines {
        d.push('+');
        d.push_str(l);
        d.push('\n');
    }
    d
}

fn run(engine: &Engine, diff: &str) -> ScanReport {
    engine.scan(diff.as_bytes()).unwrap()
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every problem with a rule set's metadata and examples; empty when all is well.
fn rule_problems(rules: Vec<Box<dyn Rule>>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for id in scope::metas()
        .iter()
        .map(|m| m.id)
        .chain([suppress::SUPPRESSION_MISSING_REASON.id])
    {
        seen.insert(id.to_string());
    }
    let metas: Vec<RuleMeta> = rules.iter().map(|r| r.meta().clone()).collect();
    let engine = Engine::new(rules, None);
    for m in &metas {
        if !is_kebab(m.id) {
            problems.push(format!("{}: id is not kebab-case", m.id));
        }
        if !seen.insert(m.id.to_string()) {
            problems.push(format!("{}: duplicate id", m.id));
        }
        for (field, value) in [
            ("title", m.title),
            ("description", m.description),
            ("fails", m.fails),
            ("passes", m.passes),
            ("example_path", m.example_path),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{}: {field} is empty", m.id));
            }
        }
        if m.fails.trim().is_empty() || m.example_path.is_empty() {
            continue;
        }
        let fired = |text: &str| -> Vec<Finding> {
            run(&engine, &added_file_diff(m.example_path, text))
                .findings
                .into_iter()
                .filter(|f| f.rule_id == m.id)
                .collect()
        };
        let fails = fired(m.fails);
        if fails.is_empty() {
            problems.push(format!("{}: the `fails` example produces no finding", m.id));
        }
        for f in &fails {
            if f.severity != m.severity || f.category != m.category {
                problems.push(format!(
                    "{}: finding severity/category differ from meta",
                    m.id
                ));
            }
            if f.path != m.example_path || f.line == 0 {
                problems.push(format!("{}: finding has a wrong location", m.id));
            }
            if m.category == Category::Secret
                && !f.redacted.is_empty()
                && m.fails.contains(&f.redacted)
                && f.redacted.len() > 12
            {
                problems.push(format!("{}: `redacted` looks unredacted", m.id));
            }
        }
        if !fired(m.passes).is_empty() {
            problems.push(format!("{}: the `passes` example produces a finding", m.id));
        }
    }
    problems
}

#[test]
fn every_builtin_rule_honours_its_documentation() {
    let builtin = rules::builtin();
    println!("checking {} built-in rules", builtin.len());
    let problems = rule_problems(builtin);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn scope_and_suppression_docs_are_complete() {
    for m in scope::metas()
        .into_iter()
        .chain([&suppress::SUPPRESSION_MISSING_REASON])
    {
        assert!(is_kebab(m.id));
        assert!(!m.title.is_empty() && !m.description.is_empty());
        assert!(!m.fails.is_empty() && !m.passes.is_empty() && !m.example_path.is_empty());
    }
}

// ---- test rules -------------------------------------------------------------------------

struct TokenRule {
    meta: RuleMeta,
    calls: Arc<AtomicUsize>,
}

const TOKEN_META: RuleMeta = RuleMeta {
    id: "test-zz-token",
    title: "Test token",
    category: Category::Secret,
    severity: Severity::Critical,
    description: "A token of the form `zztok_` followed by 16 alphanumerics.",
    fails: "key = \"zztok_a1b2c3d4e5f6g7h8\"",
    passes: "key = \"zztok_short\"",
    example_path: "app/config.py",
};

impl Rule for TokenRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }
    fn keywords(&self) -> &[&'static str] {
        &["zztok_"]
    }
    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let re = regex::Regex::new(r"(?i)zztok_[a-z0-9]{16}").unwrap();
        for (line, text) in file.added_lines() {
            if let Some(m) = re.find(text) {
                out.push(Finding {
                    rule_id: self.meta.id.into(),
                    category: self.meta.category,
                    severity: self.meta.severity,
                    path: file.path().into(),
                    line,
                    message: "token".into(),
                    fingerprint: fingerprint(self.meta.id, file.path(), m.as_str()),
                    redacted: redact(m.as_str()),
                });
            }
        }
    }
}

/// Reports every line of every hunk, context and removed lines included: the engine's guard
/// must keep only the added ones.
struct NoisyRule(RuleMeta);

impl Rule for NoisyRule {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }
    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        for h in &file.hunks {
            for l in &h.lines {
                let line = l.new_line.or(l.old_line).unwrap();
                out.push(Finding {
                    rule_id: self.0.id.into(),
                    category: Category::Pattern,
                    severity: Severity::Advisory,
                    path: file.path().into(),
                    line,
                    message: "noisy".into(),
                    fingerprint: fingerprint(self.0.id, file.path(), &l.text),
                    redacted: String::new(),
                });
            }
        }
    }
}

fn token_rule() -> (Box<dyn Rule>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Box::new(TokenRule {
            meta: TOKEN_META,
            calls: calls.clone(),
        }),
        calls,
    )
}

#[test]
fn the_contract_check_catches_broken_rules() {
    let (good, _) = token_rule();
    assert!(rule_problems(vec![good]).is_empty());
    let (dup, _) = token_rule();
    let broken = TokenRule {
        meta: RuleMeta {
            id: "Test_Bad",
            passes: "key = \"zztok_a1b2c3d4e5f6g7h9\"",
            ..TOKEN_META
        },
        calls: Arc::new(AtomicUsize::new(0)),
    };
    let problems = rule_problems(vec![dup, Box::new(broken), token_rule().0]);
    assert!(
        problems.iter().any(|p| p.contains("not kebab-case")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`passes` example produces")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("duplicate id")),
        "{problems:#?}"
    );
}

#[test]
fn keyword_prefilter_skips_files_without_keywords() {
    let (rule, calls) = token_rule();
    let engine = Engine::new(vec![rule], None);
    let diff = added_file_diff("a.py", "nothing here\nat all")
        + &added_file_diff("b.py", "x = 'ZZTOK_A1B2C3D4E5F6G7H8'")
        + &added_file_diff(
            "c.py",
            "zztok_ appears only in\n-removed text is not scanned",
        );
    let report = run(&engine, &diff);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "rule ran on files without its keyword"
    );
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].path, "b.py");
    assert_eq!(report.findings[0].redacted, "ZZTO********");
    assert_eq!(report.files_scanned, 3);
    assert_eq!(report.bytes_scanned, diff.len() as u64);
}

#[test]
fn engine_drops_findings_off_added_lines() {
    let meta = RuleMeta {
        id: "noisy",
        ..TOKEN_META
    };
    let engine = Engine::new(vec![Box::new(NoisyRule(meta))], None);
    let diff = "--- a/x.cfg\n+++ b/x.cfg\n@@ -10,4 +20,4 @@\n ctx\n-old\n+new\n ctx\n-old\n+new\n";
    let files = parse_str(diff).unwrap();
    let mut report = ScanReport::default();
    engine.check_file(&files[0], &mut report);
    let lines: Vec<u32> = report.findings.iter().map(|f| f.line).collect();
    assert_eq!(report.findings.len(), 2);
    assert_eq!(lines, vec![21, 23]);
}

#[test]
fn inline_suppression_with_reason_drops_only_that_rule() {
    let (rule, _) = token_rule();
    let engine = Engine::new(vec![rule], None);
    let diff = added_file_diff(
        "s.py",
        "a = 'zztok_a1b2c3d4e5f6g7h8'  # factory:allow test-zz-token -- fixture for tests\n\
         b = 'zztok_a1b2c3d4e5f6g7h8'  # factory:allow other-rule -- wrong rule\n\
         c = 'zztok_a1b2c3d4e5f6g7h8'  # factory:allow test-zz-token",
    );
    let report = run(&engine, &diff);
    let got: Vec<(&str, u32)> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("test-zz-token", 2),
            ("test-zz-token", 3),
            ("suppression-missing-reason", 3)
        ]
    );
    assert_eq!(report.suppressed, 1);
}

/// A secret rule that forgets to redact.
struct LeakyRule(RuleMeta);

impl Rule for LeakyRule {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }
    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        for (line, text) in file.added_lines() {
            out.push(Finding {
                rule_id: self.0.id.into(),
                category: Category::Secret,
                severity: Severity::Critical,
                path: file.path().into(),
                line,
                message: "leak".into(),
                fingerprint: fingerprint(self.0.id, file.path(), text),
                redacted: text.into(),
            });
        }
    }
}

#[test]
fn engine_redacts_secret_excerpts_a_rule_left_in_clear() {
    let engine = Engine::new(
        vec![Box::new(LeakyRule(RuleMeta {
            id: "leaky",
            ..TOKEN_META
        }))],
        None,
    );
    let report = run(&engine, &added_file_diff("x.env", "zztok_a1b2c3d4e5f6g7h8"));
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].redacted, "zzto********");
}
