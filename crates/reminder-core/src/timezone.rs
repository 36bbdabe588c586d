//! Local wall-clock time to instants, with the DST rules the product promises everywhere.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Turns a local wall-clock time in `tz` into an instant.
///
/// An ambiguous time (the repeated hour when clocks fall back) resolves to its first instance, so a
/// reminder fires once. A time that does not exist (the skipped hour when clocks spring forward) moves
/// to the first valid instant after the gap: 02:30 on a spring-forward day in Europe/Berlin is 03:00.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => first_instant_after_gap(tz, local),
    }
}

/// Gaps are at most a few hours long and every zone changes offset on a whole minute, so the first
/// local minute that exists after `local` is exactly the instant the gap ended.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local.with_second(0).unwrap_or(local).with_nanosecond(0).unwrap_or(local);
    for _ in 0..(24 * 60) {
        probe += chrono::Duration::minutes(1);
        if let LocalResult::Single(at) | LocalResult::Ambiguous(at, _) = tz.from_local_datetime(&probe) {
            return at.with_timezone(&Utc);
        }
    }
    // No zone has a day-long gap; read the local time as UTC rather than panicking.
    Utc.from_utc_datetime(&local)
}

/// Parses an IANA zone name such as `Europe/Berlin`.
pub fn parse_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|day| day.and_hms_opt(h, min, 0)).unwrap()
    }

    #[test]
    fn spring_forward_gap_moves_to_end_of_gap() {
        let at = resolve_local(chrono_tz::Europe::Berlin, local(2026, 3, 29, 2, 30));
        assert_eq!(at.to_rfc3339(), "2026-03-29T01:00:00+00:00");
        let at = resolve_local(chrono_tz::America::New_York, local(2026, 3, 8, 2, 15));
        assert_eq!(at.to_rfc3339(), "2026-03-08T07:00:00+00:00");
    }

    #[test]
    fn fall_back_ambiguity_takes_first_instance() {
        let at = resolve_local(chrono_tz::Europe::Berlin, local(2026, 10, 25, 2, 30));
        assert_eq!(at.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn ordinary_time_is_exact() {
        let at = resolve_local(chrono_tz::Europe::Berlin, local(2026, 11, 26, 9, 0));
        assert_eq!(at.to_rfc3339(), "2026-11-26T08:00:00+00:00");
    }
}
