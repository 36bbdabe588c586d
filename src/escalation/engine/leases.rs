//! Re-offer (scheduler step 5): a `sending` delivery whose worker died (its lease expired) goes back to
//! `pending` and is sent again: at-least-once, the delivery id is the receiver's idempotency key. An SMS
//! with an unknown outcome is marked failed instead (see `deliveries::release_expired_leases`).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{BATCH, Lead, deliveries, fence};
use crate::state::AppState;

/// Owed rows a tick reads from the head of the queue for expired claims; a sweep reads them all.
const HEAD_SCAN: i64 = 2 * BATCH;

/// Whether a step reads only the head of the queue or the whole of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Head,
    Sweep,
}

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, lead: Lead, reach: Reach) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let lease = chrono::Duration::from_std(state.config.delivery_lease)?;
    let scan = (reach == Reach::Head).then_some(HEAD_SCAN);
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        fence::check(conn, lead).await?;
        let released = deliveries::release_expired_leases(conn, lead.shard, now, lease, scan, BATCH).await?;
        if released > 0 {
            tracing::warn!(released, "deliveries whose worker stopped were released");
        }
        Ok(released)
    })
    .await
}
