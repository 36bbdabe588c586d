//! The admin API: the permission matrix, one log row per write, dashboard numbers against seeded rows,
//! search and pages, bad input, and health snapshots written by the scheduler.

mod actions;
mod bootstrap;
mod dashboard;
mod health;
mod permissions;
mod reports;
mod roles;
mod settings;

use crate::common::TestApp;
use crate::fixtures::{scalar, user, user_id};

/// A signed-in admin.
pub struct Admin {
    pub token: String,
    /// The `admin_users` id (what the action log calls `adminId`).
    pub admin_id: String,
}

/// Registers `email` and makes them an admin with `role`.
pub async fn admin(app: &TestApp, email: &str, role: &str) -> Admin {
    let token = user(app, email).await;
    let id = user_id(app, &token).await;
    let admin_id = scalar(
        app,
        &format!("INSERT INTO admin_users (user_id, role) VALUES ('{id}', '{role}') RETURNING id::text AS value"),
    )
    .await;
    Admin { token, admin_id }
}

/// A user to act on: (token, id).
pub async fn customer(app: &TestApp, email: &str) -> (String, String) {
    let token = user(app, email).await;
    let id = user_id(app, &token).await;
    (token, id)
}

/// An RFC 3339 instant `days` from now, whole seconds.
pub fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
