//! Administration: admin users and their roles.

pub mod bootstrap;
