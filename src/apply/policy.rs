//! The allow-lists an apply artifact must pass before factory writes anything for it: which
//! branches may be pushed (`outputs.branches`, default the branch naming rule) and which paths
//! a pushed change may touch (`outputs.paths` and the issue's scope).

use std::sync::LazyLock;

use regex::Regex;

use crate::workflow::Outputs;

/// The branch naming rule: `{fix|feat|refactor|infra}/#<issue>-<slug>`.
static BRANCH_RULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:fix|feat|refactor|infra)/#([0-9]+)-[a-z0-9]+(?:-[a-z0-9]+)*$")
        .expect("valid regex")
});

/// Why `branch` may not be pushed for `issue` (on top of `base`), if it may not.
pub fn branch_refusal(outputs: &Outputs, branch: &str, base: &str, issue: u64) -> Option<String> {
    if branch == base {
        return Some(format!(
            "is the base branch `{base}`: factory never pushes to the branch pull requests merge into"
        ));
    }
    if outputs.branches.is_empty() {
        return match BRANCH_RULE.captures(branch) {
            Some(c) if c[1].parse::<u64>().ok() == Some(issue) => None,
            Some(_) => Some(format!(
                "does not name issue #{issue}, the issue the artifact implements"
            )),
            None => Some(
                "does not follow the branch naming rule `{fix|feat|refactor|infra}/#<issue>-<slug>` (the default allow-list)"
                    .into(),
            ),
        };
    }
    let mut valid = Vec::new();
    for pattern in &outputs.branches {
        match crate::forge::safe::glob(pattern) {
            Ok(g) => valid.push(g),
            Err(e) => return Some(e.replace("outputs.paths", "outputs.branches")),
        }
    }
    if valid.iter().any(|g| g.is_match(branch)) {
        None
    } else {
        Some(format!(
            "matches none of outputs.branches ({})",
            outputs.branches.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_follow_the_naming_rule_or_the_allow_list() {
        let mut o = Outputs::default();
        assert_eq!(branch_refusal(&o, "feat/#2-reset-token", "main", 2), None);
        assert!(
            branch_refusal(&o, "main", "main", 2)
                .unwrap()
                .contains("base branch")
        );
        assert!(
            branch_refusal(&o, "feat/#3-x", "main", 2)
                .unwrap()
                .contains("issue #2")
        );
        assert!(
            branch_refusal(&o, "release/1.0", "main", 2)
                .unwrap()
                .contains("naming rule")
        );
        o.branches = vec!["release/*".into()];
        assert_eq!(branch_refusal(&o, "release/1.0", "main", 2), None);
        assert!(
            branch_refusal(&o, "feat/#2-x", "main", 2)
                .unwrap()
                .contains("release/*")
        );
    }
}
