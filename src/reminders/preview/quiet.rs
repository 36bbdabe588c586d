//! Quiet hours: a daily window on the recipient's wall clock during which non-critical messages wait.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::timezone::resolve_local;

/// When `at` falls inside the daily window `start..end` (local to `tz`; it may span midnight, as 22:00–07:00
/// does), the end of that window; otherwise `None`.
pub fn defer_past_quiet_hours(at: DateTime<Utc>, tz: Tz, start: NaiveTime, end: NaiveTime) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&tz).naive_local();
    let (date, time) = (local.date(), local.time());
    let end_on = |day: chrono::NaiveDate| resolve_local(tz, day.and_time(end));
    if start < end {
        return (start <= time && time < end).then(|| end_on(date));
    }
    if time >= start {
        return Some(end_on(date + TimeDelta::days(1)));
    }
    (time < end).then(|| end_on(date))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn a_window_across_midnight_defers_to_the_morning() {
        let berlin = chrono_tz::Europe::Berlin;
        // 23:30 Berlin (22:30Z) → 07:00 next morning (06:00Z).
        let deferred = defer_past_quiet_hours(at("2026-11-26T22:30:00Z"), berlin, hm(22, 0), hm(7, 0));
        assert_eq!(deferred, Some(at("2026-11-27T06:00:00Z")));
        // 05:00 Berlin → 07:00 the same day.
        let deferred = defer_past_quiet_hours(at("2026-11-27T04:00:00Z"), berlin, hm(22, 0), hm(7, 0));
        assert_eq!(deferred, Some(at("2026-11-27T06:00:00Z")));
        assert_eq!(defer_past_quiet_hours(at("2026-11-27T12:00:00Z"), berlin, hm(22, 0), hm(7, 0)), None);
    }

    #[test]
    fn a_daytime_window_defers_to_its_end() {
        let utc = chrono_tz::UTC;
        assert_eq!(
            defer_past_quiet_hours(at("2026-11-27T13:00:00Z"), utc, hm(12, 0), hm(14, 0)),
            Some(at("2026-11-27T14:00:00Z"))
        );
        assert_eq!(defer_past_quiet_hours(at("2026-11-27T14:00:00Z"), utc, hm(12, 0), hm(14, 0)), None);
    }
}
