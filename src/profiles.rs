//! Escalation profiles: the user's own tier ladders plus the shared, read-only presets.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;

pub use model::{ProfileRow, Tier};
