//! Between the API's schedule shape, the pure [`Schedule`], the `reminder_schedules` row and the views.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use reminder_core::ids::ReminderId;
use reminder_core::schedule::{Schedule, ScheduleError, ScheduleKind};
use reminder_core::timezone::parse_zone;

use super::model::{ReminderFull, ScheduleRow};
use super::views::{CompletionView, ReminderView, ScheduleInput, ScheduleView};
use crate::http::FieldError;

const KINDS: [&str; 4] = ["once", "cron", "interval", "rrule"];

/// Builds and validates a schedule from the request, recording every bad field under `schedule.*`.
/// `fallback_zone` is the reminder's current zone (on PATCH) or the user's zone (on create).
pub fn schedule_from_input(
    input: &ScheduleInput,
    fallback_zone: &str,
    exclude_dates: Vec<NaiveDate>,
    skip_weekends: bool,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<Schedule> {
    let before = errors.len();
    let zone_name = input.timezone.as_deref().map(str::trim).unwrap_or(fallback_zone);
    let tz = parse_zone(zone_name);
    if tz.is_none() {
        errors.push(FieldError::new("schedule.timezone", "must be an IANA time zone such as Europe/Berlin"));
    }
    let required = |present: bool, field: &str, errors: &mut Vec<FieldError>| {
        if !present {
            errors.push(FieldError::new(format!("schedule.{field}"), format!("is required for type {}", input.kind)));
        }
    };
    // A field of another type is refused rather than ignored: it is almost always a mistake about the type.
    let allowed: &[&str] = match input.kind.as_str() {
        "once" => &["triggerAt"],
        "cron" => &["expression"],
        "interval" => &["intervalMinutes", "startAt"],
        "rrule" => &["rrule", "dtstart"],
        _ => {
            errors.push(FieldError::new("schedule.type", format!("must be one of {}", KINDS.join(", "))));
            return None;
        }
    };
    let present = [
        ("triggerAt", input.trigger_at.is_some()),
        ("expression", input.expression.is_some()),
        ("intervalMinutes", input.interval_minutes.is_some()),
        ("startAt", input.start_at.is_some()),
        ("rrule", input.rrule.is_some()),
        ("dtstart", input.dtstart.is_some()),
    ];
    for (field, is_present) in present {
        if is_present && !allowed.contains(&field) {
            errors.push(FieldError::new(format!("schedule.{field}"), format!("does not apply to type {}", input.kind)));
        }
    }
    let kind = match input.kind.as_str() {
        "once" => {
            required(input.trigger_at.is_some(), "triggerAt", errors);
            input.trigger_at.map(|at| ScheduleKind::Once { at })
        }
        "cron" => {
            required(input.expression.is_some(), "expression", errors);
            input.expression.as_ref().map(|e| ScheduleKind::Cron { expression: e.trim().to_owned() })
        }
        "interval" => {
            required(input.interval_minutes.is_some(), "intervalMinutes", errors);
            input
                .interval_minutes
                .map(|minutes| ScheduleKind::Interval { minutes, start_at: input.start_at.unwrap_or(now) })
        }
        _ => {
            required(input.rrule.is_some(), "rrule", errors);
            required(input.dtstart.is_some(), "dtstart", errors);
            let dtstart = input.dtstart.as_deref().and_then(|raw| {
                let parsed = parse_local(raw, tz);
                if parsed.is_none() {
                    errors.push(FieldError::new(
                        "schedule.dtstart",
                        "must be a local date-time such as 2026-11-29T09:00:00",
                    ));
                }
                parsed
            });
            input
                .rrule
                .as_ref()
                .zip(dtstart)
                .map(|(rule, dtstart)| ScheduleKind::Rrule { rule: rule.trim().to_owned(), dtstart })
        }
    };
    let (Some(kind), Some(tz)) = (kind, tz) else { return None };
    if errors.len() > before {
        return None;
    }
    let schedule = Schedule { kind, tz, exclude_dates, skip_weekends };
    if let Err(err) = schedule.validate(now) {
        errors.push(FieldError::new(error_field(&err, &input.kind), err.to_string()));
        return None;
    }
    Some(schedule)
}

pub fn error_field(err: &ScheduleError, kind: &str) -> &'static str {
    match err {
        ScheduleError::OnceInPast => "schedule.triggerAt",
        ScheduleError::InvalidCron(_) => "schedule.expression",
        ScheduleError::InvalidRrule(_) | ScheduleError::UnsupportedRrulePart(_) => "schedule.rrule",
        ScheduleError::ExpressionTooLong(_) if kind == "rrule" => "schedule.rrule",
        ScheduleError::ExpressionTooLong(_) => "schedule.expression",
        ScheduleError::IntervalOutOfRange(_) => "schedule.intervalMinutes",
        ScheduleError::TooManyExcludeDates(_) => "excludeDates",
        ScheduleError::NoUpcomingOccurrence => "schedule",
    }
}

/// A wall-clock time; an RFC 3339 instant is accepted too and read on the schedule's clock.
fn parse_local(raw: &str, tz: Option<chrono_tz::Tz>) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(local);
        }
    }
    let instant = DateTime::parse_from_rfc3339(raw).ok()?;
    Some(instant.with_timezone(&tz?).naive_local())
}

/// The row that stores `schedule` for `reminder_id`.
pub fn schedule_row(
    reminder_id: ReminderId,
    schedule: &Schedule,
    skip_holidays: bool,
) -> Result<ScheduleRow, anyhow::Error> {
    let mut row = ScheduleRow {
        reminder_id,
        kind: String::new(),
        trigger_at: None,
        expression: None,
        interval_minutes: None,
        start_at: None,
        dtstart: None,
        timezone: schedule.tz.name().to_owned(),
        exclude_dates: schedule.exclude_dates.iter().copied().map(Some).collect(),
        skip_weekends: schedule.skip_weekends,
        skip_holidays,
    };
    match &schedule.kind {
        ScheduleKind::Once { at } => (row.kind, row.trigger_at) = ("once".to_owned(), Some(*at)),
        ScheduleKind::Cron { expression } => (row.kind, row.expression) = ("cron".to_owned(), Some(expression.clone())),
        ScheduleKind::Interval { minutes, start_at } => {
            row.kind = "interval".to_owned();
            row.interval_minutes = Some(i32::try_from(*minutes)?);
            row.start_at = Some(*start_at);
        }
        ScheduleKind::Rrule { rule, dtstart } => {
            row.kind = "rrule".to_owned();
            row.expression = Some(rule.clone());
            row.dtstart = Some(*dtstart);
        }
    }
    Ok(row)
}

/// The pure schedule a stored row describes. Rows are only written from validated schedules, so a row that
/// does not map back is a server fault.
pub fn schedule_of(row: &ScheduleRow) -> Result<Schedule, anyhow::Error> {
    let tz = parse_zone(&row.timezone).ok_or_else(|| anyhow::anyhow!("stored zone {} is unknown", row.timezone))?;
    let missing =
        || anyhow::anyhow!("schedule row of reminder {} lacks a column for kind {}", row.reminder_id, row.kind);
    let kind = match row.kind.as_str() {
        "once" => ScheduleKind::Once { at: row.trigger_at.ok_or_else(missing)? },
        "cron" => ScheduleKind::Cron { expression: row.expression.clone().ok_or_else(missing)? },
        "interval" => ScheduleKind::Interval {
            minutes: u32::try_from(row.interval_minutes.ok_or_else(missing)?)?,
            start_at: row.start_at.ok_or_else(missing)?,
        },
        "rrule" => ScheduleKind::Rrule {
            rule: row.expression.clone().ok_or_else(missing)?,
            dtstart: row.dtstart.ok_or_else(missing)?,
        },
        other => anyhow::bail!("unknown schedule kind {other}"),
    };
    let exclude_dates = row.exclude_dates.iter().flatten().copied().collect();
    Ok(Schedule { kind, tz, exclude_dates, skip_weekends: row.skip_weekends })
}

fn schedule_view(row: &ScheduleRow) -> Result<ScheduleView, anyhow::Error> {
    let is_rrule = row.kind == "rrule";
    Ok(ScheduleView {
        kind: row.kind.clone(),
        trigger_at: row.trigger_at,
        expression: row.expression.clone().filter(|_| !is_rrule),
        interval_minutes: row.interval_minutes.map(u32::try_from).transpose()?,
        start_at: row.start_at,
        rrule: row.expression.clone().filter(|_| is_rrule),
        dtstart: row.dtstart.map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string()),
        timezone: row.timezone.clone(),
    })
}

/// The API view of a reminder and its rows.
pub fn reminder_view(full: ReminderFull) -> Result<ReminderView, anyhow::Error> {
    let ReminderFull { reminder, schedule, completion } = full;
    let (kind, config) =
        completion.map_or_else(|| ("manual".to_owned(), serde_json::json!({})), |c| (c.kind, c.config));
    let completion_criteria =
        CompletionView { how_to_complete: reminder_core::completion::how_to_complete(&kind).to_owned(), kind, config };
    Ok(ReminderView {
        id: reminder.id,
        title: reminder.title,
        description: reminder.description,
        importance: reminder.importance,
        status: reminder.status.as_str().to_owned(),
        escalation_profile_id: reminder.escalation_profile_id,
        timezone: reminder.timezone,
        schedule: schedule_view(&schedule)?,
        exclude_dates: schedule.exclude_dates.iter().flatten().copied().collect(),
        skip_weekends: schedule.skip_weekends,
        skip_holidays: schedule.skip_holidays,
        completion_criteria,
        next_trigger_at: reminder.next_trigger_at,
        snoozed_until: reminder.snoozed_until,
        completed_at: reminder.completed_at,
        archived_at: reminder.archived_at,
        paused_reason: reminder.paused_reason.clone(),
        version: reminder.version,
        created_at: reminder.created_at,
        updated_at: reminder.updated_at,
    })
}
