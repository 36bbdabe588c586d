//! The shortcut of starting a rule's expansion near the search point must not change its answers.

use proptest::prelude::*;

use super::super::tests::props::{instant, rrule_body, zone};
use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn rebased_start_gives_the_same_next_occurrence(
        rule in rrule_body(),
        start in instant(),
        minute in 0..1440_i64,
        days_later in 0..1100_i64,
        seconds_into_day in 0..86_400_i64,
        tz in zone(),
    ) {
        let dtstart = start.date_naive().and_hms_opt(0, 0, 0).unwrap() + TimeDelta::minutes(minute);
        let recurrence = Recurrence::parse(&rule, dtstart).unwrap();
        let after = start + TimeDelta::days(days_later) + TimeDelta::seconds(seconds_into_day);
        let limit = after + TimeDelta::days(super::super::SEARCH_HORIZON_DAYS);
        let walked = recurrence.next_after_from(recurrence.dtstart, tz, after, limit);
        prop_assert_eq!(recurrence.next_after(tz, after, limit), walked, "{} from {}", rule, dtstart);
    }
}

#[test]
fn rebasing_lands_on_period_starts() {
    let at = |text: &str| text.parse::<NaiveDateTime>().unwrap();
    let day = |text: &str| text.parse::<NaiveDate>().unwrap();
    let rebased = |rule: &str, dtstart: &str, target: &str| {
        Recurrence::parse(rule, at(dtstart)).unwrap().rebased_start(day(target))
    };
    // 10 days after a Wednesday start, every 3 days: day 9 = Fri 12th is the last period start.
    assert_eq!(rebased("FREQ=DAILY;INTERVAL=3", "2026-06-03T09:00:00", "2026-06-13"), at("2026-06-12T00:00:00"));
    // Fortnightly from the week of Wed 3 June: weeks of 1, 15, 29 June; the 29th's week holds 3 July.
    assert_eq!(rebased("FREQ=WEEKLY;INTERVAL=2", "2026-06-03T09:00:00", "2026-07-03"), at("2026-06-29T00:00:00"));
    // Quarterly from January: April, July, October.
    assert_eq!(rebased("FREQ=MONTHLY;INTERVAL=3", "2026-01-31T09:00:00", "2026-09-30"), at("2026-07-01T00:00:00"));
    assert_eq!(rebased("FREQ=YEARLY;INTERVAL=2", "2026-02-28T09:00:00", "2029-06-01"), at("2028-01-01T00:00:00"));
    // Before DTSTART's next period there is nothing to skip.
    assert_eq!(rebased("FREQ=MONTHLY", "2026-01-31T09:00:00", "2026-01-31"), at("2026-01-31T09:00:00"));
    assert_eq!(rebased("FREQ=DAILY", "2026-01-31T09:00:00", "2020-01-01"), at("2026-01-31T09:00:00"));
}
