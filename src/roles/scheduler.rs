//! The scheduler role: wins leadership, then runs the engine tick until shutdown or lost leadership.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::leadership;
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
        let mut last_upkeep = None;
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
            crate::escalation::engine::tick(&state, leader.epoch, &mut last_upkeep).await;
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "local".to_owned())
}
