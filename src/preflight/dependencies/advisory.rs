//! The parts of the OSV advisory format the audit needs: which versions are affected, the
//! first fixed version, and a severity.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use crate::findings::Severity;

use super::version::compare;

#[derive(Debug, Clone, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub details: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub severity: Vec<ScoreEntry>,
    #[serde(default)]
    pub database_specific: Option<Value>,
    #[serde(default)]
    pub withdrawn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    pub package: Option<Package>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub ecosystem_specific: Option<Value>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    pub name: String,
    pub ecosystem: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScoreEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// PyPI names compare case-insensitively with `_`, `.` and `-` equivalent (PEP 503).
pub(crate) fn same_package(ecosystem: &str, a: &str, b: &str) -> bool {
    if ecosystem.eq_ignore_ascii_case("pypi") {
        let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
        norm(a) == norm(b)
    } else {
        a == b
    }
}

fn same_ecosystem(a: &str, b: &str) -> bool {
    // OSV ecosystems may carry a suffix (`Debian:12`); lockfile ecosystems never do.
    let base = |s: &str| s.split(':').next().unwrap_or(s).to_ascii_lowercase();
    base(a) == base(b)
}

impl Advisory {
    fn entries<'a>(
        &'a self,
        ecosystem: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Affected> + 'a {
        self.affected.iter().filter(move |a| {
            a.package.as_ref().is_some_and(|p| {
                same_ecosystem(&p.ecosystem, ecosystem) && same_package(ecosystem, &p.name, name)
            })
        })
    }

    /// Whether this advisory affects `name@version` in `ecosystem`.
    pub fn affects(&self, ecosystem: &str, name: &str, version: &str) -> bool {
        if self.withdrawn.is_some() {
            return false;
        }
        self.entries(ecosystem, name).any(|a| {
            a.versions
                .iter()
                .any(|v| compare(v, version) == Ordering::Equal)
                || a.ranges
                    .iter()
                    .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
                    .any(|r| in_range(&r.events, version))
        })
    }

    /// The lowest fixed version above `version` for this package, if the advisory names one.
    pub fn fixed_after(&self, ecosystem: &str, name: &str, version: &str) -> Option<String> {
        self.entries(ecosystem, name)
            .flat_map(|a| a.ranges.iter())
            .flat_map(|r| r.events.iter())
            .filter_map(|e| e.get("fixed").and_then(Value::as_str))
            .filter(|f| compare(f, version) == Ordering::Greater)
            .min_by(|a, b| compare(a, b))
            .map(str::to_string)
    }

    /// Severity from the database's label, else from a CVSS v3 vector, else `important`.
    /// CRITICAL and HIGH map to critical, MODERATE/MEDIUM to important, LOW to advisory.
    pub fn severity(&self) -> Severity {
        let label = |v: &Option<Value>| {
            v.as_ref()
                .and_then(|d| d.get("severity"))
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase)
        };
        let from_label = label(&self.database_specific).or_else(|| {
            self.affected
                .iter()
                .find_map(|a| label(&a.database_specific).or_else(|| label(&a.ecosystem_specific)))
        });
        if let Some(l) = from_label {
            match l.as_str() {
                "CRITICAL" | "HIGH" => return Severity::Critical,
                "MODERATE" | "MEDIUM" => return Severity::Important,
                "LOW" => return Severity::Advisory,
                _ => {}
            }
        }
        let score = self
            .severity
            .iter()
            .filter_map(|s| {
                s.score.parse::<f64>().ok().or_else(|| {
                    (s.kind == "CVSS_V3")
                        .then(|| cvss3_base_score(&s.score))
                        .flatten()
                })
            })
            .fold(None, |acc: Option<f64>, s| {
                Some(acc.map_or(s, |a| a.max(s)))
            });
        match score {
            Some(s) if s >= 7.0 => Severity::Critical,
            Some(s) if s >= 4.0 => Severity::Important,
            Some(s) if s > 0.0 => Severity::Advisory,
            _ => Severity::Important,
        }
    }
}

/// Walk the sorted events of a range: each event past `version` switches the state.
fn in_range(events: &[Value], version: &str) -> bool {
    let mut sorted: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| {
            let obj = e.as_object()?;
            let (k, v) = obj.iter().next()?;
            Some((k.as_str(), v.as_str()?))
        })
        .collect();
    sorted.sort_by(|a, b| match (a.1, b.1) {
        ("0", "0") => Ordering::Equal,
        ("0", _) => Ordering::Less,
        (_, "0") => Ordering::Greater,
        (x, y) => compare(x, y),
    });
    let mut affected = false;
    for (kind, at) in sorted {
        let order = if at == "0" {
            Ordering::Greater
        } else {
            compare(version, at)
        };
        match kind {
            "introduced" if order != Ordering::Less => affected = true,
            "fixed" | "limit" if order != Ordering::Less => affected = false,
            "last_affected" if order == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    affected
}

/// CVSS v3.0/v3.1 base score from a vector string (`CVSS:3.1/AV:N/AC:L/...`).
pub(crate) fn cvss3_base_score(vector: &str) -> Option<f64> {
    if !vector.starts_with("CVSS:3") {
        return None;
    }
    let metric = |name: &str| {
        vector
            .split('/')
            .find_map(|p| p.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
    };
    let changed = metric("S")? == "C";
    let av = match metric("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match metric("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (metric("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match metric("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |m: &str| match metric(m) {
        Some("H") => Some(0.56),
        Some("L") => Some(0.22),
        Some("N") => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    // CVSS "round up" to one decimal, done on integers to avoid float artefacts.
    let scaled = (raw * 100_000.0).round() as i64;
    Some(if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        ((scaled / 10_000) + 1) as f64 / 10.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn advisory(v: Value) -> Advisory {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ranges_versions_and_fixed() {
        let a = advisory(json!({
            "id": "GHSA-x", "affected": [{
                "package": {"name": "lodash", "ecosystem": "npm"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]},
                           {"type": "SEMVER", "events": [{"introduced": "5.0.0"}, {"last_affected": "5.0.2"}]}],
                "versions": ["3.0.0-beta"]
            }]
        }));
        assert!(a.affects("npm", "lodash", "4.17.20"));
        assert!(!a.affects("npm", "lodash", "4.17.21"));
        assert!(a.affects("npm", "lodash", "5.0.2"));
        assert!(!a.affects("npm", "lodash", "5.0.3"));
        assert!(!a.affects("npm", "underscore", "1.0.0"));
        assert!(!a.affects("PyPI", "lodash", "1.0.0"));
        assert_eq!(
            a.fixed_after("npm", "lodash", "4.17.20").as_deref(),
            Some("4.17.21")
        );
    }

    #[test]
    fn pypi_names_are_normalised() {
        let a = advisory(
            json!({"id": "P", "affected": [{"package": {"name": "Django_Rest", "ecosystem": "PyPI"}, "versions": ["1.0"]}]}),
        );
        assert!(a.affects("PyPI", "django-rest", "1.0"));
    }

    #[test]
    fn severity_from_labels_and_cvss() {
        assert_eq!(
            advisory(json!({"id": "a", "database_specific": {"severity": "HIGH"}})).severity(),
            Severity::Critical
        );
        assert_eq!(
            advisory(json!({"id": "a", "database_specific": {"severity": "MODERATE"}})).severity(),
            Severity::Important
        );
        assert_eq!(
            advisory(json!({"id": "a", "database_specific": {"severity": "LOW"}})).severity(),
            Severity::Advisory
        );
        assert_eq!(advisory(json!({"id": "a"})).severity(), Severity::Important);
        let cvss = advisory(
            json!({"id": "a", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}),
        );
        assert_eq!(cvss.severity(), Severity::Critical);
    }

    #[test]
    fn cvss3_scores_match_published_examples() {
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"),
            Some(5.5)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            Some(10.0)
        );
        assert_eq!(cvss3_base_score("CVSS:4.0/AV:N"), None);
    }
}
