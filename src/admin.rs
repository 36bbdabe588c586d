//! Administration: admin users and their roles (granted, changed and revoked by a SUPER_ADMIN), dashboard stats,
//! revenue and activity reports, user support actions (delivery controls,
//! tier overrides, notes), the admin action log, system health snapshots, and the operator knobs kept in the database.

pub mod action_log;
pub mod bootstrap;
pub mod extractor;
pub mod health;
pub mod marketplace;
pub mod model;
pub mod params;
pub mod permissions;
pub mod reports;
pub mod roles;
pub mod routes;
pub mod service;
pub mod settings;
pub mod stats;
pub mod store;

pub use extractor::AdminUser;

/// Admin routes need a signed-in session: an API key is no credential for them, whoever owns it.
pub fn accepts(user: &crate::accounts::auth::AuthUser) -> bool {
    user.api_key_id.is_none()
}
