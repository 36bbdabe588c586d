//! What a user's calendar does to a reminder's occurrence: the rules ("Kids with Ex": pause during, snooze
//! until the end, skip the day, escalate faster before a long busy block) and holidays, judged against the
//! expanded event instances. Pure: the engine, the preview and the snooze phrases read the same answer.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One expanded instance of a calendar event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub calendar_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: String,
    pub categories: Vec<String>,
    pub all_day: bool,
    /// Shown as busy (not `TRANSP:TRANSPARENT`, not cancelled).
    pub busy: bool,
    /// From a calendar marked as a holiday calendar.
    pub holiday: bool,
}

impl Event {
    fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.starts_at < to && self.ends_at > from
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

/// Which events a rule is about; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Match {
    /// Found anywhere in the event's title, case-insensitive.
    pub summary_contains: Option<String>,
    /// One of the event's categories, case-insensitive.
    pub category: Option<String>,
    /// true: only all-day events; false: only timed ones.
    pub all_day: Option<bool>,
    /// true: only events shown as busy; false: only free ones.
    pub busy: Option<bool>,
}

impl Match {
    pub fn is_empty(&self) -> bool {
        self.summary_contains.is_none() && self.category.is_none() && self.all_day.is_none() && self.busy.is_none()
    }

    pub fn matches(&self, event: &Event) -> bool {
        let summary = self.summary_contains.as_deref().is_none_or(|s| contains_folded(&event.summary, s));
        let category =
            self.category.as_deref().is_none_or(|c| event.categories.iter().any(|e| e.eq_ignore_ascii_case(c)));
        summary
            && category
            && self.all_day.is_none_or(|all_day| event.all_day == all_day)
            && self.busy.is_none_or(|busy| event.busy == busy)
    }
}

/// Case-insensitive containment (Unicode lower case on both sides).
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Action {
    /// An occurrence inside a matching event waits for its end (non-critical reminders).
    PauseDuring,
    /// An occurrence inside a matching event is snoozed until its end (non-critical reminders).
    SnoozeUntilEnd,
    /// An occurrence on a day with a matching event is skipped; the next one fires.
    SkipDay,
    /// An occurrence in a free gap before a long matching busy event escalates faster, so every tier is
    /// through before the event starts.
    EscalateFaster,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PauseDuring => "PAUSE_DURING",
            Action::SnoozeUntilEnd => "SNOOZE_UNTIL_END",
            Action::SkipDay => "SKIP_DAY",
            Action::EscalateFaster => "ESCALATE_FASTER",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        [Action::PauseDuring, Action::SnoozeUntilEnd, Action::SkipDay, Action::EscalateFaster]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A rule of one calendar; `reminders` None applies it to every reminder of the owner.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub calendar_id: Uuid,
    pub matcher: Match,
    pub action: Action,
    pub reminders: Option<Vec<Uuid>>,
}

impl Rule {
    fn applies_to(&self, reminder: Uuid) -> bool {
        self.reminders.as_ref().is_none_or(|ids| ids.contains(&reminder))
    }

    fn matches(&self, event: &Event) -> bool {
        event.calendar_id == self.calendar_id && self.matcher.matches(event)
    }
}

/// A busy block shorter than this is no reason to hurry.
pub const LONG_BLOCK: Duration = Duration::minutes(60);

/// What the calendar does to one occurrence.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    None,
    /// The day's occurrence does not fire; `reason` is the event's title (or "holiday: …").
    Skip {
        reason: String,
    },
    /// Fire at `until` instead (PAUSE_DURING).
    Pause {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Snooze until `until` (SNOOZE_UNTIL_END).
    Snooze {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Scale every tier's delay so the last tier is due by `before`.
    Faster {
        before: DateTime<Utc>,
        reason: String,
    },
}

impl Effect {
    /// One line for logs, the preview and the console: what the calendar changed.
    pub fn describe(&self, tz: Tz) -> Option<String> {
        let at = |t: &DateTime<Utc>| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string();
        Some(match self {
            Effect::None => return None,
            Effect::Skip { reason } => format!("Skipped that day: \"{reason}\" in your calendar"),
            Effect::Pause { until, reason } => format!("Paused during \"{reason}\"; fires at {}", at(until)),
            Effect::Snooze { until, reason } => format!("Snoozed until \"{reason}\" ends, {}", at(until)),
            Effect::Faster { before, reason } => {
                format!("Escalates faster, every tier before \"{reason}\" starts at {}", at(before))
            }
        })
    }

    pub fn name(&self) -> Option<&'static str> {
        match self {
            Effect::None => None,
            Effect::Skip { .. } => Some("skip"),
            Effect::Pause { .. } => Some("pause"),
            Effect::Snooze { .. } => Some("snooze"),
            Effect::Faster { .. } => Some("faster"),
        }
    }
}

/// The occurrence being judged.
#[derive(Clone, Copy, Debug)]
pub struct Occurrence {
    pub reminder: Uuid,
    pub at: DateTime<Utc>,
    /// The reminder's zone: its day is the day `SKIP_DAY` and holidays are read in.
    pub zone: Tz,
    /// Critical reminders are never paused or snoozed by a calendar; they may still be skipped or hurried.
    pub critical: bool,
    pub skip_holidays: bool,
    /// The last tier's delay: how long the escalation takes if nobody reacts.
    pub span: Duration,
}

/// The local day of `at` in `zone`, as UTC instants.
fn local_day(at: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = at.with_timezone(&zone).date_naive();
    (start_of(date, zone), start_of(date + Duration::days(1), zone))
}

/// Midnight of `date` in `zone` (the first instant of the day where midnight falls in a DST gap).
pub fn start_of(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    crate::timezone::resolve_local(zone, date.and_time(NaiveTime::MIN))
}

/// The end of a run of matching events from `event` on: back-to-back or overlapping events extend it.
fn end_of_run(mut until: DateTime<Utc>, matching: &[&Event]) -> DateTime<Utc> {
    loop {
        let extended = matching.iter().filter(|e| e.starts_at <= until && e.ends_at > until).map(|e| e.ends_at).max();
        match extended {
            Some(end) => until = end,
            None => return until,
        }
    }
}

/// What `rules` and holidays do to `occurrence`, given the owner's events around it. Precedence: a
/// skipped day beats a pause or snooze, which beats hurrying.
pub fn effect(occurrence: &Occurrence, events: &[Event], rules: &[Rule]) -> Effect {
    let rules: Vec<&Rule> = rules.iter().filter(|r| r.applies_to(occurrence.reminder)).collect();
    let matching = |action: Action| -> Vec<&Event> {
        events.iter().filter(|e| rules.iter().any(|r| r.action == action && r.matches(e))).collect()
    };
    let (day_start, day_end) = local_day(occurrence.at, occurrence.zone);
    let on_the_day = |e: &&Event| e.overlaps(day_start, day_end);
    if occurrence.skip_holidays
        && let Some(holiday) = events.iter().filter(|e| e.holiday).find(on_the_day)
    {
        return Effect::Skip { reason: format!("holiday: {}", holiday.summary) };
    }
    if let Some(event) = matching(Action::SkipDay).into_iter().find(on_the_day) {
        return Effect::Skip { reason: event.summary.clone() };
    }
    if !occurrence.critical {
        for (action, pause) in [(Action::PauseDuring, true), (Action::SnoozeUntilEnd, false)] {
            let matching = matching(action);
            if let Some(event) = matching.iter().find(|e| e.contains(occurrence.at)) {
                let until = end_of_run(event.ends_at, &matching);
                let reason = event.summary.clone();
                return if pause { Effect::Pause { until, reason } } else { Effect::Snooze { until, reason } };
            }
        }
    }
    let blocks = matching(Action::EscalateFaster);
    let in_a_block = blocks.iter().any(|e| e.contains(occurrence.at));
    let ahead = occurrence.at + occurrence.span;
    let next_long = blocks
        .iter()
        .filter(|e| {
            e.busy && e.starts_at > occurrence.at && e.starts_at < ahead && e.ends_at - e.starts_at >= LONG_BLOCK
        })
        .min_by_key(|e| e.starts_at);
    match next_long {
        Some(block) if !in_a_block => Effect::Faster { before: block.starts_at, reason: block.summary.clone() },
        _ => Effect::None,
    }
}

/// When a later tier of `reminder` coming due at `at` may go out: the end of the matching busy block under
/// way (a `PAUSE_DURING` or `SNOOZE_UNTIL_END` rule), with the event's title; None when nothing holds it.
/// The caller leaves critical reminders alone, as at fire time.
pub fn held_until(
    reminder: Uuid,
    at: DateTime<Utc>,
    events: &[Event],
    rules: &[Rule],
) -> Option<(DateTime<Utc>, String)> {
    let holding =
        |r: &&Rule| matches!(r.action, Action::PauseDuring | Action::SnoozeUntilEnd) && r.applies_to(reminder);
    let rules: Vec<&Rule> = rules.iter().filter(holding).collect();
    let matching: Vec<&Event> = events.iter().filter(|e| rules.iter().any(|r| r.matches(e))).collect();
    let event = matching.iter().find(|e| e.contains(at))?;
    Some((end_of_run(event.ends_at, &matching), event.summary.clone()))
}

/// Tier delays (minutes after firing) squeezed so the last is due by `before`: each scaled by the same
/// factor, rounded down, so their order holds. `fired_at` is when the episode starts.
/// Works in place on the delays of whatever tier type the caller holds (the engine's plan or the preview's
/// profile).
pub fn squeeze<'a>(delays: impl IntoIterator<Item = &'a mut u32>, fired_at: DateTime<Utc>, before: DateTime<Utc>) {
    let mut delays: Vec<&mut u32> = delays.into_iter().collect();
    let last = delays.iter().map(|d| **d).max().unwrap_or(0);
    let room = (before - fired_at).num_minutes().max(0);
    if last == 0 || room >= i64::from(last) {
        return;
    }
    for delay in &mut delays {
        **delay = u32::try_from(i64::from(**delay) * room / i64::from(last)).unwrap_or(**delay);
    }
}

#[cfg(test)]
mod tests;
