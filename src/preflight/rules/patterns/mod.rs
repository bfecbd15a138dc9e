//! Dangerous-pattern rules, language-aware by file extension. One file per family; the shared
//! pieces (language detection, dynamic-string detection, finding construction) live in
//! `lang.rs`, `dynamic.rs` and here.

mod actions;
mod deserialization;
mod dynamic;
mod eval;
mod lang;
mod literals;
pub mod pack;
mod password_hashing;
mod shell;
mod sql;
mod tls;
mod words;

use crate::findings::{Finding, fingerprint};
use crate::preflight::diff::FileDiff;

use super::{Rule, RuleMeta};

pub use pack::{PackError, from_pack};

/// All built-in dangerous-pattern rules.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(sql::SqlInjection),
        Box::new(shell::ShellInjection),
        Box::new(deserialization::UnsafeDeserialization),
        Box::new(eval::EvalInjection),
        Box::new(tls::TlsVerificationDisabled),
        Box::new(password_hashing::WeakPasswordHash),
        Box::new(actions::ScriptInjection),
        Box::new(actions::PrTargetCheckout),
        Box::new(actions::UnpinnedAction),
    ]
}

/// Longest excerpt kept in a finding.
const EXCERPT_CHARS: usize = 120;

/// The trimmed line, cut to [`EXCERPT_CHARS`], with long opaque runs (anything that could be a
/// credential pasted next to the dangerous call) masked.
pub(crate) fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    let mut out = String::with_capacity(trimmed.len().min(EXCERPT_CHARS + 3));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str(&crate::findings::redact(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in trimmed.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    if out.chars().count() > EXCERPT_CHARS {
        let cut: String = out.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}...")
    } else {
        out
    }
}

/// Build a pattern finding. The fingerprint hashes the whitespace-normalised line, so it
/// survives the code moving and re-indentation.
pub(crate) fn report(
    meta: &RuleMeta,
    file: &FileDiff,
    line: u32,
    text: &str,
    message: String,
    out: &mut Vec<Finding>,
) {
    let normalized: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    out.push(Finding {
        rule_id: meta.id.to_string(),
        category: meta.category,
        severity: meta.severity,
        path: file.path().to_string(),
        line,
        message,
        fingerprint: fingerprint(meta.id, file.path(), &normalized),
        redacted: excerpt(text),
    });
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Build a `FileDiff` of a new file from added lines, as the engine would see it.
    use crate::findings::Finding;
    use crate::preflight::diff::FileDiff;
    use crate::preflight::rules::Rule;

    pub fn added_file(path: &str, text: &str) -> FileDiff {
        FileDiff::new_file(path, text)
    }

    pub fn run(rule: &dyn Rule, path: &str, text: &str) -> Vec<Finding> {
        let file = added_file(path, text);
        let mut out = Vec::new();
        rule.check(&file, &mut out);
        out
    }

    /// Every rule's documented examples behave as documented.
    pub fn assert_examples(rule: &dyn Rule) {
        let meta = rule.meta();
        let fired = run(rule, meta.example_path, meta.fails);
        assert!(
            fired.iter().any(|f| f.rule_id == meta.id),
            "{}: the failing example did not fire",
            meta.id
        );
        let passed = run(rule, meta.example_path, meta.passes);
        assert!(
            passed.iter().all(|f| f.rule_id != meta.id),
            "{}: the passing example fired: {passed:?}",
            meta.id
        );
    }

    /// Texts of up to `max_pieces` pieces drawn from `pieces` by a fixed pseudo-random
    /// sequence (xorshift): the same texts on every run, for tests that compare two ways of
    /// reading text on thousands of inputs.
    pub fn generated_texts<'a>(
        pieces: &'a [&'a str],
        max_pieces: u64,
        count: usize,
    ) -> impl Iterator<Item = String> + 'a {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..count).map(move |_| {
            let len = next() % (max_pieces + 1);
            (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_masks_long_opaque_runs_and_truncates() {
        let e = excerpt("  call(\"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\")  ");
        assert!(!e.contains("0123456789abcdefghijklmnopqrstuvwxyz"));
        assert!(e.starts_with("call(\"ghp_"));
        let long = "x(".to_string() + &"a ".repeat(200) + ")";
        assert!(excerpt(&long).ends_with("..."));
    }

    #[test]
    fn every_rule_documents_examples_that_behave() {
        for rule in rules() {
            test_support::assert_examples(rule.as_ref());
        }
    }

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = rules().iter().map(|r| r.meta().id).collect();
        for id in &ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len());
    }
}
