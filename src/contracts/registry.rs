//! The embedded schemas. Adding a contract is one line in `contracts!`.

use std::fmt;

macro_rules! contracts {
    ($($variant:ident => $name:literal, $file:literal;)*) => {
        /// Every contract the pipeline validates.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Contract { $($variant),* }

        impl Contract {
            /// All contracts, in documentation order.
            pub const ALL: &'static [Contract] = &[$(Contract::$variant),*];

            /// The contract's name as used on the command line, e.g. `strategic-plan`.
            pub fn name(self) -> &'static str {
                match self { $(Contract::$variant => $name),* }
            }

            /// The schema's file name under `schemas/`.
            pub fn file_name(self) -> &'static str {
                match self { $(Contract::$variant => $file),* }
            }

            /// The schema text, embedded at build time.
            pub fn schema_text(self) -> &'static str {
                match self { $(Contract::$variant => include_str!(concat!("../../schemas/", $file))),* }
            }
        }
    };
}

contracts! {
    StrategicPlan => "strategic-plan", "strategic-plan.schema.json";
    TacticalPlan => "tactical-plan", "tactical-plan.schema.json";
    ReviewOutput => "review-output", "review-output.schema.json";
    Lesson => "lesson", "lesson.schema.json";
    Scorecard => "scorecard", "scorecard.schema.json";
    HeuristicsPack => "heuristics-pack", "heuristics-pack.schema.json";
    Intake => "intake", "intake.schema.json";
    IntakeClassification => "intake-classification", "intake-classification.schema.json";
    Session => "session", "session.schema.json";
    Workflow => "workflow", "workflow.schema.json";
    ApplyArtifact => "apply-artifact", "apply-artifact.schema.json";
}

impl Contract {
    /// Look a contract up by its command-line name or its schema file name.
    pub fn from_name(name: &str) -> Option<Contract> {
        Contract::ALL
            .iter()
            .copied()
            .find(|c| c.name() == name || c.file_name() == name)
    }
}

impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
