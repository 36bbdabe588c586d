//! Escalation profiles (presets read-only, validation, in-use guard) and the reminder preview built on them.

use chrono::{Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::fixtures::{GENTLE, create, delete, exec, fields, patch, scalar, subscribe, user, user_id};

const CRITICAL: &str = "00000000-0000-4000-8000-000000000003";

fn tier(number: u16, delay: u32, extra: Value) -> Value {
    let mut tier = json!({"tierNumber": number, "delayMinutes": delay});
    if let (Some(tier), Some(extra)) = (tier.as_object_mut(), extra.as_object()) {
        tier.extend(extra.clone());
    }
    tier
}

#[tokio::test(flavor = "multi_thread")]
async fn presets_are_listed_for_everyone_and_cannot_be_changed() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let list = app.get("/v1/escalation-profiles", Some(&token)).await;
    let names: Vec<&str> = list.data(200).as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["Gentle", "Urgent", "Critical", "Medication", "Bill due"]);
    assert_eq!(list.body["meta"]["pagination"]["totalItems"], 5);
    let gentle = app.get(&format!("/v1/escalation-profiles/{GENTLE}"), Some(&token)).await;
    let gentle = gentle.data(200);
    assert_eq!(gentle["isPreset"], true);
    assert_eq!(gentle["tiers"][1]["delayMinutes"], 60);
    assert_eq!(gentle["tiers"][1]["channelTypes"], json!(["email", "webhook", "pull"]));
    let path = format!("/v1/escalation-profiles/{GENTLE}");
    patch(&app, &token, &path, json!({"name": "Mine now"})).await.assert_error(403, "FORBIDDEN");
    delete(&app, &token, &path).await.assert_error(403, "FORBIDDEN");
    assert_eq!(app.get(&path, Some(&token)).await.data(200)["name"], "Gentle");
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_round_trip_and_one_in_use_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let me = user_id(&app, &token).await;
    let sub = subscribe(&app, &me, "webhook").await;
    let contact = scalar(&app, &format!("INSERT INTO trusted_contacts (user_id, name, email) VALUES ('{me}', 'Sam', 'sam@example.com') RETURNING id::text AS value")).await;
    let body = json!({"name": " Evening ", "description": "pills", "repeat": 2, "ackWindowMinutes": 15, "tiers": [
        tier(1, 0, json!({"channelTypes": ["email"], "message": "Time!"})),
        tier(2, 10, json!({"agentSubscriptionIds": [sub]})),
        tier(3, 10, json!({"trustedContactIds": [contact]})),
        tier(4, 30, json!({"includeTrustedContacts": true}))]});
    let created = app.post("/v1/escalation-profiles", body, Some(&token)).await;
    let created = created.data(201).clone();
    assert_eq!(
        (created["name"].as_str(), created["repeat"].as_u64(), created["ackWindowMinutes"].as_u64()),
        (Some("Evening"), Some(2), Some(15))
    );
    assert_eq!(created["isPreset"], false);
    assert_eq!(created["tiers"][1]["agentSubscriptionIds"], json!([sub]));
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/escalation-profiles/{id}");

    let patched = patch(&app, &token, &path, json!({"name": "Night", "loopGapMinutes": 20, "version": 1})).await;
    let patched = patched.data(200);
    assert_eq!(
        (patched["name"].as_str(), patched["loopGapMinutes"].as_u64(), patched["version"].as_i64()),
        (Some("Night"), Some(20), Some(2))
    );
    assert_eq!(patched["tiers"].as_array().unwrap().len(), 4, "tiers kept");
    patch(&app, &token, &path, json!({"name": "Stale", "version": 1})).await.assert_error(409, "CONFLICT");
    let cleared = patch(&app, &token, &path, json!({"loopGapMinutes": null, "description": null})).await;
    assert!(cleared.data(200)["loopGapMinutes"].is_null() && cleared.body["data"]["description"].is_null());
    assert_eq!(
        app.get("/v1/escalation-profiles?pageSize=2&page=3", Some(&token)).await.data(200).as_array().unwrap().len(),
        2
    );

    let reminder = create(
        &app,
        &token,
        json!({"title": "pills", "escalationProfileId": id,
        "schedule": {"type": "cron", "expression": "0 21 * * *"}}),
    )
    .await;
    delete(&app, &token, &path).await.assert_error(409, "CONFLICT");
    // Archived reminders still point at the profile, so it stays in use.
    delete(&app, &token, &format!("/v1/reminders/{}", reminder["id"].as_str().unwrap())).await;
    delete(&app, &token, &path).await.assert_error(409, "CONFLICT");
    exec(&app, &format!("UPDATE reminders SET escalation_profile_id = '{GENTLE}'")).await;
    assert_eq!(delete(&app, &token, &path).await.status, 204);
    app.get(&path, Some(&token)).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_profiles_list_every_bad_field() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let other = user(&app, "bob@example.com").await;
    let foreign_sub = subscribe(&app, &user_id(&app, &other).await, "email").await;
    let ok = || tier(1, 0, json!({"channelTypes": ["email"]}));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "", "tiers": [ok()]}), "name"),
        (json!({"name": "a", "description": "d".repeat(2001), "tiers": [ok()]}), "description"),
        (json!({"name": "a", "tiers": []}), "tiers"),
        (json!({"name": "a", "tiers": [tier(2, 0, json!({"channelTypes": ["email"]}))]}), "tiers[0].tierNumber"),
        (
            json!({"name": "a", "tiers": [ok(), tier(2, 0, json!({"channelTypes": ["sms"]})), tier(4, 5, json!({"channelTypes": ["sms"]}))]}),
            "tiers[2].tierNumber",
        ),
        (
            json!({"name": "a", "tiers": [tier(1, 10, json!({"channelTypes": ["email"]})), tier(2, 5, json!({"channelTypes": ["sms"]}))]}),
            "tiers[1].delayMinutes",
        ),
        (json!({"name": "a", "tiers": [tier(1, 0, json!({}))]}), "tiers[0]"),
        (json!({"name": "a", "tiers": [tier(1, 0, json!({"channelTypes": ["pigeon"]}))]}), "tiers[0].channelTypes[0]"),
        (
            json!({"name": "a", "tiers": [tier(1, 0, json!({"agentSubscriptionIds": [foreign_sub]}))]}),
            "tiers[0].agentSubscriptionIds[0]",
        ),
        (
            json!({"name": "a", "tiers": [tier(1, 0, json!({"trustedContactIds": [uuid::Uuid::new_v4()]}))]}),
            "tiers[0].trustedContactIds[0]",
        ),
        (json!({"name": "a", "tiers": [tier(1, 0, json!({"channelTypes": ["email"], "colour": 1}))]}), ""),
        (
            json!({"name": "a", "tiers": [{"tierNumber": 1, "delayMinutes": -5, "channelTypes": ["email"]}]}),
            "tiers[0].delayMinutes",
        ),
        (json!({"name": "a", "repeat": 11, "tiers": [ok()]}), "repeat"),
        (json!({"name": "a", "ackWindowMinutes": 10081, "tiers": [ok()]}), "ackWindowMinutes"),
        (json!({"name": "a", "loopGapMinutes": 0, "tiers": [ok()]}), "loopGapMinutes"),
    ];
    for (body, field) in cases {
        let reply = app.post("/v1/escalation-profiles", body.clone(), Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        if !field.is_empty() {
            assert!(fields(&reply).iter().any(|f| f == field), "{body}: {:?}", fields(&reply));
        }
    }
    let many = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "", "repeat": 11, "tiers": [tier(1, 0, json!({}))]}),
            Some(&token),
        )
        .await;
    assert_eq!(fields(&many).len(), 3, "{}", many.text);
    assert_eq!(app.get("/v1/escalation-profiles", Some(&token)).await.body["meta"]["pagination"]["totalItems"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_shows_tiers_in_each_zone_with_quiet_hours_and_skipped_channels() {
    let app = TestApp::spawn().await;
    let token = user(&app, "ada@example.com").await;
    let me = user_id(&app, &token).await;
    subscribe(&app, &me, "email").await;
    let quiet = json!({"quietHours": {"start": "22:00", "end": "07:00"}});
    assert_eq!(app.call(Method::PATCH, "/v1/users/me", Some(quiet), Some(&token)).await.status, 200);
    // Tomorrow 23:30 in Berlin: inside the quiet window.
    let berlin = chrono_tz::Europe::Berlin;
    let day = Utc::now().with_timezone(&berlin).date_naive() + Duration::days(1);
    let at = berlin.from_local_datetime(&day.and_hms_opt(23, 30, 0).unwrap()).single().unwrap().with_timezone(&Utc);
    let body = |profile: &str, importance: &str| {
        json!({"title": "late", "importance": importance, "escalationProfileId": profile,
        "schedule": {"type": "once", "triggerAt": at.to_rfc3339()}})
    };
    let id = create(&app, &token, body(GENTLE, "medium")).await["id"].as_str().unwrap().to_owned();
    let preview = app.get(&format!("/v1/reminders/{id}/preview"), Some(&token)).await;
    let data = preview.data(200);
    let steps = data["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(
        steps[1]["at"].as_str().map(|s| s.to_owned()),
        Some((at + Duration::minutes(60)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    let first = &steps[0]["deliveries"][0];
    assert_eq!((first["channel"].as_str(), first["deferred"].as_bool()), (Some("email"), Some(true)));
    assert!(first["localTime"].as_str().unwrap().ends_with("07:00 Europe/Berlin"), "{first}");
    let skipped: Vec<(u64, &str)> = data["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["tier"].as_u64().unwrap(), s["channel"].as_str().unwrap()))
        .collect();
    // Gentle pushes first; this user has no browser subscribed.
    assert_eq!(skipped, [(1, "push"), (2, "webhook"), (2, "pull"), (3, "sms")]);
    assert_eq!(data["cost"]["email"], 3);

    // Critical ignores quiet hours; loops are laid out; a contact is shown in their own zone.
    exec(&app, &format!("INSERT INTO trusted_contacts (user_id, name, email, timezone, consent_status) VALUES ('{me}', 'Sam', 's@example.com', 'America/New_York', 'accepted')")).await;
    let id = create(&app, &token, body(CRITICAL, "critical")).await["id"].as_str().unwrap().to_owned();
    let preview = app.get(&format!("/v1/reminders/{id}/preview"), Some(&token)).await;
    let data = preview.data(200);
    assert_eq!(data["steps"].as_array().unwrap().len(), 15, "5 tiers × 3 loops");
    assert_eq!(data["steps"][5]["loopIndex"], 1);
    let deliveries = data["steps"][1]["deliveries"].as_array().unwrap();
    assert!(deliveries.iter().all(|d| d["deferred"] == false));
    let contact = deliveries.iter().find(|d| d["recipientKind"] == "contact").expect("contact delivery");
    assert_eq!(contact["timezone"], "America/New_York");
    assert!(contact["localTime"].as_str().unwrap().ends_with("America/New_York"));
}
