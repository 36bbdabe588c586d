//! When a reminder fires next: a one-off time, a cron expression, a fixed interval or an RFC 5545
//! recurrence rule, evaluated in the reminder's time zone, minus exclude dates and (optionally)
//! weekends.
//!
//! # Daylight saving time
//!
//! The product promises one rule everywhere, implemented by [`crate::timezone::resolve_local`]:
//!
//! * A local time that does not exist (the hour skipped when clocks spring forward) fires at the
//!   first valid instant after the gap: 02:30 on 2026-03-29 in Europe/Berlin fires at 03:00 CEST.
//!   Several local times inside one gap (say 02:00 and 02:30) collapse into that one instant and
//!   fire once.
//! * A local time that happens twice (the hour repeated when clocks fall back) fires once, at its
//!   first instance: 02:30 on 2026-10-25 in Europe/Berlin fires at 00:30Z and not at 01:30Z.
//!
//! One deliberate exception: a cron expression whose hour field matches every hour (`*`, `*/1`,
//! `0-23`, with any minute field, e.g. `*/30 * * * *` or `0 * * * *`) describes a rhythm in real
//! time rather than a time of day, so it also fires at the second instance of the repeated hour;
//! `*/30 * * * *` keeps firing every 30 real minutes through a fall-back. Any cron that names
//! particular hours (`30 2 * * *`, `0,30 2 * * *`, `0 */2 * * *`) and every RRULE are
//! time-of-day schedules and fire once per local time.
//!
//! Intervals are plain UTC arithmetic and ignore DST entirely: "every 1440 minutes" from 09:00 CET
//! is 10:00 CEST after the spring change.
//!
//! # Filters
//!
//! Exclude dates and weekend skipping look at the occurrence's local date in [`Schedule::tz`]. A
//! filtered occurrence is dropped (the reminder moves to its next occurrence; nothing is shifted to
//! Monday). The search looks at most [`SEARCH_HORIZON_DAYS`] ahead and [`MAX_CANDIDATES`]
//! occurrences deep, then reports the schedule as exhausted rather than looping.

mod cron_expr;
mod recurrence;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};
use cron_expr::CronSchedule;
use recurrence::Recurrence;

use crate::timezone::resolve_local;

/// Longest cron expression or RRULE body accepted, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 500;
/// Longest interval accepted: one (non-leap) year of minutes.
pub const MAX_INTERVAL_MINUTES: u32 = 525_600;
/// Most exclude dates one schedule may carry.
pub const MAX_EXCLUDE_DATES: usize = 1_000;
/// How far ahead an occurrence is searched for before the schedule counts as exhausted.
pub const SEARCH_HORIZON_DAYS: i64 = 3_653;
/// How many filtered-out occurrences are stepped over before the schedule counts as exhausted.
pub const MAX_CANDIDATES: usize = 10_000;

/// Instants beyond this many years from year 0 (either way) have no occurrence after them.
const MAX_YEAR: u32 = 200_000;

/// What kind of repetition a reminder has.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleKind {
    /// Fires once, at `at`.
    Once {
        /// The instant to fire at.
        at: DateTime<Utc>,
    },
    /// 5-field cron ("0 9 * * 1-5"), evaluated in `Schedule::tz`.
    ///
    /// Parsed by `croner`: names (MON, JAN), ranges, steps and lists, Sunday as 0 or 7, and a
    /// restricted day-of-month with a restricted day-of-week matching either (Vixie cron). croner's
    /// extensions (`L`, `W`, `#`, `?`) are accepted too. Seconds, years and `@daily`-style
    /// nicknames are refused.
    Cron {
        /// minute hour day-of-month month day-of-week.
        expression: String,
    },
    /// Every `minutes` from `start_at` (start_at itself is the first occurrence).
    Interval {
        /// Distance between occurrences, 1..=[`MAX_INTERVAL_MINUTES`], counted in real (UTC) time.
        minutes: u32,
        /// The first occurrence.
        start_at: DateTime<Utc>,
    },
    /// RFC 5545 rule body ("FREQ=WEEKLY;BYDAY=SU"), with a local-time DTSTART in `Schedule::tz`.
    ///
    /// Supported parts: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY (ordinals such as
    /// `1MO` or `-1FR` for MONTHLY and YEARLY), BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, COUNT
    /// (1..=10 000) and UNTIL (`…Z` is an instant, otherwise a local date or date-time). COUNT counts
    /// occurrences from `dtstart` whether or not exclusions later drop them. `dtstart` is itself an
    /// occurrence only when the rule matches it. HOURLY, MINUTELY and SECONDLY are refused
    /// (`UnsupportedRrulePart`): a cron expression or an interval covers repetition within a day.
    Rrule {
        /// The rule body, optionally prefixed with `RRULE:`.
        rule: String,
        /// Local wall-clock start of the recurrence.
        dtstart: NaiveDateTime,
    },
}

/// A reminder's schedule: the repetition, the zone it is read in, and the days it must skip.
///
/// The day filters apply to every kind, a one-off included: a `Once` on an excluded date never
/// fires, and `validate` refuses it.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The repetition.
    pub kind: ScheduleKind,
    /// Zone for cron and RRULE wall-clock times and for the date filters.
    pub tz: chrono_tz::Tz,
    /// Local dates on which no occurrence fires.
    pub exclude_dates: Vec<NaiveDate>,
    /// Drop occurrences that fall on a local Saturday or Sunday.
    pub skip_weekends: bool,
}

/// Why a schedule cannot be used. Messages are shown to the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// The cron expression does not parse, or does not have exactly five fields.
    #[error("invalid cron expression: {0}")]
    InvalidCron(String),
    /// The RRULE body is malformed or has an out-of-range value.
    #[error("invalid recurrence rule: {0}")]
    InvalidRrule(String),
    /// The RRULE uses a part (or FREQ value) that reminders do not support.
    #[error("recurrence rule part {0} is not supported")]
    UnsupportedRrulePart(String),
    /// The cron expression or RRULE is longer than [`MAX_EXPRESSION_LEN`].
    #[error("expression is {0} characters long; at most 500 are allowed")]
    ExpressionTooLong(usize),
    /// The interval is zero or longer than a year.
    #[error("interval of {0} minutes is out of range; it must be between 1 and 525600 (one year)")]
    IntervalOutOfRange(u32),
    /// A one-off reminder set at or before the current time.
    #[error("the reminder time is not in the future")]
    OnceInPast,
    /// More exclude dates than [`MAX_EXCLUDE_DATES`].
    #[error("{0} exclude dates given; at most 1000 are allowed")]
    TooManyExcludeDates(usize),
    /// Nothing fires within the search horizon (after COUNT/UNTIL, exclusions and weekends).
    #[error("the schedule never fires in the next 10 years (check COUNT/UNTIL, exclude dates and weekend skipping)")]
    NoUpcomingOccurrence,
}

impl Schedule {
    /// Checks the schedule can be used: parses expressions, rejects a `once` at or before `now`, rejects a schedule with no occurrence after `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ScheduleError> {
        if let ScheduleKind::Once { at } = &self.kind
            && *at <= now
        {
            return Err(ScheduleError::OnceInPast);
        }
        if self.exclude_dates.len() > MAX_EXCLUDE_DATES {
            return Err(ScheduleError::TooManyExcludeDates(self.exclude_dates.len()));
        }
        match Plan::compile(self)?.next_after(now) {
            Some(_) => Ok(()),
            None => Err(ScheduleError::NoUpcomingOccurrence),
        }
    }

    /// The first occurrence strictly after `after`, honouring exclude dates and skip-weekends in `tz`; None when the schedule is exhausted (once already past, COUNT/UNTIL used up).
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        Ok(Plan::compile(self)?.next_after(after))
    }

    /// Up to `n` upcoming occurrences after `after` (for previews).
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        let plan = Plan::compile(self)?;
        // `n` comes from a caller; don't let it size an allocation up front.
        let mut found = Vec::with_capacity(n.min(64));
        let mut cursor = after;
        while found.len() < n {
            let Some(at) = plan.next_after(cursor) else { break };
            found.push(at);
            cursor = at;
        }
        Ok(found)
    }
}

/// A schedule with its expressions parsed once, ready to be searched repeatedly.
struct Plan {
    source: Source,
    tz: chrono_tz::Tz,
    /// Sorted and deduplicated, for binary search.
    excluded: Vec<NaiveDate>,
    skip_weekends: bool,
}

/// The unfiltered occurrence stream of each kind.
enum Source {
    Once(DateTime<Utc>),
    Interval { step_seconds: i64, start_at: DateTime<Utc> },
    Cron(CronSchedule),
    Rrule(Recurrence),
}

impl Plan {
    fn compile(schedule: &Schedule) -> Result<Self, ScheduleError> {
        let source = match &schedule.kind {
            ScheduleKind::Once { at } => Source::Once(*at),
            ScheduleKind::Interval { minutes, start_at } => {
                if !(1..=MAX_INTERVAL_MINUTES).contains(minutes) {
                    return Err(ScheduleError::IntervalOutOfRange(*minutes));
                }
                Source::Interval { step_seconds: i64::from(*minutes) * 60, start_at: *start_at }
            }
            ScheduleKind::Cron { expression } => Source::Cron(CronSchedule::parse(expression)?),
            ScheduleKind::Rrule { rule, dtstart } => Source::Rrule(Recurrence::parse(rule, *dtstart)?),
        };
        let mut excluded = schedule.exclude_dates.clone();
        excluded.sort_unstable();
        excluded.dedup();
        Ok(Self { source, tz: schedule.tz, excluded, skip_weekends: schedule.skip_weekends })
    }

    /// First unfiltered-out occurrence after `after`, within the horizon and candidate budget.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Far enough from chrono's limits that every step below (local views, a day's margin,
        // the horizon) stays representable.
        if after.year().unsigned_abs() > MAX_YEAR {
            return None;
        }
        let limit = after.checked_add_signed(TimeDelta::days(SEARCH_HORIZON_DAYS))?;
        let mut cursor = after;
        for _ in 0..MAX_CANDIDATES {
            let candidate = self.source_next_after(cursor, limit)?;
            if candidate > limit {
                return None;
            }
            let day = candidate.with_timezone(&self.tz).date_naive();
            if self.allows(day) {
                return Some(candidate);
            }
            // Every other occurrence on that local day is filtered too, so jump past the day
            // instead of walking it (a minute cron would otherwise eat the budget in a weekend).
            // `max` keeps the cursor moving even in zones whose repeated hour straddles midnight.
            cursor = self.last_instant_of(day).max(candidate);
        }
        None
    }

    fn source_next_after(&self, after: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.source {
            Source::Once(at) => (*at > after).then_some(*at),
            Source::Interval { step_seconds, start_at } => interval_next_after(*start_at, *step_seconds, after),
            Source::Cron(cron) => cron.next_after(self.tz, after, limit),
            Source::Rrule(rule) => rule.next_after(self.tz, after, limit),
        }
    }

    fn allows(&self, day: NaiveDate) -> bool {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        !(self.skip_weekends && weekend) && self.excluded.binary_search(&day).is_err()
    }

    /// The instant just before local `day + 1` begins, so that the next occurrence searched for
    /// lies on a later local day.
    fn last_instant_of(&self, day: NaiveDate) -> DateTime<Utc> {
        day.succ_opt()
            .and_then(|next| next.and_hms_opt(0, 0, 0))
            .and_then(|midnight| resolve_local(self.tz, midnight).checked_sub_signed(TimeDelta::nanoseconds(1)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// `start_at + k * step` for the smallest `k >= 0` that lands strictly after `after`.
fn interval_next_after(start_at: DateTime<Utc>, step_seconds: i64, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if after < start_at {
        return Some(start_at);
    }
    // Whole seconds, rounded down: every occurrence is a whole number of seconds after `start_at`,
    // so `k * step > elapsed_seconds` already implies `k * step > elapsed`.
    let elapsed_seconds = (after - start_at).num_seconds();
    let steps = elapsed_seconds.checked_div(step_seconds)?.checked_add(1)?;
    let offset = TimeDelta::try_seconds(steps.checked_mul(step_seconds)?)?;
    start_at.checked_add_signed(offset)
}
