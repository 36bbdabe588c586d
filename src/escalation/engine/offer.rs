//! Offer (scheduler step 4): pending deliveries that are due and not offered recently are pushed to the stream
//! (pipelined) and stamped `offered_at`, in that order, inside one fenced transaction; fire and advance push
//! what they create themselves ([`push_committed`]). If Redis is down the step is skipped; workers then
//! claim from Postgres directly.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::DeliveryId;

use super::{Lead, deliveries, fence, stream};
use crate::state::AppState;

/// Deliveries pushed per statement: one fire batch makes about this many.
pub const BATCH: i64 = super::BATCH * 2;

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, lead: Lead) -> anyhow::Result<usize> {
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
        let reset = deliveries::forget_offers(conn).await?;
        if reset > 0 {
            tracing::warn!(reset, "redis started empty; re-offering every pending delivery");
        }
    }

    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        fence::check(conn, lead).await?;
        let ids = deliveries::lock_unoffered(conn, now, now - offer_timeout, BATCH, lead.shard).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        // Push first: if the stamp fails to commit, an entry without a stamp is only re-offered later.
        stream::add(&mut redis, &key, &ids).await.inspect_err(|err| state.redis.mark_down(&err.to_string()))?;
        deliveries::mark_offered(conn, &ids, now).await?;
        metrics::counter!("deliveries_offered_total").increment(ids.len() as u64);
        Ok(ids.len())
    })
    .await
}

/// Pushes deliveries that an engine step stamped as offered in its own insert (see
/// `deliveries::insert_batch`), once that step's transaction has committed. A lost push is re-offered by
/// [`run`] after `OFFER_TIMEOUT_SECS`.
pub async fn push_committed(state: &AppState, redis: Option<&mut deadpool_redis::Connection>, ids: &[DeliveryId]) {
    let Some(redis) = redis else { return };
    if ids.is_empty() {
        return;
    }
    match stream::add(redis, &state.redis.key(stream::STREAM), ids).await {
        Ok(()) => metrics::counter!("deliveries_offered_total").increment(ids.len() as u64),
        Err(err) => state.redis.mark_down(&err.to_string()),
    }
}
