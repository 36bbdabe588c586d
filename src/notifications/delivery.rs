//! Delivery rows as the engine creates them (content, quiet-hour deferral); the deliveries' store
//! (`escalation::engine::deliveries`) inserts them.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{Nullable, Text};
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::{EpisodeId, ReminderId, UserId};
use reminder_core::machine::{Target, TargetKind};
use reminder_core::quiet_hours;
use reminder_core::status::DeliveryStatus;
use serde_json::json;

/// What the engine knows about the reminder and its owner when it creates deliveries.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub escalation_id: EpisodeId,
    pub reminder_id: ReminderId,
    pub user_id: UserId,
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
        escalation_id: EpisodeId,
        reminder_id: ReminderId,
        user_id: UserId,
        occurrence_at: DateTime<Utc>,
    ) -> DeliveryContext {
        DeliveryContext {
            escalation_id,
            reminder_id,
            user_id,
            title: self.title.clone(),
            importance: self.importance.clone(),
            occurrence_at,
            user_zone: reminder_core::timezone::parse_zone(&self.user_timezone).unwrap_or(chrono_tz::UTC),
            quiet_hours: self.quiet_hours_start.zip(self.quiet_hours_end),
            completion_kind: self.completion_kind.clone(),
            owner_name: self.owner_name.clone(),
        }
    }
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
                    "howToComplete": reminder_core::completion::how_to_complete(&ctx.completion_kind),
                },
            });
            // A trusted contact's limited view: whose reminder it is, its title and when it was due (how long it
            // has waited is computed when sending); never its description.
            if matches!(target.kind, TargetKind::Contact | TargetKind::Member) {
                payload["ownerName"] = json!(ctx.owner_name);
            }
            NewDelivery {
                escalation_id: ctx.escalation_id,
                reminder_id: ctx.reminder_id,
                user_id: ctx.user_id,
                tier: i16::try_from(tier).unwrap_or(i16::MAX),
                loop_index: i16::from(loop_index),
                target: *target,
                status: DeliveryStatus::Pending,
                next_attempt_at,
                deferred_reason,
                cancel_reason: None,
                payload,
            }
        })
        .collect()
}
