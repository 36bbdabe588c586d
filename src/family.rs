//! Family sharing (the FAMILY tier's `sharedReminders`, issue 22 item 5).
//!
//! An owner whose tier allows family members invites people by email; whoever accepts with an account of
//! that address becomes a member (one family per person). The owner shares a reminder with members: they
//! see it (`GET /v1/shared-reminders`), may acknowledge or complete it (the actor is recorded as
//! `member:<id>`; `escalation::shared` runs the action) and may be named in the tiers of the owner's
//! profiles, reached at their account's address. The reminder stays the owner's: it counts against the
//! owner's quotas, and only the owner edits it. Leaving, or being removed, ends every share at once.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;
