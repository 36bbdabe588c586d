//! Diesel rows of the reminder domain: `reminders`, `reminder_schedules`, `completion_criteria`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use reminder_core::ids::{ProfileId, ReminderId, UserId};
use reminder_core::status::ReminderStatus;

use crate::db::schema::{completion_criteria, reminder_schedules, reminders};

/// Reminder statuses, as stored.
pub const STATUSES: [&str; 4] = ["active", "snoozed", "completed", "archived"];
/// Importance levels, as stored.
pub const IMPORTANCES: [&str; 4] = ["low", "medium", "high", "critical"];
/// Completion criteria kinds, as stored.
pub const COMPLETION_KINDS: [&str; 3] = ["manual", "webhook", "email_watcher"];

/// A `reminders` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reminders)]
pub struct Reminder {
    pub id: ReminderId,
    pub user_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub importance: String,
    pub status: ReminderStatus,
    pub escalation_profile_id: ProfileId,
    pub timezone: String,
    pub next_trigger_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = reminders)]
pub struct NewReminder {
    pub user_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub importance: String,
    pub escalation_profile_id: ProfileId,
    pub timezone: String,
    pub next_trigger_at: Option<DateTime<Utc>>,
}

/// Changes to a reminder row; `None` leaves a column alone. The store bumps `version` on every write.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = reminders)]
pub struct ReminderChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub importance: Option<String>,
    pub status: Option<ReminderStatus>,
    pub escalation_profile_id: Option<ProfileId>,
    pub timezone: Option<String>,
    pub next_trigger_at: Option<Option<DateTime<Utc>>>,
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
    pub archived_at: Option<Option<DateTime<Utc>>>,
}

/// A `reminder_schedules` row (also the values written on insert and replace, and embedded in the fire
/// step's rows). [`super::mapping::schedule_of`] is its one decoder.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reminder_schedules, treat_none_as_null = true)]
pub struct ScheduleRow {
    pub reminder_id: ReminderId,
    pub kind: String,
    pub trigger_at: Option<DateTime<Utc>>,
    pub expression: Option<String>,
    pub interval_minutes: Option<i32>,
    pub start_at: Option<DateTime<Utc>>,
    pub dtstart: Option<NaiveDateTime>,
    pub timezone: String,
    pub exclude_dates: Vec<Option<NaiveDate>>,
    pub skip_weekends: bool,
    /// Occurrences on a day of the owner's holiday calendars are skipped.
    pub skip_holidays: bool,
}

/// A `completion_criteria` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = completion_criteria)]
pub struct CompletionRow {
    pub reminder_id: ReminderId,
    pub kind: String,
    pub config: serde_json::Value,
}

/// A reminder with the rows that belong to it.
#[derive(Debug, Clone)]
pub struct ReminderFull {
    pub reminder: Reminder,
    pub schedule: ScheduleRow,
    pub completion: Option<CompletionRow>,
}
