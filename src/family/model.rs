//! The family API's shapes.

use chrono::{DateTime, Utc};
use reminder_core::ids::{ReminderId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/family/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteInput {
    /// The address to invite; the person accepts with an account of this address.
    #[schema(max_length = 254, example = "sam@example.com")]
    pub email: String,
}

/// `POST /v1/family/accept`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptInput {
    /// The token at the end of the mailed invitation link.
    #[schema(max_length = 100)]
    pub token: String,
}

/// `PUT /v1/reminders/{id}/shares`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharesInput {
    /// The members (user ids) who see the reminder; every other share of it ends.
    pub member_ids: Vec<Uuid>,
}

/// An invitation or a member of the caller's family group.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    /// The invitation's id (`DELETE /v1/family/members/{id}`).
    pub id: Uuid,
    pub email: String,
    /// `invited` or `active`.
    pub status: String,
    /// The member's user id once accepted: what tiers and shares name.
    #[schema(value_type = Option<Uuid>)]
    pub member_id: Option<UserId>,
    pub display_name: Option<String>,
    pub invited_at: DateTime<Utc>,
    /// When an unaccepted invitation stops working.
    pub expires_at: Option<DateTime<Utc>>,
    pub joined_at: Option<DateTime<Utc>>,
}

/// The family the caller belongs to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    pub owner_name: String,
    pub owner_email: String,
    pub joined_at: DateTime<Utc>,
}

/// `GET /v1/family`: the caller's own group, and the one they belong to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FamilyView {
    /// How many members the caller's tier allows (0: sharing is not in the plan).
    pub limit: u32,
    pub members: Vec<MemberView>,
    pub member_of: Option<MembershipView>,
}

/// A member a reminder is shared with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareView {
    #[schema(value_type = Uuid)]
    pub member_id: UserId,
    pub display_name: String,
    pub email: String,
    pub shared_at: DateTime<Utc>,
}

/// A reminder shared with the caller, as a member sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedReminderView {
    #[schema(value_type = Uuid)]
    pub id: ReminderId,
    pub title: String,
    pub description: Option<String>,
    pub owner_name: String,
    /// The reminder's status (`active`, `snoozed`, `completed`, …).
    pub status: String,
    pub next_trigger_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The open escalation, when one runs: `active` or `acknowledged`, and its tier.
    pub escalation_status: Option<String>,
    pub escalation_tier: Option<i16>,
}

/// `POST /v1/shared-reminders/{id}/acknowledge` and `/complete`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharedActionInput {
    /// A note kept in the event log with the action.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}
