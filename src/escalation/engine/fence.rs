//! The fencing check every engine transaction starts with. `FOR SHARE` on the lease row also makes a
//! takeover (which updates that row) wait until in-flight engine transactions of the old leader end.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::Prepare;

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

/// Fails unless `epoch` is still the current leader's. Takes a shared connection so a step can pipeline
/// its first query behind this check (the transaction rolls back if the check fails).
pub async fn check(mut conn: &AsyncPgConnection, epoch: i64) -> anyhow::Result<()> {
    let current: Epoch = diesel::sql_query("SELECT epoch FROM scheduler_leases WHERE name = 'scheduler' FOR SHARE")
        .prepared()
        .get_result(&mut conn)
        .await?;
    if current.epoch != epoch {
        return Err(Fenced { ours: epoch, current: current.epoch }.into());
    }
    Ok(())
}

pub fn is_fenced(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Fenced>().is_some()
}
