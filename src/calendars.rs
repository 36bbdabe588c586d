//! Calendars: a user's secret ICS addresses and CalDAV collections, fetched on a schedule and expanded into
//! event instances, and the rules by which those events pause, snooze, skip or hurry reminders. The engine
//! weighs them when a reminder fires (`reminder_core::calendar` is the pure judgement); snooze phrases such
//! as "until after my meeting" read them.

pub mod fetch;
pub mod ics;
pub mod model;
pub mod phrases;
pub mod routes;
pub mod service;
pub mod store;
pub mod sync;
