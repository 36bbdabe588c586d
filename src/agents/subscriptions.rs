//! A user's channel subscriptions (where their notifications go) and the agent catalogue.

pub mod model;
pub mod push_input;
pub mod routes;
pub mod sealed_settings;
pub mod service;
pub mod store;
pub mod verification;
