//! Snooze phrases that read the calendar: "until after my meeting", "until the dentist is over", "when work
//! ends". The phrase names what to look for; the answer is the end of the matching event under way, or the
//! next one. Words such as "meeting" that name no event in particular match any busy timed event.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use reminder_core::calendar::{Event, contains_folded};
use reminder_core::ids::UserId;

use super::store;

/// Words that stand for "whatever I am busy with".
const GENERIC: [&str; 6] = ["meeting", "appointment", "event", "call", "meetings", "appointments"];
const ENDINGS: [&str; 6] = [" is over", " is done", " is finished", " ends", " finishes", " are over"];

/// What a calendar phrase looks for, or None when the phrase is not one (it goes to the time grammar).
pub fn looked_for(phrase: &str) -> Option<String> {
    let phrase = phrase.trim().trim_end_matches(['.', '!']).to_lowercase();
    let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
    let strip_owner = |s: &str| -> String {
        let s = s.strip_prefix("my ").or_else(|| s.strip_prefix("the ")).unwrap_or(s);
        s.trim().to_owned()
    };
    let strip_ending = |s: &str| ENDINGS.iter().find_map(|end| s.strip_suffix(end)).map(str::to_owned);
    let subject = if let Some(rest) = phrase.strip_prefix("until after ").or_else(|| phrase.strip_prefix("after ")) {
        // "after 5pm" is a time, not an event.
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        rest.to_owned()
    } else if let Some(rest) = phrase.strip_prefix("until ").or_else(|| phrase.strip_prefix("till ")) {
        strip_ending(rest)?
    } else if let Some(rest) = phrase.strip_prefix("when ") {
        strip_ending(rest)?
    } else {
        return None;
    };
    let subject = strip_owner(&subject);
    (!subject.is_empty() && subject.chars().count() <= 100).then_some(subject)
}

/// The event a phrase means: the matching one under way at `now`, else the next to start.
pub fn pick<'a>(events: &'a [Event], subject: &str, now: DateTime<Utc>) -> Option<&'a Event> {
    let named = |e: &&Event| {
        contains_folded(&e.summary, subject) || e.categories.iter().any(|c| c.eq_ignore_ascii_case(subject))
    };
    let mut candidates: Vec<&Event> = events.iter().filter(|e| e.ends_at > now).filter(named).collect();
    if candidates.is_empty() && GENERIC.contains(&subject) {
        candidates = events.iter().filter(|e| e.ends_at > now && e.busy && !e.all_day).collect();
    }
    let under_way = candidates.iter().copied().filter(|e| e.starts_at <= now).min_by_key(|e| e.ends_at);
    under_way.or_else(|| candidates.into_iter().min_by_key(|e| (e.starts_at, e.ends_at)))
}

/// A calendar phrase resolved: the instant and the event's title.
pub struct Resolved {
    pub until: DateTime<Utc>,
    pub event: String,
}

/// Reads `phrase` against the owner's calendars. Ok(None): not a calendar phrase. Err(subject): a
/// calendar phrase with no matching event ahead.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    phrase: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Result<Option<Resolved>, String>> {
    let Some(subject) = looked_for(phrase) else { return Ok(Ok(None)) };
    let events = store::events_of(conn, owner, now, now + super::sync::AHEAD).await?;
    Ok(match pick(&events, &subject, now) {
        Some(event) => Ok(Some(Resolved { until: event.ends_at, event: event.summary.clone() })),
        None => Err(subject),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn phrases_name_what_to_look_for() {
        assert_eq!(looked_for("until after my meeting").as_deref(), Some("meeting"));
        assert_eq!(looked_for("Until the dentist is over.").as_deref(), Some("dentist"));
        assert_eq!(looked_for("when work ends").as_deref(), Some("work"));
        assert_eq!(looked_for("after the school run").as_deref(), Some("school run"));
        assert_eq!(looked_for("till my  yoga class finishes").as_deref(), Some("yoga class"));
        assert_eq!(looked_for("until tomorrow 9am"), None);
        assert_eq!(looked_for("after 5pm"), None);
        assert_eq!(looked_for("2h"), None);
    }

    fn event(summary: &str, from_h: i64, to_h: i64, now: DateTime<Utc>) -> Event {
        Event {
            calendar_id: Uuid::nil(),
            starts_at: now + Duration::hours(from_h),
            ends_at: now + Duration::hours(to_h),
            summary: summary.into(),
            categories: vec!["Work".into()],
            all_day: false,
            busy: true,
            holiday: false,
        }
    }

    #[test]
    fn the_event_under_way_wins_then_the_next() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let events = [event("Standup", -1, 1, now), event("Dentist", 3, 4, now), event("Dentist", 27, 28, now)];
        assert_eq!(pick(&events, "dentist", now).unwrap().ends_at, now + Duration::hours(4));
        // "meeting" names nothing here: the busy event under way.
        assert_eq!(pick(&events, "meeting", now).unwrap().summary, "Standup");
        assert_eq!(pick(&events, "work", now).unwrap().summary, "Standup");
        assert!(pick(&events, "yoga", now).is_none());
    }
}
