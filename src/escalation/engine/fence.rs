//! The fencing check every engine transaction starts with. `FOR SHARE` on the lease row also makes a
//! takeover (which updates that row) wait until in-flight engine transactions of the old leader end.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Shard;
use crate::db::Prepare;

/// A scheduler's leadership of one shard: the shard, and the epoch its lease row had when it took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lead {
    pub shard: Shard,
    pub epoch: i64,
}

impl Lead {
    /// Leadership of all the reminders (one shard), under `epoch`.
    pub fn whole(epoch: i64) -> Lead {
        Lead { shard: Shard::WHOLE, epoch }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("scheduler epoch {ours} is stale; the current leader has epoch {current}")]
pub struct Fenced {
    ours: i64,
    current: i64,
}

#[derive(diesel::QueryableByName)]
struct Epoch {
    #[diesel(sql_type = BigInt)]
    epoch: i64,
}

/// Fails unless `lead` is still the current leadership of its shard. Takes a shared connection so a step
/// can pipeline its first query behind this check (the transaction rolls back if the check fails).
pub async fn check(mut conn: &AsyncPgConnection, lead: Lead) -> anyhow::Result<()> {
    let current: Epoch = diesel::sql_query("SELECT epoch FROM scheduler_leases WHERE name = $1 FOR SHARE")
        .bind::<Text, _>(lead.shard.lease_name())
        .prepared()
        .get_result(&mut conn)
        .await?;
    if current.epoch != lead.epoch {
        return Err(Fenced { ours: lead.epoch, current: current.epoch }.into());
    }
    Ok(())
}

pub fn is_fenced(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Fenced>().is_some()
}
