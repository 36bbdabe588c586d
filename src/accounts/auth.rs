//! Accounts and credentials: register, login (with a password or with Google), refresh rotation, logout, API keys,
//! the `AuthUser` extractor.

pub mod api_keys;
pub mod email_verification;
mod extractor;
pub mod google;
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
