//! Mutation checks: the evals must be able to fail. Deleting a rule, weakening one, or changing
//! what a fixture expects must turn `factory evals` red and name the case.
mod support;

use std::path::Path;

use factory::evals::{self, Config, Status};
use factory::findings::Finding;
use factory::preflight::diff::FileDiff;
use factory::preflight::rules::{Rule, RuleMeta, builtin};
use predicates::prelude::*;
use support::{copy_dir, factory};

fn failed_cases(config: &Config) -> Vec<String> {
    failed_in(config, &["all"])
}

fn failed_in(config: &Config, suites: &[&str]) -> Vec<String> {
    let mut failed = Vec::new();
    for suite in suites {
        let report = evals::run(config, suite).unwrap();
        failed.extend(
            report
                .cases()
                .filter(|(_, c)| c.status == Status::Fail)
                .map(|(s, c)| format!("{s}/{}", c.name)),
        );
    }
    failed
}

#[test]
fn unmutated_detection_passes() {
    assert!(failed_cases(&Config::new("evals")).is_empty());
}

#[test]
fn deleting_any_rule_fails_a_diff_case_and_its_rule_examples() {
    // Every built-in rule, one at a time: each deletion must be noticed by the diffs suite
    // (not only by the rules suite, which reads the same documentation).
    for rule in builtin() {
        let id = rule.meta().id.to_string();
        let config = Config::new("evals")
            .without_rules(std::slice::from_ref(&id))
            .unwrap();
        // Plans and packs do not run preflight rules; the two suites that do are enough.
        let failed = failed_in(&config, &["diffs", "rules"]);
        assert!(
            failed.iter().any(|c| c.starts_with("diffs/")),
            "deleting `{id}` fails no diff case: {failed:?}"
        );
        assert!(
            failed.contains(&format!("rules/{id} fails")),
            "deleting `{id}`: {failed:?}"
        );
        assert!(failed.contains(&"rules/registry".to_string()));
    }
}

#[test]
fn the_binary_exits_1_naming_the_case_when_a_rule_is_deleted() {
    factory()
        .args(["evals", "--without-rule", "github-token"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("secrets-source-control-ci"))
        .stdout(predicate::str::contains("FAIL"))
        .stdout(predicate::str::contains(
            "github-token scripts/release.js:5 critical",
        ));
}

/// sql-injection with Python support removed: a plausible regression in one language.
struct NoPython(Box<dyn Rule>);

impl Rule for NoPython {
    fn meta(&self) -> &RuleMeta {
        self.0.meta()
    }
    fn keywords(&self) -> &[&'static str] {
        self.0.keywords()
    }
    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if file.extension().as_deref() != Some("py") {
            self.0.check(file, out);
        }
    }
}

#[test]
fn weakening_a_rule_for_one_language_fails_exactly_those_cases() {
    let mut config = Config::new("evals");
    config.rules = Box::new(|| {
        builtin()
            .into_iter()
            .map(|r| -> Box<dyn Rule> {
                if r.meta().id == "sql-injection" {
                    Box::new(NoPython(r))
                } else {
                    r
                }
            })
            .collect()
    });
    let failed = failed_cases(&config);
    let (idioms, others): (Vec<&String>, Vec<&String>) =
        failed.iter().partition(|c| c.starts_with("idioms/"));
    assert_eq!(
        others,
        ["diffs/sql-injection", "diffs/mixed-pull-request"],
        "{failed:?}"
    );
    // The idioms suite notices too: its SQL cases include Python ones.
    assert!(
        idioms
            .iter()
            .any(|c| c.starts_with("idioms/sql-injection recall")),
        "{failed:?}"
    );
}

#[test]
fn a_narrower_keyword_prefilter_is_noticed() {
    // The prefilter decides which rules run: dropping a keyword is a silent weakening.
    struct OnlyKeyword(Box<dyn Rule>, &'static [&'static str]);
    impl Rule for OnlyKeyword {
        fn meta(&self) -> &RuleMeta {
            self.0.meta()
        }
        fn keywords(&self) -> &[&'static str] {
            self.1
        }
        fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
            self.0.check(file, out);
        }
    }
    let mut config = Config::new("evals");
    config.rules = Box::new(|| {
        builtin()
            .into_iter()
            .map(|r| -> Box<dyn Rule> {
                if r.meta().id == "shell-injection" {
                    Box::new(OnlyKeyword(r, &["os.system"]))
                } else {
                    r
                }
            })
            .collect()
    });
    let failed = failed_cases(&config);
    assert!(
        failed.contains(&"diffs/shell-injection-python-node".to_string()),
        "{failed:?}"
    );
}

#[test]
fn the_plans_suite_bites() {
    let dir = tempfile::tempdir().unwrap();
    let evals = dir.path().join("evals");
    copy_dir(Path::new("evals"), &evals);
    // A manifest that expects a violation code the document does not produce.
    let manifest = evals.join("plans/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mutated = text.replacen("\"SP005\"", "\"SP001\"", 1);
    assert_ne!(text, mutated);
    std::fs::write(&manifest, mutated).unwrap();
    factory()
        .args(["evals", "--suite", "plans", "--dir"])
        .arg(&evals)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("invalid-overlapping-scope.json"))
        .stdout(predicate::str::contains("SP005"));
    // A fixture that no longer breaks its contract (the duplicate id made unique).
    std::fs::write(&manifest, text).unwrap();
    let plan = evals.join("plans/invalid-sp001-duplicate-id.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mut doc = doc;
    let tasks = doc["tasks"].as_array_mut().unwrap();
    let n = tasks.len();
    for (i, task) in tasks.iter_mut().enumerate() {
        task["id"] = serde_json::Value::from(format!("task-{:03}", 100 + i));
    }
    assert!(n >= 2);
    std::fs::write(&plan, doc.to_string()).unwrap();
    factory()
        .args(["evals", "--suite", "plans", "--dir"])
        .arg(&evals)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("invalid-sp001-duplicate-id.json"));
}

#[test]
fn an_extra_finding_fails_a_nothing_else_fires_case() {
    let dir = tempfile::tempdir().unwrap();
    let evals = dir.path().join("evals");
    copy_dir(Path::new("evals"), &evals);
    // The clean diff gains a hard-coded key; its manifest still says nothing fires.
    let diff = evals.join("diffs/clean-diff.diff");
    let text = std::fs::read_to_string(&diff).unwrap();
    let (head, _) = text.split_once("@@").unwrap();
    let path = head
        .lines()
        .find_map(|l| l.strip_prefix("+++ b/"))
        .unwrap()
        .to_string();
    let extra = format!(
        "diff --git a/{path}.key b/{path}.key\nnew file mode 100644\n--- /dev/null\n+++ b/{path}.key\n@@ -0,0 +1 @@\n+aws_access_key_id = \"AKIAZ3MHQ5R7TXW4PL2N\"\n"
    );
    std::fs::write(&diff, format!("{text}{extra}")).unwrap();
    factory()
        .args(["evals", "--suite", "diffs", "--dir"])
        .arg(&evals)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("clean-diff"))
        .stdout(predicate::str::contains("aws-access-key-id"));
}

#[test]
fn an_invalid_pack_fails_the_packs_suite() {
    let dir = tempfile::tempdir().unwrap();
    let evals = dir.path().join("evals");
    copy_dir(Path::new("evals"), &evals);
    let pack = evals.join("packs/pack-web-api.json");
    let text = std::fs::read_to_string(&pack).unwrap();
    std::fs::write(
        &pack,
        text.replace("express\\\\.json\\\\(", "express\\\\.json\\\\(("),
    )
    .unwrap();
    factory()
        .args(["evals", "--suite", "packs", "--dir"])
        .arg(&evals)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("pack-web-api.json"))
        .stdout(predicate::str::contains("HP001"));
}

#[test]
fn a_template_that_drops_a_pr_section_fails_the_templates_suite() {
    // The repository's templates are what a local run checks: a copy with one section gone.
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    copy_dir(Path::new("templates"), &templates);
    let pr = templates.join("PULL_REQUEST_TEMPLATE.md");
    let text = std::fs::read_to_string(&pr).unwrap();
    let mutated = text.replace("## 9. Rollback Plan\n", "");
    assert_ne!(text, mutated);
    std::fs::write(&pr, mutated).unwrap();
    let mut config = Config::new("evals");
    config.templates_dir = Some(templates.clone());
    assert_eq!(
        failed_in(&config, &["templates"]),
        ["templates/pull-request"]
    );

    // Through the binary: a repository whose templates/ lost the section.
    let repo = dir.path().join("repo");
    copy_dir(Path::new("evals"), &repo.join("evals"));
    copy_dir(&templates, &repo.join("templates"));
    factory()
        .current_dir(&repo)
        .args(["evals", "--suite", "templates"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("pull-request"))
        .stdout(predicate::str::contains("MISSING ## 9. Rollback Plan"));

    // A variable the caller does not bind is a render error, not an empty string.
    std::fs::write(&pr, format!("{text}\n{{{{ reviewer_name }}}}\n")).unwrap();
    let failed = failed_in(&config, &["templates"]);
    assert_eq!(failed, ["templates/pull-request"]);
}

#[test]
fn a_reviews_manifest_expecting_the_wrong_verdict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let evals = dir.path().join("evals");
    copy_dir(Path::new("evals"), &evals);
    let manifest = evals.join("reviews/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    // approve-over-secret: the machine finding must override the agent's approval.
    let (head, tail) = text.split_once("\"approve-over-secret\"").unwrap();
    let mutated = format!(
        "{head}\"approve-over-secret\"{}",
        tail.replacen(
            "\"REQUEST_CHANGES\", \"critical\": 1",
            "\"APPROVE\", \"critical\": 0",
            1
        )
    );
    assert_ne!(text, mutated);
    std::fs::write(&manifest, mutated).unwrap();
    factory()
        .args(["evals", "--suite", "reviews", "--dir"])
        .arg(&evals)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("approve-over-secret"))
        .stdout(predicate::str::contains("verdict REQUEST_CHANGES"));
    // Deleting the secret rule lets the approval through: the reviews suite notices too.
    std::fs::write(&manifest, text).unwrap();
    let config = Config::new(&evals)
        .without_rules(&["aws-access-key-id".to_string()])
        .unwrap();
    let failed = failed_in(&config, &["reviews"]);
    assert!(
        failed.contains(&"reviews/approve-over-secret".to_string()),
        "{failed:?}"
    );
}
