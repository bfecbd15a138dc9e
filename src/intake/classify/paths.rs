//! Paths in a request: finding them in free text, and telling by its name alone whether a path
//! is infrastructure (Terraform, Helm, Kubernetes, Docker, CI workflows, migrations, Ansible,
//! Pulumi, CloudFormation).

use std::sync::LazyLock;

use regex::Regex;

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
