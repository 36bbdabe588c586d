//! Billing: the tier table and its limits, delivery controls the engine applies, Square checkout and
//! webhooks, and the subscription state changes admin routes call.

pub mod checkouts;
pub mod controls;
pub mod direct;
pub mod limits;
pub mod model;
pub mod routes;
pub mod service;
pub mod square;
pub mod store;
pub mod webhook;
