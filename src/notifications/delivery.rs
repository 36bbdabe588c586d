//! Delivery rows as the engine creates them, inserted in one batched statement.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{Array, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::quiet_hours;
use crate::db::Prepare;
use crate::escalation::machine::{Target, TargetKind};

/// What the engine knows about the reminder and its owner when it creates deliveries.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub escalation_id: Uuid,
    pub reminder_id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub importance: String,
    pub occurrence_at: DateTime<Utc>,
    pub user_zone: Tz,
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    /// The reminder's completion criteria: `manual`, `webhook` or `email_watcher`.
    pub completion_kind: String,
    /// The owner's display name: what a trusted contact is told about whose reminder it is.
    pub owner_name: String,
}

/// The reminder and owner columns every engine step selects to build deliveries (embedded in its rows).
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct OwnerColumns {
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub importance: String,
    #[diesel(sql_type = Text)]
    pub user_timezone: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Time>)]
    pub quiet_hours_start: Option<NaiveTime>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Time>)]
    pub quiet_hours_end: Option<NaiveTime>,
    #[diesel(sql_type = Text)]
    pub completion_kind: String,
    #[diesel(sql_type = Text)]
    pub owner_name: String,
}

impl OwnerColumns {
    /// The SQL select list that fills these columns (`r` reminders, `u` users).
    pub const SELECT: &'static str = "r.title, r.importance, u.timezone AS user_timezone, u.quiet_hours_start, \
        u.quiet_hours_end, \
        COALESCE((SELECT cc.kind FROM completion_criteria cc WHERE cc.reminder_id = r.id), 'manual') AS completion_kind, \
        u.display_name AS owner_name";

    pub fn context(
        &self,
        escalation_id: Uuid,
        reminder_id: Uuid,
        user_id: Uuid,
        occurrence_at: DateTime<Utc>,
    ) -> DeliveryContext {
        DeliveryContext {
            escalation_id,
            reminder_id,
            user_id,
            title: self.title.clone(),
            importance: self.importance.clone(),
            occurrence_at,
            user_zone: crate::timezone::parse_zone(&self.user_timezone).unwrap_or(chrono_tz::UTC),
            quiet_hours: self.quiet_hours_start.zip(self.quiet_hours_end),
            completion_kind: self.completion_kind.clone(),
            owner_name: self.owner_name.clone(),
        }
    }
}

/// One delivery to insert.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub escalation_id: Uuid,
    pub reminder_id: Uuid,
    pub user_id: Uuid,
    pub tier: i16,
    pub loop_index: i16,
    pub target: Target,
    pub status: &'static str,
    pub next_attempt_at: DateTime<Utc>,
    pub deferred_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub payload: serde_json::Value,
}

/// Builds the deliveries of one tier. Quiet hours defer the user's non-critical deliveries; trusted
/// contacts agreed to be asked and are not deferred. Delivery controls (disabled, suspended accounts,
/// the SMS budget) are applied to the whole batch afterwards by `billing::controls::apply`.
pub fn for_tier(
    ctx: &DeliveryContext,
    tier: u16,
    loop_index: u8,
    targets: &[Target],
    escalated: bool,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    let kind = if escalated { "reminder.escalated" } else { "reminder.triggered" };
    targets
        .iter()
        .map(|target| {
            let mut next_attempt_at = now;
            let mut deferred_reason = None;
            if target.kind == TargetKind::Subscription
                && ctx.importance != "critical"
                && let Some((start, end)) = ctx.quiet_hours
                && let Some(until) = quiet_hours::deferral(now, ctx.user_zone, start, end)
            {
                next_attempt_at = until;
                deferred_reason = Some("quiet hours".to_owned());
            }
            let mut payload = json!({
                "type": kind,
                "reminderId": ctx.reminder_id,
                "escalationId": ctx.escalation_id,
                "title": ctx.title,
                "importance": ctx.importance,
                "tier": tier,
                "loop": loop_index,
                "dueAt": ctx.occurrence_at,
                "audience": target.kind.as_str(),
                "completion": {
                    "type": ctx.completion_kind,
                    "howToComplete": crate::reminders::mapping::how_to_complete(&ctx.completion_kind),
                },
            });
            // A trusted contact's limited view: whose reminder it is, its title and when it was due (how long it
            // has waited is computed when sending); never its description.
            if target.kind == TargetKind::Contact {
                payload["ownerName"] = json!(ctx.owner_name);
            }
            NewDelivery {
                escalation_id: ctx.escalation_id,
                reminder_id: ctx.reminder_id,
                user_id: ctx.user_id,
                tier: i16::try_from(tier).unwrap_or(i16::MAX),
                loop_index: i16::from(loop_index),
                target: *target,
                status: "pending",
                next_attempt_at,
                deferred_reason,
                cancel_reason: None,
                payload,
            }
        })
        .collect()
}

/// Inserts deliveries in one statement. The unique key (escalation, tier, loop, target) makes a repeat
/// insert a no-op, so no owed delivery can exist twice.
///
/// With `offer_at`, the new rows due by then are stamped as offered at that instant and their ids returned:
/// the caller pushes them to the dispatch stream once the transaction has committed, which spares the offer
/// step a select and an update per row. A push lost to a crash or a Redis error is re-offered by the offer
/// step after `OFFER_TIMEOUT_SECS`, and workers claim straight from Postgres while Redis is away.
///
/// Ids are UUIDv7 (time-ordered): each batch's keys land at the right edge of the primary-key index, on
/// pages already in memory, instead of on random pages all over a large index.
pub async fn insert_batch(
    conn: &mut AsyncPgConnection,
    rows: &[NewDelivery],
    offer_at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        offered: bool,
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(
        "INSERT INTO deliveries (id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                 channel, status, next_attempt_at, deferred_reason, cancel_reason, payload, offered_at)
         SELECT v.*, CASE WHEN v.status = 'pending' AND v.next_attempt_at <= $14 THEN $14 END
         FROM unnest($15::uuid[], $1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::smallint[], $6::text[],
                     $7::uuid[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::jsonb[])
              AS v(id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, channel, status,
                   next_attempt_at, deferred_reason, cancel_reason, payload)
         ON CONFLICT (escalation_id, tier, loop_index, target_kind, target_id, channel) DO NOTHING
         RETURNING id, offered_at IS NOT NULL AS offered",
    )
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.escalation_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.reminder_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| r.tier).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(rows.iter().map(|r| r.loop_index).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.target.kind.as_str()).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.target.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.target.channel.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.deferred_reason.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.cancel_reason.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.payload).collect::<Vec<_>>())
    .bind::<Nullable<Timestamptz>, _>(offer_at)
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .prepared()
    .load::<Inserted>(conn)
    .await
    .map(|inserted| inserted.into_iter().filter(|row| row.offered).map(|row| row.id).collect())
}
