//! Expected instants in these tests are worked out by hand from the 2026 DST dates:
//! Europe/Berlin springs forward on Sun 29 Mar (02:00 CET → 03:00 CEST, at 01:00Z) and falls back
//! on Sun 25 Oct (03:00 CEST → 02:00 CET, at 01:00Z); America/New_York springs forward on Sun 8 Mar
//! (02:00 EST → 03:00 EDT, at 07:00Z) and falls back on Sun 1 Nov (02:00 EDT → 01:00 EST, at 06:00Z).
//! 1 Jan 2026 is a Thursday, so 1 Mar, 29 Mar, 25 Oct and 1 Nov 2026 are Sundays and 1 Jun a Monday.

mod cron_cases;
mod general_cases;
pub(super) mod props;
mod rrule_cases;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::*;

pub(super) fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

pub(super) fn local(text: &str) -> NaiveDateTime {
    text.parse().unwrap()
}

pub(super) fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

pub(super) fn schedule(kind: ScheduleKind, tz: Tz) -> Schedule {
    Schedule { kind, tz, exclude_dates: Vec::new(), skip_weekends: false }
}

pub(super) fn cron(expression: &str, tz: Tz) -> Schedule {
    schedule(ScheduleKind::Cron { expression: expression.to_owned() }, tz)
}

pub(super) fn rrule(rule: &str, dtstart: &str, tz: Tz) -> Schedule {
    schedule(ScheduleKind::Rrule { rule: rule.to_owned(), dtstart: local(dtstart) }, tz)
}

pub(super) fn interval(minutes: u32, start_at: &str, tz: Tz) -> Schedule {
    schedule(ScheduleKind::Interval { minutes, start_at: utc(start_at) }, tz)
}

pub(super) fn once(at: &str) -> Schedule {
    schedule(ScheduleKind::Once { at: utc(at) }, chrono_tz::Europe::Berlin)
}

pub(super) fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The next `n` occurrences after `after`, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn upcoming(schedule: &Schedule, after: &str, n: usize) -> Vec<String> {
    schedule.upcoming(utc(after), n).unwrap().into_iter().map(iso).collect()
}

/// A daily 09:00 New York schedule (cron or RRULE alike) across both 2026 changes: 14:00Z in EST, 13:00Z
/// from 8 Mar in EDT, 14:00Z again from 1 Nov.
pub(super) fn assert_new_york_0900_follows_the_offset(daily: &Schedule) {
    assert_eq!(
        upcoming(daily, "2026-03-06T15:00:00Z", 3),
        ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"]
    );
    assert_eq!(
        upcoming(daily, "2026-10-30T14:00:00Z", 3),
        ["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"]
    );
}

/// The next occurrence after `after`, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn next(schedule: &Schedule, after: &str) -> Option<String> {
    schedule.next_after(utc(after)).unwrap().map(iso)
}
