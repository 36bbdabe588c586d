//! Third-party agent types (`FEATURE_MARKETPLACE`): a developer registers a manifest — name, description,
//! capabilities, a JSON Schema for each user's config, a callback URL and limits — and gets a signing secret
//! once; an admin approves it; users find it in the catalogue beside the built-in channels and subscribe with
//! a config its schema accepts. Deliveries reach it as Standard Webhooks signed with its secret
//! ([`super::third_party`]); it answers with signed commands (`escalation::agent_commands`). Repeated
//! failures suspend it, and its developer sees why.

pub mod model;
pub mod routes;
pub mod schema;
pub mod service;
pub mod store;
