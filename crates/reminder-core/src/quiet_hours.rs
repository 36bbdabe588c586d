//! Quiet hours: a daily window in the recipient's zone during which non-critical deliveries wait.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::timezone::resolve_local;

/// A recipient's quiet hours: a daily window in their own zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietWindow {
    pub zone: Tz,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietWindow {
    /// The window from stored columns; none when either end is unset. An unknown zone reads as UTC, as the
    /// engine reads stored zones elsewhere (they were checked when written).
    pub fn from_columns(zone: &str, start: Option<NaiveTime>, end: Option<NaiveTime>) -> Option<QuietWindow> {
        let (start, end) = start.zip(end)?;
        Some(QuietWindow { zone: crate::timezone::parse_zone(zone).unwrap_or(chrono_tz::UTC), start, end })
    }

    /// When a non-critical send at `at` must wait until, if it falls inside the window.
    pub fn deferral(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        deferral(at, self.zone, self.start, self.end)
    }
}

/// If `at` falls inside the window `start..end` (which may cross midnight) in `tz`, the instant the
/// window ends; otherwise None.
pub fn deferral(at: DateTime<Utc>, tz: Tz, start: NaiveTime, end: NaiveTime) -> Option<DateTime<Utc>> {
    if start == end {
        return None;
    }
    let local = at.with_timezone(&tz).naive_local();
    let (date, time) = (local.date(), local.time());
    let end_date = if start < end {
        // Same-day window, e.g. 13:00–15:00.
        (time >= start && time < end).then_some(date)?
    } else if time >= start {
        // Overnight window, evening part: ends tomorrow morning.
        date + Duration::days(1)
    } else if time < end {
        // Overnight window, morning part: ends this morning.
        date
    } else {
        return None;
    };
    Some(resolve_local(tz, end_date.and_time(end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn overnight_window_defers_to_its_end_in_the_recipients_zone() {
        let berlin = chrono_tz::Europe::Berlin;
        // 23:30 Berlin (22:30Z) inside 22:00–07:00 → 07:00 Berlin next day (06:00Z).
        assert_eq!(deferral(utc("2026-11-25T22:30:00Z"), berlin, t(22, 0), t(7, 0)), Some(utc("2026-11-26T06:00:00Z")));
        // 05:00 Berlin → 07:00 the same morning.
        assert_eq!(deferral(utc("2026-11-26T04:00:00Z"), berlin, t(22, 0), t(7, 0)), Some(utc("2026-11-26T06:00:00Z")));
        // 12:00 Berlin is outside.
        assert_eq!(deferral(utc("2026-11-26T11:00:00Z"), berlin, t(22, 0), t(7, 0)), None);
    }

    #[test]
    fn same_day_window() {
        let utc_zone = chrono_tz::UTC;
        assert_eq!(
            deferral(utc("2026-11-26T13:30:00Z"), utc_zone, t(13, 0), t(15, 0)),
            Some(utc("2026-11-26T15:00:00Z"))
        );
        assert_eq!(deferral(utc("2026-11-26T15:00:00Z"), utc_zone, t(13, 0), t(15, 0)), None);
    }
}
