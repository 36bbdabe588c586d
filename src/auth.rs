//! Accounts and credentials: passwords, tokens, API keys.

pub mod password;
