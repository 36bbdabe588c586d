//! Expired leases: a `sending` delivery whose worker died goes back to `pending` (it will be sent again:
//! at-least-once, the delivery id is the receiver's idempotency key). SMS cannot be deduplicated by the
//! person receiving it, so an SMS with an unknown outcome is marked failed instead; the next tier covers it.

use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{BATCH, fence};
use crate::db::Prepare;
use crate::state::AppState;

pub async fn run(state: &AppState, conn: &mut AsyncPgConnection, epoch: i64) -> anyhow::Result<usize> {
    let now = state.clock.now();
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        fence::check(conn, epoch).await?;
        let released = diesel::sql_query(
            "UPDATE deliveries d SET
                status = CASE WHEN d.channel = 'sms' THEN 'failed' ELSE 'pending' END,
                last_error = CASE WHEN d.channel = 'sms' THEN 'unknown_outcome' ELSE 'lease expired; retrying' END,
                lease_until = NULL, offered_at = NULL, next_attempt_at = $1
             WHERE d.id IN (SELECT id FROM deliveries WHERE status = 'sending' AND lease_until < $1
                            LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(BATCH)
        .prepared()
        .execute(conn)
        .await?;
        if released > 0 {
            tracing::warn!(released, "deliveries whose worker stopped were released");
        }
        Ok(released)
    })
    .await
}
