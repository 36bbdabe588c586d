//! Escalation: profiles, the pure state machine, plan resolution and the scheduler's batched engine steps.

pub mod engine;
pub mod machine;
pub mod plan;
