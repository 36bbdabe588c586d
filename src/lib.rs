//! Escalating Reminders: reminders that cannot be ignored.
//!
//! One crate, one binary; `--role` picks which loops run. Every role shares this module tree.

pub mod accounts;
pub mod admin;
pub mod agents;
pub mod api;
pub mod billing;
pub mod calendars;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod contacts;
pub mod crypto;
pub mod db;
pub mod dispatch;
pub mod escalation;
pub mod family;
pub mod http;
pub mod mailer;
pub mod nlp;
pub mod notifications;
pub mod onboarding;
pub mod privacy;
pub mod profiles;
pub mod rate_limiter;
pub mod redis_client;
pub mod reminders;
pub mod roles;
pub mod settings;
pub mod state;
pub mod stopping;
pub mod telemetry;
pub mod watchers;

/// The version reported by `/health` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Installs the process-wide rustls crypto provider. Call first thing in `main` and in each test binary:
/// reqwest and tokio-postgres-rustls panic without one.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
