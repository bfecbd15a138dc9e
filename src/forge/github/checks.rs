//! The CI checks of a pull request's head commit on GitHub: every page of check runs and of
//! commit statuses, the combined status, and the checks the base branch requires (branch
//! protection and rulesets, where the token may read them). A required check that has not
//! reported yet is pending, not absent.

use serde_json::Value;

use super::GithubForge;
use super::http::{Method, ref_path};
use crate::forge::{Checks, ForgeError, PullRequest};

impl GithubForge {
    /// The checks of `pr`'s head commit, with the base branch's required checks folded in.
    pub(super) fn head_checks(&self, pr: &PullRequest) -> Result<Checks, ForgeError> {
        let mut checks = Checks {
            ci: true,
            ..Checks::default()
        };
        let sha = match &pr.head_sha {
            Some(s) => s.clone(),
            None => match self.ref_sha(&pr.head)? {
                Some(s) => s,
                None => return Ok(checks),
            },
        };
        let runs = self.list_in(
            self.repo_url(&format!("/commits/{sha}/check-runs?per_page=100")),
            Some("check_runs"),
        )?;
        for run in &runs {
            let name = run["name"].as_str().unwrap_or("check").to_string();
            match (run["status"].as_str(), run["conclusion"].as_str()) {
                (Some("completed"), Some("success" | "neutral" | "skipped")) => {
                    checks.passed.push(name)
                }
                (Some("completed"), _) => checks.failing.push(name),
                _ => checks.pending.push(name),
            }
        }
        let pages = self.pages(self.repo_url(&format!("/commits/{sha}/status?per_page=100")))?;
        for s in pages
            .iter()
            .flat_map(|p| p["statuses"].as_array().into_iter().flatten())
        {
            let name = s["context"].as_str().unwrap_or("status").to_string();
            match s["state"].as_str() {
                Some("success") => checks.passed.push(name),
                Some("pending") => checks.pending.push(name),
                _ => checks.failing.push(name),
            }
        }
        // The combined state covers every status, whatever the pages said.
        let combined = pages.first().and_then(|p| p["state"].as_str());
        if matches!(combined, Some("failure" | "error")) && checks.failing.is_empty() {
            checks.failing.push("combined commit status".into());
        }
        for name in self.required_checks(&pr.base)? {
            let reported = checks
                .passed
                .iter()
                .chain(&checks.pending)
                .chain(&checks.failing)
                .any(|n| *n == name);
            if !reported {
                checks
                    .pending
                    .push(format!("{name} (required, not reported yet)"));
            }
            checks.required.push(name);
        }
        Ok(checks)
    }

    /// The check names `branch` requires before a merge: its branch protection and the rules
    /// of every ruleset that applies to it. What the token may not read adds nothing; GitHub
    /// still enforces it at the merge, and its refusal is reported then.
    fn required_checks(&self, branch: &str) -> Result<Vec<String>, ForgeError> {
        let mut names: Vec<String> = Vec::new();
        let readable = |r: Result<super::http::Response, ForgeError>| match r {
            Ok(r) if (200..300).contains(&r.status) => Ok(Some(r.body)),
            Ok(_) => Ok(None),
            Err(e) if super::is_forbidden(&e) || super::is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        };
        let protection = readable(self.request(
            Method::Get,
            &self.repo_url(&format!("/branches/{}", ref_path(branch))),
            None,
        ))?;
        if let Some(b) = protection {
            let required = &b["protection"]["required_status_checks"];
            names.extend(strings(&required["contexts"], None));
            names.extend(strings(&required["checks"], Some("context")));
        }
        let rules = readable(self.request(
            Method::Get,
            &self.repo_url(&format!(
                "/rules/branches/{}?per_page=100",
                ref_path(branch)
            )),
            None,
        ))?;
        for rule in rules.iter().filter_map(Value::as_array).flatten() {
            if rule["type"] == "required_status_checks" {
                names.extend(strings(
                    &rule["parameters"]["required_status_checks"],
                    Some("context"),
                ));
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// The strings of a JSON array, or of `field` in each of its objects.
fn strings(list: &Value, field: Option<&str>) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| match field {
            Some(f) => v[f].as_str(),
            None => v.as_str(),
        })
        .map(str::to_string)
        .collect()
}
