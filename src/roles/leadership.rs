//! Scheduler leadership of one shard: a Postgres advisory lock held on a dedicated connection, plus a
//! fencing epoch in the shard's `scheduler_leases` row.
//!
//! The lock makes one scheduler the shard's leader; when its process dies, Postgres drops the session and
//! the lock with it, and a waiting candidate takes over within one poll. The epoch (incremented on takeover)
//! is checked by every engine transaction, so a paused ex-leader that wakes up cannot write after a new
//! leader has taken over. With several shards, every scheduler process also keeps a candidacy row
//! ([`keep_candidacy`]) so the processes can share the shards out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db;
use crate::escalation::engine::{Lead, Shard};
use crate::state::AppState;

/// How often a candidate retries the lock; takeover happens within this plus connection set-up.
const POLL: Duration = Duration::from_millis(400);
/// How often a scheduler process renews its candidacy.
pub const CANDIDACY_EVERY: Duration = Duration::from_secs(2);

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(diesel::QueryableByName)]
struct Epoch {
    #[diesel(sql_type = BigInt)]
    epoch: i64,
}

/// Held leadership: the connection that owns the lock, and the shard and epoch led.
pub struct Leadership {
    conn: AsyncPgConnection,
    pub lead: Lead,
}

/// Waits until this process leads `shard` (or shutdown). Never gives up while Postgres is unreachable.
pub async fn acquire(config: &Config, shard: Shard, holder: &str, shutdown: &CancellationToken) -> Option<Leadership> {
    let mut conn: Option<AsyncPgConnection> = None;
    let mut waiting_logged = false;
    loop {
        if shutdown.is_cancelled() {
            return None;
        }
        if conn.is_none() {
            conn = db::establish(config, &config.database, "escalating-reminders-scheduler-lock").await.ok();
        }
        if let Some(mut held) = conn.take() {
            match try_lock(&mut held, shard, holder).await {
                Ok(Some(epoch)) => {
                    let name = shard.lease_name();
                    tracing::info!(epoch, shard = name, "scheduler became leader epoch={epoch} of {name}");
                    return Some(Leadership { conn: held, lead: Lead { shard, epoch } });
                }
                Ok(None) => {
                    if !waiting_logged {
                        tracing::info!("another scheduler is leader; waiting to take over");
                        waiting_logged = true;
                    }
                    conn = Some(held);
                }
                Err(err) => tracing::warn!(error = %err, "scheduler lock attempt failed; reconnecting"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}

async fn try_lock(conn: &mut AsyncPgConnection, shard: Shard, holder: &str) -> anyhow::Result<Option<i64>> {
    let got: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(shard.lock_key())
        .get_result(conn)
        .await?;
    if !got.locked {
        return Ok(None);
    }
    // The first leader of a shard makes its row. The previous holder gave the lock up or died: its
    // candidacy is dropped, so a dead process no longer counts in the share-out (a live one renews it).
    diesel::sql_query("INSERT INTO scheduler_leases (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind::<Text, _>(shard.lease_name())
        .execute(conn)
        .await?;
    let epoch: Epoch = diesel::sql_query(
        "WITH previous AS (SELECT holder FROM scheduler_leases WHERE name = $2),
              gone AS (DELETE FROM scheduler_candidates c USING previous p WHERE c.holder = p.holder AND c.holder <> $1)
         UPDATE scheduler_leases SET epoch = epoch + 1, holder = $1, acquired_at = now(), heartbeat_at = now()
         WHERE name = $2 RETURNING epoch",
    )
    .bind::<Text, _>(holder)
    .bind::<Text, _>(shard.lease_name())
    .get_result(conn)
    .await?;
    Ok(Some(epoch.epoch))
}

impl Leadership {
    /// Confirms the lock connection is alive and no newer leader exists; records a heartbeat.
    pub async fn confirm(&mut self) -> bool {
        let check = diesel::sql_query(
            "UPDATE scheduler_leases SET heartbeat_at = now() WHERE name = $2 AND epoch = $1 RETURNING epoch",
        )
        .bind::<BigInt, _>(self.lead.epoch)
        .bind::<Text, _>(self.lead.shard.lease_name())
        .get_result::<Epoch>(&mut self.conn);
        matches!(tokio::time::timeout(Duration::from_secs(5), check).await, Ok(Ok(_)))
    }

    /// Gives the lock up (at shutdown, or handing the shard over) so a standby takes over at once.
    pub async fn release(mut self) {
        let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
            .bind::<BigInt, _>(self.lead.shard.lock_key())
            .get_result::<Locked>(&mut self.conn);
        let _ = tokio::time::timeout(Duration::from_secs(2), unlock).await;
        let name = self.lead.shard.lease_name();
        tracing::info!(epoch = self.lead.epoch, shard = name, "scheduler released leadership of {name}");
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Keeps this process's candidacy row fresh until shutdown, storing in `running` how many scheduler
/// processes are running (this one included): those seen within three renewals. Rows gone for a minute
/// are deleted; this process's own row goes at shutdown.
pub async fn keep_candidacy(state: &AppState, holder: &str, running: &AtomicUsize, shutdown: &CancellationToken) {
    loop {
        match renew_candidacy(state, holder).await {
            Ok(count) => running.store(count, Ordering::Relaxed),
            Err(err) => tracing::warn!(error = %err, "scheduler candidacy not renewed"),
        }
        tokio::select! {
            () = tokio::time::sleep(CANDIDACY_EVERY) => {}
            () = shutdown.cancelled() => break,
        }
    }
    if let Ok(mut conn) = state.db.get().await {
        let withdraw = diesel::sql_query("DELETE FROM scheduler_candidates WHERE holder = $1")
            .bind::<Text, _>(holder)
            .execute(&mut conn);
        let _ = tokio::time::timeout(Duration::from_secs(2), withdraw).await;
    }
}

async fn renew_candidacy(state: &AppState, holder: &str) -> anyhow::Result<usize> {
    let mut conn = state.db.get().await?;
    // The statement's own writes are not visible to its select: this process counts as the `+ 1`.
    let running: Count = diesel::sql_query(
        "WITH renewed AS (INSERT INTO scheduler_candidates (holder, seen_at) VALUES ($1, now())
                          ON CONFLICT (holder) DO UPDATE SET seen_at = now()),
              gone AS (DELETE FROM scheduler_candidates WHERE seen_at < now() - interval '1 minute')
         SELECT count(*) + 1 AS n FROM scheduler_candidates
         WHERE holder <> $1 AND seen_at > now() - make_interval(secs => $2)",
    )
    .bind::<Text, _>(holder)
    .bind::<diesel::sql_types::Double, _>(3.0 * CANDIDACY_EVERY.as_secs_f64())
    .get_result(&mut conn)
    .await?;
    Ok(usize::try_from(running.n).unwrap_or(1))
}
