//! The console's forms and how they become the API's input types, plus where an API field error is shown.

pub mod profile;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use reminder_core::nlp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::users::model::QuietHours;
use crate::reminders::views::{ReminderInput, ReminderPatch, ReminderView, ScheduleInput};

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
    /// once, daily, weekly, cron, interval or rrule.
    pub kind: String,
    pub once_at: String,
    /// A once reminder's time in words ("tomorrow 9am"); when given it is used instead of `once_at`.
    pub once_words: String,
    pub daily_at: String,
    /// The day of a weekly reminder as cron numbers it: 0 for Sunday, 1 for Monday … 6 for Saturday.
    pub weekly_day: String,
    pub weekly_at: String,
    pub cron: String,
    pub interval_minutes: String,
    pub rrule: String,
    pub rrule_start: String,
    /// The version an edit started from (empty on the new-reminder form); a stale one is a conflict.
    pub version: String,
    /// `preview` when the form was sent to list the schedule's next times rather than to be saved.
    pub op: String,
}
super::routes::tokened!(ReminderForm);

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

/// A date and time as a `datetime-local` field sends it (or typed with a space).
pub fn local_datetime(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
}

impl ReminderForm {
    /// The API's input for this form, read in the viewer's zone at `now`; or the fields the console itself
    /// refuses.
    pub fn to_input(&self, tz: Tz, now: DateTime<Utc>) -> Result<ReminderInput, Errors> {
        let mut errors = Errors::new();
        let profile = Uuid::parse_str(self.profile.trim()).ok();
        if profile.is_none() {
            errors.insert("profile".into(), "Choose an escalation profile.".into());
        }
        let schedule = self.schedule_input(tz, now, &mut errors);
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
            skip_holidays: None,
            completion_criteria: None,
        })
    }

    /// The schedule typed, as the API's schedule input read in the viewer's zone (words for a time as said
    /// at `now`); the fields the console itself cannot read go into `errors` (the API checks the rest).
    pub fn schedule_input(&self, tz: Tz, now: DateTime<Utc>, errors: &mut Errors) -> ScheduleInput {
        let zone = Some(tz.name().to_owned());
        match self.kind.as_str() {
            "once" => match self.once_time(tz, now) {
                Ok(at) => ScheduleInput { trigger_at: Some(at), ..empty_schedule("once") },
                Err((field, message)) => {
                    errors.insert(field.into(), message);
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
            "weekly" => {
                let at = NaiveTime::parse_from_str(self.weekly_at.trim(), "%H:%M").ok();
                let day = self.weekly_day.trim().parse::<u8>().ok().filter(|day| *day < 7);
                if at.is_none() {
                    errors.insert("weekly_at".into(), "Give a time of day such as 21:00.".into());
                }
                if day.is_none() {
                    errors.insert("weekly_day".into(), "Choose a day of the week.".into());
                }
                match at.zip(day) {
                    Some((at, day)) => ScheduleInput {
                        expression: Some(format!("{} {day}", at.format("%-M %-H * *"))),
                        timezone: zone,
                        ..empty_schedule("cron")
                    },
                    None => empty_schedule("cron"),
                }
            }
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
        }
    }

    /// A once reminder's instant: its words read by the snooze phrase grammar when given, else its date and
    /// time on the viewer's clock; or the field that does not read and why.
    fn once_time(&self, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, (&'static str, String)> {
        let Some(words) = blank_is_none(&self.once_words) else {
            let local = local_datetime(&self.once_at)
                .ok_or(("once_at", "Give a date and time, such as 2026-12-24 18:00.".to_owned()))?;
            return Ok(reminder_core::timezone::resolve_local(tz, local));
        };
        nlp::parse(&words, now, tz).map(|meant| meant.at).map_err(|err| {
            let examples = nlp::EXAMPLES.iter().take(4).copied().collect::<Vec<_>>().join("”, “");
            ("once_words", format!("{}: try “{examples}”.", capitalized(&err.to_string())))
        })
    }

    /// "Interpreted as Thu 26 Nov 09:00 Europe/Berlin" for a once reminder given in words at `at`.
    pub fn interpreted(&self, at: DateTime<Utc>, tz: Tz) -> Option<String> {
        (self.kind == "once" && blank_is_none(&self.once_words).is_some())
            .then(|| format!("Interpreted as {}", nlp::echo(at, tz)))
    }

    /// A blank form with a daily reminder at 09:00 chosen, and the other kinds' fields ready to use.
    pub fn starting() -> ReminderForm {
        ReminderForm {
            importance: "medium".into(),
            kind: "daily".into(),
            daily_at: "09:00".into(),
            weekly_day: "1".into(),
            weekly_at: "09:00".into(),
            interval_minutes: "60".into(),
            ..Default::default()
        }
    }

    /// The edit form of a stored reminder: its schedule in the fields a person would have typed, on the
    /// viewer's clock (a daily cron in the viewer's zone reads as "every day at").
    pub fn from_view(view: &ReminderView, tz: Tz) -> ReminderForm {
        let schedule = &view.schedule;
        let mut form = ReminderForm {
            title: view.title.clone(),
            description: view.description.clone().unwrap_or_default(),
            importance: view.importance.clone(),
            profile: view.escalation_profile_id.to_string(),
            kind: schedule.kind.clone(),
            version: view.version.to_string(),
            ..ReminderForm::starting()
        };
        match schedule.kind.as_str() {
            "once" => {
                let at = schedule.trigger_at.map(|at| at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string());
                form.once_at = at.unwrap_or_default();
            }
            "cron" => {
                let expression = schedule.expression.clone().unwrap_or_default();
                match at_time(&expression).filter(|_| schedule.timezone == tz.name()) {
                    Some((at, None)) => (form.kind, form.daily_at) = ("daily".into(), at),
                    Some((at, Some(day))) => (form.kind, form.weekly_at, form.weekly_day) = ("weekly".into(), at, day),
                    None => form.cron = expression,
                }
            }
            "interval" => form.interval_minutes = schedule.interval_minutes.unwrap_or(60).to_string(),
            _ => {
                form.rrule = schedule.rrule.clone().unwrap_or_default();
                form.rrule_start = schedule.dtstart.as_deref().unwrap_or_default().chars().take(16).collect();
            }
        }
        form
    }

    /// The schedule as typed: its kind and the fields of that kind.
    fn schedule_typed(&self) -> (&str, &str, &str) {
        let (a, b) = match self.kind.as_str() {
            "once" => (self.once_at.as_str(), self.once_words.as_str()),
            "daily" => (self.daily_at.as_str(), ""),
            "weekly" => (self.weekly_at.as_str(), self.weekly_day.as_str()),
            "cron" => (self.cron.as_str(), ""),
            "interval" => (self.interval_minutes.as_str(), ""),
            _ => (self.rrule.as_str(), self.rrule_start.as_str()),
        };
        (self.kind.as_str(), a.trim(), b.trim())
    }

    /// The API's patch for an edit that started from `stored`. The schedule is sent only when it was changed,
    /// so editing a title neither moves the next occurrence nor the schedule's zone.
    pub fn to_patch(&self, tz: Tz, now: DateTime<Utc>, stored: &ReminderForm) -> Result<ReminderPatch, Errors> {
        let input = self.to_input(tz, now)?;
        let schedule = (self.schedule_typed() != stored.schedule_typed()).then_some(input.schedule);
        Ok(ReminderPatch {
            title: Some(input.title),
            description: Some(input.description),
            importance: input.importance,
            escalation_profile_id: Some(input.escalation_profile_id),
            schedule,
            exclude_dates: None,
            skip_weekends: None,
            skip_holidays: None,
            completion_criteria: None,
            status: None,
            version: self.version.trim().parse().ok(),
        })
    }

    /// The form field that shows an API field error.
    pub fn field_for(&self, api_field: &str) -> &'static str {
        match api_field {
            "title" => "title",
            "description" => "description",
            "importance" => "importance",
            "escalationProfileId" => "profile",
            "schedule.triggerAt" if blank_is_none(&self.once_words).is_some() => "once_words",
            "schedule.triggerAt" => "once_at",
            "schedule.expression" if self.kind == "daily" => "daily_at",
            "schedule.expression" if self.kind == "weekly" => "weekly_at",
            "schedule.expression" => "cron",
            "schedule.intervalMinutes" | "schedule.startAt" => "interval_minutes",
            "schedule.rrule" => "rrule",
            "schedule.dtstart" => "rrule_start",
            "schedule" | "schedule.type" | "schedule.timezone" => "kind",
            _ => "",
        }
    }
}

/// "21:00" for a cron that fires once a day at 21:00 (`0 21 * * *`), with the day ("0" for Sunday … "6")
/// when it fires once a week (`0 21 * * 0`).
fn at_time(expression: &str) -> Option<(String, Option<String>)> {
    let [minute, hour, "*", "*", day] = expression.split_whitespace().collect::<Vec<_>>()[..] else { return None };
    let time = NaiveTime::from_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0)?.format("%H:%M").to_string();
    match day {
        "*" => Some((time, None)),
        // Sunday is 0 or 7 to cron; the form's list has it as 0.
        day => day.parse::<u8>().ok().filter(|d| *d <= 7).map(|d| (time, Some((d % 7).to_string()))),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The value trimmed; none when that leaves nothing.
pub fn blank_is_none(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Quiet hours typed into a `quiet_start` / `quiet_end` pair: none when both are blank, both when both are
/// given (the API checks them); one alone is an error on the missing one.
pub fn quiet_hours(start: &str, end: &str, errors: &mut Errors) -> Option<QuietHours> {
    match (blank_is_none(start), blank_is_none(end)) {
        (None, None) => None,
        (Some(start), Some(end)) => Some(QuietHours { start, end }),
        (start, _) => {
            let missing = if start.is_none() { "quiet_start" } else { "quiet_end" };
            errors.insert(missing.into(), "Give both the start and the end, or leave both empty.".into());
            None
        }
    }
}

/// The field of a `quiet_start` / `quiet_end` pair that shows an API error about quiet hours ("" for others).
pub fn quiet_field(api_field: &str) -> &'static str {
    match api_field {
        "quietHours.start" => "quiet_start",
        "quietHours.end" | "quietHours" => "quiet_end",
        _ => "",
    }
}

/// Collects API field errors under the form's field names (the first message per field wins).
pub fn place<F: Into<String>>(errors: &mut Errors, found: Vec<(String, String)>, field_for: impl Fn(&str) -> F) {
    for (api_field, message) in found {
        errors.entry(field_for(&api_field).into()).or_insert(message);
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
        let input = form("daily").to_input(chrono_tz::Europe::Berlin, Utc::now()).unwrap();
        assert_eq!(input.schedule.kind, "cron");
        assert_eq!(input.schedule.expression.as_deref(), Some("0 21 * * *"));
        assert_eq!(input.schedule.timezone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn a_daily_or_weekly_cron_reads_back_as_a_time_of_day_and_its_day() {
        let read = |e: &str| at_time(e).map(|(at, day)| format!("{at} {}", day.unwrap_or_default()));
        assert_eq!(read("0 21 * * *").as_deref(), Some("21:00 "));
        assert_eq!(read("5 7 * * *").as_deref(), Some("07:05 "));
        assert_eq!(read("30 10 * * 0").as_deref(), Some("10:30 0"));
        assert_eq!(read("30 10 * * 7").as_deref(), Some("10:30 0"));
        assert_eq!(read("0 9 * * 1-5"), None);
        assert_eq!(read("0 25 * * *"), None);
        assert_eq!(read("0 9 1 * *"), None);
    }

    #[test]
    fn weekly_on_a_day_is_a_cron_in_the_viewers_zone() {
        let mut weekly = form("weekly");
        (weekly.weekly_day, weekly.weekly_at) = ("0".into(), "10:30".into());
        let input = weekly.to_input(chrono_tz::Europe::Berlin, Utc::now()).unwrap();
        assert_eq!(input.schedule.expression.as_deref(), Some("30 10 * * 0"));
        assert_eq!(input.schedule.timezone.as_deref(), Some("Europe/Berlin"));
        weekly.weekly_day = "sunday".into();
        weekly.weekly_at = String::new();
        let errors = weekly.to_input(chrono_tz::UTC, Utc::now()).unwrap_err();
        assert!(errors.contains_key("weekly_day") && errors.contains_key("weekly_at"), "{errors:?}");
    }

    #[test]
    fn an_unchanged_schedule_is_not_sent_again() {
        let stored = form("daily");
        let mut edited = stored.clone();
        edited.title = "take the pills".into();
        edited.version = "3".into();
        let patch = edited.to_patch(chrono_tz::UTC, Utc::now(), &stored).unwrap();
        assert!(patch.schedule.is_none());
        assert_eq!((patch.title.as_deref(), patch.version), (Some("take the pills"), Some(3)));
        edited.daily_at = "22:00".into();
        assert!(edited.to_patch(chrono_tz::UTC, Utc::now(), &stored).unwrap().schedule.is_some());
    }

    #[test]
    fn once_is_read_on_the_viewers_clock() {
        let input = form("once").to_input(chrono_tz::Europe::Berlin, Utc::now()).unwrap();
        assert_eq!(input.schedule.trigger_at.unwrap().to_rfc3339(), "2026-12-24T17:30:00+00:00");
        let mut bad = form("once");
        bad.once_at = "soon".into();
        assert!(bad.to_input(chrono_tz::UTC, Utc::now()).unwrap_err().contains_key("once_at"));
    }

    #[test]
    fn once_in_words_is_read_as_said_now_and_echoed() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        let mut words = form("once");
        words.once_words = "tomorrow 9am".into();
        let at = words.to_input(chrono_tz::Europe::Berlin, now).unwrap().schedule.trigger_at.unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-08T08:00:00+00:00", "words win over the date field");
        assert_eq!(
            words.interpreted(at, chrono_tz::Europe::Berlin).as_deref(),
            Some("Interpreted as Tue 8 Dec 09:00 Europe/Berlin")
        );
        words.once_words = "when pigs fly".into();
        let errors = words.to_input(chrono_tz::UTC, now).unwrap_err();
        assert!(errors["once_words"].starts_with("Could not understand the phrase: try “in 2 hours”"), "{errors:?}");
    }
}
