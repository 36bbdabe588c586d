//! Wakes a sleeping scheduler when a reminder falls due sooner than it planned to look: a trigger on
//! `reminders` (migration `2026-12-15-000001_reminders_due_soon`) notifies `reminders_due_soon` when a row is
//! created, moved or snoozed to fall due within a minute, and this listener bumps a counter the shard loops
//! watch. Without it (the listener's connection down, or a transaction-mode pooler, where LISTEN does not
//! work) a scheduler still looks at least every `SCHEDULER_TICK_MS`.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// The channel the trigger notifies.
const CHANNEL: &str = "reminders_due_soon";
/// How long a lost listening connection waits before connecting again.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// Listens until shutdown, counting notifications into `wakes`.
pub async fn listen(state: &AppState, wakes: &watch::Sender<u64>, shutdown: &CancellationToken) {
    if state.config.database.pooler {
        tracing::info!("DATABASE_URL is a transaction-mode pooler: the scheduler looks every SCHEDULER_TICK_MS");
        return;
    }
    while !shutdown.is_cancelled() {
        if let Err(err) = listen_once(state, wakes, shutdown).await {
            tracing::warn!(error = format!("{err:#}"), "the scheduler's due-soon listener lost its connection");
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn listen_once(state: &AppState, wakes: &watch::Sender<u64>, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let target = &state.config.database;
    let mut conn = crate::db::establish(&state.config, target, "escalating-reminders-scheduler-listen").await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn).await?;
    // Something may have come due while no one listened.
    wakes.send_modify(|n| *n = n.wrapping_add(1));
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    loop {
        tokio::select! {
            notification = notifications.next() => match notification {
                Some(Ok(_)) => wakes.send_modify(|n| *n = n.wrapping_add(1)),
                Some(Err(err)) => return Err(err.into()),
                None => anyhow::bail!("the connection closed"),
            },
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}
