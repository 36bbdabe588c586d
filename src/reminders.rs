//! Reminders: what is due when, and the schedules that say so.

pub mod schedule;
