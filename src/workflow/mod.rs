//! The pipeline definition: change classes, triggers, phases, `workflow.yaml` and routing.
//!
//! This module is data and pure decisions; it knows nothing of the command line, the state
//! directory, agents or the forge.

pub mod branch;
pub mod config;
pub mod load;

pub use config::{
    AdapterKind, AgentRole, Agents, ArtifactPath, Backoff, Budget, EffectivePhase, ForgeConfig,
    OutputPaths, Outputs, Price, Role, RouteStep, Workflow,
};
pub use load::{WorkflowError, default_workflow, load};

use serde::{Deserialize, Serialize};

/// The single decision that sets the process weight of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeClass {
    /// Production is broken: implement, review, merge, verify.
    Hotfix,
    /// Code improvement without behaviour change.
    Refactor,
    /// New functionality: the full eight phases.
    Feature,
    /// Infrastructure changes: full pipeline, ADR, thorough review, post-merge verification.
    RiskyInfra,
}

impl ChangeClass {
    pub const ALL: [ChangeClass; 4] = [
        ChangeClass::Hotfix,
        ChangeClass::Refactor,
        ChangeClass::Feature,
        ChangeClass::RiskyInfra,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Hotfix => "hotfix",
            ChangeClass::Refactor => "refactor",
            ChangeClass::Feature => "feature",
            ChangeClass::RiskyInfra => "risky-infra",
        }
    }

    /// The branch prefix for work of this class: `fix`, `feat`, `refactor`, `infra`.
    pub fn branch_prefix(self) -> &'static str {
        match self {
            ChangeClass::Hotfix => "fix",
            ChangeClass::Refactor => "refactor",
            ChangeClass::Feature => "feat",
            ChangeClass::RiskyInfra => "infra",
        }
    }
}

/// What started the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A person asked for a feature or a fix.
    User,
    /// A monitoring alert (Sentry, PagerDuty).
    Incident,
    /// A watchdog saw operational drift.
    RuntimeDrift,
}

impl Trigger {
    pub const ALL: [Trigger; 3] = [Trigger::User, Trigger::Incident, Trigger::RuntimeDrift];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::User => "user",
            Trigger::Incident => "incident",
            Trigger::RuntimeDrift => "runtime-drift",
        }
    }
}

/// The eight phases, with the names the log and the session use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Intake,
    StrategicPlan,
    IssueCreation,
    TacticalPlan,
    Implementation,
    CodeReview,
    Merge,
    Completion,
}

impl PhaseName {
    pub const ALL: [PhaseName; 8] = [
        PhaseName::Intake,
        PhaseName::StrategicPlan,
        PhaseName::IssueCreation,
        PhaseName::TacticalPlan,
        PhaseName::Implementation,
        PhaseName::CodeReview,
        PhaseName::Merge,
        PhaseName::Completion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhaseName::Intake => "intake",
            PhaseName::StrategicPlan => "strategic_plan",
            PhaseName::IssueCreation => "issue_creation",
            PhaseName::TacticalPlan => "tactical_plan",
            PhaseName::Implementation => "implementation",
            PhaseName::CodeReview => "code_review",
            PhaseName::Merge => "merge",
            PhaseName::Completion => "completion",
        }
    }

    /// The phase number of the methodology (1–8).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }
}

/// `Display` and `FromStr` for an enum with `ALL` and `as_str`; parsing is case-insensitive and
/// takes `_` for `-`.
macro_rules! display_and_parse {
    ($ty:ty, $what:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().replace('_', "-") == wanted)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        format!(
                            "unknown {} '{s}': expected one of {}",
                            $what,
                            names.join(", ")
                        )
                    })
            }
        }
    };
}

display_and_parse!(ChangeClass, "change class");
display_and_parse!(Trigger, "trigger");
display_and_parse!(PhaseName, "phase");

pub(crate) use display_and_parse;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for c in ChangeClass::ALL {
            assert_eq!(c.as_str().parse::<ChangeClass>().unwrap(), c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse::<Trigger>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for p in PhaseName::ALL {
            assert_eq!(p.as_str().parse::<PhaseName>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(
            "code-review".parse::<PhaseName>().unwrap(),
            PhaseName::CodeReview
        );
        assert!(
            "nope"
                .parse::<ChangeClass>()
                .unwrap_err()
                .contains("risky-infra")
        );
        assert_eq!(PhaseName::Completion.number(), 8);
    }
}
