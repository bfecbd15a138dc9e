//! Typed models of the phase artifacts factory writes and reads back, deserialized once their
//! contract has passed. The files live in the state directory's `artifacts/`.

pub mod implementation;
pub mod review;
pub mod scorecard;
pub mod strategic_plan;
