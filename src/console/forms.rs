//! The console's forms and how they become the API's input types, plus where an API field error is shown.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::reminders::views::{ReminderInput, ScheduleInput};

/// Messages by form field; `""` is for the form as a whole.
pub type Errors = BTreeMap<String, String>;

/// The new-reminder form, as typed (kept to fill the form again after an error).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReminderForm {
    pub csrf: String,
    pub title: String,
    pub description: String,
    pub importance: String,
    pub profile: String,
    /// once, daily, cron, interval or rrule.
    pub kind: String,
    pub once_at: String,
    pub daily_at: String,
    pub cron: String,
    pub interval_minutes: String,
    pub rrule: String,
    pub rrule_start: String,
}

fn empty_schedule(kind: &str) -> ScheduleInput {
    ScheduleInput {
        kind: kind.to_owned(),
        trigger_at: None,
        expression: None,
        interval_minutes: None,
        start_at: None,
        rrule: None,
        dtstart: None,
        timezone: None,
    }
}

fn local_datetime(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
}

impl ReminderForm {
    /// The API's input for this form, read in the viewer's zone; or the fields the console itself refuses.
    pub fn to_input(&self, tz: Tz) -> Result<ReminderInput, Errors> {
        let mut errors = Errors::new();
        let profile = Uuid::parse_str(self.profile.trim()).ok();
        if profile.is_none() {
            errors.insert("profile".into(), "Choose an escalation profile.".into());
        }
        let zone = Some(tz.name().to_owned());
        let schedule = match self.kind.as_str() {
            "once" => match local_datetime(&self.once_at) {
                Some(local) => ScheduleInput {
                    trigger_at: Some(crate::timezone::resolve_local(tz, local)),
                    ..empty_schedule("once")
                },
                None => {
                    errors.insert("once_at".into(), "Give a date and time, such as 2026-12-24 18:00.".into());
                    empty_schedule("once")
                }
            },
            "daily" => match NaiveTime::parse_from_str(self.daily_at.trim(), "%H:%M") {
                Ok(at) => ScheduleInput {
                    expression: Some(at.format("%-M %-H * * *").to_string()),
                    timezone: zone,
                    ..empty_schedule("cron")
                },
                Err(_) => {
                    errors.insert("daily_at".into(), "Give a time of day such as 21:00.".into());
                    empty_schedule("cron")
                }
            },
            "cron" => ScheduleInput { expression: Some(self.cron.clone()), timezone: zone, ..empty_schedule("cron") },
            "interval" => match self.interval_minutes.trim().parse::<u32>() {
                Ok(minutes) => ScheduleInput { interval_minutes: Some(minutes), ..empty_schedule("interval") },
                Err(_) => {
                    errors.insert("interval_minutes".into(), "Give a whole number of minutes.".into());
                    empty_schedule("interval")
                }
            },
            "rrule" => ScheduleInput {
                rrule: Some(self.rrule.clone()),
                dtstart: Some(self.rrule_start.trim().to_owned()),
                timezone: zone,
                ..empty_schedule("rrule")
            },
            _ => {
                errors.insert("kind".into(), "Choose how the reminder repeats.".into());
                empty_schedule("once")
            }
        };
        let Some(profile) = profile.filter(|_| errors.is_empty()) else { return Err(errors) };
        let description = Some(self.description.clone()).filter(|d| !d.trim().is_empty());
        let importance = Some(self.importance.clone()).filter(|i| !i.is_empty());
        Ok(ReminderInput {
            title: self.title.clone(),
            description,
            importance,
            escalation_profile_id: profile,
            schedule,
            exclude_dates: None,
            skip_weekends: None,
            completion_criteria: None,
        })
    }

    /// The form field that shows an API field error.
    pub fn field_for(&self, api_field: &str) -> &'static str {
        match api_field {
            "title" => "title",
            "description" => "description",
            "importance" => "importance",
            "escalationProfileId" => "profile",
            "schedule.triggerAt" => "once_at",
            "schedule.expression" if self.kind == "daily" => "daily_at",
            "schedule.expression" => "cron",
            "schedule.intervalMinutes" | "schedule.startAt" => "interval_minutes",
            "schedule.rrule" => "rrule",
            "schedule.dtstart" => "rrule_start",
            "schedule" | "schedule.type" | "schedule.timezone" => "kind",
            _ => "",
        }
    }
}

/// Collects API field errors under the form's field names (the first message per field wins).
pub fn place(errors: &mut Errors, found: Vec<(String, String)>, field_for: impl Fn(&str) -> &'static str) {
    for (api_field, message) in found {
        errors.entry(field_for(&api_field).to_owned()).or_insert(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ReminderForm {
        ReminderForm {
            title: "take pills".into(),
            profile: "00000000-0000-4000-8000-000000000001".into(),
            kind: kind.into(),
            daily_at: "21:00".into(),
            once_at: "2026-12-24T18:30".into(),
            ..Default::default()
        }
    }

    #[test]
    fn daily_at_a_time_is_a_cron_in_the_viewers_zone() {
        let input = form("daily").to_input(chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(input.schedule.kind, "cron");
        assert_eq!(input.schedule.expression.as_deref(), Some("0 21 * * *"));
        assert_eq!(input.schedule.timezone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn once_is_read_on_the_viewers_clock() {
        let input = form("once").to_input(chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(input.schedule.trigger_at.unwrap().to_rfc3339(), "2026-12-24T17:30:00+00:00");
        let mut bad = form("once");
        bad.once_at = "soon".into();
        assert!(bad.to_input(chrono_tz::UTC).unwrap_err().contains_key("once_at"));
    }
}
