//! Properties over random cron, RRULE and interval schedules, zones, filters and instants.

use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::*;

/// Zones with ordinary DST, none, a 30-minute DST (Lord Howe), a non-hour offset (Kolkata) and a
/// southern-hemisphere change at midnight (Santiago).
pub(in super::super) fn zone() -> impl Strategy<Value = Tz> {
    select(vec![
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::UTC,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kolkata,
        chrono_tz::America::Santiago,
    ])
}

/// Whole seconds from 2025 through 2030, half of them within two days of a 2026 clock change
/// (Berlin and New York both ways, Lord Howe's and Santiago's April fall-back).
pub(in super::super) fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let changes = vec![
        "2026-03-08T07:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-04-04T15:00:00Z",
        "2026-04-05T03:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-11-01T06:00:00Z",
    ];
    prop_oneof![
        (1_735_689_600_i64..1_924_992_000).prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap()),
        (select(changes), -172_800_i64..172_800)
            .prop_map(|(change, offset)| change.parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(offset)),
    ]
}

fn cron_expression() -> impl Strategy<Value = String> {
    (
        select(vec!["*", "*/5", "*/30", "0", "15", "30", "0,30", "5-10", "*/45"]),
        select(vec!["*", "2", "9", "*/2", "1-3", "0,12", "*/7", "0-23"]),
        select(vec!["*", "*", "1", "15", "31", "1-7", "*/10"]),
        select(vec!["*", "*", "1-6", "MAR", "*/3", "2,10,11", "OCT-DEC"]),
        select(vec!["*", "*", "1-5", "SUN", "6", "MON,FRI", "0"]),
    )
        .prop_map(|(minute, hour, day, month, weekday)| format!("{minute} {hour} {day} {month} {weekday}"))
}

pub(in super::super) fn rrule_body() -> impl Strategy<Value = String> {
    (
        select(vec!["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
        1..4_u8,
        subsequence(vec!["MO", "WE", "FR", "SA", "SU"], 0..3),
        select(vec!["", "1", "-1", "2"]),
        subsequence(vec!["1", "15", "31", "-1"], 0..2),
        // Months of 31 days only, so a BYMONTHDAY never makes the rule impossible (the crate then
        // spins through its 100 000-period limit, which is correct but slow in a debug build).
        subsequence(vec!["1", "3", "10", "12"], 0..2),
        subsequence(vec!["0", "1", "2", "3", "9", "23"], 0..3),
        subsequence(vec!["0", "15", "30", "45"], 0..2),
        select(vec!["", ";COUNT=5", ";COUNT=40", ";UNTIL=20280101T000000Z", ";UNTIL=20290615"]),
    )
        .prop_map(|(freq, interval, days, ordinal, month_days, months, hours, minutes, end)| {
            let mut rule = format!("FREQ={freq};INTERVAL={interval}");
            if !days.is_empty() {
                // An ordinal weekday next to a month day ("1MO" on the 15th) can never match.
                let ordinal_fits = matches!(freq, "MONTHLY" | "YEARLY") && month_days.is_empty();
                let ordinal = if ordinal_fits { ordinal } else { "" };
                let days: Vec<String> = days.iter().map(|day| format!("{ordinal}{day}")).collect();
                rule.push_str(&format!(";BYDAY={}", days.join(",")));
            }
            if !month_days.is_empty() && freq != "WEEKLY" {
                rule.push_str(&format!(";BYMONTHDAY={}", month_days.join(",")));
            }
            for (name, values) in [("BYMONTH", &months), ("BYHOUR", &hours), ("BYMINUTE", &minutes)] {
                if !values.is_empty() {
                    rule.push_str(&format!(";{name}={}", values.join(",")));
                }
            }
            rule + end
        })
}

fn kind() -> impl Strategy<Value = ScheduleKind> {
    prop_oneof![
        cron_expression().prop_map(|expression| ScheduleKind::Cron { expression }),
        (rrule_body(), instant(), 0..1440_i64).prop_map(|(rule, start, minute)| {
            let dtstart = start.date_naive().and_hms_opt(0, 0, 0).unwrap() + TimeDelta::minutes(minute);
            ScheduleKind::Rrule { rule, dtstart }
        }),
        (prop_oneof![1..120_u32, 1..=MAX_INTERVAL_MINUTES], instant())
            .prop_map(|(minutes, start_at)| ScheduleKind::Interval { minutes, start_at }),
    ]
}

/// A schedule, and an instant near which to exercise it; exclude dates land close to that instant
/// so that they matter.
fn case() -> impl Strategy<Value = (Schedule, DateTime<Utc>)> {
    (kind(), zone(), instant(), subsequence((0..12_u64).collect::<Vec<_>>(), 0..5), any::<bool>()).prop_map(
        |(kind, tz, after, offsets, skip_weekends)| {
            let today = after.with_timezone(&tz).date_naive();
            let exclude_dates = offsets.iter().map(|&offset| today + chrono::Days::new(offset)).collect();
            (Schedule { kind, tz, exclude_dates, skip_weekends }, after)
        },
    )
}

fn allowed(schedule: &Schedule, at: DateTime<Utc>) -> bool {
    let day = at.with_timezone(&schedule.tz).date_naive();
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    !((schedule.skip_weekends && weekend) || schedule.exclude_dates.contains(&day))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn next_is_later_allowed_and_stable((schedule, after) in case()) {
        let first = schedule.next_after(after).unwrap();
        if let Some(next) = first {
            prop_assert!(next > after, "{next} not after {after} for {schedule:?}");
            prop_assert!(allowed(&schedule, next), "{next} is filtered for {schedule:?}");
            let again = schedule.next_after(next - TimeDelta::seconds(1)).unwrap();
            prop_assert_eq!(again, Some(next), "re-asking just before {} for {:?}", next, schedule);
            // The one after it is strictly later too: no instant fires twice.
            if let Some(following) = schedule.next_after(next).unwrap() {
                prop_assert!(following > next);
                prop_assert!(allowed(&schedule, following));
            }
        }
    }

    #[test]
    fn fixed_time_crons_fire_at_most_once_per_local_day(
        minute in 0..60_u32,
        hour in 0..24_u32,
        tz in zone(),
        after in instant(),
    ) {
        let daily = Schedule {
            kind: ScheduleKind::Cron { expression: format!("{minute} {hour} * * *") },
            tz,
            exclude_dates: Vec::new(),
            skip_weekends: false,
        };
        let all = daily.upcoming(after, 5).unwrap();
        prop_assert_eq!(all.len(), 5);
        let days: Vec<_> = all.iter().map(|at| at.with_timezone(&tz).date_naive()).collect();
        for pair in days.windows(2) {
            prop_assert_eq!(pair[1], pair[0] + chrono::Days::new(1), "{:?} {:?}", all, tz);
        }
    }
}
