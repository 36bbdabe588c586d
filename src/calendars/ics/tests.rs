use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Berlin;

use super::*;

const FAMILY: &str = include_str!("../../../tests/fixtures/calendars/family.ics");

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

fn family() -> Vec<Instance> {
    let (instances, unreadable) =
        expand(FAMILY, chrono_tz::America::New_York, berlin(2026, 10, 1, 0, 0), berlin(2027, 1, 1, 0, 0)).unwrap();
    assert_eq!(unreadable, 0);
    instances
}

#[test]
fn a_weekly_event_keeps_its_wall_clock_time_across_the_dst_change() {
    let kids: Vec<_> = family().into_iter().filter(|i| i.uid.starts_with("kids")).collect();
    // 5 Oct is summer time (UTC+2), 26 Oct winter time (UTC+1): both 16:30 in Berlin.
    assert_eq!(kids[0].starts_at, Utc.with_ymd_and_hms(2026, 10, 5, 14, 30, 0).unwrap());
    assert!(kids.iter().any(|i| i.starts_at == Utc.with_ymd_and_hms(2026, 10, 26, 15, 30, 0).unwrap()));
    assert!(kids.iter().all(|i| i.ends_at - i.starts_at == Duration::minutes(90) || i.summary.contains("late")));
    assert_eq!(kids[0].categories, vec!["Family", "Kids"]);
}

#[test]
fn exdates_overrides_cancellations_and_until_are_honoured() {
    let starts: Vec<_> = family().into_iter().filter(|i| i.uid.starts_with("kids")).map(|i| i.starts_at).collect();
    // EXDATE 2 Nov; 9 Nov moved to 17:00; 16 Nov cancelled; UNTIL ends the series after 14 Dec.
    assert!(!starts.contains(&berlin(2026, 11, 2, 16, 30)));
    assert!(!starts.contains(&berlin(2026, 11, 9, 16, 30)));
    assert!(starts.contains(&berlin(2026, 11, 9, 17, 0)));
    assert!(!starts.contains(&berlin(2026, 11, 16, 16, 30)));
    assert!(starts.contains(&berlin(2026, 12, 14, 16, 30)));
    assert!(!starts.contains(&berlin(2026, 12, 21, 16, 30)));
    // 5 Oct to 14 Dec is 11 Mondays, less the excluded and the cancelled one.
    assert_eq!(starts.len(), 9);
}

#[test]
fn durations_all_day_events_transparency_and_escapes() {
    let all = family();
    let dentist = all.iter().find(|i| i.uid.starts_with("dentist")).unwrap();
    assert_eq!(dentist.summary, "Dentist, Dr. Weiß");
    assert_eq!(dentist.ends_at - dentist.starts_at, Duration::minutes(45));
    let trip = all.iter().find(|i| i.uid.starts_with("trip")).unwrap();
    assert!(trip.all_day && !trip.busy);
    // All-day dates are the owner's days (New York here), two of them.
    let new_york = chrono_tz::America::New_York;
    assert_eq!(trip.starts_at, new_york.with_ymd_and_hms(2026, 10, 30, 0, 0, 0).unwrap().with_timezone(&Utc));
    assert_eq!(trip.ends_at, new_york.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().with_timezone(&Utc));
}

#[test]
fn the_window_bounds_what_is_kept() {
    let (instances, _) = expand(FAMILY, Berlin, berlin(2026, 12, 1, 0, 0), berlin(2026, 12, 10, 0, 0)).unwrap();
    let starts: Vec<_> = instances.iter().map(|i| i.starts_at).collect();
    assert_eq!(starts, vec![berlin(2026, 12, 7, 16, 30)]);
}

#[test]
fn what_is_not_icalendar_is_refused_and_bad_events_are_counted() {
    let window = (berlin(2026, 1, 1, 0, 0), berlin(2027, 1, 1, 0, 0));
    assert_eq!(expand("<html>Sign in</html>", Berlin, window.0, window.1), Err(IcsError::NotICalendar));
    let broken = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:yesterday\nEND:VEVENT\n\
                  BEGIN:VEVENT\nUID:b\nDTSTART:20260301T100000Z\nRRULE:FREQ=SOMETIMES\nEND:VEVENT\n\
                  BEGIN:VEVENT\nUID:c\nDTSTART:20260301T100000Z\nSUMMARY:fine\nEND:VEVENT\nEND:VCALENDAR\n";
    let (instances, unreadable) = expand(broken, Berlin, window.0, window.1).unwrap();
    assert_eq!(unreadable, 2);
    assert_eq!(instances.len(), 1);
}

#[test]
fn durations_read_as_rfc_5545_writes_them() {
    assert_eq!(duration("PT1H30M"), Some(Duration::minutes(90)));
    assert_eq!(duration("P1W"), Some(Duration::weeks(1)));
    assert_eq!(duration("P1DT2H"), Some(Duration::hours(26)));
    assert_eq!(duration("P1M"), None);
    assert_eq!(iana("/freeassociation.sourceforge.net/Tzfile/Europe/Berlin"), Some(Berlin));
}

#[test]
fn outlook_zone_names_read_as_their_iana_zones() {
    // As Outlook writes an invitation: a Windows zone name, its VTIMEZONE without X-LIC-LOCATION.
    let outlook = "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:W. Europe Standard Time\nBEGIN:STANDARD\n\
                   DTSTART:16010101T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n\
                   BEGIN:VEVENT\nUID:standup\nDTSTART;TZID=W. Europe Standard Time:20261207T093000\n\
                   DTEND;TZID=W. Europe Standard Time:20261207T100000\nSUMMARY:Stand-up\nEND:VEVENT\n\
                   BEGIN:VEVENT\nUID:call\nDTSTART;TZID=\"Pacific Standard Time\":20260707T090000\n\
                   DURATION:PT30M\nSUMMARY:Call\nEND:VEVENT\nEND:VCALENDAR\n";
    let owner = chrono_tz::Asia::Tokyo;
    let (instances, unreadable) = expand(outlook, owner, berlin(2026, 1, 1, 0, 0), berlin(2027, 1, 1, 0, 0)).unwrap();
    assert_eq!(unreadable, 0);
    let at = |uid: &str| instances.iter().find(|i| i.uid.starts_with(uid)).unwrap().starts_at;
    assert_eq!(at("standup"), berlin(2026, 12, 7, 9, 30), "Berlin's 09:30, not Tokyo's");
    // 09:00 in Los Angeles in July is summer time (UTC-7).
    assert_eq!(at("call"), Utc.with_ymd_and_hms(2026, 7, 7, 16, 0, 0).unwrap());
    assert_eq!(iana("Nowhere Standard Time"), None);
}
