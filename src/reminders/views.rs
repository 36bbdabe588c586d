//! The API's input, patch and output types for reminders (separate from the diesel rows).

use chrono::{DateTime, NaiveDate, Utc};
use reminder_core::ids::{ProfileId, ReminderId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A schedule in a request: `type` picks which other fields apply.
///
/// - `once`: `triggerAt` (in the future).
/// - `cron`: `expression` (5 fields, e.g. `0 9 * * 1-5`).
/// - `interval`: `intervalMinutes` (1–525600), `startAt` (default: now; the first occurrence is one interval later).
/// - `rrule`: `rrule` (RFC 5545 body, e.g. `FREQ=WEEKLY;BYDAY=SU`) and `dtstart` (local wall-clock time).
///
/// `timezone` (IANA, default the user's zone) is where cron, RRULE, exclude dates and weekends are read.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleInput {
    #[serde(rename = "type")]
    pub kind: String,
    pub trigger_at: Option<DateTime<Utc>>,
    pub expression: Option<String>,
    pub interval_minutes: Option<u32>,
    pub start_at: Option<DateTime<Utc>>,
    pub rrule: Option<String>,
    /// Local date-time such as `2026-11-29T09:00:00`.
    pub dtstart: Option<String>,
    pub timezone: Option<String>,
}

/// How a reminder's occurrence is completed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompletionInput {
    /// `manual`, `webhook` or `email_watcher`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// `POST /v1/reminders`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReminderInput {
    pub title: String,
    pub description: Option<String>,
    /// `low`, `medium` (default), `high` or `critical`.
    pub importance: Option<String>,
    /// One of the caller's profiles or a preset.
    pub escalation_profile_id: Uuid,
    pub schedule: ScheduleInput,
    pub exclude_dates: Option<Vec<NaiveDate>>,
    pub skip_weekends: Option<bool>,
    /// Skip occurrences on a day of any of your holiday calendars (`/v1/calendars` with `holidays: true`).
    pub skip_holidays: Option<bool>,
    pub completion_criteria: Option<CompletionInput>,
}

/// `PATCH /v1/reminders/{id}`: absent fields stay; `description: null` clears it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReminderPatch {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub importance: Option<String>,
    pub escalation_profile_id: Option<Uuid>,
    pub schedule: Option<ScheduleInput>,
    pub exclude_dates: Option<Vec<NaiveDate>>,
    pub skip_weekends: Option<bool>,
    /// Skip occurrences on a day of any of your holiday calendars (`/v1/calendars` with `holidays: true`).
    pub skip_holidays: Option<bool>,
    pub completion_criteria: Option<CompletionInput>,
    /// `active` (reactivate; counts against the tier quota) or `archived`. Snooze and complete have their own routes.
    pub status: Option<String>,
    /// The version last read; a stale one → 409.
    pub version: Option<i32>,
}

/// The schedule as stored, echoed back in the request's shape.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    pub timezone: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletionView {
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// How this reminder gets completed, in a sentence (also in its notifications).
    pub how_to_complete: String,
}

/// A reminder as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReminderView {
    #[schema(value_type = uuid::Uuid)]
    pub id: ReminderId,
    pub title: String,
    pub description: Option<String>,
    pub importance: String,
    pub status: String,
    #[schema(value_type = uuid::Uuid)]
    pub escalation_profile_id: ProfileId,
    pub timezone: String,
    pub schedule: ScheduleView,
    pub exclude_dates: Vec<NaiveDate>,
    pub skip_weekends: bool,
    pub skip_holidays: bool,
    pub completion_criteria: CompletionView,
    /// When the reminder next fires; null when it never will again (completed, exhausted, archived).
    pub next_trigger_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Set while the reminder does not escalate, e.g. when it is over the tier's limit after a downgrade.
    pub paused_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /v1/reminders` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One status; without it every reminder but archived ones is listed.
    pub status: Option<String>,
    pub importance: Option<String>,
    /// Case-insensitive text searched for in titles.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}
