//! Natural-language time phrases for snoozing: "in 2 hours", "tomorrow 9am", "friday at 5pm", "next week".
//!
//! A small hand-written grammar rather than a general date-parsing crate, because those read common phrases
//! wrongly without saying so ("tonight" → now, "9am" → a time already past). Here a phrase either means one
//! documented instant or is refused: nothing unknown is skipped.
//!
//! Everything is reckoned on the user's wall clock in their zone, then turned into an instant with
//! [`crate::timezone::resolve_local`]. The defaults people expect:
//! - A bare day ("tomorrow", "friday", "dec 25") is 09:00; "morning" 09:00, "afternoon" 14:00, "evening",
//!   "night" and "tonight" 20:00, "noon" 12:00, "midnight" the next 00:00, "end of day"/"eod" 17:00,
//!   "end of week" Friday 17:00, "this weekend" Saturday 09:00, "next week" next Monday 09:00, "next month" the
//!   1st of next month 09:00.
//! - A time with no day ("5pm", "9", "noon") is the next time it comes round: today, or tomorrow once passed.
//! - A weekday ("friday") is the next such day strictly after today; said on that weekday with a time still
//!   ahead today ("friday at 5pm" on Friday morning) it is today. "next friday" is always strictly after today,
//!   the same day "friday" means when no time is given.
//! - Today-only phrases never roll over: "today at 10" said at 14:30 is in the past. "this afternoon" after 14:00
//!   is 16:00 ("this morning" after 09:00 is 11:00); after that it is in the past. "tonight"/"this evening"
//!   after 20:00 is 22:00, and after 22:00 one hour from now.
//! - "eod" after 17:00 is 23:59 today; after 23:59, 17:00 tomorrow.
//! - A date without a year is its next occurrence still ahead. Durations in days, weeks and months keep the
//!   wall-clock time; hours, minutes and seconds are elapsed time.
//! - Results must be in the future ([`PhraseError::InPast`]) and at most 366 days ahead ([`PhraseError::TooFar`]).

mod clock;
mod cursor;
mod duration;
mod grammar;
mod lexer;
mod resolve;
mod words;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// What a phrase was understood to mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interpretation {
    /// The instant the phrase means.
    pub at: DateTime<Utc>,
    /// That instant as the user reads it, e.g. "Thu 26 Nov 09:00 Europe/Berlin".
    pub echo: String,
}

/// Why a phrase gave no usable time.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum PhraseError {
    /// The phrase is not one the grammar reads, or it could mean more than one time.
    #[error("could not understand the phrase")]
    NotUnderstood,
    /// The phrase means a time that has already passed.
    #[error("that time is in the past")]
    InPast,
    /// The phrase means a time more than 366 days ahead.
    #[error("that time is more than a year away")]
    TooFar,
}

/// Phrases users can copy, shown when a phrase is not understood.
pub const EXAMPLES: &[&str] = &[
    "in 2 hours",
    "30m",
    "tomorrow 9am",
    "friday at 5pm",
    "tonight",
    "monday morning",
    "end of day",
    "next week",
    "dec 25 at 3pm",
    "2026-12-25 14:00",
];

/// Longest phrase read, in characters: real phrases are short, and the cap bounds the work done on any input.
pub const MAX_PHRASE_CHARS: usize = 200;

/// How far ahead a time may be.
const MAX_AHEAD_DAYS: i64 = 366;

/// Reads `phrase` as said at `now` by a user in zone `tz`.
pub fn parse(phrase: &str, now: DateTime<Utc>, tz: Tz) -> Result<Interpretation, PhraseError> {
    let text = normalize(phrase).ok_or(PhraseError::NotUnderstood)?;
    let tokens = lexer::lex(&text).ok_or(PhraseError::NotUnderstood)?;
    let parsed = grammar::parse(&tokens).ok_or(PhraseError::NotUnderstood)?;
    let at = resolve::resolve(&parsed, now, tz)?;
    Ok(Interpretation { at, echo: echo(at, tz) })
}

/// Human echo of an instant in a zone, e.g. "Thu 26 Nov 09:00 Europe/Berlin".
pub fn echo(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} {}", at.with_timezone(&tz).format("%a %-d %b %H:%M"), tz.name())
}

/// Checks that `at` is after `now` and at most 366 days after it. Also used on times an LLM fallback proposes.
pub fn validate_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, PhraseError> {
    if at <= now {
        return Err(PhraseError::InPast);
    }
    if at.signed_duration_since(now) > TimeDelta::days(MAX_AHEAD_DAYS) {
        return Err(PhraseError::TooFar);
    }
    Ok(at)
}

/// Trims, drops trailing periods and lower-cases; `None` for an empty or overlong phrase.
fn normalize(phrase: &str) -> Option<String> {
    let text = phrase.trim().trim_end_matches('.').trim_end();
    if text.is_empty() || text.chars().count() > MAX_PHRASE_CHARS {
        return None;
    }
    Some(text.to_lowercase())
}
