//! What the admin API reads and answers. Inputs refuse unknown fields; outputs are typed.

use chrono::{DateTime, Utc};
use reminder_core::ids::UserId;
use reminder_core::tiers::Tier;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::permissions::Role;
/// A user's delivery control (`subscriptions.delivery_state`); billing owns it.
pub use crate::billing::model::DeliveryState;

/// `POST /v1/admin/users/{id}/delivery-state`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryStateChange {
    pub state: DeliveryState,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// When a usage suspension lifts itself; required for USAGE_SUSPENDED, refused otherwise.
    pub until: Option<DateTime<Utc>>,
}

/// `POST /v1/admin/users/{id}/subscription`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionOverride {
    /// The tier to grant whatever the user pays for (FREE, PERSONAL, PRO, FAMILY), or null to end the override.
    #[serde(deserialize_with = "required_nullable")]
    #[schema(value_type = Option<String>, required = true, example = "PRO")]
    pub tier: Option<Tier>,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `POST /v1/admin/users/{id}/notes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteInput {
    /// The note (1 to 5000 characters).
    #[schema(min_length = 1, max_length = 5000)]
    pub body: String,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `PATCH /v1/admin/users/{id}/notes/{noteId}`: a new text, a pin, or both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteEdit {
    /// The new text (1 to 5000 characters); absent keeps it.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: Option<String>,
    /// Pinned notes are listed first; absent keeps the pin as it is.
    pub pinned: Option<bool>,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The body of an admin write that needs only its reason: deleting a note or a user, revoking an admin.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reasoned {
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `PUT /v1/admin/admins/{userId}`: make a user an admin with `role`, or give an admin another role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// An admin and their role.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminEntry {
    #[schema(value_type = uuid::Uuid)]
    pub user_id: UserId,
    /// The `admin_users` id (what the action log calls `adminId`).
    pub admin_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// When the row was made or last changed.
    pub updated_at: DateTime<Utc>,
}

/// An operator knob: its value in force, the environment's default, and its bounds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    /// The name `PATCH /v1/admin/settings` takes.
    pub key: &'static str,
    pub value: i64,
    /// The value from the environment variable (or its default), in force when no admin set one.
    pub environment_default: i64,
    pub environment_variable: &'static str,
    /// Whether an admin's value is in force.
    pub overridden: bool,
    pub min: i64,
    pub max: i64,
    pub description: &'static str,
}

/// `PATCH /v1/admin/settings`: each knob given is set; `null` goes back to the environment's value.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1000000)]
    pub usage_suspension_allowance_per_window: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 365)]
    pub usage_suspension_window_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 36500)]
    pub retention_delivery_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 36500)]
    pub retention_audit_days: Option<Option<i64>>,
    /// Why; kept in the admin action log (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl SettingsPatch {
    /// The knobs given, each with its new value (`None`: back to the environment's).
    pub fn changes(&self) -> Vec<(crate::settings::Knob, Option<i64>)> {
        use crate::settings::Knob;
        [
            (Knob::UsageSuspensionAllowancePerWindow, self.usage_suspension_allowance_per_window),
            (Knob::UsageSuspensionWindowDays, self.usage_suspension_window_days),
            (Knob::RetentionDeliveryDays, self.retention_delivery_days),
            (Knob::RetentionAuditDays, self.retention_audit_days),
        ]
        .into_iter()
        .filter_map(|(knob, given)| given.map(|value| (knob, value)))
        .collect()
    }
}

/// A field given (`Some`), possibly as null (`Some(None)`); an absent one stays `None` by `#[serde(default)]`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A field that must be present but may be null (an absent `tier` must not silently end an override).
fn required_nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// A user in search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The tier in force: the override when there is one, else the paid tier.
    pub tier: String,
    pub subscription_status: String,
    pub delivery_state: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A user's subscription as support sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionControls {
    /// The tier paid for.
    pub tier: String,
    /// An admin's grant that wins over `tier`.
    pub tier_override: Option<String>,
    pub effective_tier: String,
    pub status: String,
    pub delivery_state: String,
    pub delivery_state_reason: Option<String>,
    pub usage_suspended_until: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

/// Counts that tell support how much a user uses the service.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserUsage {
    /// Reminders not completed or archived.
    pub live_reminders: i64,
    pub channel_subscriptions: i64,
    pub deliveries_last_24h: i64,
}

/// `GET /v1/admin/users/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub subscription: SubscriptionControls,
    pub usage: UserUsage,
    /// The user's own admin role, when they are an admin.
    pub admin_role: Option<Role>,
}

/// A support note on a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupportNote {
    pub id: Uuid,
    #[schema(value_type = uuid::Uuid)]
    pub user_id: UserId,
    /// The `admin_users` id of the author.
    pub admin_id: Uuid,
    pub body: String,
    /// Pinned notes come first in the list.
    pub pinned: bool,
    pub created_at: DateTime<Utc>,
    /// When the text or the pin last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One entry of the admin action log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminAction {
    pub id: Uuid,
    pub admin_id: Uuid,
    pub admin_email: Option<String>,
    /// e.g. `user.suspend`, `user.enable_delivery`, `subscription.override`, `note.add`.
    pub action: String,
    pub target_user_id: Option<Uuid>,
    pub reason: String,
    /// `{"before": …, "after": …}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Counts per effective tier.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub struct TierCounts {
    pub free: i64,
    pub personal: i64,
    pub pro: i64,
    pub family: i64,
}

/// Counts per delivery status.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub cancelled: i64,
}

/// `GET /v1/admin/stats`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardStats {
    /// Accounts not deleted, by the tier in force.
    pub users_by_tier: TierCounts,
    /// Reminders that are active or snoozed.
    pub active_reminders: i64,
    /// Deliveries created in the last 24 hours, by their status now.
    pub deliveries_last_24h: StatusCounts,
    /// (sent + delivered) / (sent + delivered + failed) of the last 24 hours; null when nothing finished.
    pub delivery_success_rate: Option<f64>,
    /// Pending deliveries that are due.
    pub queue_depth: i64,
    /// Age of the oldest due, unfired reminder or unsent delivery.
    pub scheduler_lag_seconds: f64,
    /// Monthly recurring revenue of ACTIVE subscriptions at list price, in cents.
    pub mrr_cents: i64,
    pub currency: &'static str,
}

/// What a health reading holds (live, or stored in a snapshot).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthReading {
    /// `ok`, `degraded` (Redis down) or `down`.
    pub status: String,
    pub database: String,
    pub redis: String,
    pub queue_depth: i64,
    pub due_not_fired: i64,
    pub scheduler_lag_seconds: f64,
    /// Deliveries created in the 5 minutes before the reading, by status.
    pub deliveries_last_5_minutes: StatusCounts,
}

/// A stored reading: one per 5-minute slot, written by the scheduler.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthSnapshot {
    /// The start of the 5-minute slot.
    pub taken_at: DateTime<Utc>,
    pub reading: HealthReading,
}

/// `GET /v1/admin/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthNow {
    pub measured_at: DateTime<Utc>,
    pub reading: HealthReading,
    /// The newest snapshot, to show whether the scheduler is writing them.
    pub last_snapshot: Option<HealthSnapshot>,
}
