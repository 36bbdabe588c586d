//! The scheduler's offer step: pending deliveries that are due and not offered recently are pushed to the
//! stream (pipelined) and stamped `offered_at`, in that order, inside one fenced transaction. If Redis is
//! down the step is skipped; workers then claim from Postgres directly.

use diesel::sql_types::{Array, BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::stream;
use crate::db::Prepare;
use crate::state::AppState;

/// Deliveries pushed per statement: one fire batch makes about this many.
pub const BATCH: i64 = crate::escalation::engine::BATCH * 2;

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, epoch: i64) -> anyhow::Result<usize> {
    let Some(mut redis) = state.redis.conn().await else { return Ok(0) };
    let key = state.redis.key(stream::STREAM);
    let now = state.clock.now();
    let offer_timeout = chrono::Duration::from_std(state.config.offer_timeout)?;

    // A Redis that came back empty lost every entry: offer everything pending again, and make the group.
    let marker: Option<String> = deadpool_redis::redis::cmd("SET")
        .arg(state.redis.key(stream::ALIVE_MARKER))
        .arg("1")
        .arg("NX")
        .query_async(&mut redis)
        .await
        .inspect_err(|err| state.redis.mark_down(&err.to_string()))?;
    if marker.is_some() {
        stream::ensure_group(&mut redis, &key).await?;
        let reset = diesel::sql_query(
            "UPDATE deliveries SET offered_at = NULL WHERE status = 'pending' AND offered_at IS NOT NULL",
        )
        .prepared()
        .execute(conn)
        .await?;
        if reset > 0 {
            tracing::warn!(reset, "redis started empty; re-offering every pending delivery");
        }
    }

    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        crate::escalation::engine::check_epoch(conn, epoch).await?;
        let due: Vec<Id> = diesel::sql_query(
            "SELECT id FROM deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1 AND (offered_at IS NULL OR offered_at < $2)
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now - offer_timeout)
        .bind::<BigInt, _>(BATCH)
        .prepared()
        .load(conn)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = due.into_iter().map(|row| row.id).collect();
        // Push first: if the stamp fails to commit, an entry without a stamp is only re-offered later.
        stream::add(&mut redis, &key, &ids).await.inspect_err(|err| state.redis.mark_down(&err.to_string()))?;
        diesel::sql_query("UPDATE deliveries SET offered_at = $2 WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Timestamptz, _>(now)
            .prepared()
            .execute(conn)
            .await?;
        metrics::counter!("deliveries_offered_total").increment(ids.len() as u64);
        Ok(ids.len())
    })
    .await
}

/// Pushes deliveries that an engine step stamped as offered in its own insert (see
/// `delivery::insert_batch`), once that step's transaction has committed. A lost push is re-offered by
/// [`run`] after `OFFER_TIMEOUT_SECS`.
pub async fn push_committed(state: &AppState, redis: Option<&mut deadpool_redis::Connection>, ids: &[Uuid]) {
    let Some(redis) = redis else { return };
    if ids.is_empty() {
        return;
    }
    match stream::add(redis, &state.redis.key(stream::STREAM), ids).await {
        Ok(()) => metrics::counter!("deliveries_offered_total").increment(ids.len() as u64),
        Err(err) => state.redis.mark_down(&err.to_string()),
    }
}
