//! Lifecycle events for webhooks (API.md "Outbound webhook payload"): every webhook subscription that was sent
//! a delivery in an episode is sent, once each, `reminder.acknowledged`, `reminder.snoozed`,
//! `reminder.completed` or `reminder.expired` when the episode gets there, so a home-automation receiver can
//! turn its light off. They are deliveries like any other (signed, retried, in the log, quiet hours and
//! delivery controls apply), written in the transaction that changes the episode.
//!
//! A lifecycle delivery has tier 0 (no tier sends it) and the event's code as its `loop_index`: the deliveries'
//! unique key (escalation, tier, loop, target, channel) then makes "once each" hold by construction. Tier-0
//! rows outlive their episode: an ended episode cancels its pending tier deliveries, not its events.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::Prepare;

/// The tier of every lifecycle delivery.
pub const LIFECYCLE_TIER: i16 = 0;

/// What happened to an episode that its webhooks hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    Acknowledged,
    Snoozed,
    Completed,
    Expired,
}

impl LifecycleEvent {
    const ALL: [Self; 4] = [Self::Acknowledged, Self::Snoozed, Self::Completed, Self::Expired];

    /// The event whose payload `type` is `name`.
    pub fn from_type(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.type_name() == name)
    }

    /// The payload's `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Acknowledged => "reminder.acknowledged",
            Self::Snoozed => "reminder.snoozed",
            Self::Completed => "reminder.completed",
            Self::Expired => "reminder.expired",
        }
    }

    /// The event as the `loop_index` of its deliveries.
    fn code(self) -> i16 {
        match self {
            Self::Acknowledged => 1,
            Self::Snoozed => 2,
            Self::Completed => 3,
            Self::Expired => 4,
        }
    }
}

/// One episode's event.
#[derive(Clone, Copy, Debug)]
pub struct EpisodeEvent {
    pub escalation_id: Uuid,
    pub event: LifecycleEvent,
    /// For `reminder.snoozed`: until when.
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// The events' deliveries: one per webhook subscription that was sent a tier delivery of the episode and was
/// not yet told of this event. Times read as the API writes them (UTC, `Z`, fraction only when there is one).
const INSERT: &str = "
    INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, channel,
                            status, next_attempt_at, payload)
    SELECT DISTINCT ON (v.escalation_id, d.target_id)
           v.escalation_id, e.reminder_id, e.user_id, 0, v.code, 'subscription', d.target_id, 'webhook',
           'pending', $5,
           jsonb_strip_nulls(jsonb_build_object(
               'type', v.kind, 'reminderId', e.reminder_id, 'title', r.title, 'importance', r.importance,
               'tier', e.current_tier, 'loop', e.loop_index,
               'dueAt', rtrim(rtrim(to_char(e.occurrence_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z',
               'snoozedUntil',
               rtrim(rtrim(to_char(v.snoozed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '0'), '.') || 'Z'))
    FROM unnest($1::uuid[], $2::smallint[], $3::text[], $4::timestamptz[])
         AS v(escalation_id, code, kind, snoozed_until)
    JOIN escalations e ON e.id = v.escalation_id
    JOIN reminders r ON r.id = e.reminder_id
    JOIN deliveries d ON d.escalation_id = v.escalation_id
    WHERE d.channel = 'webhook' AND d.target_kind = 'subscription' AND d.tier > 0
      AND d.status IN ('sending', 'sent', 'delivered')
    ON CONFLICT (escalation_id, tier, loop_index, target_kind, target_id, channel) DO NOTHING
    RETURNING id";

/// Inserts the events' deliveries (see [`INSERT`]); returns their ids. The offer step picks them up on its
/// next tick.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    events: &[EpisodeEvent],
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let inserted: Vec<Inserted> = diesel::sql_query(INSERT)
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.escalation_id).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(events.iter().map(|e| e.event.code()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.event.type_name()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(events.iter().map(|e| e.snoozed_until).collect::<Vec<_>>())
        .bind::<Timestamptz, _>(now)
        .prepared()
        .load(conn)
        .await?;
    metrics::counter!("deliveries_created_total").increment(inserted.len() as u64);
    Ok(inserted.into_iter().map(|row| row.id).collect())
}
