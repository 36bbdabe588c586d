//! The delivery queue: Redis Streams consumer group with a Postgres fallback.

pub mod worker;
