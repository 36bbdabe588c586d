//! Retention: upkeep deletes what is past its age, so the logs and the dedup tables stop growing.
//!
//! The rules are kept together here (rather than in each table's store) so one page says what is kept and
//! for how long; a table with one owning store (deliveries, escalations) is deleted through that store. Nothing still
//! owed goes: a delivery only in a final state and once its episode is closed, an episode only once closed
//! and without deliveries left, a pull notification only once confirmed or expired. Each statement deletes one short batch (`SKIP LOCKED`, so it never waits on the engine) and
//! commits on its own; a run does a bounded number of batches per table, so upkeep never holds long locks
//! and a large backlog drains over several runs.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::config::Config;
use crate::db::Prepare;
use crate::settings::{Knob, SystemSettings};

/// Rows per delete statement.
const BATCH: i64 = 1000;
/// Statements per table per upkeep run (upkeep runs every few seconds).
const MAX_BATCHES: usize = 10;

/// Square retries an unacknowledged webhook for days and Twilio re-sends callbacks; an event id seen again
/// within this age is still recognised as a duplicate.
const PROVIDER_EVENTS: Duration = Duration::days(30);
/// A confirmed pull notification is no longer listed; the week lets a late confirmation retry find it.
const PULL_CONFIRMED: Duration = Duration::days(7);
/// An unconfirmed pull notification leaves the inbox after this long: its action links died long before.
const PULL_UNCONFIRMED: Duration = Duration::days(30);

/// A use must outlive every link that could still claim it: links live `links::lifetime()` from their
/// send, and a delivery is not sent again after one of its links was used; the week covers late retries
/// and clock skew.
fn action_link_uses() -> Duration {
    crate::notifications::links::lifetime() + Duration::days(7)
}

/// One rule: which table (the metric's label), how its rows are deleted, and the age past which they go.
struct Rule {
    table: &'static str,
    delete: Delete,
    age: Duration,
}

impl Rule {
    /// Deletes, a batch at a time, the rows of `table` whose `stamp` is older than `age`, picked by their
    /// `key` columns. Every argument is a constant of ours, never input.
    fn older(table: &'static str, key: &str, stamp: &str, age: Duration) -> Rule {
        let sql = format!(
            "DELETE FROM {table} WHERE ({key}) IN (
                SELECT {key} FROM {table} WHERE {stamp} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        );
        Rule { table, delete: Delete::Sql(sql), age }
    }
}

/// How a rule deletes one batch.
enum Delete {
    /// A statement with `$1` = cutoff and `$2` = batch size.
    Sql(String),
    /// Through the deliveries' store, the table's one writer.
    Deliveries,
    /// Through the episodes' store; after the deliveries, so an episode whose last deliveries just went
    /// goes in the same run.
    Episodes,
}

impl Delete {
    async fn batch(&self, conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> diesel::QueryResult<usize> {
        match self {
            Delete::Sql(sql) => {
                diesel::sql_query(sql)
                    .bind::<Timestamptz, _>(cutoff)
                    .bind::<BigInt, _>(BATCH)
                    .prepared()
                    .execute(conn)
                    .await
            }
            Delete::Deliveries => super::deliveries::purge_finished(conn, cutoff, BATCH).await,
            Delete::Episodes => crate::escalation::episodes::purge_closed(conn, cutoff, BATCH).await,
        }
    }
}

fn rules(settings: &SystemSettings) -> [Rule; 10] {
    let deliveries = settings.days(Knob::RetentionDeliveryDays);
    let audit = settings.days(Knob::RetentionAuditDays);
    [
        Rule { table: "deliveries", delete: Delete::Deliveries, age: deliveries },
        // Runs after the deliveries: an episode whose last deliveries just went goes in the same run.
        Rule { table: "escalations", delete: Delete::Episodes, age: deliveries },
        Rule::older("audit_trails", "id", "created_at", audit),
        Rule::older("event_logs", "id", "created_at", audit),
        Rule::older("admin_actions", "id", "created_at", audit),
        Rule::older("processed_webhook_events", "provider, event_id", "processed_at", PROVIDER_EVENTS),
        Rule::older("action_link_uses", "token_id", "used_at", action_link_uses()),
        // A command is refused after five minutes anyway; a day covers any retry of its sender.
        Rule::older("agent_commands", "agent_id, message_id", "received_at", Duration::days(1)),
        // Confirmed pull notifications after a week, unconfirmed ones after a month.
        Rule::older("pending_notifications", "delivery_id", "delivered_at", PULL_CONFIRMED),
        Rule::older("pending_notifications", "delivery_id", "created_at", PULL_UNCONFIRMED),
    ]
}

/// Deletes what is past its age as of `now`; how many rows went.
pub async fn run(config: &Config, conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut total = 0;
    // Read at each run: an admin's change to a period applies at the next.
    let settings = crate::settings::current(conn, config).await?;
    for rule in rules(&settings) {
        let cutoff = now - rule.age;
        let mut pruned = 0;
        for _ in 0..MAX_BATCHES {
            let deleted = rule.delete.batch(conn, cutoff).await?;
            pruned += deleted;
            if deleted < BATCH as usize {
                break;
            }
        }
        if pruned > 0 {
            metrics::counter!("retention_pruned_rows_total", "table" => rule.table).increment(pruned as u64);
            tracing::info!(table = rule.table, rows = pruned, "pruned rows past their retention");
        }
        total += pruned;
    }
    Ok(total)
}
