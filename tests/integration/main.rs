//! Integration tests against the real local PostgreSQL and Redis: each test gets its own database cloned
//! from a migrated template and its own Redis key prefix, so they run in parallel.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod accounts;
mod action_links;
pub mod admin;
mod architecture;
mod billing;
mod calendars;
mod channel_health;
mod channels;
mod console;
mod contact_replies;
mod contacts;
mod email;
mod engine;
mod family;
mod fixtures;
mod foundation;
mod hooks;
mod imap;
mod inbound_senders;
mod invitations_by_text;
mod marketplace;
mod onboarding;
mod paging;
mod pgbouncer;
mod privacy;
mod processes;
mod profiles;
mod push;
pub mod reminder_actions;
mod reminders;
mod restore;
mod retention;
mod retries;
mod sms;
mod ssrf;
mod unsubscribe;
mod verification;
mod watchers;
