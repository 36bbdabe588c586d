//! A person's own data: the export of every row they own (`GET /v1/users/me/export`, and the console's settings
//! page). [`store::OWNED`] says which tables hold their rows and how each row is tied to them;
//! [`store::NOT_EXPORTED`] names every other table with the reason. The purge of a deleted account (engine
//! upkeep) removes the same rows through the foreign keys' `ON DELETE CASCADE`; the integration test `privacy`
//! holds the lists, the schema and the purge together, so a new table fails it until it is placed.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;
