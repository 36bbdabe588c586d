//! Calendars (issue 23 items 1–4) against real sources: a local ICS server (wiremock serving documents
//! made for the moment the test runs, with an ETag) and a real CalDAV server (Radicale). A busy block pauses
//! a reminder until it ends; a holiday skips the day's occurrence; "until after my meeting" snoozes to the
//! meeting's end; fetch failures are shown, keep the last good events and never touch another user's sync.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::common::radicale::Radicale;
use crate::fixtures::{GENTLE, create, scalar, soon, subscribe, user, user_id};

fn ics_time(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A VCALENDAR with one VEVENT per `(uid, extra properties)`.
pub fn calendar(events: &[(&str, String)]) -> String {
    let body: String = events
        .iter()
        .map(|(uid, props)| format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{props}END:VEVENT\r\n"))
        .collect();
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
}

pub fn timed(summary: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("SUMMARY:{summary}\r\nDTSTART:{}\r\nDTEND:{}\r\n", ics_time(from), ics_time(to))
}

pub async fn ics_server(body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secret.ics"))
        .respond_with(ResponseTemplate::new(200).insert_header("Content-Type", "text/calendar").set_body_string(body))
        .mount(&server)
        .await;
    server
}

async fn spawn(tier: &str) -> TestApp {
    TestApp::spawn_roles("all", &[("DEFAULT_TIER", tier)]).await
}

/// Connects `url` and waits until its first fetch is recorded; returns the calendar's view.
async fn connect(app: &TestApp, token: &str, body: Value) -> Value {
    let created = app.post("/v1/calendars", body, Some(token)).await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    synced(app, token, &id).await
}

/// Polls `probe` until it gives a value (30 s at most).
async fn until_some<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the calendar's status passes `done` and returns its view.
async fn calendar_when(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    until_some("the calendar's status", || async {
        let view = app.get(&format!("/v1/calendars/{id}"), Some(token)).await.data(200).clone();
        done(&view).then_some(view)
    })
    .await
}

/// Waits until the calendar has been fetched (successfully or not) and returns its view.
async fn synced(app: &TestApp, token: &str, id: &str) -> Value {
    calendar_when(app, token, id, |view| view["status"] != "pending").await
}

async fn episode_fired_at(app: &TestApp, reminder: &str) -> DateTime<Utc> {
    let sql =
        format!("SELECT coalesce(min(fired_at)::text, '') AS value FROM escalations WHERE reminder_id = '{reminder}'");
    let fired = until_some("the reminder fires", || async {
        let fired = scalar(app, &sql).await;
        (!fired.is_empty()).then_some(fired)
    })
    .await;
    DateTime::parse_from_str(&format!("{fired}00"), "%Y-%m-%d %H:%M:%S%.f%z").expect("timestamptz").to_utc()
}

fn events_kind(reminder: &str, kind: &str) -> String {
    format!("SELECT count(*)::text AS value FROM event_logs WHERE subject_id = '{reminder}' AND kind = '{kind}'")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_due_in_a_busy_block_is_delivered_when_the_block_ends() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    subscribe(&app, &user_id(&app, &ada).await, "email").await;
    let now = app.state.clock.now();
    let block_end = now + chrono::Duration::seconds(12);
    let server =
        ics_server(calendar(&[("kids", timed("Kids with Ex", now - chrono::Duration::minutes(30), block_end))])).await;
    let cal = connect(&app, &ada, json!({"name": "Family", "url": format!("{}/secret.ics", server.uri())})).await;
    assert_eq!(cal["status"], "ok", "{cal}");
    assert_eq!(cal["eventCount"], 1);
    assert_eq!(cal["host"], "127.0.0.1");
    let id = cal["id"].as_str().unwrap();
    let rule = app
        .post(
            &format!("/v1/calendars/{id}/rules"),
            json!({"match": {"busy": true}, "action": "PAUSE_DURING"}),
            Some(&ada),
        )
        .await;
    assert_eq!(rule.data(201)["all"], true);

    let body = json!({"title": "Pills", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let reminder = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    // The preview of a second one, due inside the block too, says so and starts its steps at the block's end.
    let later = json!({"title": "Walk", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 8)}});
    let later = create(&app, &ada, later).await["id"].as_str().unwrap().to_owned();
    let preview = app.get(&format!("/v1/reminders/{later}/preview"), Some(&ada)).await;
    let preview = preview.data(200);
    assert_eq!(preview["calendar"]["effect"], "pause", "{preview}");
    assert!(preview["calendar"]["description"].as_str().unwrap().contains("Kids with Ex"));
    let first_step = DateTime::parse_from_rfc3339(preview["steps"][0]["at"].as_str().unwrap()).unwrap().to_utc();
    assert_eq!(first_step.timestamp(), block_end.timestamp());

    let fired = episode_fired_at(&app, &reminder).await;
    // ICS times are whole seconds: the block ends at the second it was written with.
    let end = DateTime::parse_from_rfc3339(&block_end.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap().to_utc();
    assert!(fired >= end, "fired at {fired}, inside the block that ends at {end}");
    assert_eq!(scalar(&app, &events_kind(&reminder, "calendar_pause")).await, "1");
    // Its first tier is owed from the block's end, not from the reminder's time.
    let deliveries = format!("SELECT count(*)::text AS value FROM deliveries WHERE reminder_id = '{reminder}'");
    assert_ne!(scalar(&app, &deliveries).await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holiday_skips_the_days_occurrence_and_the_next_one_fires() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let start = soon(&app, 2);
    // The holiday is the reminders' first day, in their zone (Ada's, Europe/Berlin), and only that day.
    let day = DateTime::parse_from_rfc3339(&start).unwrap().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let holiday = format!(
        "SUMMARY:Public holiday\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nTRANSP:TRANSPARENT\r\n",
        day.format("%Y%m%d"),
        (day + chrono::Duration::days(1)).format("%Y%m%d")
    );
    let server = ics_server(calendar(&[("holiday", holiday)])).await;
    let url = format!("{}/secret.ics", server.uri());
    let cal = connect(&app, &ada, json!({"name": "Holidays", "url": url, "holidays": true})).await;
    assert_eq!(cal["holidays"], true);

    let daily = |title: &str, skip: bool| {
        json!({"title": title, "escalationProfileId": GENTLE, "skipHolidays": skip,
               "schedule": {"type": "interval", "intervalMinutes": 1440, "startAt": start}})
    };
    let id = |view: Value| view["id"].as_str().unwrap().to_owned();
    // One asks to skip holidays; one has a SKIP_DAY rule on the holiday calendar; one has neither.
    let meds = create(&app, &ada, daily("Meds", true)).await;
    assert_eq!(meds["skipHolidays"], true);
    let meds = id(meds);
    let gym = id(create(&app, &ada, daily("Gym", false)).await);
    let pills = id(create(&app, &ada, daily("Pills", false)).await);
    let rule = json!({"match": {"allDay": true}, "action": "SKIP_DAY", "reminderIds": [gym]});
    app.post(&format!("/v1/calendars/{}/rules", cal["id"].as_str().unwrap()), rule, Some(&ada)).await.data(201);

    episode_fired_at(&app, &pills).await;
    let next = DateTime::parse_from_rfc3339(&start).unwrap().to_utc() + chrono::Duration::days(1);
    let episodes =
        |reminder: &str| format!("SELECT count(*)::text AS value FROM escalations WHERE reminder_id = '{reminder}'");
    for skipped in [&meds, &gym] {
        until_some("the holiday occurrence is skipped", || async {
            let view = app.get(&format!("/v1/reminders/{skipped}"), Some(&ada)).await;
            let at = view.data(200)["nextTriggerAt"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            (at.map(|t| t.to_utc()) == Some(next)).then_some(())
        })
        .await;
        assert_eq!(scalar(&app, &episodes(skipped)).await, "0");
        assert_eq!(scalar(&app, &events_kind(skipped, "calendar_skip")).await, "1");
    }

    // The next day is no holiday: both fire.
    app.state.clock.advance(chrono::Duration::days(1));
    for skipped in [&meds, &gym] {
        episode_fired_at(&app, skipped).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn until_after_my_meeting_snoozes_to_the_meetings_end() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let now = app.state.clock.now();
    let meeting_end = now + chrono::Duration::minutes(95);
    let dentist = now + chrono::Duration::days(1);
    let server = ics_server(calendar(&[
        ("meeting", timed("Budget review", now - chrono::Duration::minutes(5), meeting_end)),
        ("dentist", timed("Dentist", dentist, dentist + chrono::Duration::minutes(45))),
    ]))
    .await;
    connect(&app, &ada, json!({"name": "Work", "url": format!("{}/secret.ics", server.uri())})).await;
    let body = json!({"title": "Call mum", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 1)}});
    let reminder = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    episode_fired_at(&app, &reminder).await;

    let path = format!("/v1/reminders/{reminder}/snooze");
    let snooze =
        async |phrase: &str| app.call(Method::POST, &path, Some(json!({"duration": phrase})), Some(&ada)).await;
    let snoozed = snooze("until after my meeting").await;
    let snoozed = snoozed.data(200);
    let until = DateTime::parse_from_rfc3339(snoozed["snoozedUntil"].as_str().unwrap()).unwrap().to_utc();
    assert_eq!(until.timestamp(), meeting_end.timestamp());
    assert!(snoozed["interpretedAs"].as_str().unwrap().contains("Budget review"), "{snoozed}");
    // Named events are found by title, the next one when none is under way.
    let dentist_over = snooze("until the dentist is over").await;
    let until = dentist_over.data(200)["snoozedUntil"].as_str().unwrap().to_owned();
    assert_eq!(
        DateTime::parse_from_rfc3339(&until).unwrap().timestamp(),
        (dentist + chrono::Duration::minutes(45)).timestamp()
    );
    let nothing = snooze("when yoga ends").await;
    assert_eq!(nothing.status, 422, "{}", nothing.text);
    assert!(nothing.text.contains("yoga"), "{}", nothing.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn fetches_are_conditional_and_failures_are_shown_without_touching_others() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let now = app.state.clock.now();
    let start = (now - chrono::Duration::days(14)).with_timezone(&chrono_tz::Europe::Berlin).naive_local();
    let start = chrono::Timelike::with_nanosecond(&start, 0).unwrap();
    let local = |days: i64, hours: i64| {
        (start + chrono::Duration::days(days) + chrono::Duration::hours(hours)).format("%Y%m%dT%H%M%S")
    };
    let series = format!(
        "SUMMARY:Swimming\r\nDTSTART;TZID=Europe/Berlin:{}\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=20\r\n",
        local(0, 0)
    );
    let document = calendar(&[("swim", series.clone())]);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("If-None-Match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ada.ics"))
        .respond_with(ResponseTemplate::new(200).insert_header("ETag", "\"v1\"").set_body_string(document.clone()))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bob.ics"))
        .respond_with(ResponseTemplate::new(200).set_body_string(document))
        .mount(&server)
        .await;
    let cal = connect(&app, &ada, json!({"name": "Sport", "url": format!("{}/ada.ics", server.uri())})).await;
    let id = cal["id"].as_str().unwrap().to_owned();
    // A day back to eight weeks ahead: this week's, and the next eight weeks' (the series has 20).
    let count = cal["eventCount"].as_i64().unwrap();
    assert!((8..=10).contains(&count), "{cal}");
    let events = app
        .get(
            &format!(
                "/v1/calendars/{id}/events?to={}",
                (now + chrono::Duration::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Some(&ada),
        )
        .await;
    let first = &events.data(200)[0];
    assert_eq!(first["summary"], "Swimming");

    // Unchanged (304): the events stand, the fetch is recorded.
    let before = cal["lastSyncedAt"].clone();
    // Seconds apart, so the next fetch's time differs.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.post(&format!("/v1/calendars/{id}/sync"), json!({}), Some(&ada)).await.data(200);
    calendar_when(&app, &ada, &id, |view| {
        view["lastSyncedAt"] != before && view["eventCount"] == count && view["status"] == "ok"
    })
    .await;
    let conditional =
        server.received_requests().await.unwrap().into_iter().filter(|r| r.headers.contains_key("if-none-match"));
    assert_eq!(conditional.count(), 1);

    // A new version (a new ETag): next week's swim cancelled (EXDATE), the one after moved two hours later
    // (RECURRENCE-ID). The stored instances are replaced.
    let changed = calendar(&[
        ("swim", format!("{series}EXDATE;TZID=Europe/Berlin:{}\r\n", local(21, 0))),
        (
            "swim",
            format!(
                "RECURRENCE-ID;TZID=Europe/Berlin:{}\r\nSUMMARY:Swimming (late)\r\nDTSTART;TZID=Europe/Berlin:{}\r\nDURATION:PT1H\r\n",
                local(28, 0),
                local(28, 2)
            ),
        ),
    ]);
    server.reset().await;
    Mock::given(path("/ada.ics"))
        .respond_with(ResponseTemplate::new(200).insert_header("ETag", "\"v2\"").set_body_string(changed))
        .mount(&server)
        .await;
    app.post(&format!("/v1/calendars/{id}/sync"), json!({}), Some(&ada)).await.data(200);
    calendar_when(&app, &ada, &id, |view| view["eventCount"] == count - 1).await;
    let to = (now + chrono::Duration::days(35)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let events = app.get(&format!("/v1/calendars/{id}/events?to={to}"), Some(&ada)).await;
    let summaries: Vec<String> =
        events.data(200).as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap().to_owned()).collect();
    assert!(summaries.contains(&"Swimming (late)".to_owned()), "{summaries:?}");
    let berlin_start = |e: &Value| {
        DateTime::parse_from_rfc3339(e["startsAt"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .naive_local()
    };
    let starts: Vec<_> = events.data(200).as_array().unwrap().iter().map(berlin_start).collect();
    assert!(!starts.contains(&(start + chrono::Duration::days(21))), "the cancelled swim is gone: {starts:?}");
    assert!(starts.contains(&(start + chrono::Duration::days(28) + chrono::Duration::hours(2))), "{starts:?}");
    let count = count - 1;

    // The address now serves a sign-in page, then nothing: clear errors, the last events kept; Bob's calendar
    // on the same server syncs meanwhile.
    server.reset().await;
    Mock::given(path("/ada.ics"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>Sign in</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/bob.ics"))
        .respond_with(ResponseTemplate::new(200).set_body_string(calendar(&[])))
        .mount(&server)
        .await;
    // The stored ETag would make the next fetch conditional; make the fetch a full one.
    crate::fixtures::exec(
        &app,
        &format!("UPDATE calendars SET expanded_at = now() - interval '8 days' WHERE id = '{id}'"),
    )
    .await;
    app.post(&format!("/v1/calendars/{id}/sync"), json!({}), Some(&ada)).await.data(200);
    let failing = wait_status(&app, &ada, &id, "failing").await;
    assert!(failing["lastError"].as_str().unwrap().contains("not an iCalendar file"), "{failing}");
    assert_eq!(failing["eventCount"], count);
    assert_eq!(failing["failures"], 1);
    let bobs = connect(&app, &bob, json!({"name": "Bob's", "url": format!("{}/bob.ics", server.uri())})).await;
    assert_eq!(bobs["status"], "ok", "{bobs}");

    server.reset().await;
    app.post(&format!("/v1/calendars/{id}/sync"), json!({}), Some(&ada)).await.data(200);
    calendar_when(&app, &ada, &id, |view| {
        view["lastError"].as_str().is_some_and(|e| e.contains("No calendar at that address"))
    })
    .await;
}

async fn wait_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    calendar_when(app, token, id, |view| view["status"] == status).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caldav_calendar_on_radicale_syncs_and_a_wrong_password_is_told() {
    let radicale = Radicale::start(&[("ada", "app-password-1")]).await;
    let now = Utc::now();
    let event =
        calendar(&[("standup", timed("Standup", now + chrono::Duration::hours(2), now + chrono::Duration::hours(3)))]);
    let url = radicale.calendar("ada", "app-password-1", "work", &[event]).await;
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let body = json!({"name": "Work", "kind": "caldav", "url": url, "user": "ada", "appPassword": "app-password-1"});
    let cal = connect(&app, &ada, body).await;
    assert_eq!(cal["status"], "ok", "{cal}");
    assert_eq!(cal["kind"], "caldav");
    let events = app.get(&format!("/v1/calendars/{}/events", cal["id"].as_str().unwrap()), Some(&ada)).await;
    assert_eq!(events.data(200)[0]["summary"], "Standup");
    // The password is stored sealed: not in the table, not in the view.
    let dump = scalar(&app, "SELECT string_agg(encode(source_ciphertext, 'escape'), '') AS value FROM calendars").await;
    assert!(!dump.contains("app-password-1"));
    assert!(!cal.to_string().contains("app-password-1"));

    let wrong = json!({"name": "Wrong", "kind": "caldav", "url": url, "user": "ada", "appPassword": "nope"});
    let failing = connect(&app, &ada, wrong).await;
    assert_eq!(failing["status"], "failing");
    assert!(failing["lastError"].as_str().unwrap().contains("refused the user name or app password"), "{failing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_field_errors_and_other_users_calendars_do_not_exist() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let server = ics_server(calendar(&[])).await;
    let fields = |reply: &crate::common::Reply| crate::fixtures::fields(reply);
    let bad = app.post("/v1/calendars", json!({"name": "", "url": "ftp://example.com/x.ics"}), Some(&ada)).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(fields(&bad), vec!["name", "url"]);
    let caldav =
        app.post("/v1/calendars", json!({"name": "x", "kind": "caldav", "url": server.uri()}), Some(&ada)).await;
    assert_eq!(fields(&caldav), vec!["user", "appPassword"]);
    let ics_with_user =
        app.post("/v1/calendars", json!({"name": "x", "url": server.uri(), "user": "a"}), Some(&ada)).await;
    assert_eq!(fields(&ics_with_user), vec!["user"]);
    let unknown =
        app.post("/v1/calendars", json!({"name": "x", "url": server.uri(), "colour": "red"}), Some(&ada)).await;
    assert_eq!(unknown.status, 400);

    let cal = app
        .post("/v1/calendars", json!({"name": "Mine", "url": format!("{}/secret.ics", server.uri())}), Some(&ada))
        .await;
    let id = cal.data(201)["id"].as_str().unwrap().to_owned();
    let empty_match =
        app.post(&format!("/v1/calendars/{id}/rules"), json!({"match": {}, "action": "SKIP_DAY"}), Some(&ada)).await;
    assert_eq!(fields(&empty_match), vec!["match"]);
    let bobs_reminder = crate::fixtures::once_reminder(&app, &bob, "Bob's").await;
    let foreign = json!({"match": {"busy": true}, "action": "SKIP_DAY", "reminderIds": [bobs_reminder]});
    let foreign = app.post(&format!("/v1/calendars/{id}/rules"), foreign, Some(&ada)).await;
    assert_eq!(fields(&foreign), vec!["reminderIds"]);
    let bad_action = app
        .post(&format!("/v1/calendars/{id}/rules"), json!({"match": {"busy": true}, "action": "NAP"}), Some(&ada))
        .await;
    assert_eq!(bad_action.status, 400);
    let bad_range = app.get(&format!("/v1/calendars/{id}/events?from=yesterday"), Some(&ada)).await;
    assert_eq!(fields(&bad_range), vec!["from"]);

    let rule = app
        .post(&format!("/v1/calendars/{id}/rules"), json!({"match": {"busy": true}, "action": "SKIP_DAY"}), Some(&ada))
        .await;
    let rule_path = format!("/v1/calendars/{id}/rules/{}", rule.data(201)["id"].as_str().unwrap());
    assert_eq!(app.call(Method::DELETE, &rule_path, None, Some(&bob)).await.status, 404);
    assert_eq!(app.call(Method::DELETE, &rule_path, None, Some(&ada)).await.status, 204);
    assert_eq!(app.call(Method::DELETE, &rule_path, None, Some(&ada)).await.status, 404);

    // Bob cannot see, sync, read, change or delete Ada's calendar: 404 as if it did not exist.
    for (method, path) in [
        (Method::GET, format!("/v1/calendars/{id}")),
        (Method::GET, format!("/v1/calendars/{id}/events")),
        (Method::POST, format!("/v1/calendars/{id}/sync")),
        (Method::POST, format!("/v1/calendars/{id}/rules")),
        (Method::DELETE, format!("/v1/calendars/{id}")),
    ] {
        let body = (method == Method::POST).then(|| json!({"match": {"busy": true}, "action": "SKIP_DAY"}));
        let reply = app.call(method.clone(), &path, body, Some(&bob)).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }
    assert_eq!(app.get("/v1/calendars", Some(&bob)).await.data(200).as_array().unwrap().len(), 0);

    // FREE has no calendars.
    let free = spawn("FREE").await;
    let carol = user(&free, "carol@example.com").await;
    let refused = free.post("/v1/calendars", json!({"name": "x", "url": server.uri()}), Some(&carol)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("PERSONAL"), "{}", refused.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn snooze_until_end_snoozes_and_a_long_block_ahead_hurries_the_tiers() {
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    subscribe(&app, &user_id(&app, &ada).await, "email").await;
    let now = app.state.clock.now();
    let block_end = now + chrono::Duration::seconds(10);
    let surgery = now + chrono::Duration::minutes(40);
    let server = ics_server(calendar(&[
        ("school", timed("School run", now - chrono::Duration::minutes(20), block_end)),
        ("surgery", timed("Surgery shift", surgery, surgery + chrono::Duration::hours(3))),
    ]))
    .await;
    let cal = connect(&app, &ada, json!({"name": "Life", "url": format!("{}/secret.ics", server.uri())})).await;
    let rules = format!("/v1/calendars/{}/rules", cal["id"].as_str().unwrap());
    let snooze_rule = json!({"match": {"summaryContains": "school"}, "action": "SNOOZE_UNTIL_END"});
    app.post(&rules, snooze_rule, Some(&ada)).await.data(201);
    let hurry_rule = json!({"match": {"summaryContains": "surgery", "busy": true}, "action": "ESCALATE_FASTER"});
    app.post(&rules, hurry_rule, Some(&ada)).await.data(201);

    // Due during the school run: snoozed until it ends, then fired as the snoozed occurrence.
    let body = json!({"title": "Pills", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let pills = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    let snoozed = until_some("the reminder is snoozed", || async {
        let view = app.get(&format!("/v1/reminders/{pills}"), Some(&ada)).await.data(200).clone();
        (view["status"] == "snoozed").then_some(view)
    })
    .await;
    let until = DateTime::parse_from_rfc3339(snoozed["snoozedUntil"].as_str().unwrap()).unwrap();
    assert_eq!(until.timestamp(), block_end.timestamp());
    let fired = episode_fired_at(&app, &pills).await;
    assert!(fired.timestamp() >= block_end.timestamp(), "fired at {fired}, before the school run ended");
    assert_eq!(scalar(&app, &events_kind(&pills, "calendar_snooze")).await, "1");

    // The school run is over; the surgery shift starts in 40 minutes: Gentle's second tier (an hour) and
    // third (three hours) are squeezed so every tier is due before it starts.
    let body = json!({"title": "Call back", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 1)}});
    let call = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    episode_fired_at(&app, &call).await;
    let sql = format!(
        "SELECT string_agg(t->>'delay_minutes', ',' ORDER BY (t->>'tier')::int) AS value
         FROM escalations e, jsonb_array_elements(e.plan->'tiers') t WHERE e.reminder_id = '{call}'"
    );
    let delays: Vec<i64> = scalar(&app, &sql).await.split(',').map(|d| d.parse().unwrap()).collect();
    // Gentle's 0, 60 and 180 minutes, squeezed into the 39 or 40 left before the shift.
    assert_eq!(delays[0], 0);
    assert!((12..=14).contains(&delays[1]) && (39..=40).contains(&delays[2]), "{delays:?}");
    assert_eq!(scalar(&app, &events_kind(&call, "calendar_faster")).await, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_tier_due_in_a_paused_block_waits_for_its_end() {
    let outbox = std::env::temp_dir().join(format!("er-calendar-{}", uuid::Uuid::new_v4().simple()));
    let outbox = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_roles("all", &[("DEFAULT_TIER", "PERSONAL"), ("EMAIL_OUTBOX_DIR", &outbox)]).await;
    let ada = user(&app, "ada@example.com").await;
    // An email channel that delivers (to the outbox): one that failed for good would move the episode on to
    // its second tier at once, before the block, and nothing would be held.
    let owner = user_id(&app, &ada).await;
    crate::fixtures::exec(
        &app,
        &format!(
            "INSERT INTO user_agent_subscriptions (user_id, agent_type, config, verified_at) \
             VALUES ('{owner}', 'email', '{{\"address\": \"ada@example.com\"}}', now())"
        ),
    )
    .await;
    let now = app.state.clock.now();
    let block = (now + chrono::Duration::minutes(30), now + chrono::Duration::minutes(90));
    let server = ics_server(calendar(&[("kids", timed("Kids with Ex", block.0, block.1))])).await;
    let cal = connect(&app, &ada, json!({"name": "Family", "url": format!("{}/secret.ics", server.uri())})).await;
    let rules = format!("/v1/calendars/{}/rules", cal["id"].as_str().unwrap());
    app.post(&rules, json!({"match": {"summaryContains": "kids"}, "action": "PAUSE_DURING"}), Some(&ada))
        .await
        .data(201);

    // Fires now, outside the block; Gentle's second tier comes due an hour later, inside it.
    let body = json!({"title": "Pills", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 1)}});
    let pills = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    episode_fired_at(&app, &pills).await;
    // The first tier's email is out before the clock moves on, so only the tier's delay brings the second.
    let first_sent = format!(
        "SELECT count(*)::text AS value FROM deliveries WHERE reminder_id = '{pills}' AND tier = 1 AND status = 'sent'"
    );
    until_some("the first tier is sent", || async { (scalar(&app, &first_sent).await != "0").then_some(()) }).await;
    app.state.clock.advance(chrono::Duration::minutes(61));
    let sql = format!(
        "SELECT coalesce(max(next_attempt_at::text || ' ' || coalesce(deferred_reason, 'not held')), '') AS value
         FROM deliveries WHERE reminder_id = '{pills}' AND tier = 2"
    );
    let held = until_some("the second tier is created", || async {
        let held = scalar(&app, &sql).await;
        (!held.is_empty()).then_some(held)
    })
    .await;
    assert!(held.ends_with("calendar: Kids with Ex"), "{held}");
    let at =
        DateTime::parse_from_str(&format!("{}00", &held[..held.find(" calendar").unwrap()]), "%Y-%m-%d %H:%M:%S%.f%z");
    assert_eq!(at.expect("timestamptz").timestamp(), block.1.timestamp());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_reply_snoozes_until_after_the_meeting_too() {
    let secret = crate::watchers::SECRET;
    let app = TestApp::spawn_roles("api", &[("DEFAULT_TIER", "PERSONAL"), ("INBOUND_EMAIL_SECRET", secret)]).await;
    let ada = user(&app, "ada@example.com").await;
    let owner = user_id(&app, &ada).await;
    let now = app.state.clock.now();
    let meeting_end = now + chrono::Duration::minutes(50);
    let server =
        ics_server(calendar(&[("standup", timed("Team standup", now - chrono::Duration::minutes(10), meeting_end))]))
            .await;
    let cal = app
        .post("/v1/calendars", json!({"name": "Work", "url": format!("{}/secret.ics", server.uri())}), Some(&ada))
        .await;
    let id = cal.data(201)["id"].as_str().unwrap().to_owned();
    // The api role alone runs no sync: fetch as the worker would.
    let client = escalating_reminders::agents::ssrf::outbound_client(None).unwrap();
    escalating_reminders::calendars::sync::sync_due(&app.state, &client).await.unwrap();
    assert_eq!(synced(&app, &ada, &id).await["status"], "ok");

    let reminder = crate::fixtures::once_reminder(&app, &ada, "Call the school").await;
    let escalation = crate::reminder_actions::fire(&app, &reminder, &owner, &crate::fixtures::in_hours(0)).await;
    let delivery = scalar(
        &app,
        &format!("SELECT id::text AS value FROM deliveries WHERE escalation_id = '{escalation}' AND status = 'sent'"),
    )
    .await;
    let to = escalating_reminders::notifications::reply_address::ReplyAddresses::for_state(&app.state)
        .address(delivery.parse().unwrap());
    let fields = [
        ("from", "ada@example.com"),
        ("to", to.as_str()),
        ("subject", "Re: Call the school"),
        ("text", "snooze until after my meeting"),
    ];
    let reply = crate::watchers::post_email(&app, secret, &fields).await;
    let result = reply.data(200)["results"][0].clone();
    assert_eq!(result["action"], "snooze", "{}", reply.text);
    assert!(result["interpretedAs"].as_str().unwrap().contains("Team standup"), "{result}");
    let view = app.get(&format!("/v1/reminders/{reminder}"), Some(&ada)).await;
    let until = DateTime::parse_from_rfc3339(view.data(200)["snoozedUntil"].as_str().unwrap()).unwrap();
    assert_eq!(until.timestamp(), meeting_end.timestamp());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weekly_event_served_across_a_dst_change_keeps_its_local_time() {
    use chrono::{Offset, TimeZone};
    let app = spawn("PERSONAL").await;
    let ada = user(&app, "ada@example.com").await;
    let berlin = chrono_tz::Europe::Berlin;
    let offset_on = |day: chrono::NaiveDate| {
        berlin.from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap()).unwrap().offset().fix().local_minus_utc()
    };
    // The next change of Berlin's offset, and the app's clock moved to ten days before it, so the change falls
    // inside the eight weeks a calendar is kept for.
    let today = app.state.clock.now().with_timezone(&berlin).date_naive();
    let change = (1..400)
        .map(|d| today + chrono::Duration::days(d))
        .find(|d| offset_on(*d) != offset_on(*d - chrono::Duration::days(1)))
        .unwrap();
    let target = berlin
        .from_local_datetime(&(change - chrono::Duration::days(10)).and_hms_opt(9, 0, 0).unwrap())
        .unwrap()
        .to_utc();
    app.state.clock.advance(target - app.state.clock.now());
    let first = change - chrono::Duration::days(21);
    let weekly = format!(
        "SUMMARY:Choir\r\nDTSTART;TZID=Europe/Berlin:{}T163000\r\nDTEND;TZID=Europe/Berlin:{}T180000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\n",
        first.format("%Y%m%d"),
        first.format("%Y%m%d")
    );
    let server = ics_server(calendar(&[("choir", weekly)])).await;
    let cal = connect(&app, &ada, json!({"name": "Choir", "url": format!("{}/secret.ics", server.uri())})).await;
    assert_eq!(cal["status"], "ok", "{cal}");
    let now = app.state.clock.now();
    let (from, to) = (now - chrono::Duration::days(1), now + chrono::Duration::days(40));
    let query = format!(
        "/v1/calendars/{}/events?from={}&to={}",
        cal["id"].as_str().unwrap(),
        from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let events = app.get(&query, Some(&ada)).await;
    let starts: Vec<DateTime<chrono_tz::Tz>> = events
        .data(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| DateTime::parse_from_rfc3339(e["startsAt"].as_str().unwrap()).unwrap().with_timezone(&berlin))
        .collect();
    assert!(starts.len() >= 4, "{starts:?}");
    assert!(starts.iter().all(|s| s.format("%H:%M").to_string() == "16:30"), "{starts:?}");
    let offsets: std::collections::BTreeSet<i32> = starts.iter().map(|s| s.offset().fix().local_minus_utc()).collect();
    assert_eq!(offsets.len(), 2, "instances on both sides of the change on {change}: {starts:?}");
}

/// The calendar effect the preview of `reminder` shows (null when its calendars leave it alone).
async fn preview_effect(app: &TestApp, token: &str, reminder: &str) -> Value {
    app.get(&format!("/v1/reminders/{reminder}/preview"), Some(token)).await.data(200)["calendar"]["effect"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_downgrade_pauses_the_newest_calendar_and_a_freed_slot_brings_it_back() {
    let app = spawn("PRO").await;
    let ada = user(&app, "ada@example.com").await;
    let owner: uuid::Uuid = user_id(&app, &ada).await.parse().unwrap();
    let now = app.state.clock.now();
    let block = timed("Kids with Ex", now - chrono::Duration::minutes(30), now + chrono::Duration::hours(2));
    let server = ics_server(calendar(&[("kids", block)])).await;
    let url = format!("{}/secret.ics", server.uri());
    let mut ids = Vec::new();
    for name in ["Work", "Gym", "Book club", "Family"] {
        let view = connect(&app, &ada, json!({"name": name, "url": url})).await;
        ids.push(view["id"].as_str().unwrap().to_owned());
    }
    let family = ids[3].clone();
    let rule = json!({"match": {"busy": true}, "action": "PAUSE_DURING"});
    app.post(&format!("/v1/calendars/{family}/rules"), rule, Some(&ada)).await.data(201);
    let body = json!({"title": "Pills", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": soon(&app, 3600)}});
    let reminder = create(&app, &ada, body).await["id"].as_str().unwrap().to_owned();
    assert_eq!(preview_effect(&app, &ada, &reminder).await, "pause");

    // PERSONAL allows three calendars: the newest pauses, and its rule stops holding the reminder.
    crate::fixtures::override_tier(&app, owner, reminder_core::tiers::Tier::Personal).await;
    let calendars = app.get("/v1/calendars", Some(&ada)).await.data(200).clone();
    let reasons: Vec<&Value> = calendars.as_array().unwrap().iter().map(|c| &c["pausedReason"]).collect();
    assert!(reasons[..3].iter().all(|r| r.is_null()), "{calendars}");
    assert!(reasons[3].as_str().unwrap().contains("PERSONAL tier allows 3 connected calendars"), "{calendars}");
    assert!(preview_effect(&app, &ada, &reminder).await.is_null(), "a paused calendar's rule still holds");

    // A paused calendar is not fetched, even when asked; a kept one is.
    let last_synced = |view: &Value| view["lastSyncedAt"].clone();
    let paused_before = last_synced(app.get(&format!("/v1/calendars/{family}"), Some(&ada)).await.data(200));
    let kept_before = last_synced(app.get(&format!("/v1/calendars/{}", ids[2]), Some(&ada)).await.data(200));
    for id in [&family, &ids[2]] {
        app.post(&format!("/v1/calendars/{id}/sync"), json!({}), Some(&ada)).await.data(200);
    }
    calendar_when(&app, &ada, &ids[2], |view| last_synced(view) != kept_before).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let paused = app.get(&format!("/v1/calendars/{family}"), Some(&ada)).await.data(200).clone();
    assert_eq!(last_synced(&paused), paused_before, "a paused calendar was fetched: {paused}");

    // Deleting an older calendar frees a slot: the newest is read again and its rule holds again.
    let deleted = app.call(Method::DELETE, &format!("/v1/calendars/{}", ids[0]), None, Some(&ada)).await;
    assert_eq!(deleted.status, 204);
    let back = app.get(&format!("/v1/calendars/{family}"), Some(&ada)).await.data(200).clone();
    assert!(back["pausedReason"].is_null(), "{back}");
    assert_eq!(preview_effect(&app, &ada, &reminder).await, "pause");
}
