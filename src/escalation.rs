//! Escalation: profiles, the pure state machine, and the scheduler's batched engine steps.

pub mod engine;
pub mod machine;
