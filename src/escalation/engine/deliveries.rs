//! The one writer of the `deliveries` table: every insert, claim, outcome, offer stamp, cancellation and
//! delete of a delivery row is a named function here, so the rules a row's life depends on (a claim's
//! lease and attempt, "nothing owed is lost", "no delivery after an episode ends") are checked in one place.
//! Callers pass a connection (or their transaction) first; reads for views stay with the views.
//!
//! It lives in the engine because the table is the engine's queue of owed work: the scheduler steps create
//! and offer the rows, the worker claims them and records outcomes, actions cancel them.

mod claim;
mod insert;
mod outcome;
mod queue;

pub use claim::{Claimed, claim_by_ids, claim_due, within_allowance};
pub use insert::{insert_batch, insert_lifecycle};
pub use outcome::{Recorded, Step, apply_sms_receipt, mark_pulled, record_outcomes, renew_leases, sms_step};
pub use queue::{
    cancel_pending_of, cancel_pending_tiers, forget_offers, lock_unoffered, mark_offered, purge_finished,
    release_expired_leases,
};
