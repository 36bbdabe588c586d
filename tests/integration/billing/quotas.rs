//! Each tier limit at its boundary, for each tier: the last allowed item is created, the next one is a
//! 403 naming the limit and the tier that lifts it.

use escalating_reminders::billing::limits::{self, Limit};
use reminder_core::tiers::TierTable;
use serde_json::json;

use super::set_tier;
use crate::common::TestApp;
use crate::fixtures::{exec, once_body, user, user_id};

/// Creates items with `make` until `allowed` exist, then checks the next is refused naming `lift`.
async fn boundary<F, Fut>(what: &str, allowed: usize, lift: Option<&str>, mut make: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = crate::common::Reply>,
{
    for n in 0..allowed {
        let reply = make(n).await;
        assert_eq!(reply.status, 201, "{what} #{} of {allowed}: {:?}", n + 1, reply.body);
    }
    let refused = make(allowed).await;
    refused.assert_error(403, "FORBIDDEN");
    let message = refused.body["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(&format!("allows {allowed} ")), "{what}: {message}");
    match lift {
        Some(tier) => assert!(message.contains(&format!("Upgrade to {tier}")), "{what}: {message}"),
        None => assert!(message.contains("No tier allows more"), "{what}: {message}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_and_channels_stop_at_each_tiers_limit() {
    let app = TestApp::spawn().await;
    // (tier, reminders allowed, the tier that lifts it, channels allowed, the tier that lifts it)
    let table = [("FREE", 3, "PERSONAL", 1, "PERSONAL"), ("PERSONAL", 20, "PRO", 5, "PRO")];
    for (tier, reminders, reminders_lift, channels, channels_lift) in table {
        let token = user(&app, &format!("{}-limits@example.com", tier.to_lowercase())).await;
        let id = user_id(&app, &token).await;
        set_tier(&app, &id, tier).await;
        boundary(&format!("{tier} reminders"), reminders, Some(reminders_lift), |n| {
            app.post("/v1/reminders", once_body(&format!("R{n}")), Some(&token))
        })
        .await;
        boundary(&format!("{tier} channels"), channels, Some(channels_lift), |n| {
            app.post(
                "/v1/agents/email/subscribe",
                json!({"config": {"address": format!("c{n}@example.com")}}),
                Some(&token),
            )
        })
        .await;
        // Archiving one frees its slot at once.
        let first = app.get("/v1/reminders", Some(&token)).await.data(200)[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(crate::fixtures::delete(&app, &token, &format!("/v1/reminders/{first}")).await.status, 204);
        assert_eq!(app.post("/v1/reminders", once_body("Again"), Some(&token)).await.status, 201);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pro_and_family_have_no_reminder_or_channel_limit() {
    let app = TestApp::spawn().await;
    for tier in ["PRO", "FAMILY"] {
        let token = user(&app, &format!("{}-unlimited@example.com", tier.to_lowercase())).await;
        set_tier(&app, &user_id(&app, &token).await, tier).await;
        // Past PERSONAL's limits (20 reminders, 5 channels).
        for n in 0..21 {
            assert_eq!(app.post("/v1/reminders", once_body(&format!("R{n}")), Some(&token)).await.status, 201);
        }
        for n in 0..6 {
            let body = json!({"config": {"address": format!("c{n}@example.com")}});
            assert_eq!(app.post("/v1/agents/email/subscribe", body, Some(&token)).await.status, 201);
        }
        let summary = app.get("/v1/billing/subscription", Some(&token)).await;
        let usage = &summary.data(200)["usage"];
        assert_eq!(usage["reminders"]["used"], 21);
        assert!(usage["reminders"]["limit"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trusted_contacts_stop_at_each_tiers_limit() {
    let app = TestApp::spawn().await;
    let tiers = TierTable::default();
    // (tier, contacts allowed); declined contacts do not count.
    for (tier, allowed) in [("FREE", 0), ("PERSONAL", 2), ("PRO", 10), ("FAMILY", 20)] {
        let token = user(&app, &format!("{}-contacts@example.com", tier.to_lowercase())).await;
        let id = user_id(&app, &token).await;
        set_tier(&app, &id, tier).await;
        let owner: uuid::Uuid = id.parse().unwrap();
        exec(
            &app,
            &format!(
                "INSERT INTO trusted_contacts (user_id, name, email, consent_status) \
                 VALUES ('{id}', 'Declined', 'no@example.com', 'declined')"
            ),
        )
        .await;
        for n in 0..=allowed {
            let mut conn = app.db.connect().await;
            let checked = limits::check(&mut conn, &tiers, owner.into(), Limit::TrustedContacts).await;
            if n < allowed {
                assert!(checked.is_ok(), "{tier}: contact {} of {allowed} refused", n + 1);
                exec(&app, &format!("INSERT INTO trusted_contacts (user_id, name, email) VALUES ('{id}', 'C{n}', 'c{n}@example.com')")).await;
            } else {
                let message = checked.expect_err("over the limit").to_string();
                assert!(message.contains(&format!("{tier} tier allows {allowed} trusted contacts")), "{message}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_limits_replace_the_defaults() {
    let app = TestApp::spawn_with(&[("TIER_LIMITS", r#"{"FREE": {"reminders": 1, "apiRequestsPerHour": 500}}"#)]).await;
    let token = user(&app, "configured@example.com").await;
    assert_eq!(app.post("/v1/reminders", once_body("Only"), Some(&token)).await.status, 201);
    app.post("/v1/reminders", once_body("Second"), Some(&token)).await.assert_error(403, "FORBIDDEN");
    let me = app.get("/v1/billing/subscription", Some(&token)).await;
    assert_eq!(me.headers["x-ratelimit-limit"], "500", "the per-tier API limit comes from the table");
    assert_eq!(me.data(200)["limits"]["reminders"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subscription_view_shows_the_delivery_controls_and_an_expired_suspension_as_lifted() {
    use escalating_reminders::billing::model::DeliveryState;
    use escalating_reminders::billing::service::set_delivery_status;
    let app = TestApp::spawn().await;
    let token = user(&app, "controls-view@example.com").await;
    let id: reminder_core::ids::UserId = user_id(&app, &token).await.parse().unwrap();
    let view = || async { app.get("/v1/billing/subscription", Some(&token)).await.data(200)["delivery"].clone() };
    assert_eq!(view().await["state"], "ACTIVE");

    let mut conn = app.db.connect().await;
    let until = chrono::Utc::now() + chrono::Duration::days(2);
    set_delivery_status(&mut conn, id, DeliveryState::UsageSuspended, Some("abuse report"), Some(until)).await.unwrap();
    let suspended = view().await;
    assert_eq!(suspended["state"], "USAGE_SUSPENDED");
    assert_eq!(suspended["reason"], "abuse report");
    assert!(suspended["usageSuspendedUntil"].is_string());

    set_delivery_status(&mut conn, id, DeliveryState::DeliveryDisabled, Some("chargeback"), Some(until)).await.unwrap();
    let disabled = view().await;
    assert_eq!(disabled["state"], "DELIVERY_DISABLED");
    assert!(disabled["usageSuspendedUntil"].is_null(), "only a usage suspension has an end");

    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    set_delivery_status(&mut conn, id, DeliveryState::UsageSuspended, Some("over"), Some(past)).await.unwrap();
    assert_eq!(view().await["state"], "ACTIVE", "a suspension past its end has lifted itself");

    let unknown = set_delivery_status(
        &mut conn,
        reminder_core::ids::UserId(uuid::Uuid::new_v4()),
        DeliveryState::Active,
        None,
        None,
    )
    .await;
    assert!(unknown.is_err(), "an unknown user is not found");
}
