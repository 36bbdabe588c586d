//! Reminders CRUD: schedules and their echo, defaults, filters and pages, validation, quota, versions, tenancy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::fixtures::{
    GENTLE, URGENT, create, delete, exec, fields, in_hours, once_body, once_reminder, patch, user, user_id,
};

#[tokio::test(flavor = "multi_thread")]
async fn reminders_round_trip_with_every_schedule_kind() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let me = user_id(&app, &token).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PERSONAL' WHERE user_id = '{me}'")).await;
    let trigger = in_hours(3);
    let once = create(
        &app,
        &token,
        json!({"title": "  Take the 9 pm pills ", "description": "blue box", "escalationProfileId": GENTLE,
               "schedule": {"type": "once", "triggerAt": trigger}, "completionCriteria": {"type": "webhook"}}),
    )
    .await;
    assert_eq!(once["title"], "Take the 9 pm pills");
    assert_eq!(once["importance"], "medium");
    assert_eq!(once["status"], "active");
    assert_eq!(once["timezone"], "Europe/Berlin", "the user's zone is the default");
    assert_eq!(once["schedule"]["type"], "once");
    assert_eq!(once["completionCriteria"]["type"], "webhook");
    assert_eq!(once["version"], 1);
    let next = once["nextTriggerAt"].as_str().unwrap();
    assert!(next.ends_with('Z'), "{next}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(next).unwrap(),
        chrono::DateTime::parse_from_rfc3339(&trigger).unwrap()
    );

    let cron = create(
        &app,
        &token,
        json!({"title": "Stand-up 50% prep", "importance": "high", "escalationProfileId": URGENT,
               "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "America/New_York"},
               "skipWeekends": true, "excludeDates": ["2026-12-25"]}),
    )
    .await;
    assert_eq!(cron["schedule"]["expression"], "0 9 * * 1-5");
    assert_eq!(cron["timezone"], "America/New_York");
    assert_eq!(cron["excludeDates"], json!(["2026-12-25"]));
    let local = chrono::DateTime::parse_from_rfc3339(cron["nextTriggerAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::America::New_York);
    assert_eq!(local.format("%H:%M").to_string(), "09:00");

    let interval = create(
        &app,
        &token,
        json!({"title": "Stretch", "importance": "low", "escalationProfileId": GENTLE,
               "schedule": {"type": "interval", "intervalMinutes": 90}}),
    )
    .await;
    assert_eq!(interval["schedule"]["intervalMinutes"], 90);
    let rrule = create(
        &app,
        &token,
        json!({"title": "Call mum", "escalationProfileId": GENTLE,
               "schedule": {"type": "rrule", "rrule": "FREQ=WEEKLY;BYDAY=SU", "dtstart": "2026-11-29T10:00:00",
                            "timezone": "Europe/Berlin"}}),
    )
    .await;
    assert_eq!(rrule["schedule"]["rrule"], "FREQ=WEEKLY;BYDAY=SU");
    assert_eq!(rrule["schedule"]["dtstart"], "2026-11-29T10:00:00");
    assert!(rrule["nextTriggerAt"].is_string());

    let id = once["id"].as_str().unwrap();
    let got = app.get(&format!("/v1/reminders/{id}"), Some(&token)).await;
    assert_eq!(got.data(200)["description"], "blue box");

    // Filters, the escaped LIKE search and pages.
    let list = |query: &'static str| {
        let (app, token) = (&app, token.clone());
        async move { app.get(&format!("/v1/reminders{query}"), Some(&token)).await }
    };
    let all = list("").await;
    assert_eq!(all.body["meta"]["pagination"]["totalItems"], 4, "{}", all.text);
    assert_eq!(list("?importance=high").await.data(200).as_array().unwrap().len(), 1);
    assert_eq!(list("?q=50%25").await.data(200).as_array().unwrap().len(), 1, "% matched literally");
    assert_eq!(list("?q=5_%25").await.data(200).as_array().unwrap().len(), 0, "_ matched literally");
    assert_eq!(list("?q=STAND").await.data(200)[0]["title"], "Stand-up 50% prep");
    let page = list("?page=2&pageSize=3").await;
    assert_eq!(page.data(200).as_array().unwrap().len(), 1);
    assert_eq!(page.body["meta"]["pagination"]["totalPages"], 2);

    // PATCH bumps the version and recomputes the next trigger; DELETE archives.
    let path = format!("/v1/reminders/{id}");
    let patched = patch(
        &app,
        &token,
        &path,
        json!({"title": "Pills", "description": null, "importance": "critical",
        "schedule": {"type": "once", "triggerAt": in_hours(5)}, "version": 1}),
    )
    .await;
    let patched = patched.data(200);
    assert_eq!((patched["title"].as_str(), patched["version"].as_i64()), (Some("Pills"), Some(2)));
    assert!(patched["description"].is_null());
    assert_ne!(patched["nextTriggerAt"], once["nextTriggerAt"]);
    assert_eq!(delete(&app, &token, &path).await.status, 204);
    let archived = app.get(&path, Some(&token)).await;
    assert_eq!(archived.data(200)["status"], "archived");
    assert!(archived.body["data"]["nextTriggerAt"].is_null());
    assert_eq!(list("").await.body["meta"]["pagination"]["totalItems"], 3, "archived ones are hidden by default");
    assert_eq!(list("?status=archived").await.data(200).as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_reminders_list_every_bad_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let other = user(&app, "bob@example.com").await;
    let foreign = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Bob's", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["email"]}]}),
            Some(&other),
        )
        .await;
    let foreign = foreign.data(201)["id"].as_str().unwrap().to_owned();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"title": " ", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}}),
            "title",
        ),
        (
            json!({"title": "x".repeat(201), "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}}),
            "title",
        ),
        (
            json!({"title": "a", "description": "d".repeat(2001), "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}}),
            "description",
        ),
        (
            json!({"title": "a", "importance": "urgent", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}}),
            "importance",
        ),
        (
            json!({"title": "a", "escalationProfileId": foreign, "schedule": {"type": "once", "triggerAt": in_hours(1)}}),
            "escalationProfileId",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(-1)}}),
            "schedule.triggerAt",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "cron", "expression": "0 9 * *", "timezone": "Europe/Berlin"}}),
            "schedule.expression",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Base"}}),
            "schedule.timezone",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "interval", "intervalMinutes": 0}}),
            "schedule.intervalMinutes",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "rrule", "rrule": "FREQ=HOURLY", "dtstart": "2026-11-29T10:00:00"}}),
            "schedule.rrule",
        ),
        (json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "weekly"}}), "schedule.type"),
        (json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once"}}), "schedule.triggerAt"),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": "tomorrow"}}),
            "schedule.triggerAt",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1), "expression": "x"}}),
            "schedule.expression",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}, "completionCriteria": {"type": "psychic"}}),
            "completionCriteria.type",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}, "excludeDates": ["2026-13-01"]}),
            "excludeDates[0]",
        ),
        (
            json!({"title": "a", "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(1)}, "colour": "red"}),
            "",
        ),
        (json!({"title": "a", "schedule": {"type": "once", "triggerAt": in_hours(1)}}), ""),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/reminders", body.clone(), Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        if !field.is_empty() {
            assert!(fields(&reply).iter().any(|f| f == field), "{body}: {:?}", fields(&reply));
        }
    }
    // Every bad field at once, not just the first.
    let many = app
        .post(
            "/v1/reminders",
            json!({"title": "", "importance": "x", "escalationProfileId": foreign,
            "schedule": {"type": "once", "triggerAt": in_hours(-2), "timezone": "Nowhere"}}),
            Some(&token),
        )
        .await;
    assert_eq!(fields(&many).len(), 4, "{}", many.text);
    for query in ["?status=done", "?importance=huge", "?pageSize=101", "?page=0", "?pageSize=abc"] {
        app.get(&format!("/v1/reminders{query}"), Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(app.get("/v1/reminders", Some(&token)).await.body["meta"]["pagination"]["totalItems"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn free_tier_quota_is_enforced_and_archiving_frees_a_slot() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(create(&app, &token, once_body(&format!("r{n}"))).await["id"].as_str().unwrap().to_owned());
    }
    let fourth = app.post("/v1/reminders", once_body("r3"), Some(&token)).await;
    fourth.assert_error(403, "FORBIDDEN");
    let message = fourth.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("FREE") && message.contains('3') && message.contains("PERSONAL"), "{message}");

    assert_eq!(delete(&app, &token, &format!("/v1/reminders/{}", ids[0])).await.status, 204);
    create(&app, &token, once_body("r3")).await;
    // Re-activating the archived one needs a slot too.
    let back = patch(&app, &token, &format!("/v1/reminders/{}", ids[0]), json!({"status": "active"})).await;
    back.assert_error(403, "FORBIDDEN");

    let me = user_id(&app, &token).await;
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PRO' WHERE user_id = '{me}'")).await;
    for n in 4..7 {
        create(&app, &token, once_body(&format!("r{n}"))).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_at_the_quota_boundary_cannot_both_pass() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    create(&app, &token, once_body("a")).await;
    create(&app, &token, once_body("b")).await;
    let attempts = (0..6).map(|n| app.post("/v1/reminders", once_body(&format!("c{n}")), Some(&token)));
    let replies = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 403), "{statuses:?}");
    assert_eq!(app.get("/v1/reminders?status=active", Some(&token)).await.body["meta"]["pagination"]["totalItems"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let id = once_reminder(&app, &token, "v").await;
    let path = format!("/v1/reminders/{id}");
    assert_eq!(patch(&app, &token, &path, json!({"title": "v2", "version": 1})).await.data(200)["version"], 2);
    patch(&app, &token, &path, json!({"title": "lost update", "version": 1})).await.assert_error(409, "CONFLICT");
    assert_eq!(app.get(&path, Some(&token)).await.data(200)["title"], "v2");
    // Without a version the write is last-writer-wins. (Not a schedule change: skipping weekends would make
    // this one-off reminder, due in two hours, never fire whenever those two hours end on a weekend.)
    let unversioned = patch(&app, &token, &path, json!({"title": "last writer"})).await;
    assert_eq!(
        (unversioned.data(200)["version"].clone(), unversioned.data(200)["title"].clone()),
        (json!(3), json!("last writer"))
    );
    patch(&app, &token, &path, json!({"status": "snoozed"})).await.assert_error(400, "VALIDATION_ERROR");
    patch(&app, &token, &path, json!({"version": "x"})).await.assert_error(400, "VALIDATION_ERROR");
}

/// Every reminder and profile route that takes an id: another user's id → 404, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn tenancy_reminder_and_profile_ids_of_another_user_are_not_found() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "owner@example.com").await;
    let intruder = user(&app, "intruder@example.com").await;
    let reminder = once_reminder(&app, &owner, "mine").await;
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Mine", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["email"]}]}),
            Some(&owner),
        )
        .await;
    let profile = profile.data(201)["id"].as_str().unwrap().to_owned();
    let r = format!("/v1/reminders/{reminder}");
    let p = format!("/v1/escalation-profiles/{profile}");
    let hook = app.post(&format!("{r}/completion-hooks"), json!({}), Some(&owner)).await;
    let hook = format!("{r}/completion-hooks/{}", hook.data(201)["id"].as_str().unwrap());
    let watcher =
        app.post("/v1/watchers", json!({"reminderId": reminder, "subjectKeyword": "paid"}), Some(&owner)).await;
    let watcher = format!("/v1/watchers/{}", watcher.data(201)["id"].as_str().unwrap());
    exec(&app, "UPDATE subscriptions SET tier = 'PRO'").await;
    let contact =
        app.post("/v1/trusted-contacts", json!({"name": "Bob", "email": "bob@example.com"}), Some(&owner)).await;
    let contact = format!("/v1/trusted-contacts/{}", contact.data(201)["id"].as_str().unwrap());
    let table: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, r.clone(), None),
        (Method::PATCH, r.clone(), Some(json!({"title": "stolen"}))),
        (Method::DELETE, r.clone(), None),
        (Method::POST, format!("{r}/snooze"), Some(json!({"duration": "in 2 hours"}))),
        (Method::POST, format!("{r}/snooze"), Some(json!({"duration": "gibberish words"}))),
        (Method::POST, format!("{r}/acknowledge"), Some(json!({}))),
        (Method::POST, format!("{r}/complete"), Some(json!({"note": "done"}))),
        (Method::GET, format!("{r}/escalations"), None),
        (Method::GET, format!("{r}/preview"), None),
        (Method::GET, p.clone(), None),
        (Method::PATCH, p.clone(), Some(json!({"name": "stolen"}))),
        (Method::DELETE, p.clone(), None),
        (Method::GET, format!("{r}/completion-hooks"), None),
        (Method::POST, format!("{r}/completion-hooks"), Some(json!({}))),
        (Method::POST, format!("{hook}/rotate"), Some(json!({}))),
        (Method::DELETE, hook.clone(), None),
        (Method::GET, watcher.clone(), None),
        (Method::DELETE, watcher.clone(), None),
        (Method::GET, contact.clone(), None),
        (Method::PATCH, contact.clone(), Some(json!({"name": "stolen"}))),
        (Method::DELETE, contact.clone(), None),
    ];
    for (method, path, body) in &table {
        app.call(method.clone(), path, body.clone(), Some(&intruder)).await.assert_error(404, "NOT_FOUND");
    }
    let mine = app.get(&r, Some(&owner)).await;
    let mine = mine.data(200);
    assert_eq!(
        (mine["title"].as_str(), mine["status"].as_str(), mine["version"].as_i64()),
        (Some("mine"), Some("active"), Some(1))
    );
    assert_eq!(app.get(&p, Some(&owner)).await.data(200)["name"], "Mine");
    assert_eq!(app.get(&format!("{r}/completion-hooks"), Some(&owner)).await.data(200).as_array().unwrap().len(), 1);
    assert_eq!(app.get(&watcher, Some(&owner)).await.data(200)["subjectKeyword"], "paid");
    assert_eq!(app.get(&contact, Some(&owner)).await.data(200)["name"], "Bob");
    // The intruder cannot point a reminder at the owner's profile either.
    let borrowed =
        json!({"title": "x", "escalationProfileId": profile, "schedule": {"type": "once", "triggerAt": in_hours(1)}});
    let reply = app.post("/v1/reminders", borrowed, Some(&intruder)).await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["details"][0]["message"], "not found");
    app.get("/v1/reminders/not-a-uuid", Some(&intruder)).await.assert_error(400, "VALIDATION_ERROR");
}
