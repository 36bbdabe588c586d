//! The scheduler role: wins leadership, then runs the engine tick until shutdown or lost leadership.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::leadership;
use crate::escalation::engine;
use crate::state::AppState;

/// How often the leader re-confirms its lock and epoch.
const CONFIRM_EVERY: Duration = Duration::from_secs(2);

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let holder = format!("{}:{}", hostname(), std::process::id());
    loop {
        let Some(mut leader) = leadership::acquire(&state.config, &holder, &shutdown).await else {
            return Ok(());
        };
        let mut tick = tokio::time::interval(state.config.scheduler_tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_confirm = tokio::time::Instant::now();
        let mut cadence = engine::Cadence::default();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => {
                    leader.release().await;
                    return Ok(());
                }
            }
            if last_confirm.elapsed() >= CONFIRM_EVERY {
                if !leader.confirm().await {
                    tracing::warn!(epoch = leader.epoch, "scheduler lost leadership; standing by");
                    break;
                }
                last_confirm = tokio::time::Instant::now();
            }
            if engine::tick(&state, leader.epoch, &mut cadence).await {
                snapshot_health(&state, leader.epoch).await;
            }
        }
    }
}

/// Writes the health snapshot of the current slot, after each upkeep. Its table belongs to admin, which reads
/// it; the scheduler only times the write and fences it with its epoch.
async fn snapshot_health(state: &AppState, epoch: i64) {
    let written = async {
        let mut conn = state.db.get().await?;
        crate::admin::health::snapshot(state, &mut conn, epoch).await
    }
    .await;
    engine::report("health snapshot", written);
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "local".to_owned())
}
