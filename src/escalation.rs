//! Escalation: profiles, the pure state machine, plan resolution, the one action path (acknowledge,
//! complete, snooze), and the scheduler's batched engine steps.

pub mod actions;
pub mod agent_commands;
pub mod delivery_log;
pub mod engine;
pub mod episodes;
pub mod got_it;
pub mod link_routes;
pub mod outcomes;
pub mod routes;
pub mod shared;
pub mod snooze;
