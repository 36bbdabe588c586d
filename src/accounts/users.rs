//! Users: profile, settings (time zone, quiet hours, preferences), password change, deletion.

pub mod model;
pub mod notice;
pub mod routes;
pub mod service;
pub mod store;
