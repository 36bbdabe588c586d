//! The calendar API's shapes and the rows behind them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use reminder_core::calendar::{Action, Match};
use reminder_core::ids::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::{calendar_events, calendar_rules, calendars};

/// `POST /v1/calendars`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalendarInput {
    /// Up to 100 characters, e.g. "Family" or "Public holidays".
    pub name: String,
    /// `ics` (default): the calendar's secret iCal address (Google: "Secret address in iCal format"; Outlook:
    /// "Publish calendar" → ICS; Apple: "Public calendar"). `caldav`: a CalDAV calendar collection's URL, with
    /// `user` and `appPassword`.
    pub kind: Option<String>,
    /// https (or `webcal://`, read as https).
    pub url: String,
    pub user: Option<String>,
    pub app_password: Option<String>,
    /// Every event of this calendar is a holiday: `SKIP_DAY` rules and reminders with `skipHolidays` skip its days.
    pub holidays: Option<bool>,
}

/// A calendar as the API shows it: never its address or credentials.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarView {
    pub id: Uuid,
    pub name: String,
    /// `ics` or `caldav`.
    pub kind: String,
    /// The host of the address (the secret path is not shown).
    pub host: String,
    pub holidays: bool,
    /// `pending` (not fetched yet), `ok` or `failing` (see `lastError`; the last good events stay in use).
    pub status: String,
    pub last_error: Option<String>,
    /// Failed fetches in a row.
    pub failures: i32,
    /// Event instances kept for the coming weeks.
    pub event_count: i32,
    /// Events in the file that could not be read (and are ignored).
    pub skipped_events: i32,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub next_sync_at: DateTime<Utc>,
    /// Why the calendar is not used now (over the tier's allowance of connected calendars after a
    /// downgrade): it is not fetched and its rules do nothing until it fits again. Null while in use.
    pub paused_reason: Option<String>,
    pub rules: Vec<RuleView>,
    pub created_at: DateTime<Utc>,
}

/// A `calendars` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = calendars)]
pub struct CalendarRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub name: String,
    pub kind: String,
    pub source_host: String,
    pub holidays: bool,
    pub status: String,
    pub last_error: Option<String>,
    pub failures: i32,
    pub event_count: i32,
    pub skipped_events: i32,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub next_sync_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub paused_reason: Option<String>,
}

impl CalendarView {
    pub fn new(row: CalendarRow, rules: Vec<RuleView>) -> Self {
        CalendarView {
            id: row.id,
            name: row.name,
            kind: row.kind,
            host: row.source_host,
            holidays: row.holidays,
            status: row.status,
            last_error: row.last_error,
            failures: row.failures,
            event_count: row.event_count,
            skipped_events: row.skipped_events,
            last_synced_at: row.last_synced_at,
            next_sync_at: row.next_sync_at,
            paused_reason: row.paused_reason,
            rules,
            created_at: row.created_at,
        }
    }
}

/// Where a calendar is fetched from, sealed at rest as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /v1/calendars/{id}/rules`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleInput {
    /// Which of this calendar's events the rule is about; at least one condition, all must hold.
    #[serde(rename = "match")]
    pub matcher: Match,
    pub action: Action,
    /// The reminders it applies to (up to 100 of yours); leave out, or give `all: true`, for every reminder.
    pub reminder_ids: Option<Vec<Uuid>>,
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub id: Uuid,
    pub calendar_id: Uuid,
    #[serde(rename = "match")]
    pub matcher: Match,
    pub action: Action,
    /// Null when the rule applies to every reminder (`all`).
    pub reminder_ids: Option<Vec<Uuid>>,
    pub all: bool,
    pub created_at: DateTime<Utc>,
}

/// A `calendar_rules` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_rules)]
pub struct RuleRow {
    pub id: Uuid,
    pub calendar_id: Uuid,
    pub user_id: UserId,
    pub match_: serde_json::Value,
    pub action: String,
    pub reminder_ids: Option<Vec<Uuid>>,
    pub created_at: DateTime<Utc>,
}

impl RuleRow {
    /// The pure rule; None for a row that does not read (written only from validated input).
    pub fn rule(&self) -> Option<reminder_core::calendar::Rule> {
        Some(reminder_core::calendar::Rule {
            calendar_id: self.calendar_id,
            matcher: serde_json::from_value(self.match_.clone()).ok()?,
            action: Action::parse(&self.action)?,
            reminders: self.reminder_ids.clone(),
        })
    }

    pub fn view(self) -> Option<RuleView> {
        let rule = self.rule()?;
        Some(RuleView {
            id: self.id,
            calendar_id: self.calendar_id,
            matcher: rule.matcher,
            action: rule.action,
            all: self.reminder_ids.is_none(),
            reminder_ids: self.reminder_ids,
            created_at: self.created_at,
        })
    }
}

/// `GET /v1/calendars/{id}/events`: RFC 3339 instants; from now for 7 days by default, at most 62 days.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One event instance (a recurring event's occurrences are listed one by one).
#[derive(Debug, Serialize, utoipa::ToSchema, Queryable, Selectable)]
#[diesel(table_name = calendar_events)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub uid: String,
    pub summary: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    /// Shown as busy (not "free"/transparent).
    pub busy: bool,
    pub categories: Vec<String>,
}
