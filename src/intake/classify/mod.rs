//! Choosing the change class of a request.
//!
//! An explicit class always wins. Otherwise the first rule that matches, in this order:
//!
//! 1. **risky-infra**: the request names an infrastructure path (Terraform, Kubernetes, Helm,
//!    Docker, CI workflows, database migrations, Ansible, Pulumi, CloudFormation).
//! 2. **hotfix**: outage wording (outage, broken, is down, regression, crash, 500, incident…) or
//!    an `incident` / `runtime-drift` trigger.
//! 3. **refactor**: refactor wording (refactor, clean up, restructure, rename, extract…).
//! 4. **feature**: everything else.
//!
//! Infra outranks hotfix on purpose: the hotfix route skips planning and the thorough review,
//! and a change to infrastructure made in a hurry is exactly what needs the ADR, the threat model
//! and post-merge verification. The incident is not lost: its signals stay in the rationale.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::workflow::{ChangeClass, Trigger};

/// Whether the class was given or inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassSource {
    /// Given on the command line (`--class`).
    Explicit,
    /// Inferred from the request, its paths and its trigger.
    Inferred,
}

/// The chosen class and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub class: ChangeClass,
    pub source: ClassSource,
    /// One sentence a person can check.
    pub rationale: String,
    /// What matched: `path:infra/main.tf`, `word:outage`, `trigger:incident`, `manifest:deploy/app.yaml`.
    pub signals: Vec<String>,
}

/// Classify a request. `named_paths` are paths given besides the text (they are judged by name,
/// like the paths found in the text).
pub fn classify(
    request: &str,
    trigger: Trigger,
    explicit: Option<ChangeClass>,
    named_paths: &[String],
) -> Classification {
    classify_with_manifests(request, trigger, explicit, named_paths, &[])
}

/// [`classify`], plus `manifests`: YAML files known (by reading them) to be Kubernetes-style
/// manifests with `apiVersion` and `kind`, which their names alone would not reveal.
pub fn classify_with_manifests(
    request: &str,
    trigger: Trigger,
    explicit: Option<ChangeClass>,
    named_paths: &[String],
    manifests: &[String],
) -> Classification {
    let mut infra = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in extract_paths(request).iter().chain(named_paths) {
        if seen.insert(path.clone())
            && let Some(kind) = infra_kind(path)
        {
            infra.push((format!("path:{path}"), kind));
        }
    }
    for path in manifests {
        if seen.insert(format!("manifest:{path}")) {
            infra.push((format!("manifest:{path}"), "Kubernetes manifest"));
        }
    }
    let lowered = request.to_lowercase();
    let urgent: Vec<String> = matches(&HOTFIX_WORDS, &lowered, HOTFIX_EXCEPTIONS);
    let refactor: Vec<String> = matches(&REFACTOR_WORDS, &lowered, &[]);
    let trigger_signal = match trigger {
        Trigger::User => None,
        other => Some(format!("trigger:{}", other.as_str())),
    };

    let mut signals: Vec<String> = infra.iter().map(|(s, _)| s.clone()).collect();
    signals.extend(trigger_signal.iter().cloned());
    signals.extend(urgent.iter().map(|w| format!("word:{w}")));
    signals.extend(refactor.iter().map(|w| format!("word:{w}")));

    let hot = !urgent.is_empty() || trigger_signal.is_some();
    let hot_reason = || {
        let mut parts = Vec::new();
        if let Some(t) = &trigger_signal {
            parts.push(format!("the {} trigger", &t["trigger:".len()..]));
        }
        if !urgent.is_empty() {
            parts.push(format!("outage wording ({})", urgent.join(", ")));
        }
        parts.join(" and ")
    };

    let (class, rationale) = if !infra.is_empty() {
        let mut kinds: Vec<&str> = Vec::new();
        for (_, kind) in &infra {
            if !kinds.contains(kind) {
                kinds.push(kind);
            }
        }
        let mut why = format!(
            "names infrastructure ({}): {}",
            kinds.join(", "),
            infra
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if hot {
            why.push_str(&format!(
                "; {} also point to a hotfix, but infrastructure outranks it so the change keeps \
                 the ADR, thorough review and post-merge verification",
                hot_reason()
            ));
        }
        (ChangeClass::RiskyInfra, why)
    } else if hot {
        (
            ChangeClass::Hotfix,
            format!("production is affected: {}", hot_reason()),
        )
    } else if !refactor.is_empty() {
        (
            ChangeClass::Refactor,
            format!(
                "refactor wording ({}) and no infrastructure or outage signal",
                refactor.join(", ")
            ),
        )
    } else {
        (
            ChangeClass::Feature,
            "no infrastructure paths, outage or refactor wording: default feature".to_string(),
        )
    };
    match explicit {
        Some(given) => Classification {
            class: given,
            source: ClassSource::Explicit,
            rationale: if given == class {
                format!("given explicitly as {given}; inference agrees ({rationale})")
            } else {
                format!(
                    "given explicitly as {given}; inference alone would say {class} ({rationale})"
                )
            },
            signals,
        },
        None => Classification {
            class,
            source: ClassSource::Inferred,
            rationale,
            signals,
        },
    }
}

/// Words (regex alternatives, matched case-insensitively on word boundaries) that mean
/// production is hurting.
static HOTFIX_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)\b(?:
            outages? | broken | downtime
          | (?:is|are|was|were|went|goes|going|gone|been|being) \s+ (?:completely\s+|totally\s+|still\s+)? down
          | down \s+ (?:since|again|in\s+prod\w*|for\s+(?:all|every|some|users|customers))
          | regressions? | regressed | crash(?:es|ed|ing)? | crash-?loop(?:s|ing|backoff)? | oomkilled
          | incidents? | hotfix(?:es)? | sev[-\ ]?[01] | p0 | 5xx
          | (?:http|status|errors?|returns?|returning|returned|got|gets?|getting|throws?|throwing|with) \s+ (?P<code>5(?:00|02|03|04))
          | (?P<code2>5(?:00|02|03|04)) s? \s+ (?:errors?|responses?|status|internal|bad\s+gateway|service\s+unavailable|gateway\s+time-?out)
        )\b",
    )
    .expect("valid regex")
});

/// Phrases where a hotfix word means something else ("regression tests", "crash course").
const HOTFIX_EXCEPTIONS: &[&str] = &[
    "regression test",
    "regression suite",
    "crash course",
    "crash report",
    "incident report",
    "incident management",
    "incident response",
    "incident template",
    "broken link",
];

static REFACTOR_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(refactor(?:s|ed|ing)?|clean(?:ed|ing)?[- ]?up|restructur(?:e|es|ed|ing)|renam(?:e|es|ed|ing)|extract(?:s|ed|ing)?|reorgani[sz](?:e|es|ed|ing)|decoupl(?:e|es|ed|ing)|deduplicat(?:e|es|ed|ing)|tidy(?:ing)? up)\b",
    )
    .expect("valid regex")
});

/// Distinct matches of `re` in `lowered`, skipping hyphenated compounds (`crash-free`,
/// `non-regression`) and the listed exception phrases. A status code or "down" is reported as
/// itself, other matches as their words joined by `-`.
fn matches(re: &Regex, lowered: &str, exceptions: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for caps in re.captures_iter(lowered) {
        let m = caps.get(0).expect("group 0 always matches");
        let before = lowered[..m.start()].chars().next_back();
        let after = lowered[m.end()..].chars().next();
        if before == Some('-') || after == Some('-') {
            continue;
        }
        if exceptions
            .iter()
            .any(|e| lowered[m.start()..].starts_with(e) || lowered[..m.end()].ends_with(e))
        {
            continue;
        }
        let text = m.as_str();
        let word = if let Some(code) = caps.name("code").or_else(|| caps.name("code2")) {
            code.as_str().to_string()
        } else if text.split_whitespace().any(|w| w == "down") {
            "down".to_string()
        } else {
            text.split_whitespace().collect::<Vec<_>>().join("-")
        };
        if !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

/// Candidate paths: tokens with a `/` or a file extension, plus well-known extensionless file
/// names. URLs are skipped (a link to a dashboard is not a path in this repository).
static PATH_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9_.@+~*-]*(?:/[A-Za-z0-9_.@+~*-]+)+/?|[A-Za-z0-9_.@+~*-]+")
        .expect("valid regex")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://\S+").expect("valid regex"));
static EXTENSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.[A-Za-z][A-Za-z0-9]{0,9}$").expect("valid regex"));

const BARE_NAMES: &[&str] = &[
    "dockerfile",
    "containerfile",
    "jenkinsfile",
    "makefile",
    "vagrantfile",
];

/// Paths named in free text, in order of appearance, without duplicates.
pub fn extract_paths(text: &str) -> Vec<String> {
    let without_urls = URL.replace_all(text, " ");
    let mut out: Vec<String> = Vec::new();
    for m in PATH_TOKEN.find_iter(&without_urls) {
        let token = m.as_str().trim_end_matches(['.', ',', ':', ';']);
        let token = token.strip_prefix("./").unwrap_or(token);
        if token.is_empty() || token.starts_with("//") {
            continue;
        }
        let lower = token.to_ascii_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        let looks_like_path = (token.contains('/')
            && token.chars().any(|c| c.is_ascii_alphabetic()))
            || EXTENSION.is_match(token)
            || BARE_NAMES.contains(&base);
        if looks_like_path && !out.iter().any(|p| p == token) {
            out.push(token.to_string());
        }
    }
    out
}

/// The kind of infrastructure a path is, judged by its name alone.
pub fn infra_kind(path: &str) -> Option<&'static str> {
    let lower = path.replace('\\', "/").to_ascii_lowercase();
    let lower = lower.trim_start_matches("./");
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let name = *segments.last()?;
    let dirs = &segments[..segments.len() - 1];
    let in_dir = |wanted: &[&str]| dirs.iter().any(|d| wanted.contains(d));
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");

    if name.ends_with(".tf")
        || name.ends_with(".tfvars")
        || name.ends_with(".tf.json")
        || name.ends_with(".tfvars.json")
        || name == "terragrunt.hcl"
        || name == ".terraform.lock.hcl"
        || in_dir(&["terraform", "terragrunt"])
    {
        return Some("Terraform");
    }
    if name == "chart.yaml"
        || name == "helmfile.yaml"
        || (in_dir(&["charts", "helm"]) && (yaml || name.ends_with(".tpl")))
    {
        return Some("Helm chart");
    }
    if name == "kustomization.yaml"
        || name == "kustomization.yml"
        || in_dir(&["k8s", "kubernetes", "kube", "manifests", "kustomize"])
    {
        return Some("Kubernetes");
    }
    if name == "dockerfile"
        || name == "containerfile"
        || name.starts_with("dockerfile.")
        || name.ends_with(".dockerfile")
        || (name.starts_with("docker-compose") && yaml)
        || name == "compose.yaml"
        || name == "compose.yml"
    {
        return Some("Docker");
    }
    if lower.contains(".github/workflows/") && yaml {
        return Some("CI workflow");
    }
    if in_dir(&[
        "migrations",
        "migration",
        "migrate",
        "alembic",
        "flyway",
        "liquibase",
    ]) || (name.ends_with(".sql") && sql_migration_name(name))
    {
        return Some("database migration");
    }
    if in_dir(&["ansible", "playbooks"])
        || name == "ansible.cfg"
        || (yaml && (name.starts_with("playbook") || name == "site.yml" || name == "site.yaml"))
        || dirs.windows(3).any(|w| w[0] == "roles" && w[2] == "tasks")
    {
        return Some("Ansible");
    }
    if name == "pulumi.yaml"
        || name == "pulumi.yml"
        || (name.starts_with("pulumi.") && yaml)
        || in_dir(&["pulumi"])
    {
        return Some("Pulumi");
    }
    if in_dir(&["cloudformation", "cfn"])
        || name.contains(".cfn.")
        || name.ends_with(".template.json")
        || name.ends_with(".template.yaml")
        || name == "template.yaml" && in_dir(&["sam"])
    {
        return Some("CloudFormation");
    }
    None
}

/// `V2__add_index.sql`, `0003_users.sql`, `20240101120000_init.up.sql`, `add_users_migration.sql`.
fn sql_migration_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.contains("migrat")
        || name.ends_with(".up.sql")
        || name.ends_with(".down.sql")
        || bytes.first().is_some_and(u8::is_ascii_digit)
        || (bytes.first() == Some(&b'v')
            && bytes.get(1).is_some_and(u8::is_ascii_digit)
            && name.contains("__"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChangeClass::*;

    fn class(request: &str, trigger: Trigger) -> ChangeClass {
        classify(request, trigger, None, &[]).class
    }

    #[test]
    fn table_of_requests() {
        let user = Trigger::User;
        let table: &[(&str, Trigger, ChangeClass)] = &[
            ("Add rate limiting to the login endpoint", user, Feature),
            ("Add a prefix option to the CLI", user, Feature),
            ("Support a suffix and prefix for IDs", user, Feature),
            ("Checkout is down since 9am", user, Hotfix),
            ("Checkout went completely down after deploy", user, Hotfix),
            ("Add a drop-down for the country field", user, Feature),
            ("Write the markdown export", user, Feature),
            ("Users get HTTP 500 on /api/orders", user, Hotfix),
            ("Payments outage in EU", user, Hotfix),
            ("Login is BROKEN on Safari", user, Hotfix),
            ("The worker crashes when the queue is empty", user, Hotfix),
            ("Regression: totals are wrong since v2.3", user, Hotfix),
            ("Add regression tests for the parser", user, Feature),
            ("Add an incident report page for admins", user, Feature),
            ("Refactor the billing module", user, Refactor),
            ("Clean up the user service", user, Refactor),
            ("cleanup: remove dead code in utils", user, Refactor),
            ("Rename getUser to fetchUser", user, Refactor),
            ("Extract the mailer into its own crate", user, Refactor),
            ("Restructure the config loading", user, Refactor),
            ("Update infra/main.tf to add a bucket", user, RiskyInfra),
            ("Bump replicas in k8s/deployment.yaml", user, RiskyInfra),
            ("Change the base image in the Dockerfile", user, RiskyInfra),
            (
                "Edit `.github/workflows/release.yml` to sign artifacts",
                user,
                RiskyInfra,
            ),
            ("Add db/migrations/0042_add_index.sql", user, RiskyInfra),
            ("Tune queries/report.sql for speed", user, Feature),
            ("Add V3__orders.sql to backfill orders", user, RiskyInfra),
            (
                "Refactor terraform/modules/vpc/variables.tf",
                user,
                RiskyInfra,
            ),
            ("Checkout is down: fix env/prod.tfvars", user, RiskyInfra),
            ("Increase the timeout", Trigger::Incident, Hotfix),
            ("Memory limit drifted", Trigger::RuntimeDrift, Hotfix),
            ("Refactor the retry loop", Trigger::Incident, Hotfix),
            ("Update charts/api/Chart.yaml version", user, RiskyInfra),
            (
                "Run playbooks/deploy.yml on the new hosts",
                user,
                RiskyInfra,
            ),
            ("Change Pulumi.prod.yaml stack settings", user, RiskyInfra),
            (
                "See https://example.com/k8s/deployment.yaml for context",
                user,
                Feature,
            ),
            ("Add a docs page about prefixes.", user, Feature),
            ("Fix typo in README.md", user, Feature),
            ("Add 500 more products to the seed data", user, Feature),
            ("The API returns 503 under load", user, Hotfix),
            ("500 errors on checkout since noon", user, Hotfix),
            ("Search down since the 2am deploy", user, Hotfix),
            ("Pods in CrashLoopBackOff after the release", user, Hotfix),
            ("Track crash-free sessions on the dashboard", user, Feature),
            ("Fix broken links in the docs", user, Feature),
            (
                "Return 404 instead of 500 for missing orders",
                user,
                Feature,
            ),
            (
                "Checkout is broken until we rename the config key",
                user,
                Hotfix,
            ),
        ];
        let mut failures = Vec::new();
        for (request, trigger, want) in table {
            let got = class(request, *trigger);
            if got != *want {
                failures.push(format!("{request:?} ({trigger}): got {got}, want {want}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(table.len() >= 25);
    }

    #[test]
    fn explicit_class_wins_and_keeps_signals() {
        let c = classify(
            "Outage: fix infra/main.tf",
            Trigger::Incident,
            Some(Refactor),
            &[],
        );
        assert_eq!(c.class, Refactor);
        assert_eq!(c.source, ClassSource::Explicit);
        assert!(c.signals.contains(&"path:infra/main.tf".to_string()));
        assert!(c.signals.contains(&"trigger:incident".to_string()));
        assert!(
            c.rationale
                .starts_with("given explicitly as refactor; inference alone would say risky-infra"),
            "{}",
            c.rationale
        );
        let c = classify("Refactor it", Trigger::User, Some(Refactor), &[]);
        assert!(
            c.rationale
                .starts_with("given explicitly as refactor; inference agrees"),
            "{}",
            c.rationale
        );
    }

    #[test]
    fn signals_and_rationale_explain_the_choice() {
        let c = classify(
            "Outage after editing infra/main.tf",
            Trigger::Incident,
            None,
            &[],
        );
        assert_eq!(c.class, RiskyInfra);
        assert_eq!(c.source, ClassSource::Inferred);
        assert_eq!(
            c.signals,
            ["path:infra/main.tf", "trigger:incident", "word:outage"]
        );
        assert!(c.rationale.contains("outranks"), "{}", c.rationale);
        let c = classify("Edit a.tf, b.tf and Dockerfile", Trigger::User, None, &[]);
        assert!(
            c.rationale
                .starts_with("names infrastructure (Terraform, Docker): path:a.tf"),
            "{}",
            c.rationale
        );

        let c = classify("Site is down", Trigger::User, None, &[]);
        assert_eq!(c.signals, ["word:down"]);
        let c = classify("Refactor and rename things", Trigger::User, None, &[]);
        assert_eq!(c.signals, ["word:refactor", "word:rename"]);
        assert_eq!(
            classify("x", Trigger::User, None, &[]).signals,
            Vec::<String>::new()
        );
    }

    #[test]
    fn named_paths_and_manifests_count() {
        let paths = vec!["deploy/main.tf".to_string()];
        assert_eq!(
            classify("Tidy things", Trigger::User, None, &paths).class,
            RiskyInfra
        );
        let c = classify_with_manifests(
            "Update deploy/app.yaml",
            Trigger::User,
            None,
            &[],
            &["deploy/app.yaml".into()],
        );
        assert_eq!(c.class, RiskyInfra);
        assert!(c.signals.contains(&"manifest:deploy/app.yaml".to_string()));
        assert_eq!(class("Update deploy/app.yaml", Trigger::User), Feature);
    }

    #[test]
    fn extracts_paths_from_text() {
        assert_eq!(
            extract_paths(
                "Edit (infra/main.tf), `k8s/app.yaml`; the Dockerfile and ./scripts/run.sh. See https://x.io/a/b.tf v1.2.3"
            ),
            [
                "infra/main.tf",
                "k8s/app.yaml",
                "Dockerfile",
                "scripts/run.sh"
            ]
        );
    }

    #[test]
    fn infra_kinds_by_name() {
        for (path, kind) in [
            ("main.tf", Some("Terraform")),
            ("env/prod.tfvars", Some("Terraform")),
            ("k8s/svc.yml", Some("Kubernetes")),
            ("overlays/prod/kustomization.yaml", Some("Kubernetes")),
            ("charts/api/templates/deployment.yaml", Some("Helm chart")),
            ("docker-compose.prod.yml", Some("Docker")),
            ("api.Dockerfile", Some("Docker")),
            (".github/workflows/ci.yaml", Some("CI workflow")),
            ("app/migrations/0001_initial.py", Some("database migration")),
            ("roles/web/tasks/main.yml", Some("Ansible")),
            ("cloudformation/stack.yaml", Some("CloudFormation")),
            ("src/main.rs", None),
            ("docs/docker.md", None),
            (".github/CODEOWNERS", None),
        ] {
            assert_eq!(infra_kind(path), kind, "{path}");
        }
    }
}
