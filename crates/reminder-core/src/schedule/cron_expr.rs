//! Cron expressions: `croner` parses and matches wall-clock times; this module walks those times in
//! naive local time and turns each into an instant with the product's DST rules.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::{MAX_EXPRESSION_LEN, ScheduleError};
use crate::timezone::resolve_local;

/// No zone moves its clock by more than this at once, so an instant `after` can only be preceded
/// by wall-clock times at most this much earlier whose second instance is still to come.
const LOOKBACK: TimeDelta = TimeDelta::hours(3);
/// Wall-clock matches examined per search. A lookback holds at most 180 minute matches, so this
/// only trips on a bug, and then the search ends instead of spinning.
const MAX_STEPS: usize = 2_000;

/// A parsed 5-field cron expression.
#[derive(Debug)]
pub(super) struct CronSchedule {
    cron: Cron,
    /// The hour field matches all 24 hours: a real-time rhythm that also fires in the second
    /// instance of a repeated hour (see the module docs of `schedule`).
    every_hour: bool,
}

impl CronSchedule {
    /// Parses `minute hour day-of-month month day-of-week`; seconds, years and `@daily`-style
    /// nicknames are refused so every stored expression means the same thing to every reader.
    pub(super) fn parse(expression: &str) -> Result<Self, ScheduleError> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(ScheduleError::ExpressionTooLong(expression.len()));
        }
        let fields = expression.split_whitespace().count();
        if fields != 5 {
            let hint = match fields {
                0 => "the expression is empty",
                1 if expression.trim_start().starts_with('@') => "nicknames such as @daily are not supported",
                6 | 7 => "seconds and years are not supported",
                _ => "fields are separated by spaces",
            };
            return Err(ScheduleError::InvalidCron(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}; {hint}"
            )));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|error| ScheduleError::InvalidCron(error.to_string()))?;
        let every_hour = (0..24).all(|hour| cron.pattern.hour_match(hour).unwrap_or(false));
        Ok(Self { cron, every_hour })
    }

    /// First firing instant strictly after `after`, or None when none comes before `limit`.
    pub(super) fn next_after(&self, tz: Tz, after: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_after = after.with_timezone(&tz).naive_local();
        // A wall-clock time before `local_after` resolves (first instance) to at most `after`, so
        // only second instances need the lookback.
        let start = if self.every_hour { local_after.checked_sub_signed(LOOKBACK)? } else { local_after };
        let start = start.with_second(0).and_then(|at| at.with_nanosecond(0))?;
        let local_limit = limit.with_timezone(&tz).naive_local().checked_add_signed(TimeDelta::days(1))?;

        let mut best: Option<DateTime<Utc>> = None;
        let mut cursor = start;
        let mut inclusive = true;
        for _ in 0..MAX_STEPS {
            // croner errs only when nothing matches before the year 5000.
            let Ok(local) = self.cron.find_next_occurrence(&cursor, inclusive) else { break };
            if local > local_limit {
                break;
            }
            let first = resolve_local(tz, local);
            // resolve_local never runs backwards and a second instance is later than its first,
            // so nothing further along the wall clock can beat `best`.
            if best.is_some_and(|best| first >= best) {
                break;
            }
            let second = if self.every_hour { second_instance(tz, local) } else { None };
            for at in [Some(first), second].into_iter().flatten() {
                if at > after && best.is_none_or(|best| at < best) {
                    best = Some(at);
                }
            }
            cursor = local;
            inclusive = false;
        }
        best
    }
}

/// The later of the two instants of a wall-clock time repeated by a fall-back, if it is one.
fn second_instance(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Ambiguous(_, later) => Some(later.with_timezone(&Utc)),
        LocalResult::Single(_) | LocalResult::None => None,
    }
}
