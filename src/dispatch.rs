//! The delivery queue. Postgres holds every owed delivery; the Redis stream only wakes workers fast.
//! Workers read delivery ids from a consumer group and claim the rows in Postgres; when Redis is down or
//! absent they claim straight from Postgres with `FOR UPDATE SKIP LOCKED`. Switching needs no restart.
//! The rows are written through the engine's deliveries store; the scheduler's offer step pushes to the
//! stream (`escalation::engine::stream`), which the worker reads.

pub mod worker;
