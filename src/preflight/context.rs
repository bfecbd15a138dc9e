//! Where a changed file sits changes what a pattern finding means. A risky call quoted in
//! documentation is prose, not code; in test code it runs against fixtures, not user input,
//! and a key pair under a test directory usually exists to test TLS. Such findings are kept
//! (nothing is hidden) but as advisories, so they do not fail the gate or a review.

use crate::findings::{Category, Finding, Severity};

/// What a path holds, judged from its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// Prose: Markdown, reStructuredText, AsciiDoc, plain text.
    Docs,
    /// Test code and its fixtures.
    Test,
    /// Everything else.
    Code,
}

/// Directory names that hold tests or their fixtures.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "spec",
    "specs",
    "__tests__",
    "__mocks__",
    "testdata",
    "test-data",
    "test_data",
    "fixtures",
    "__fixtures__",
    "testing",
];

/// The role of `path`.
pub fn role(path: &str) -> FileRole {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if matches!(
        ext,
        "md" | "markdown" | "mdx" | "rst" | "adoc" | "asciidoc" | "txt"
    ) && name != "cmakelists.txt"
    {
        return FileRole::Docs;
    }
    let dirs = lower.split('/').rev().skip(1);
    let in_test_dir = dirs.clone().any(|d| TEST_DIRS.contains(&d));
    let stem = name.split('.').next().unwrap_or(name);
    // JVM and .NET name test classes in CamelCase: `UserServiceTest.java`, not `Contest.java`.
    let original = path.rsplit('/').next().unwrap_or(path);
    let class_test = [".java", ".kt", ".cs", ".scala", ".groovy"]
        .iter()
        .filter_map(|e| original.strip_suffix(e))
        .any(|s| s.ends_with("Test") || s.ends_with("Tests") || s.ends_with("Spec"));
    let test_name = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_spec")
        || class_test
        || name.contains(".test.")
        || name.contains(".spec.")
        || name == "conftest.py";
    if in_test_dir || test_name {
        FileRole::Test
    } else {
        FileRole::Code
    }
}

/// Apply the role of `path` to its findings: pattern findings in documentation are dropped,
/// pattern findings and private keys in test code become advisories that say why.
pub fn apply(path: &str, findings: &mut Vec<Finding>) {
    if findings.is_empty() {
        return; // most files: no need to judge the path
    }
    match role(path) {
        FileRole::Code => {}
        FileRole::Docs => findings.retain(|f| f.category != Category::Pattern),
        FileRole::Test => {
            for f in findings.iter_mut() {
                let lowered = f.category == Category::Pattern || f.rule_id == "private-key";
                if lowered && f.severity > Severity::Advisory {
                    f.severity = Severity::Advisory;
                    f.message.push_str(
                        " (in test code, so reported as advisory: check it never reaches production code or a real key pair)",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_conventions_of_each_ecosystem() {
        for p in [
            "tests/test_requests.py",
            "test/res.redirect.js",
            "src/auth/session.test.ts",
            "web/app.spec.tsx",
            "pkg/server/server_test.go",
            "app/models/user_spec.rb",
            "src/test/java/com/acme/UserServiceTest.java",
            "Acme.Api.Tests/UserControllerTests.cs",
            "tests/certs/valid/server/server.key",
            "internal/testdata/request.json",
            "conftest.py",
        ] {
            assert_eq!(role(p), FileRole::Test, "{p}");
        }
        assert_eq!(role("CMakeLists.txt"), FileRole::Code);
        for p in ["HISTORY.md", "docs/security.rst", "README.txt"] {
            assert_eq!(role(p), FileRole::Docs, "{p}");
        }
        for p in [
            "src/latest.py",
            "app/contest/views.py",
            "src/attestation.rs",
            "lib/spectrum.rb",
            "cmd/server/main.go",
            "src/main/java/com/acme/Tester.java.bak",
            "src/main/java/com/acme/Contest.java",
        ] {
            assert_eq!(role(p), FileRole::Code, "{p}");
        }
    }

    fn finding(rule: &str, category: Category) -> Finding {
        Finding {
            rule_id: rule.into(),
            category,
            severity: Severity::Critical,
            path: "p".into(),
            line: 1,
            message: "m".into(),
            fingerprint: "f".into(),
            redacted: String::new(),
        }
    }

    #[test]
    fn docs_lose_pattern_findings_and_tests_lower_them_but_keep_secrets() {
        let all = || {
            vec![
                finding("tls-verification-disabled", Category::Pattern),
                finding("github-token", Category::Secret),
                finding("private-key", Category::Secret),
            ]
        };
        let mut docs = all();
        apply("HISTORY.md", &mut docs);
        assert_eq!(docs.len(), 2);
        assert!(docs.iter().all(|f| f.category == Category::Secret));

        let mut tests = all();
        apply("tests/test_client.py", &mut tests);
        let sev: Vec<Severity> = tests.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            [Severity::Advisory, Severity::Critical, Severity::Advisory]
        );
        assert!(tests[0].message.contains("in test code"));

        let mut code = all();
        apply("src/client.py", &mut code);
        assert!(code.iter().all(|f| f.severity == Severity::Critical));
    }
}
