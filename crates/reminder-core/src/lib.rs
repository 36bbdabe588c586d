//! The pure rules of Escalating Reminders, with no I/O by construction: this crate depends on no database,
//! HTTP, Redis or runtime crate (`cargo tree -p reminder-core` shows it), so `cargo test -p reminder-core`
//! runs the state machine's table and property tests without building the service.
//!
//! - [`machine`]: an escalation episode as a pure state machine, `step(plan, episode, event, now)`.
//! - [`plan`]: a profile's tiers, as stored, turned into a [`machine::Plan`].
//! - [`schedule`]: once, cron, interval and RRULE schedules in the user's zone.
//! - [`nlp`]: the snooze grammar ("until tomorrow 9am").
//! - [`timezone`], [`quiet_hours`], [`retry`]: the one rule for local times, quiet windows, retry ladders.
//! - [`tiers`]: billing tiers and what each allows.
//! - [`channel`], [`ids`], [`status`], [`completion`]: the shared vocabulary (channel kinds, typed ids,
//!   statuses, how a reminder gets completed).
//!
//! With the `diesel` feature, ids and statuses map to SQL; with `utoipa`, shared types describe themselves in
//! the OpenAPI document. Neither adds I/O.

pub mod calendar;
pub mod channel;
pub mod completion;
pub mod delivery;
pub mod ids;
pub mod machine;
pub mod nlp;
pub mod plan;
pub mod quiet_hours;
pub mod retry;
pub mod schedule;
pub mod status;
pub mod tiers;
pub mod timezone;

pub use channel::ChannelKind;
