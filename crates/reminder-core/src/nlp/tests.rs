//! Tests of the public functions other than the golden table: echo, validation, examples, hostile input.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::{America, Asia, Europe, Tz};

use super::{EXAMPLES, MAX_PHRASE_CHARS, PhraseError, echo, parse, validate_future};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Wed 2026-11-25 14:30 in Berlin.
fn wednesday() -> DateTime<Utc> {
    utc("2026-11-25T13:30:00Z")
}

#[test]
fn echo_shows_local_weekday_date_time_and_zone() {
    assert_eq!(echo(utc("2026-11-26T08:00:00Z"), Europe::Berlin), "Thu 26 Nov 09:00 Europe/Berlin");
    assert_eq!(echo(utc("2026-12-04T16:00:00Z"), Europe::Berlin), "Fri 4 Dec 17:00 Europe/Berlin");
    assert_eq!(echo(utc("2026-11-30T03:30:00Z"), Asia::Kolkata), "Mon 30 Nov 09:00 Asia/Kolkata");
    assert_eq!(echo(utc("2026-11-25T13:30:00Z"), chrono_tz::UTC), "Wed 25 Nov 13:30 UTC");
}

#[test]
fn echo_follows_dst() {
    assert_eq!(echo(utc("2026-03-29T01:00:00Z"), Europe::Berlin), "Sun 29 Mar 03:00 Europe/Berlin");
    assert_eq!(echo(utc("2026-03-08T07:00:00Z"), America::New_York), "Sun 8 Mar 03:00 America/New_York");
    assert_eq!(echo(utc("2026-10-25T00:30:00Z"), Europe::Berlin), "Sun 25 Oct 02:30 Europe/Berlin");
}

#[test]
fn interpretation_carries_the_echo() {
    let got = parse("tomorrow 9am", wednesday(), Europe::Berlin).unwrap();
    assert_eq!(got.at, utc("2026-11-26T08:00:00Z"));
    assert_eq!(got.echo, "Thu 26 Nov 09:00 Europe/Berlin");
}

#[test]
fn validate_future_bounds() {
    let now = wednesday();
    assert_eq!(validate_future(now, now), Err(PhraseError::InPast));
    assert_eq!(validate_future(now - TimeDelta::seconds(1), now), Err(PhraseError::InPast));
    assert_eq!(validate_future(now + TimeDelta::seconds(1), now), Ok(now + TimeDelta::seconds(1)));
    assert_eq!(validate_future(now + TimeDelta::days(366), now), Ok(now + TimeDelta::days(366)));
    let too_far = now + TimeDelta::days(366) + TimeDelta::seconds(1);
    assert_eq!(validate_future(too_far, now), Err(PhraseError::TooFar));
}

#[test]
fn every_example_is_understood() {
    for example in EXAMPLES {
        assert!(parse(example, wednesday(), Europe::Berlin).is_ok(), "{example:?} should parse");
    }
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(PhraseError::NotUnderstood.to_string(), "could not understand the phrase");
    assert_eq!(PhraseError::InPast.to_string(), "that time is in the past");
    assert_eq!(PhraseError::TooFar.to_string(), "that time is more than a year away");
}

#[test]
fn overlong_phrases_are_refused() {
    let padded = format!("in 2 hours{}", " ".repeat(500));
    assert!(parse(&padded, wednesday(), Europe::Berlin).is_ok(), "surrounding whitespace is not counted");
    let long = format!("in 2 hours {}", "and 1 minute ".repeat(20));
    assert!(long.chars().count() > MAX_PHRASE_CHARS);
    assert_eq!(parse(&long, wednesday(), Europe::Berlin), Err(PhraseError::NotUnderstood));
    assert_eq!(parse(&"9".repeat(100_000), wednesday(), Europe::Berlin), Err(PhraseError::NotUnderstood));
}

#[test]
fn odd_input_never_panics_and_is_refused() {
    let odd = [
        "\0",
        "tomorrow\0",
        "in 2\0hours",
        "明天",
        "🙂",
        "９am",
        "tomorrow 🙂",
        "İ",
        "ß",
        "\u{202e}tomorrow",
        "9:99999999999999999999",
        "99999999999999999999:00",
        "2026-99999999999999999999-1",
        "99999999999999999999-12-25",
        "dec 99999999999999999999",
        "9999-12-31T23:59",
        "0000-01-01",
        "in 99999999999999999999 months",
        "99999999999999999999 weeks 99999999999999999999 days",
        "------",
        ":::",
        "at at at",
        "the the",
        "and a half",
        "half",
        "tomorrow.at.9",
    ];
    for phrase in odd {
        let got = parse(phrase, wednesday(), Europe::Berlin);
        assert!(got.is_err(), "{phrase:?} should be refused, got {got:?}");
    }
}

/// Every short combination of the grammar's own words either fails cleanly or gives a time that passes the
/// product's checks: no panic, nothing in the past, nothing more than 366 days ahead.
#[test]
fn word_soup_never_panics_or_escapes_the_bounds() {
    const HUGE: &str = "99999999999999999999";
    const VOCAB: &[&str] = &[
        "in", "at", "on", "until", "for", "2", "9", "12", "30", "0", "25", "2026", HUGE, "-", ":", "00", "h", "hours",
        "am", "pm", "tomorrow", "today", "friday", "next", "week", "month", "dec", "feb", "29", "this", "evening",
        "tonight", "noon", "midnight", "eod", "end", "of", "day", "and", "a", "half", "t", "weekend", "from", "now",
    ];
    let contexts: [(DateTime<Utc>, Tz); 2] =
        [(wednesday(), Europe::Berlin), (utc("2026-03-08T06:59:30Z"), America::New_York)];
    for (now, tz) in contexts {
        for a in VOCAB {
            for b in VOCAB {
                for c in VOCAB {
                    let phrase = format!("{a} {b} {c}");
                    if let Ok(got) = parse(&phrase, now, tz) {
                        assert!(got.at > now, "{phrase:?} gave a past time {}", got.at);
                        assert!(got.at - now <= TimeDelta::days(366), "{phrase:?} gave {}", got.at);
                    }
                }
            }
        }
    }
}
