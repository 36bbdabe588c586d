//! Scheduler leadership: a Postgres advisory lock held on a dedicated connection, plus a fencing epoch.
//!
//! The lock makes one scheduler the leader; when its process dies, Postgres drops the session and the lock
//! with it, and a waiting candidate takes over within one poll. The epoch (incremented on takeover) is
//! checked by every engine transaction, so a paused ex-leader that wakes up cannot write after a new
//! leader has taken over.

use std::time::Duration;

use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db;

/// Advisory-lock key of the scheduler singleton ("ER-SCHED").
const SCHEDULER_LOCK_KEY: i64 = 0x4552_2d53_4348_4544;
/// How often a candidate retries the lock; takeover happens within this plus connection set-up.
const POLL: Duration = Duration::from_millis(400);

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

/// Held leadership: the connection that owns the lock, and this leader's epoch.
pub struct Leadership {
    conn: AsyncPgConnection,
    pub epoch: i64,
}

/// Waits until this process is the leader (or shutdown). Never gives up while Postgres is unreachable.
pub async fn acquire(config: &Config, holder: &str, shutdown: &CancellationToken) -> Option<Leadership> {
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
            match try_lock(&mut held, holder).await {
                Ok(Some(epoch)) => {
                    tracing::info!(epoch, "scheduler became leader epoch={epoch}");
                    return Some(Leadership { conn: held, epoch });
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

async fn try_lock(conn: &mut AsyncPgConnection, holder: &str) -> anyhow::Result<Option<i64>> {
    let got: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(SCHEDULER_LOCK_KEY)
        .get_result(conn)
        .await?;
    if !got.locked {
        return Ok(None);
    }
    let epoch: Epoch = diesel::sql_query(
        "UPDATE scheduler_leases SET epoch = epoch + 1, holder = $1, acquired_at = now(), heartbeat_at = now() \
         WHERE name = 'scheduler' RETURNING epoch",
    )
    .bind::<Text, _>(holder)
    .get_result(conn)
    .await?;
    Ok(Some(epoch.epoch))
}

impl Leadership {
    /// Confirms the lock connection is alive and no newer leader exists; records a heartbeat.
    pub async fn confirm(&mut self) -> bool {
        let check = diesel::sql_query(
            "UPDATE scheduler_leases SET heartbeat_at = now() WHERE name = 'scheduler' AND epoch = $1 RETURNING epoch",
        )
        .bind::<BigInt, _>(self.epoch)
        .get_result::<Epoch>(&mut self.conn);
        matches!(tokio::time::timeout(Duration::from_secs(5), check).await, Ok(Ok(_)))
    }

    /// Gives the lock up at shutdown so a standby takes over at once.
    pub async fn release(mut self) {
        let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
            .bind::<BigInt, _>(SCHEDULER_LOCK_KEY)
            .get_result::<Locked>(&mut self.conn);
        let _ = tokio::time::timeout(Duration::from_secs(2), unlock).await;
        tracing::info!(epoch = self.epoch, "scheduler released leadership");
    }
}
