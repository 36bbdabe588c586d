//! What every kind of evidence shares: the action it asks for, carried out through the one action path,
//! and the `watcher_events` row that records it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use uuid::Uuid;

use crate::config::Config;
use crate::db::schema::watcher_events;
use crate::escalation::actions::{self, ActionError, ActionOutcome, Actor, SnoozeUntil};
use crate::escalation::snooze::{self, SnoozeInput};
use crate::http::ApiError;

/// The action evidence asks for.
#[derive(Clone, Debug)]
pub enum Evidence {
    Acknowledge,
    Complete,
    Snooze(SnoozeUntil),
}

impl Evidence {
    /// `acknowledge`, `complete` or `snooze`, as stored and shown.
    pub fn name(&self) -> &'static str {
        match self {
            Evidence::Acknowledge => "acknowledge",
            Evidence::Complete => "complete",
            Evidence::Snooze(_) => "snooze",
        }
    }

    /// The snooze target as the user reads it, for a snooze.
    pub fn interpreted_as(&self) -> Option<&str> {
        match self {
            Evidence::Snooze(target) => target.interpreted_as.as_deref(),
            _ => None,
        }
    }

    /// One line for the evidence log: what was done, with the time understood for a snooze.
    pub fn summary(&self, via: &str) -> String {
        match self {
            Evidence::Snooze(target) => format!(
                "snoozed until {} (\"{}\") {via}",
                target.interpreted_as.as_deref().unwrap_or("the time given"),
                target.phrase.as_deref().unwrap_or("")
            ),
            Evidence::Acknowledge => format!("acknowledged {via}"),
            Evidence::Complete => format!("completed {via}"),
        }
    }
}

/// Reads a snooze phrase ("2h", "until tomorrow 9am") on the owner's clock, as the API's snooze does.
pub async fn snooze_target(
    config: &Config,
    conn: &mut AsyncPgConnection,
    owner: UserId,
    phrase: &str,
    now: DateTime<Utc>,
) -> Result<SnoozeUntil, ApiError> {
    let zone = crate::accounts::users::store::find_live(conn, owner).await?.map(|user| user.timezone);
    let tz = zone.as_deref().and_then(reminder_core::timezone::parse_zone).unwrap_or(chrono_tz::UTC);
    let input = SnoozeInput { until: None, duration: Some(phrase.to_owned()) };
    snooze::resolve_for(config, conn, owner, input, now, tz).await
}

/// Carries out `evidence` on the owner's reminder through the one action path.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: ReminderId,
    evidence: &Evidence,
    actor: Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionError> {
    match evidence {
        Evidence::Acknowledge => actions::acknowledge(conn, owner, reminder, actor, note, now).await,
        Evidence::Complete => actions::complete(conn, owner, reminder, actor, note, now).await,
        Evidence::Snooze(target) => actions::snooze(conn, owner, reminder, actor, target, now).await,
    }
}

/// One `watcher_events` row.
#[derive(Debug, Insertable)]
#[diesel(table_name = watcher_events)]
pub struct EventRow {
    pub user_id: UserId,
    pub reminder_id: Option<ReminderId>,
    pub watcher_id: Option<Uuid>,
    pub hook_id: Option<Uuid>,
    /// `email_watcher`, `imap_watcher`, `email_reply` or `hook`.
    pub source: &'static str,
    pub action: String,
    pub summary: Option<String>,
    pub occurrence_at: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
}

/// Writes the row unless its evidence was already recorded (the same hook occurrence, or the same email
/// message for the same rule): returns None then, and the caller changes nothing.
pub async fn record(conn: &mut AsyncPgConnection, row: &EventRow) -> QueryResult<Option<Uuid>> {
    diesel::insert_into(watcher_events::table)
        .values(row)
        .on_conflict_do_nothing()
        .returning(watcher_events::id)
        .get_result(conn)
        .await
        .optional()
}

/// Replaces a recorded row's summary (evidence that matched but could not be applied says why).
pub async fn annotate(conn: &mut AsyncPgConnection, event: Uuid, summary: &str) -> QueryResult<()> {
    diesel::update(watcher_events::table.find(event)).set(watcher_events::summary.eq(summary)).execute(conn).await?;
    Ok(())
}
