//! Choosing the change class of a request: deterministic, offline, explainable.
//!
//! An explicit class always wins (a contradiction with strong signals is kept in the rationale).
//! Otherwise the request's evidence is weighed per class ([`vocabulary`]: families of terms with
//! weights; [`paths`]: infrastructure named by path; the trigger; what the repository holds) and
//! the first class whose evidence reaches its threshold wins, in this order:
//!
//! 1. **risky-infra**: infrastructure evidence (IaC, cluster objects, networking, identity and
//!    secrets, data-store topology, CI/CD, container images, cloud resources, or a path of one);
//! 2. **hotfix**: outage evidence (errors and status codes, crashes, "stopped working", "since
//!    the deploy", production and customers, severity tags, data loss) or an `incident` /
//!    `runtime-drift` trigger;
//! 3. **refactor**: behaviour-preserving and restructuring wording that outweighs any
//!    new-capability wording;
//! 4. **feature**: everything else.
//!
//! Infra outranks hotfix on purpose: the hotfix route skips planning and the thorough review,
//! and a change to infrastructure made in a hurry is exactly what needs the ADR, the threat model
//! and post-merge verification. The incident is not lost: its signals stay in the rationale.
//! This order is the floor any other classifier is held to ([`floor`]).

pub mod paths;
pub mod vocabulary;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::workflow::{ChangeClass, Trigger};
pub use paths::{extract_paths, infra_kind};
use vocabulary::{Hit, Points, Term};

/// Evidence a class needs before it is chosen: one strong term (weight 3), a path, or two
/// weaker ones.
pub const THRESHOLD: u32 = 3;

/// Below this confidence, `intake.classifier: auto` asks the planner as well.
pub const LOW_CONFIDENCE: f64 = 0.7;

/// Whether the class was given or inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassSource {
    /// Given on the command line (`--class`).
    Explicit,
    /// Inferred from the request, its paths and its trigger.
    Inferred,
    /// Inferred by the planner agent (`intake.classifier`), held to the deterministic floor.
    Agent,
}

/// The chosen class and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub class: ChangeClass,
    pub source: ClassSource,
    /// One sentence a person can check, naming the evidence that decided.
    pub rationale: String,
    /// What matched: `path:infra/main.tf`, `manifest:deploy/app.yaml`, `trigger:incident`,
    /// `word:security groups`, `repo:Terraform`.
    pub signals: Vec<String>,
    /// How sure the inference is, 0 to 1 (1 for an explicit class that agrees).
    pub confidence: f64,
    /// The evidence per class, for the floor and for the record.
    pub evidence: Evidence,
}

/// Evidence weighed per class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub infra: u32,
    pub outage: u32,
    pub refactor: u32,
    pub feature: u32,
}

impl Evidence {
    /// The class the evidence decides, before any explicit class or agent.
    pub fn class(&self) -> ChangeClass {
        if self.infra >= THRESHOLD {
            ChangeClass::RiskyInfra
        } else if self.outage >= THRESHOLD {
            ChangeClass::Hotfix
        } else if self.refactor >= THRESHOLD && self.refactor > self.feature
            || self.refactor >= 2 && self.feature == 0
        {
            ChangeClass::Refactor
        } else {
            ChangeClass::Feature
        }
    }
}

/// The lowest class the evidence allows: infrastructure evidence is never classified below
/// risky-infra, outage evidence never below hotfix. Any other classifier's answer is raised to
/// it.
pub fn floor(e: &Evidence) -> Option<ChangeClass> {
    floor_of(e.class())
}

/// The floor a deterministic class sets: risky-infra and hotfix are only chosen on the
/// evidence the floor is made of.
pub fn floor_of(deterministic: ChangeClass) -> Option<ChangeClass> {
    matches!(deterministic, ChangeClass::RiskyInfra | ChangeClass::Hotfix).then_some(deterministic)
}

/// `class`, raised to `floor` when the floor is heavier.
pub fn at_least(class: ChangeClass, floor: Option<ChangeClass>) -> ChangeClass {
    match floor {
        Some(f) if weight(f) > weight(class) => f,
        _ => class,
    }
}

/// How heavy a class's process is, lightest first: a floor raises to a heavier class only.
pub fn weight(class: ChangeClass) -> u8 {
    match class {
        ChangeClass::Feature | ChangeClass::Refactor => 0,
        ChangeClass::Hotfix => 1,
        ChangeClass::RiskyInfra => 2,
    }
}

/// What the repository holds that bears on the class: the kinds of infrastructure among its
/// files (`Terraform`, `Kubernetes`, ...).
#[derive(Debug, Clone, Default)]
pub struct RepoFacts {
    pub infra_kinds: BTreeSet<&'static str>,
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
    classify_in(
        vocabulary::terms(),
        &Request {
            text: request,
            trigger,
            explicit,
            named_paths,
            manifests,
            repo: &RepoFacts::default(),
        },
    )
}

/// Everything the classifier reads.
pub struct Request<'a> {
    pub text: &'a str,
    pub trigger: Trigger,
    pub explicit: Option<ChangeClass>,
    pub named_paths: &'a [String],
    pub manifests: &'a [String],
    pub repo: &'a RepoFacts,
}

/// The infrastructure kinds a vocabulary family is about, for the repository signal.
fn family_kinds(family: &str) -> &'static [&'static str] {
    match family {
        "iac" => &[
            "Terraform",
            "Pulumi",
            "CloudFormation",
            "Ansible",
            "Helm chart",
        ],
        "cluster" => &["Kubernetes", "Helm chart"],
        "containers" => &["Docker"],
        "ci-cd" => &["CI workflow"],
        "data-topology" => &["database migration"],
        _ => &[],
    }
}

/// Classify with the given vocabulary (the evals' mutation test passes one with a family
/// removed).
pub fn classify_in(terms: &[Term], req: &Request<'_>) -> Classification {
    let in_text = extract_paths(req.text);
    let mut infra_paths: Vec<(String, &'static str)> = Vec::new();
    let mut seen = BTreeSet::new();
    for path in in_text.iter().chain(req.named_paths) {
        if seen.insert(path.clone())
            && let Some(kind) = infra_kind(path)
        {
            infra_paths.push((format!("path:{path}"), kind));
        }
    }
    for path in req.manifests {
        if seen.insert(format!("manifest:{path}")) {
            infra_paths.push((format!("manifest:{path}"), "Kubernetes manifest"));
        }
    }
    // Paths are judged by their names above; their words are not vocabulary (`deploy/app.yaml`
    // says nothing about deploying).
    let mut prose = req.text.to_string();
    for path in &in_text {
        // `async/await` and `ci/cd` are words; a path has a file name or more than one `/`.
        let is_path = path.ends_with('/')
            || path.matches('/').count() > 1
            || path
                .rsplit('/')
                .next()
                .is_some_and(|name| name.contains('.'));
        if is_path {
            prose = prose.replace(path.as_str(), " ");
        }
    }
    let hits = vocabulary::hits(terms, &prose);
    let trigger_signal = match req.trigger {
        Trigger::User => None,
        other => Some(format!("trigger:{}", other.as_str())),
    };

    let mut e = Evidence::default();
    let mut repo_signals: Vec<String> = Vec::new();
    let mut weak_seen: Vec<&str> = Vec::new();
    for h in &hits {
        // A family's hints (weight 1) count once: `bucket` and `buckets` are one hint.
        if h.weight == 1 {
            if weak_seen.contains(&h.family) {
                continue;
            }
            weak_seen.push(h.family);
        }
        let mut w = h.weight;
        // A weak infrastructure word about what the repository is built on counts more.
        if h.points == Points::Infra
            && w < THRESHOLD
            && let Some(kind) = family_kinds(h.family)
                .iter()
                .find(|k| req.repo.infra_kinds.contains(*k))
        {
            w += 1;
            let s = format!("repo:{kind}");
            if !repo_signals.contains(&s) {
                repo_signals.push(s);
            }
        }
        match h.points {
            Points::Infra => e.infra += w,
            Points::Outage => e.outage += w,
            Points::Refactor => e.refactor += w,
            Points::Feature => e.feature += w,
        }
    }
    e.infra += THRESHOLD * infra_paths.len() as u32;
    if trigger_signal.is_some() {
        e.outage += THRESHOLD;
    }

    let mut signals: Vec<String> = infra_paths.iter().map(|(s, _)| s.clone()).collect();
    signals.extend(trigger_signal.iter().cloned());
    // The words that decided: those of every class whose evidence reached its threshold (an
    // outage beside infrastructure is kept: the rationale names both).
    let decided = |p: Points| match p {
        Points::Infra => e.infra >= THRESHOLD,
        Points::Outage => e.outage >= THRESHOLD,
        Points::Refactor => e.class() == ChangeClass::Refactor,
        Points::Feature => false,
    };
    signals.extend(
        hits.iter()
            .filter(|h| decided(h.points))
            .map(|h| format!("word:{}", h.text)),
    );
    if e.infra >= THRESHOLD {
        signals.extend(repo_signals);
    }

    let class = e.class();
    let rationale = rationale(class, &e, &hits, &infra_paths, trigger_signal.as_deref());
    let confidence = confidence(class, &e);
    match req.explicit {
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
            confidence: if given == class { 1.0 } else { confidence },
            evidence: e,
        },
        None => Classification {
            class,
            source: ClassSource::Inferred,
            rationale,
            signals,
            confidence,
            evidence: e,
        },
    }
}

impl Classification {
    /// An explicit class lighter than the evidence's floor: what the evidence says instead.
    pub fn contradiction(&self) -> Option<String> {
        let floor = floor(&self.evidence)?;
        (self.source == ClassSource::Explicit && weight(self.class) < weight(floor)).then(|| {
            format!(
                "given as {} but the request's evidence says {floor} ({})",
                self.class,
                self.signals
                    .iter()
                    .filter(|s| !s.starts_with("repo:"))
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

/// 0 to 1: how far the winning evidence is past its threshold, less what points elsewhere.
fn confidence(class: ChangeClass, e: &Evidence) -> f64 {
    let past = |score: u32| 0.7 + 0.06 * f64::from(score.saturating_sub(THRESHOLD));
    let c = match class {
        ChangeClass::RiskyInfra => past(e.infra),
        ChangeClass::Hotfix => past(e.outage) - 0.05 * f64::from(e.infra),
        ChangeClass::Refactor => {
            past(e.refactor.max(THRESHOLD)) - 0.05 * f64::from(e.feature + e.infra + e.outage)
        }
        // A feature is the default: sure when the request asks for something new, less so
        // when nothing in it points anywhere, and less with every sign of another class.
        ChangeClass::Feature => {
            let doubt = e.infra.max(e.outage).max(e.refactor);
            let base = if e.feature > 0 { 0.9 } else { 0.65 };
            base - 0.15 * f64::from(doubt)
        }
    };
    (c.clamp(0.3, 0.99) * 100.0).round() / 100.0
}

/// `family (words), family (words)` for the hits pointing to `points`.
fn cite(hits: &[Hit], points: Points) -> String {
    let mut families: Vec<(&str, Vec<&str>)> = Vec::new();
    for h in hits.iter().filter(|h| h.points == points) {
        match families.iter_mut().find(|(f, _)| *f == h.family) {
            Some((_, words)) => words.push(&h.text),
            None => families.push((h.family, vec![&h.text])),
        }
    }
    families
        .iter()
        .map(|(f, w)| format!("{f}: {}", w.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn rationale(
    class: ChangeClass,
    e: &Evidence,
    hits: &[Hit],
    infra_paths: &[(String, &'static str)],
    trigger: Option<&str>,
) -> String {
    let hot_reason = || {
        let mut parts = Vec::new();
        if let Some(t) = trigger {
            parts.push(format!("the {} trigger", &t["trigger:".len()..]));
        }
        let words = cite(hits, Points::Outage);
        if !words.is_empty() {
            parts.push(format!("outage wording ({words})"));
        }
        parts.join(" and ")
    };
    match class {
        ChangeClass::RiskyInfra => {
            let mut parts = Vec::new();
            if !infra_paths.is_empty() {
                let mut kinds: Vec<&str> = Vec::new();
                for (_, kind) in infra_paths {
                    if !kinds.contains(kind) {
                        kinds.push(kind);
                    }
                }
                parts.push(format!(
                    "names infrastructure ({}): {}",
                    kinds.join(", "),
                    infra_paths
                        .iter()
                        .map(|(s, _)| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let words = cite(hits, Points::Infra);
            if !words.is_empty() {
                parts.push(format!("infrastructure wording ({words})"));
            }
            let mut why = parts.join("; ");
            if e.outage >= THRESHOLD {
                why.push_str(&format!(
                    "; {} also point to a hotfix, but infrastructure outranks it so the change keeps \
                     the ADR, thorough review and post-merge verification",
                    hot_reason()
                ));
            }
            why
        }
        ChangeClass::Hotfix => format!("production is affected: {}", hot_reason()),
        ChangeClass::Refactor => format!(
            "refactor wording ({}) and no infrastructure or outage evidence",
            cite(hits, Points::Refactor)
        ),
        ChangeClass::Feature => {
            let words = cite(hits, Points::Feature);
            let mut why = if words.is_empty() {
                "no infrastructure, outage or refactor evidence: default feature".to_string()
            } else {
                format!(
                    "new capability ({words}) and no infrastructure, outage or refactor evidence that decides"
                )
            };
            let weak: Vec<String> = [
                (Points::Infra, e.infra),
                (Points::Outage, e.outage),
                (Points::Refactor, e.refactor),
            ]
            .iter()
            .filter(|(_, score)| *score > 0)
            .map(|(p, _)| cite(hits, *p))
            .filter(|c| !c.is_empty())
            .collect();
            if !weak.is_empty() {
                why.push_str(&format!(" (below the threshold: {})", weak.join("; ")));
            }
            why
        }
    }
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
            // A memory limit is the cluster's configuration: infrastructure outranks the drift.
            ("Memory limit drifted", Trigger::RuntimeDrift, RiskyInfra),
            ("Feature flag drifted", Trigger::RuntimeDrift, Hotfix),
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
        assert_eq!(c.signals, ["word:is down"]);
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
