//! Reminders: what is due when, the schedules that say so, and the routes that act on them.

pub mod mapping;
pub mod model;
pub mod preview;
pub mod routes;
pub mod service;
pub mod store;
pub mod views;
