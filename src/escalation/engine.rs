//! The scheduler's engine: each tick runs fire (with wake: snoozes that ended) → advance (with wake: ack
//! windows that ended) → offer → re-offer (expired leases), and every few seconds upkeep; each a batched
//! statement set in its own short transaction; each step that writes owed work is fenced by the leader's
//! epoch. Nothing is held in memory between ticks: every owed thing is a row, so a new leader resumes exactly.
//! The scheduler role writes the health snapshot (owned by `admin::health`) when [`tick`] ran upkeep.

mod advance;
mod bad_rows;
mod calendar;
pub mod channel_health;
pub mod deliveries;
mod episodes;
mod fence;
mod fire;
mod leases;
mod next_due;
pub mod offer;
mod recipients;
mod retention;
mod shard;
pub mod stream;
mod upkeep;

use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
pub use fence::{Lead, check as check_epoch};
use leases::Reach;
pub use shard::Shard;
pub use upkeep::{Backlog, backlog};

use crate::state::AppState;

/// Rows claimed per statement: large enough to batch, small enough to keep transactions short.
pub const BATCH: i64 = 1000;

/// How often the leader refreshes the backlog gauges.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// How often the leader reads every owed row for expired claims, not only the head of the queue.
const LEASE_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The scheduler loop's memory of when the slower steps last ran (lost with the leader, which only makes
/// the next leader run them at once).
#[derive(Debug, Default, Clone, Copy)]
pub struct Cadence {
    upkeep: Option<Instant>,
    lease_sweep: Option<Instant>,
}

impl Cadence {
    /// As if upkeep and the lease sweep had just run: a tick runs only the per-tick steps.
    pub fn just_ran() -> Self {
        Self { upkeep: Some(Instant::now()), lease_sweep: Some(Instant::now()) }
    }

    /// Whether the step last run at `last` is due again after `every`; if so, it counts as run now.
    fn due(last: &mut Option<Instant>, every: Duration) -> bool {
        let due = last.is_none_or(|at| at.elapsed() >= every);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

/// One scheduler tick of the shard `lead` holds. Steps that find a full batch run again at once.
/// Returns whether upkeep ran (only shard 0 runs it).
pub async fn tick(state: &AppState, lead: Lead, cadence: &mut Cadence) -> bool {
    let started = Instant::now();
    let mut conn = match state.db.get().await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, "scheduler tick skipped: no database connection");
            return false;
        }
    };
    // A second lane fires another batch at the same time (SKIP LOCKED keeps the two disjoint), so one
    // batch's round trips and planning overlap the other's; without a spare connection, one lane.
    let mut second_lane = state.db.get().await.ok();
    for _ in 0..20 {
        let fired = fire_lanes(state, &mut conn, second_lane.as_mut(), lead).await;
        let advanced = report("advance", advance::run(state, &mut conn, lead).await);
        if fired < BATCH as usize && advanced < BATCH as usize {
            break;
        }
    }
    // Fire and advance push what they create themselves; this step offers the rest (retries due now,
    // deliveries out of quiet hours, pushes lost to a crash or a Redis outage), a full batch at a time.
    for _ in 0..20 {
        if report("offer", offer::run(state, &mut conn, lead).await) < offer::BATCH as usize {
            break;
        }
    }
    let reach = if Cadence::due(&mut cadence.lease_sweep, LEASE_SWEEP_EVERY) { Reach::Sweep } else { Reach::Head };
    report("expire leases", leases::run(state, &mut conn, lead, reach).await);
    let upkeep_due = lead.shard.runs_upkeep() && Cadence::due(&mut cadence.upkeep, UPKEEP_EVERY);
    if upkeep_due {
        report("upkeep", upkeep::run(state, &mut conn).await);
    }
    metrics::histogram!("scheduler_tick_seconds").record(started.elapsed().as_secs_f64());
    upkeep_due
}

/// The earliest trigger, snooze end or episode step of the shard `lead` holds that falls after `after` (the
/// start of the tick that just ran), on the app clock; None when there is none or it cannot be read (the
/// scheduler then keeps its regular tick).
pub async fn next_due(
    state: &AppState,
    lead: Lead,
    after: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let found = async {
        let mut conn = state.db.get().await?;
        anyhow::Ok(next_due::next_due(&mut conn, lead, after).await?)
    }
    .await;
    found.unwrap_or_else(|err| {
        tracing::warn!(
            error = format!("{err:#}"),
            "could not read when the next reminder is due; waiting a whole tick"
        );
        None
    })
}

/// Fires on one or two connections at once; how many reminders fired.
async fn fire_lanes(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    second: Option<&mut crate::db::PooledConn>,
    lead: Lead,
) -> usize {
    match second {
        Some(second) => {
            let (a, b) = tokio::join!(fire::run(state, conn, lead), fire::run(state, second, lead));
            report("fire", a) + report("fire", b)
        }
        None => report("fire", fire::run(state, conn, lead).await),
    }
}

/// Logs a step's failure (a fenced one as the warning it is); returns how many rows the step handled.
pub fn report(step: &'static str, outcome: anyhow::Result<usize>) -> usize {
    match outcome {
        Ok(count) => count,
        Err(err) if fence::is_fenced(&err) => {
            tracing::warn!(step, "scheduler step refused: a newer leader holds the epoch");
            0
        }
        Err(err) => {
            tracing::error!(step, error = format!("{err:#}"), "scheduler step failed; it will be retried next tick");
            0
        }
    }
}
