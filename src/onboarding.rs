//! Onboarding: a new account's first steps (its time zone, a first channel, a first reminder from a
//! template), with progress kept per user. A step is done when the account's data shows it (a channel
//! exists) or when its owner said so; the first reminder is made by the reminders service, like any other.
//! Accounts that existed before onboarding start with it dismissed (their migration).

pub mod model;
pub mod routes;
pub mod service;
mod store;
pub mod templates;
