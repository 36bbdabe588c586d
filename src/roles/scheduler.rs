//! The scheduler role: for each shard (`SCHEDULER_SHARDS`, one by default), wins its leadership, then runs
//! the engine tick for it until shutdown or lost leadership. A tick runs when the shard's next reminder,
//! snooze end or episode step falls due, and at least every `SCHEDULER_TICK_MS`. One process may lead
//! several shards; a standby takes over each shard on its own. With several shards, a process leading more
//! than its fair share of them (shards / running scheduler processes, rounded up) hands one over at a time,
//! so a process started later gets work too.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::leadership;
use crate::escalation::engine::{self, Lead, Shard};
use crate::state::AppState;

/// How often the leader re-confirms its lock and epoch.
const CONFIRM_EVERY: Duration = Duration::from_secs(2);
/// The shortest pause between two ticks when the next due instant is nearer than the tick.
const MIN_GAP: Duration = Duration::from_millis(50);
/// How long a process waits before competing again for a shard it handed over: longer than a standby's
/// poll, so the process the shard was handed to takes it.
const HANDOVER_PAUSE: Duration = Duration::from_secs(5);

/// What the shard loops of one process share: the shards it leads, and how many scheduler processes run.
#[derive(Clone, Default)]
struct Share {
    led: Arc<Mutex<BTreeSet<Shard>>>,
    running: Arc<AtomicUsize>,
}

impl Share {
    fn led(&self) -> std::sync::MutexGuard<'_, BTreeSet<Shard>> {
        self.led.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether to hand `shard` over: this process leads more than its fair share, and `shard` is the last
    /// of those it leads (so one goes at a time).
    fn hand_over(&self, shard: Shard, shards: u16) -> bool {
        let fair = usize::from(shards).div_ceil(self.running.load(Ordering::Relaxed).max(1));
        let led = self.led();
        led.len() > fair && led.last() == Some(&shard)
    }
}

pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let holder = format!("{}:{}", hostname(), std::process::id());
    let shards = state.config.scheduler_shards;
    let share = Share::default();
    let candidacy = async {
        if shards > 1 {
            leadership::keep_candidacy(&state, &holder, &share.running, &shutdown).await;
        }
    };
    let (wakes, woken) = watch::channel(0u64);
    let listener = super::due_soon::listen(&state, &wakes, &shutdown);
    let loops = futures_util::future::join_all(
        Shard::all(shards).map(|shard| lead(&state, shard, &holder, &share, woken.clone(), &shutdown)),
    );
    tokio::join!(candidacy, listener, loops);
    Ok(())
}

/// Leads `shard` whenever this process can, until shutdown.
async fn lead(
    state: &AppState,
    shard: Shard,
    holder: &str,
    share: &Share,
    mut woken: watch::Receiver<u64>,
    shutdown: &CancellationToken,
) {
    loop {
        let Some(mut leader) = leadership::acquire(&state.config, shard, holder, shutdown).await else {
            return;
        };
        share.led().insert(shard);
        metrics::gauge!("scheduler_shards_led").set(share.led().len() as f64);
        let handed_over = tick_while_leading(state, &mut leader, share, &mut woken, shutdown).await;
        share.led().remove(&shard);
        metrics::gauge!("scheduler_shards_led").set(share.led().len() as f64);
        if shutdown.is_cancelled() {
            leader.release().await;
            return;
        }
        if handed_over {
            leader.release().await;
            tokio::select! {
                () = tokio::time::sleep(HANDOVER_PAUSE) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

/// Runs the engine for a held shard until shutdown, lost leadership (false) or a hand-over (true). Between
/// ticks it sleeps until the next due instant it knows of; a reminder that comes due sooner (`woken`, see
/// `due_soon`) makes it look again.
async fn tick_while_leading(
    state: &AppState,
    leader: &mut leadership::Leadership,
    share: &Share,
    woken: &mut watch::Receiver<u64>,
    shutdown: &CancellationToken,
) -> bool {
    let lead = leader.lead;
    let mut wake = tokio::time::Instant::now();
    let mut last_confirm = tokio::time::Instant::now();
    let mut cadence = engine::Cadence::default();
    let mut last_tick_at = None;
    let mut listening = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            changed = woken.changed(), if listening => {
                // The sender lives as long as the process's scheduler; should it go, the loop keeps its ticks.
                listening = changed.is_ok();
                if listening
                    && let Some(after) = last_tick_at
                    && let Some(sooner) = due_wake(state, lead, after).await
                {
                    wake = wake.min(sooner);
                }
                continue;
            }
            () = shutdown.cancelled() => return false,
        }
        let started = tokio::time::Instant::now();
        let tick_started_at = state.clock.now();
        if last_confirm.elapsed() >= CONFIRM_EVERY {
            if !leader.confirm().await {
                tracing::warn!(
                    epoch = lead.epoch,
                    shard = lead.shard.lease_name(),
                    "scheduler lost leadership; standing by"
                );
                return false;
            }
            if share.hand_over(lead.shard, state.config.scheduler_shards) {
                tracing::info!(shard = lead.shard.lease_name(), "scheduler hands a shard over to a process with fewer");
                return true;
            }
            last_confirm = tokio::time::Instant::now();
        }
        if engine::tick(state, lead, &mut cadence).await {
            snapshot_health(state, lead).await;
        }
        let regular = started + state.config.scheduler_tick;
        wake = due_wake(state, lead, tick_started_at).await.map_or(regular, |due| due.min(regular));
        last_tick_at = Some(tick_started_at);
    }
}

/// When the shard's next reminder, snooze end or episode step after `after` (the start of the last tick)
/// falls due, at least [`MIN_GAP`] from now (so a steady stream of due reminders is fired in batches rather
/// than one statement per reminder); `None` when nothing is ahead or the database does not answer.
async fn due_wake(state: &AppState, lead: Lead, after: chrono::DateTime<chrono::Utc>) -> Option<tokio::time::Instant> {
    let due = engine::next_due(state, lead, after).await?;
    let wait = (due - state.clock.now()).to_std().unwrap_or_default().max(MIN_GAP);
    Some(tokio::time::Instant::now() + wait)
}

/// Writes the health snapshot of the current slot, after each upkeep. Its table belongs to admin, which reads
/// it; the scheduler only times the write and fences it with its epoch.
async fn snapshot_health(state: &AppState, lead: Lead) {
    let written = async {
        let mut conn = state.db.get().await?;
        crate::admin::health::snapshot(state, &mut conn, lead).await
    }
    .await;
    engine::report("health snapshot", written);
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "local".to_owned())
}
