//! Accounts: the account row and its notices (`users`), and who is asking — passwords, sessions, tokens,
//! API keys, login limits (`auth`). One domain in two parts that need each other: `auth` creates and finds
//! users; changing a password or deleting an account ends every session and key.

pub mod auth;
pub mod users;
