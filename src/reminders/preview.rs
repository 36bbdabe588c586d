//! `GET /v1/reminders/{id}/preview`: what happens at the next occurrence if nobody reacts — every tier of
//! every loop, who gets what on which channel, in their own zone, with quiet-hour deferrals and the channel
//! types that will be skipped because the user has no subscription of that type.

mod timeline;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use reminder_core::calendar::{Effect, Occurrence};
use reminder_core::ids::{ProfileId, ReminderId, UserId};
use reminder_core::status::ReminderStatus;
use reminder_core::timezone::parse_zone;
use serde::Serialize;
use uuid::Uuid;

use super::service::not_found;
use super::store;
use crate::http::ApiError;
use crate::profiles::{Tier, store as profiles};

/// The whole timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    #[schema(value_type = uuid::Uuid)]
    pub reminder_id: ReminderId,
    /// The occurrence previewed (the snooze end for a snoozed reminder); null when it will not fire again.
    pub occurrence_at: Option<DateTime<Utc>>,
    #[schema(value_type = uuid::Uuid)]
    pub escalation_profile_id: ProfileId,
    pub escalation_profile_name: String,
    pub importance: String,
    /// The user's zone, in which quiet hours are read.
    pub user_timezone: String,
    /// `HH:MM-HH:MM` in the user's zone; non-critical deliveries to the user inside it wait for its end.
    pub quiet_hours: Option<String>,
    pub repeat: u8,
    pub loop_gap_minutes: u32,
    /// What the owner's calendars change about this occurrence (a rule or a holiday); the steps already
    /// show it (a pause or snooze starts them at its end, hurrying squeezes them).
    pub calendar: Option<CalendarChange>,
    pub steps: Vec<PreviewStep>,
    /// Targets that will not be reached, once per tier (the same holds in every loop).
    pub skipped: Vec<SkippedTarget>,
    pub cost: PreviewCost,
}

/// A calendar's change to the previewed occurrence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarChange {
    /// `skip`, `pause`, `snooze` or `faster`.
    pub effect: String,
    /// In a sentence, in the user's zone.
    pub description: String,
}

/// One tier of one loop.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewStep {
    pub loop_index: u8,
    pub tier: u16,
    /// Minutes after the moment the reminder fired (of this loop's start, for later loops).
    pub delay_minutes: u32,
    pub at: DateTime<Utc>,
    pub deliveries: Vec<PreviewDelivery>,
}

/// One message to one recipient.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewDelivery {
    /// `user` or `contact`.
    pub recipient_kind: String,
    pub recipient_id: Uuid,
    pub recipient_name: Option<String>,
    pub channel: String,
    /// The recipient's zone (a contact without one is shown in the user's zone).
    pub timezone: String,
    /// When it goes out, in UTC, after any quiet-hour deferral.
    pub deliver_at: DateTime<Utc>,
    /// The same instant on the recipient's clock, e.g. "Thu 26 Nov 09:00 Europe/Berlin".
    pub local_time: String,
    pub deferred: bool,
    pub deferred_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedTarget {
    pub tier: u16,
    pub channel: Option<String>,
    pub target_id: Option<Uuid>,
    pub reason: String,
}

/// What the whole timeline would use of the user's quotas.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewCost {
    pub deliveries: u32,
    pub email: u32,
    pub sms: u32,
    pub webhook: u32,
    pub pull: u32,
}

/// What a preview needs of its owner: their zone and quiet hours, channels and trusted contacts.
struct Owner {
    tz: chrono_tz::Tz,
    quiet: Option<(chrono::NaiveTime, chrono::NaiveTime)>,
    subscriptions: Vec<profiles::SubscriptionBrief>,
    contacts: Vec<profiles::ContactBrief>,
    /// Family members, each with whether the reminder previewed (if any) is shared with them.
    members: Vec<crate::family::store::MemberShare>,
}

async fn owner_of(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: Option<ReminderId>,
) -> Result<Owner, ApiError> {
    let user = crate::accounts::users::store::find_live(conn, owner).await?.ok_or_else(not_found)?;
    Ok(Owner {
        tz: parse_zone(&user.timezone).unwrap_or(chrono_tz::UTC),
        quiet: user.quiet_hours_start.zip(user.quiet_hours_end),
        subscriptions: profiles::subscriptions_of(conn, owner).await?,
        contacts: profiles::contacts_of(conn, owner).await?,
        members: crate::family::store::members_with_share(conn, owner, reminder).await?,
    })
}

/// Builds the preview of the owner's reminder.
pub async fn preview(conn: &mut AsyncPgConnection, owner: UserId, id: ReminderId) -> Result<PreviewView, ApiError> {
    let reminder = store::find_for(conn, owner, id).await?.ok_or_else(not_found)?;
    let profile = profiles::find_visible(conn, owner, reminder.escalation_profile_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("reminder {id} uses a profile its owner cannot see")))?;
    let user = owner_of(conn, owner, Some(id)).await?;
    let occurrence_at = match reminder.status {
        ReminderStatus::Snoozed => reminder.snoozed_until,
        ReminderStatus::Active => reminder.next_trigger_at,
        ReminderStatus::Completed | ReminderStatus::Archived => None,
    };
    let mut tiers = profile.parsed_tiers().map_err(ApiError::internal)?;
    let (occurrence_at, calendar) = match occurrence_at.filter(|_| reminder.status == ReminderStatus::Active) {
        Some(at) => {
            let schedule = store::schedule_for(conn, id).await?;
            let occurrence = Occurrence {
                reminder: id.0,
                at,
                zone: parse_zone(&schedule.timezone).unwrap_or(user.tz),
                critical: reminder.importance == "critical",
                skip_holidays: schedule.skip_holidays,
                span: chrono::Duration::minutes(i64::from(tiers.iter().map(|t| t.delay_minutes).max().unwrap_or(0))),
            };
            calendar_change(conn, owner, &occurrence, &mut tiers, user.tz).await?
        }
        None => (occurrence_at, None),
    };
    let inputs = timeline::Inputs {
        user_tz: user.tz,
        quiet: user.quiet,
        critical: reminder.importance == "critical",
        subscriptions: &user.subscriptions,
        contacts: &user.contacts,
        members: &user.members,
        tiers: &tiers,
        repeat: u8::try_from(profile.repeat_count).map_err(ApiError::internal)?,
        loop_gap_minutes: profile.loop_gap_minutes.map(u32::try_from).transpose().map_err(ApiError::internal)?,
    };
    let built = timeline::build(&inputs, occurrence_at);
    Ok(PreviewView {
        reminder_id: reminder.id,
        occurrence_at,
        escalation_profile_id: profile.id,
        escalation_profile_name: profile.name,
        importance: reminder.importance,
        user_timezone: user.tz.name().to_owned(),
        quiet_hours: user.quiet.map(|(s, e)| format!("{}-{}", s.format("%H:%M"), e.format("%H:%M"))),
        repeat: inputs.repeat,
        loop_gap_minutes: built.loop_gap_minutes,
        calendar,
        steps: built.steps,
        skipped: built.skipped,
        cost: built.cost,
    })
}

/// What the owner's calendars do to `occurrence`: the occurrence the steps start from (a pause's or
/// snooze's end; none for a skipped day) and the change, with `tiers` squeezed when it hurries.
async fn calendar_change(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    occurrence: &Occurrence,
    tiers: &mut [Tier],
    tz: chrono_tz::Tz,
) -> Result<(Option<DateTime<Utc>>, Option<CalendarChange>), ApiError> {
    let mut effects = crate::calendars::store::effects(&*conn, &[(owner, *occurrence)]).await?;
    let effect = effects.remove(&ReminderId(occurrence.reminder)).unwrap_or(Effect::None);
    let starts = match &effect {
        Effect::None => return Ok((Some(occurrence.at), None)),
        Effect::Skip { .. } => Some(occurrence.at),
        Effect::Pause { until, .. } | Effect::Snooze { until, .. } => Some(*until),
        Effect::Faster { before, .. } => {
            reminder_core::calendar::squeeze(
                tiers.iter_mut().map(|tier| &mut tier.delay_minutes),
                occurrence.at,
                *before,
            );
            Some(occurrence.at)
        }
    };
    let change = CalendarChange {
        effect: effect.name().unwrap_or_default().to_owned(),
        description: effect.describe(tz).unwrap_or_default(),
    };
    Ok((starts, Some(change)))
}

/// A ladder that is not (yet) a stored profile: the profile editor's tiers as typed.
pub struct Ladder<'a> {
    pub tiers: &'a [Tier],
    pub repeat: u8,
    pub loop_gap_minutes: Option<u32>,
}

/// What a ladder would do for a (non-critical) reminder of the owner's that fired at `at`: the same steps
/// and skipped targets a reminder's preview has, so the profile editor draws the same picture before the
/// profile is saved. Nothing is stored or sent.
pub async fn sketch(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    ladder: &Ladder<'_>,
    at: DateTime<Utc>,
) -> Result<(Vec<PreviewStep>, Vec<SkippedTarget>), ApiError> {
    let user = owner_of(conn, owner, None).await?;
    let inputs = timeline::Inputs {
        user_tz: user.tz,
        quiet: user.quiet,
        critical: false,
        subscriptions: &user.subscriptions,
        contacts: &user.contacts,
        members: &user.members,
        tiers: ladder.tiers,
        repeat: ladder.repeat,
        loop_gap_minutes: ladder.loop_gap_minutes,
    };
    let built = timeline::build(&inputs, Some(at));
    Ok((built.steps, built.skipped))
}
