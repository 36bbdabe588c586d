//! The next occurrences of the schedule typed into the reminder form, on the viewer's clock: shown with the
//! form, after its "Show the next times" button (no script needed), and as a fragment at
//! `/reminders/occurrences` that the script fetches while the schedule is typed. All three read the schedule
//! exactly as creating the reminder would (`schedule_from_input`) and list it with the detail page's
//! `Schedule::upcoming`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::json;

use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, ReminderForm, place};
use crate::console::render;
use crate::console::session::Viewer;
use crate::reminders::mapping::{error_field, schedule_from_input};
use crate::state::AppState;

/// How many occurrences the form lists.
pub(super) const SHOWN: usize = 5;

/// What the form's "next times" region shows: the times, or why there are none.
#[derive(Debug, Default, Serialize)]
pub(super) struct Upcoming {
    pub times: Vec<DateTime<Utc>>,
    /// "Interpreted as …" when the time was given in words.
    pub interpreted: Option<String>,
    /// The schedule's problems, each worded for the field it is about (the fragment has no fields to sit by).
    pub problems: Vec<String>,
}

/// The next [`SHOWN`] occurrences after `now` of the schedule in `form`, read in `tz`; or the problems by
/// form field, as a create with this schedule would report them.
pub(super) fn upcoming(form: &ReminderForm, tz: Tz, now: DateTime<Utc>) -> Result<Upcoming, Errors> {
    let mut errors = Errors::new();
    let input = form.schedule_input(tz, now, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut found = Vec::new();
    let schedule = schedule_from_input(&input, tz.name(), Vec::new(), false, now, &mut found);
    match schedule.map(|schedule| schedule.upcoming(now, SHOWN)) {
        Some(Ok(times)) => {
            let interpreted = times.first().and_then(|at| form.interpreted(*at, tz));
            Ok(Upcoming { times, interpreted, problems: Vec::new() })
        }
        Some(Err(err)) => {
            Err(Errors::from([(form.field_for(error_field(&err, &input.kind)).to_owned(), err.to_string())]))
        }
        None => {
            let found = found.into_iter().map(|e| (e.field, e.message)).collect();
            place(&mut errors, found, |field| form.field_for(field));
            Err(errors)
        }
    }
}

/// The region's content for the page: the times, with problems left to sit by their fields.
pub(super) fn for_page(form: &ReminderForm, tz: Tz, now: DateTime<Utc>) -> (Upcoming, Errors) {
    match upcoming(form, tz, now) {
        Ok(shown) => (shown, Errors::new()),
        Err(errors) => (Upcoming::default(), errors),
    }
}

/// `GET /reminders/occurrences?…` (the form's fields): the region's content alone, problems included.
pub async fn fragment(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<ReminderForm>,
) -> Result<HttpResponse, ConsoleError> {
    let shown = upcoming(&query, viewer.tz, state.clock.now())
        .unwrap_or_else(|errors| Upcoming { problems: errors.into_values().collect(), ..Upcoming::default() });
    Ok(render::page(StatusCode::OK, "occurrences.html", json!({"upcoming": shown, "zone": viewer.zone()})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str) -> ReminderForm {
        ReminderForm { kind: kind.into(), daily_at: "21:00".into(), ..Default::default() }
    }

    #[test]
    fn a_daily_time_lists_the_next_five_evenings_on_the_viewers_clock() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        let times = upcoming(&form("daily"), chrono_tz::Europe::Berlin, now).unwrap().times;
        let shown: Vec<String> = times.iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(shown.len(), SHOWN);
        assert_eq!(shown[0], "2026-12-07T20:00:00+00:00");
        assert_eq!(shown[4], "2026-12-11T20:00:00+00:00");
    }

    #[test]
    fn a_bad_schedule_names_the_field_it_is_about() {
        let now = Utc::now();
        let mut cron = form("cron");
        cron.cron = "every tuesday".into();
        assert!(upcoming(&cron, chrono_tz::UTC, now).unwrap_err().contains_key("cron"));
        let mut daily = form("daily");
        daily.daily_at = "9pm".into();
        assert!(upcoming(&daily, chrono_tz::UTC, now).unwrap_err().contains_key("daily_at"));
        let mut rule = form("rrule");
        rule.rrule = "FREQ=WEEKLY;BYDAY=SU".into();
        assert!(upcoming(&rule, chrono_tz::UTC, now).unwrap_err().contains_key("rrule_start"));
    }
}
