//! Snooze phrases: the grammar is pure and lives in the core crate ([`reminder_core::nlp`]); the optional
//! OpenAI fallback for phrases the grammar cannot read does HTTP, so it lives here.

pub mod fallback;
