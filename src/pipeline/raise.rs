//! Raise after planning: when a task of the strategic plan has infrastructure in its scope, the
//! session is raised to risky-infra: the route gains what that class runs (the ADR, the
//! thorough review, the merge approval, post-merge verification), the decision is logged with
//! the paths, and `factory status` and REPORT.md show it. A class is never lowered.
//!
//! What counts is what intake counts in a request: an infrastructure path by its name
//! (Terraform, Kubernetes, Helm, Docker, CI workflows, Ansible, Pulumi, CloudFormation). A
//! database migration counts when its task says the change drops or rewrites data (the
//! `data-topology` vocabulary): an additive migration is part of a feature.

use crate::artifacts::strategic_plan::Plan;
use crate::intake::classify::{self, vocabulary};
use crate::state::session::ClassRaise;
use crate::state::{PhaseStatus, Session, StateDir};
use crate::workflow::{ChangeClass, PhaseName, Workflow};

/// The infrastructure in the plan's scopes, as `task-id: path (kind)`.
pub fn infrastructure_in(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for task in &plan.tasks {
        // Read once per task, and only for a task with a migration in scope.
        let mut destructive = None;
        let mut destructive = || {
            *destructive.get_or_insert_with(|| {
                let text = format!("{}. {}", task.title, task.description);
                vocabulary::hits(vocabulary::terms(), &text)
                    .iter()
                    .any(|h| h.family == "data-topology" && h.weight >= classify::THRESHOLD)
            })
        };
        for path in &task.files_in_scope {
            let Some(kind) = classify::infra_kind(path) else {
                continue;
            };
            if kind == "database migration" && !destructive() {
                continue;
            }
            out.push(format!("{}: {path} ({kind})", task.id));
        }
    }
    out
}

/// After the strategic plan passed its gate: raise the session to risky-infra when the plan
/// calls for it. Returns the raise when it happened.
pub fn after_planning(
    state: &StateDir,
    workflow: &Workflow,
    session: &Session,
) -> anyhow::Result<Option<ClassRaise>> {
    if session.change_class == ChangeClass::RiskyInfra {
        return Ok(None);
    }
    let path = state.artifacts_dir().join("strategic-plan.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(plan) = serde_json::from_str::<Plan>(&text) else {
        return Ok(None);
    };
    let paths = infrastructure_in(&plan);
    if paths.is_empty() {
        return Ok(None);
    }
    let raise = ClassRaise {
        from: session.change_class,
        to: ChangeClass::RiskyInfra,
        paths,
        at: crate::state::now(),
    };
    let route: Vec<PhaseName> = workflow
        .route(ChangeClass::RiskyInfra)
        .iter()
        .map(|s| s.phase)
        .collect();
    // The plan was made without the ADR the heavier route asks for: plan again.
    let replan = workflow
        .route(ChangeClass::RiskyInfra)
        .iter()
        .any(|s| s.phase == PhaseName::StrategicPlan && s.adr);
    let recorded = raise.clone();
    state.update_session(move |s| {
        s.change_class = recorded.to;
        for p in &route {
            s.phases.entry(*p).or_default();
        }
        s.route = route.clone();
        if replan {
            let p = s.phase_mut(PhaseName::StrategicPlan);
            p.status = PhaseStatus::Pending;
            p.detail = Some("planning again: the class was raised to risky-infra".into());
        }
        s.classification.raised = Some(recorded.clone());
    })?;
    let detail = format!(
        "the plan puts infrastructure in scope: {}; raised from {} to risky-infra (ADR, thorough review, approval before merge, verification){}",
        raise.paths.join(", "),
        raise.from,
        if replan {
            "; the strategic plan runs again for the ADR"
        } else {
            ""
        }
    );
    tracing::info!(target: "factory::event", phase = PhaseName::StrategicPlan.as_str(), action = "raise_class", tool = "factory", status = "ok", detail, decision = "risky-infra");
    Ok(Some(raise))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(tasks: serde_json::Value) -> Plan {
        serde_json::from_value(serde_json::json!({
            "feature_title": "t", "problem_statement": "p", "solution_overview": "s",
            "tasks": tasks, "validation_commands": {"test": "true"}, "rollback": "r"
        }))
        .unwrap()
    }

    fn task(id: &str, title: &str, scope: &[&str]) -> serde_json::Value {
        serde_json::json!({"id": id, "title": title, "description": title, "change_class": "feature",
            "files_in_scope": scope, "acceptance_criteria": ["a"], "security_risk_level": "low", "wave": 1})
    }

    #[test]
    fn infrastructure_paths_in_scope_are_named_with_their_task() {
        let p = plan(serde_json::json!([
            task("task-001", "Add the endpoint", &["src/api/health.py"]),
            task(
                "task-002",
                "Expose it",
                &["k8s/service.yaml", "infra/main.tf"]
            ),
        ]));
        assert_eq!(
            infrastructure_in(&p),
            [
                "task-002: k8s/service.yaml (Kubernetes)",
                "task-002: infra/main.tf (Terraform)"
            ]
        );
    }

    #[test]
    fn an_additive_migration_is_part_of_a_feature_a_destructive_one_is_not() {
        let additive = plan(serde_json::json!([task(
            "task-001",
            "Add a reset_tokens table",
            &["migrations/20261101_reset_tokens.sql"]
        )]));
        assert!(infrastructure_in(&additive).is_empty());
        let destructive = plan(serde_json::json!([task(
            "task-001",
            "Drop the legacy_events table",
            &["migrations/20261101_drop_events.sql"]
        )]));
        assert_eq!(
            infrastructure_in(&destructive),
            ["task-001: migrations/20261101_drop_events.sql (database migration)"]
        );
    }
}
