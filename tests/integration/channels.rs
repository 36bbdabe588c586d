//! Channels: the agent catalogue, subscriptions (secrets shown once, encrypted at rest, rotation),
//! test sends, the SSRF guard at subscribe time, the pull inbox through the engine, and tenancy.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, webhook_signed_by};
use crate::engine::accepting_sink;
use crate::fixtures::{scalar, user};

async fn subscribe(app: &TestApp, token: &str, kind: &str, config: Value) -> crate::common::Reply {
    app.post(&format!("/v1/agents/{kind}/subscribe"), json!({ "config": config }), Some(token)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn catalogue_lists_every_channel_with_its_tier_gate() {
    let app = TestApp::spawn().await;
    let token = user(&app, "cat@example.com").await;
    let agents = app.get("/v1/agents", Some(&token)).await;
    let list = agents.data(200).as_array().unwrap().clone();
    let kinds: Vec<&str> = list.iter().map(|a| a["agentType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["email", "pull", "push", "sms", "webhook"]);
    let sms = list.iter().find(|a| a["agentType"] == "sms").unwrap();
    assert_eq!(sms["available"], false, "SMS needs PERSONAL; a new user is FREE");
    assert!(sms["configSchema"]["properties"]["phoneNumber"].is_object());
    let refused = subscribe(&app, &token, "sms", json!({"phoneNumber": "+15551234567"})).await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("PERSONAL"));
    subscribe(&app, &token, "carrier-pigeon", json!({})).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_secrets_are_shown_once_encrypted_at_rest_and_rotate_with_an_overlap() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn().await;
    let token = user(&app, "hook@example.com").await;
    let created = subscribe(&app, &token, "webhook", json!({"url": format!("{}/in", sink.uri())})).await;
    let data = created.data(201).clone();
    let secret = data["signingSecret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = data["id"].as_str().unwrap().to_owned();

    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    assert!(!listed.text.contains(&secret), "the secret is shown once");
    // Dump the whole table as text: the secret is not there in clear.
    let dump = scalar(&app, "SELECT string_agg(t::text, '|') AS value FROM user_agent_subscriptions t").await;
    let raw = secret.trim_start_matches("whsec_");
    assert!(!dump.contains(raw), "plaintext secret in the database");

    let tested = app.post(&format!("/v1/agents/subscriptions/{id}/test"), json!({}), Some(&token)).await;
    assert_eq!(tested.data(200)["outcome"], "sent", "{}", tested.text);
    let first = &sink.received_requests().await.unwrap()[0];
    assert!(webhook_signed_by(&secret, first));
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["type"], "test");

    let rotated = app
        .call(
            Method::PATCH,
            &format!("/v1/agents/subscriptions/{id}"),
            Some(json!({"rotateSecret": true})),
            Some(&token),
        )
        .await;
    let new_secret = rotated.data(200)["signingSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated.body["data"]["previousSecretExpiresAt"].is_string());
    app.post(&format!("/v1/agents/subscriptions/{id}/test"), json!({}), Some(&token)).await;
    let second = &sink.received_requests().await.unwrap()[1];
    assert!(webhook_signed_by(&new_secret, second), "signed with the new secret");
    assert!(webhook_signed_by(&secret, second), "and with the old one during the overlap");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_webhook_urls_are_refused_at_subscribe_time() {
    let app = TestApp::spawn_with(&[("WEBHOOK_ALLOW_PRIVATE", "false")]).await;
    let token = user(&app, "ssrf@example.com").await;
    for url in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://localhost:3801/",
        "http://user:pw@example.com/",
        "gopher://example.com/",
    ] {
        let reply = subscribe(&app, &token, "webhook", json!({ "url": url })).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["details"][0]["field"], "config.url", "{url}");
    }
    let bad = subscribe(&app, &token, "email", json!({"address": "nope", "extra": 1})).await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.body["error"]["details"].as_array().unwrap().len(), 2, "{}", bad.text);
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM user_agent_subscriptions").await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_agent_receives_through_the_engine_and_confirms() {
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = user(&app, "pull@example.com").await;
    let agent = subscribe(&app, &token, "pull", json!({"name": "desk lamp"})).await;
    let agent_id = agent.data(201)["id"].as_str().unwrap().to_owned();
    let key = app.post("/v1/api-keys", json!({"name": "lamp"}), Some(&token)).await;
    let key = key.data(201)["secret"].as_str().unwrap().to_owned();
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Lamp", "tiers": [{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [agent_id]}]}),
            Some(&token),
        )
        .await;
    let profile = profile.data(201)["id"].as_str().unwrap().to_owned();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    app.post(
        "/v1/reminders",
        json!({"title": "Feed the cat", "escalationProfileId": profile, "schedule": {"type": "once", "triggerAt": at}}),
        Some(&token),
    )
    .await
    .data(201);

    let with_key = |method: Method, path: String| {
        app.client.request(method, app.url(&path)).header("x-api-key", key.clone()).send()
    };
    let mut pending = Value::Null;
    for _ in 0..150 {
        let res: Value = with_key(Method::GET, "/v1/notifications/pending".into()).await.unwrap().json().await.unwrap();
        if res["data"].as_array().is_some_and(|a| !a.is_empty()) {
            pending = res["data"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending["payload"]["title"], "Feed the cat", "{pending}");
    let acknowledge = pending["payload"]["actions"]["acknowledge"].as_str().unwrap_or_default();
    assert!(acknowledge.starts_with("http://127.0.0.1:3801/a/"), "the inbox carries the action links: {pending}");
    let id = pending["id"].as_str().unwrap().to_owned();
    let confirmed = with_key(Method::POST, format!("/v1/notifications/{id}/delivered")).await.unwrap();
    assert_eq!(confirmed.status(), 204);
    let again: Value = with_key(Method::GET, "/v1/notifications/pending".into()).await.unwrap().json().await.unwrap();
    assert_eq!(again["data"].as_array().unwrap().len(), 0);
    let log = app.get("/v1/notifications?status=delivered", Some(&token)).await;
    assert_eq!(log.data(200).as_array().unwrap().len(), 1);
    assert_eq!(log.body["meta"]["pagination"]["totalItems"], 1);
    app.get("/v1/notifications?status=lost", Some(&token)).await.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread")]
async fn tenancy_another_users_subscriptions_and_notifications_are_not_found() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "owner-ch@example.com").await;
    let intruder = user(&app, "intruder-ch@example.com").await;
    let sub = subscribe(&app, &owner, "email", json!({"address": "owner@example.com"})).await;
    let sub_id = sub.data(201)["id"].as_str().unwrap().to_owned();
    let table = [
        (Method::PATCH, format!("/v1/agents/subscriptions/{sub_id}"), Some(json!({"enabled": false}))),
        (Method::DELETE, format!("/v1/agents/subscriptions/{sub_id}"), None),
        (Method::POST, format!("/v1/agents/subscriptions/{sub_id}/test"), Some(json!({}))),
        (Method::POST, format!("/v1/notifications/{sub_id}/delivered"), Some(json!({}))),
    ];
    for (method, path, body) in table {
        app.call(method, &path, body, Some(&intruder)).await.assert_error(404, "NOT_FOUND");
    }
    // Provider webhooks belong to no user: a bearer token, even the owner's, is no Twilio signature.
    for path in ["/v1/webhooks/twilio/sms".to_owned(), format!("/v1/webhooks/twilio/status?delivery={sub_id}")] {
        for token in [&intruder, &owner] {
            let reply = app.client.post(app.url(&path)).bearer_auth(token).form(&[("From", "+15551234567")]);
            crate::common::Reply::from(reply.send().await.unwrap()).await.assert_error(403, "FORBIDDEN");
        }
    }
    let listed = app.get("/v1/agents/subscriptions", Some(&owner)).await;
    assert_eq!(listed.data(200)[0]["enabled"], true, "nothing changed");
    assert_eq!(app.get("/v1/agents/subscriptions", Some(&intruder)).await.data(200).as_array().unwrap().len(), 0);
}
