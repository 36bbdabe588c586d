//! System health: a live reading for the admin console, and a snapshot per 5-minute slot written by the
//! scheduler leader. A slot's row is keyed by the slot's start (unique), and the insert is fenced by the
//! leader's epoch, so two schedulers in a handover write one row between them.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::model::{HealthReading, HealthSnapshot};
use super::stats::deliveries_by_status;
use crate::db::schema::system_health_snapshots;
use crate::http::pagination::Page;
use crate::state::AppState;

/// Length of a snapshot slot.
pub const SLOT: Duration = Duration::minutes(5);
/// How long snapshots are kept (about 8 600 rows): enough to compare this month with the last incident.
pub const RETENTION: Duration = Duration::days(30);

/// The start of the slot `at` falls in.
pub fn slot_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp();
    let start = seconds - seconds.rem_euclid(SLOT.num_seconds());
    DateTime::from_timestamp(start, 0).unwrap_or(at)
}

/// Measures health as of `now`: dependency checks, backlog, and the last slot's deliveries.
pub async fn measure(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> anyhow::Result<HealthReading> {
    let checks = crate::http::health::report(state).await;
    let backlog = crate::escalation::engine::backlog(conn, now).await?;
    Ok(HealthReading {
        status: checks.status.to_owned(),
        database: checks.checks.database.to_owned(),
        redis: checks.checks.redis.to_owned(),
        queue_depth: backlog.queue_depth,
        due_not_fired: backlog.due_not_fired,
        scheduler_lag_seconds: backlog.lag_seconds(now),
        deliveries_last_5_minutes: deliveries_by_status(conn, now - SLOT).await?,
    })
}

/// The scheduler step: writes the current slot's snapshot unless it exists, and drops snapshots past
/// `RETENTION`. Returns snapshots written (0 or 1).
pub async fn snapshot(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    lead: crate::escalation::engine::Lead,
) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let slot = slot_start(now);
    let taken = system_health_snapshots::table.filter(system_health_snapshots::taken_at.eq(slot));
    // Checked first so a tick inside a slot that is already recorded costs one indexed lookup.
    if diesel::select(diesel::dsl::exists(taken)).get_result::<bool>(conn).await? {
        return Ok(0);
    }
    let reading = measure(state, conn, now).await?;
    let status = reading.status.clone();
    let data = serde_json::to_value(&reading)?;
    let written = conn
        .transaction::<_, anyhow::Error, _>(async move |conn| {
            crate::escalation::engine::check_epoch(conn, lead).await?;
            let written = diesel::insert_into(system_health_snapshots::table)
                .values((
                    system_health_snapshots::taken_at.eq(slot),
                    system_health_snapshots::status.eq(status),
                    system_health_snapshots::data.eq(data),
                ))
                .on_conflict(system_health_snapshots::taken_at)
                .do_nothing()
                .execute(conn)
                .await?;
            // Once per slot, the rows past retention go.
            diesel::delete(
                system_health_snapshots::table.filter(system_health_snapshots::taken_at.lt(slot - RETENTION)),
            )
            .execute(conn)
            .await?;
            Ok(written)
        })
        .await?;
    if written == 1 {
        tracing::info!(slot = %slot, "health snapshot written");
    }
    Ok(written)
}

fn snapshot_of((taken_at, data): (DateTime<Utc>, serde_json::Value)) -> anyhow::Result<HealthSnapshot> {
    Ok(HealthSnapshot { taken_at, reading: serde_json::from_value(data)? })
}

/// The newest snapshot, if any.
pub async fn latest(conn: &mut AsyncPgConnection) -> anyhow::Result<Option<HealthSnapshot>> {
    let row = system_health_snapshots::table
        .order(system_health_snapshots::taken_at.desc())
        .select((system_health_snapshots::taken_at, system_health_snapshots::data))
        .first(conn)
        .await
        .optional()?;
    row.map(snapshot_of).transpose()
}

/// Snapshots taken in `[from, to)`, newest first, and how many there are.
pub async fn history(
    conn: &mut AsyncPgConnection,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    page: Page,
) -> anyhow::Result<(Vec<HealthSnapshot>, i64)> {
    let in_range = || {
        let mut query = system_health_snapshots::table.into_boxed();
        if let Some(from) = from {
            query = query.filter(system_health_snapshots::taken_at.ge(from));
        }
        if let Some(to) = to {
            query = query.filter(system_health_snapshots::taken_at.lt(to));
        }
        query
    };
    let total: i64 = in_range().count().get_result(conn).await?;
    let rows: Vec<(DateTime<Utc>, serde_json::Value)> = in_range()
        .order((system_health_snapshots::taken_at.desc(), system_health_snapshots::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select((system_health_snapshots::taken_at, system_health_snapshots::data))
        .load(conn)
        .await?;
    let snapshots = rows.into_iter().map(snapshot_of).collect::<anyhow::Result<_>>()?;
    Ok((snapshots, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_start_on_five_minute_boundaries() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        assert_eq!(slot_start(at("2026-11-25T17:04:59.900Z")), at("2026-11-25T17:00:00Z"));
        assert_eq!(slot_start(at("2026-11-25T17:05:00Z")), at("2026-11-25T17:05:00Z"));
        assert_eq!(slot_start(at("2026-11-25T23:59:59Z")), at("2026-11-25T23:55:00Z"));
    }
}
