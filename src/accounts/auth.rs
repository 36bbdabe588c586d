//! Accounts and credentials: register, login, refresh rotation, logout, API keys, the `AuthUser` extractor.

pub mod api_keys;
pub mod email_verification;
mod extractor;
pub mod links;
mod login_limits;
pub mod model;
pub mod password;
pub mod reset;
pub mod routes;
pub mod service;
mod store;
pub mod tokens;

pub use extractor::AuthUser;
