//! The agent marketplace through the binary: a developer registers a type, an admin approves it, a user
//! subscribes with a config its schema accepts, and the SDK's example agent (the desk lamp, its own code)
//! receives the signed delivery and acknowledges it with a signed command. Forged, stale and replayed
//! commands change nothing; failures suspend a type within its limits; with the flag off the routes are 404.

#[path = "../../crates/agent-sdk/examples/desk_lamp/lamp.rs"]
mod lamp;

use std::sync::Arc;
use std::time::Duration;

use escalating_reminders_agent::{Client, SignedCommand, Webhook, sign};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::admin::admin;
use crate::common::TestApp;
use crate::engine::eventually;
use crate::fixtures::{create, fields, scalar, soon, user};

const ON: [(&str, &str); 1] = [("FEATURE_MARKETPLACE", "true")];

fn manifest(agent_type: &str, callback: &str) -> Value {
    json!({
        "agentType": agent_type,
        "name": "Desk lamp",
        "description": "Lights up when a reminder is due; its button acknowledges it.",
        "capabilities": ["receive", "commands"],
        "configSchema": {"type": "object", "required": ["room"], "additionalProperties": false,
                         "properties": {"room": {"type": "string", "maxLength": 2000}}},
        "callbackUrl": callback,
    })
}

/// Registers `manifest` as a new developer; returns (the type's id, its secret).
async fn register(app: &TestApp, manifest: Value) -> (String, String) {
    let developer = user(app, &format!("dev-{}@example.com", uuid::Uuid::new_v4().simple())).await;
    let created = app.post("/v1/marketplace/agents", manifest, Some(&developer)).await;
    let data = created.data(201);
    assert_eq!(data["status"], "pending");
    (data["id"].as_str().unwrap().to_owned(), data["signingSecret"].as_str().unwrap().to_owned())
}

async fn approve(app: &TestApp, id: &str) {
    let reviewer = admin(app, &format!("admin-{}@example.com", uuid::Uuid::new_v4().simple()), "SUPER_ADMIN").await;
    let path = format!("/v1/admin/marketplace/agents/{id}/review");
    app.post(&path, json!({"decision": "approve"}), Some(&reviewer.token)).await.data(200);
}

/// A subscriber of `agent_type` with `config`; returns (token, subscription id).
async fn subscriber(app: &TestApp, email: &str, agent_type: &str, config: Value) -> (String, String) {
    let token = user(app, email).await;
    let created =
        app.post(&format!("/v1/agents/{agent_type}/subscribe"), json!({"config": config}), Some(&token)).await;
    (token, created.data(201)["id"].as_str().unwrap().to_owned())
}

/// The desk lamp from the SDK's example, serving on `listener` with `secret`.
fn start_lamp(listener: std::net::TcpListener, app: &TestApp, agent_type: &str, secret: &str) -> Arc<lamp::Lamp> {
    let client = Client::new(&app.url(""), agent_type, secret).unwrap();
    let lamp = lamp::Lamp::new(Webhook::new(secret), client);
    let served = lamp.clone();
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(lamp::routes(served.clone())))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    lamp
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_agent_receives_a_signed_delivery_and_its_button_stops_the_escalation() {
    let app = TestApp::spawn_roles("all", &ON).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let callback = format!("http://{}/deliveries", listener.local_addr().unwrap());
    let (agent_id, secret) = register(&app, manifest("x-desk-lamp", &callback)).await;
    let lamp = start_lamp(listener, &app, "x-desk-lamp", &secret);

    let early = user(&app, "early@example.com").await;
    let refused = app.post("/v1/agents/x-desk-lamp/subscribe", json!({"config": {"room": "hall"}}), Some(&early)).await;
    refused.assert_error(404, "NOT_FOUND");
    approve(&app, &agent_id).await;
    let catalogue = app.get("/v1/agents", Some(&early)).await;
    assert!(catalogue.data(200).as_array().unwrap().iter().any(|a| a["agentType"] == "x-desk-lamp"));
    let bad = app.post("/v1/agents/x-desk-lamp/subscribe", json!({"config": {"room": 5}}), Some(&early)).await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(fields(&bad), ["config.room"]);

    let (token, subscription) = subscriber(&app, "ada@example.com", "x-desk-lamp", json!({"room": "study"})).await;
    let profile = app
        .post(
            "/v1/escalation-profiles",
            json!({"name": "Lamp", "tiers": [
                {"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [subscription]},
                {"tierNumber": 2, "delayMinutes": 30, "channelTypes": ["email"]}]}),
            Some(&token),
        )
        .await;
    let profile = profile.data(201)["id"].as_str().unwrap().to_owned();
    let body = json!({"title": "Evening pills", "escalationProfileId": profile,
                      "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let reminder = create(&app, &token, body).await["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(15), "the lamp lit", || async { lamp.showing().is_some() }).await;
    assert_eq!(lamp.showing().as_deref(), Some("Evening pills"));

    assert_eq!(lamp.press().await.unwrap().as_deref(), Some("active"), "acknowledged: still due, not escalating");
    let episodes = app.get(&format!("/v1/reminders/{reminder}/escalations"), Some(&token)).await;
    let episode = episodes.data(200).as_array().unwrap()[0].clone();
    assert_eq!(episode["status"], "acknowledged", "{episode}");
    assert_eq!(episode["actedBy"], format!("agent:{agent_id}"));
    let pending = scalar(&app, "SELECT count(*)::text AS value FROM deliveries WHERE status = 'pending'").await;
    assert_eq!(pending, "0", "nothing more is owed");

    // A replay of a command gets the first answer and changes nothing; forged, stale and unknown ones are refused.
    let client = Client::new(&app.url(""), "x-desk-lamp", &secret).unwrap();
    let delivery: uuid::Uuid =
        scalar(&app, "SELECT id::text AS value FROM deliveries WHERE channel = 'agent'").await.parse().unwrap();
    let complete = client.sign(delivery, &escalating_reminders_agent::Command::Complete).unwrap();
    let first = client.send_signed(&complete).await.expect("completed");
    assert_eq!((first.command.as_str(), first.status.as_str()), ("complete", "completed"));
    let again = client.send_signed(&complete).await.expect("the first answer again");
    assert_eq!((again.reminder_id, again.status.as_str()), (first.reminder_id, "completed"));
    let completions = "SELECT count(*)::text AS value FROM event_logs WHERE kind = 'reminder.completed'";
    assert_eq!(scalar(&app, completions).await, "1", "the replay changed nothing");
    let forged = SignedCommand {
        signature: sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &complete.id, complete.timestamp, &complete.body)
            .unwrap(),
        id: format!("{}-forged", complete.id),
        ..complete.clone()
    };
    let refused = client.send_signed(&forged).await;
    assert!(matches!(refused, Err(escalating_reminders_agent::Error::Refused { status: 401, .. })), "{refused:?}");
    let old = chrono::Utc::now().timestamp() - 600;
    let stale = SignedCommand {
        id: "stale".to_owned(),
        timestamp: old,
        signature: sign(&secret, "stale", old, &complete.body).unwrap(),
        ..complete.clone()
    };
    let refused = client.send_signed(&stale).await;
    assert!(matches!(refused, Err(escalating_reminders_agent::Error::Refused { status: 401, .. })), "{refused:?}");
    let stranger = Client::new(&app.url(""), "x-nobody", &secret).unwrap();
    let refused = stranger.send(delivery, escalating_reminders_agent::Command::Acknowledge).await;
    assert!(matches!(refused, Err(escalating_reminders_agent::Error::Refused { status: 404, .. })), "{refused:?}");
    assert_eq!(scalar(&app, completions).await, "1", "unchanged by any of them");
    let events =
        "SELECT string_agg(DISTINCT data->>'actor', ',') AS value FROM event_logs WHERE kind LIKE 'reminder.%ed'";
    assert!(scalar(&app, events).await.contains(&format!("agent:{agent_id}")), "the agent is the actor in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_suspend_a_type_within_its_limits_and_its_developer_sees_why() {
    let failing = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&failing).await;
    let outbox = std::env::temp_dir().join(format!("er-market-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(&[ON[0], ("EMAIL_OUTBOX_DIR", dir.as_str())]).await;
    let mut hosts = manifest("x-flaky", &format!("{}/in", failing.uri()));
    hosts["allowedHosts"] = json!(["hooks.example.com"]);
    let developer = user(&app, "dev@example.com").await;
    let refused = app.post("/v1/marketplace/agents", hosts, Some(&developer)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(fields(&refused), ["callbackUrl"], "the callback is not on the type's own host list");
    let mut tight = manifest("x-flaky", &format!("{}/in", failing.uri()));
    tight["limits"] = json!({"maxPayloadBytes": 1024, "requestsPerMinute": 11});
    let created = app.post("/v1/marketplace/agents", tight, Some(&developer)).await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    let taken =
        app.post("/v1/marketplace/agents", manifest("x-flaky", "https://example.com/in"), Some(&developer)).await;
    taken.assert_error(409, "CONFLICT");
    approve(&app, &id).await;

    let (token, big) = subscriber(&app, "big@example.com", "x-flaky", json!({"room": "x".repeat(1100)})).await;
    let test = |subscription: String, token: String| {
        let app = &app;
        async move {
            let path = format!("/v1/agents/subscriptions/{subscription}/test");
            app.post(&path, json!({}), Some(&token)).await.data(200).clone()
        }
    };
    let result = test(big.clone(), token.clone()).await;
    assert_eq!(result["outcome"], "failed");
    assert!(result["error"].as_str().unwrap().contains("over the type's 1024 byte limit"), "{result}");
    assert!(failing.received_requests().await.unwrap().is_empty(), "nothing over the limit was sent");

    let (token, small) = subscriber(&app, "small@example.com", "x-flaky", json!({"room": "hall"})).await;
    for _ in 0..9 {
        assert_eq!(test(small.clone(), token.clone()).await["outcome"], "retry");
    }
    let view = app.get(&format!("/v1/marketplace/agents/{id}"), Some(&developer)).await;
    assert_eq!(view.data(200)["status"], "suspended", "ten failures in a row: {}", view.text);
    assert!(view.data(200)["statusReason"].as_str().unwrap().contains("answered 500"), "{}", view.text);
    let after = test(small.clone(), token.clone()).await;
    assert!(after["error"].as_str().unwrap().contains("suspended"), "{after}");
    eventually(Duration::from_secs(10), "the developer told", || async {
        crate::contacts::mails_to(&outbox, "dev@example.com")
            .iter()
            .any(|m| m.contains("Your agent type x-flaky was suspended"))
    })
    .await;
    let catalogue = app.get("/v1/agents", Some(&token)).await;
    assert!(catalogue.data(200).as_array().unwrap().iter().all(|a| a["agentType"] != "x-flaky"));
    assert_eq!(failing.received_requests().await.unwrap().len(), 9);
    let other = user(&app, "nosy@example.com").await;
    app.get(&format!("/v1/marketplace/agents/{id}"), Some(&other)).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_type_over_its_requests_per_minute_waits() {
    let sink = crate::engine::accepting_sink().await;
    let app = TestApp::spawn_with(&ON).await;
    let mut slow = manifest("x-slow", &format!("{}/in", sink.uri()));
    slow["limits"] = json!({"requestsPerMinute": 1});
    let (id, _) = register(&app, slow).await;
    approve(&app, &id).await;
    let (token, subscription) = subscriber(&app, "slow@example.com", "x-slow", json!({"room": "hall"})).await;
    let path = format!("/v1/agents/subscriptions/{subscription}/test");
    assert_eq!(app.post(&path, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    let second = app.post(&path, json!({}), Some(&token)).await;
    assert_eq!(second.data(200)["outcome"], "retry", "{}", second.text);
    assert_eq!(sink.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_flag_off_the_marketplace_is_404_and_built_in_channels_work() {
    let app = TestApp::spawn().await;
    let token = user(&app, "plain@example.com").await;
    let reviewer = admin(&app, "boss@example.com", "SUPER_ADMIN").await;
    app.post("/v1/marketplace/agents", manifest("x-any", "https://example.com/in"), Some(&token))
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/v1/marketplace/agents", Some(&token)).await.assert_error(404, "NOT_FOUND");
    app.get("/v1/admin/marketplace/agents", Some(&reviewer.token)).await.assert_error(404, "NOT_FOUND");
    let command = app.post("/v1/webhooks/agent/x-any", json!({"type": "acknowledge"}), None).await;
    command.assert_error(404, "NOT_FOUND");
    app.post("/v1/agents/x-any/commands", json!({}), None).await.assert_error(404, "NOT_FOUND");
    let kinds: Vec<String> = app
        .get("/v1/agents", Some(&token))
        .await
        .data(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agentType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["email", "pull", "push", "sms", "webhook"]);
    let pull = app.post("/v1/agents/pull/subscribe", json!({"config": {}}), Some(&token)).await;
    assert_eq!(pull.data(201)["agentType"], "pull");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_lists_approved_types_and_subscribes_with_a_config_its_schema_accepts() {
    let sink = crate::engine::accepting_sink().await;
    let app = TestApp::spawn_with(&ON).await;
    let (id, _) = register(&app, manifest("x-lamp", &format!("{}/in", sink.uri()))).await;
    let mut ada = crate::console::Visitor::new(&app);
    let csrf = ada.sign_up("lamp-owner@example.com", "UTC").await;
    assert!(!ada.get("/channels").await.text.contains("x-lamp"), "not before it is approved");
    approve(&app, &id).await;
    let page = ada.get("/channels").await;
    assert!(page.text.contains("Add Desk lamp") && page.text.contains("(needs room)"), "{}", page.text);

    let form = |config: &'static str| [("kind", "agent"), ("agent_type", "x-lamp"), ("config", config)];
    let [kind, agent_type, config] = form("{\"room\": 7}");
    let bad = ada.post("/channels", &[("csrf", &csrf), kind, agent_type, config]).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("id=\"agent_form-error\""), "{}", bad.text);
    let [kind, agent_type, config] = form("{\"room\": \"study\"}");
    let added = ada.post("/channels", &[("csrf", &csrf), kind, agent_type, config]).await;
    assert_eq!(added.status, 303, "{}", added.text);
    let channel = ada.get(&crate::console::location(&added)).await;
    assert!(channel.text.contains("Marketplace agent"), "{}", channel.text);
    assert_eq!(scalar(&app, "SELECT config->>'room' AS value FROM user_agent_subscriptions").await, "study");
}

/// The config body the agent received in its `n`-th request.
async fn sent_config(sink: &MockServer, n: usize) -> Value {
    let requests = sink.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[n].body).unwrap();
    body["data"]["config"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_only_setting_is_sealed_never_shown_and_still_reaches_the_agent() {
    let sink = crate::engine::accepting_sink().await;
    let app = TestApp::spawn_with(&ON).await;
    let mut sealed = manifest("x-hub", &format!("{}/in", sink.uri()));
    sealed["configSchema"] = json!({"type": "object", "required": ["room", "apiToken"], "additionalProperties": false,
        "properties": {"room": {"type": "string"}, "apiToken": {"type": "string", "writeOnly": true, "minLength": 8}}});
    let developer = user(&app, "hub-maker@example.com").await;
    let created = app.post("/v1/marketplace/agents", sealed.clone(), Some(&developer)).await;
    let id = created.data(201)["id"].as_str().unwrap().to_owned();
    approve(&app, &id).await;
    let token = user(&app, "hub@example.com").await;
    let subscribe = |config: Value| app.post("/v1/agents/x-hub/subscribe", json!({"config": config}), Some(&token));
    let short = subscribe(json!({"room": "hall", "apiToken": "sekrit"})).await;
    short.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(fields(&short), ["config.apiToken"], "a write-only setting is checked like any other");
    assert!(!short.text.contains("sekrit"), "nor echoed in the error: {}", short.text);

    let created = subscribe(json!({"room": "hall", "apiToken": "tok-first-1"})).await;
    assert_eq!(created.data(201)["config"], json!({"room": "hall"}), "never shown, not even at creation");
    let subscription = created.data(201)["id"].as_str().unwrap().to_owned();
    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    assert!(listed.status == 200 && !listed.text.contains("tok-first-1"), "{}", listed.text);
    let stored = "SELECT config::text || ' ' || (secret_ciphertext IS NOT NULL)::text AS value \
                  FROM user_agent_subscriptions WHERE agent_type = 'x-hub'";
    assert_eq!(scalar(&app, stored).await, r#"{"room": "hall"} true"#, "sealed apart from the stored config");

    let test = format!("/v1/agents/subscriptions/{subscription}/test");
    assert_eq!(app.post(&test, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    assert_eq!(sent_config(&sink, 0).await, json!({"room": "hall", "apiToken": "tok-first-1"}));

    // A change that does not give it again keeps it; one that does replaces it.
    let path = format!("/v1/agents/subscriptions/{subscription}");
    let moved = app.call(reqwest::Method::PATCH, &path, Some(json!({"config": {"room": "study"}})), Some(&token)).await;
    assert_eq!(moved.data(200)["config"], json!({"room": "study"}), "{}", moved.text);
    assert_eq!(app.post(&test, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    assert_eq!(sent_config(&sink, 1).await, json!({"room": "study", "apiToken": "tok-first-1"}));
    let renewed = json!({"config": {"room": "study", "apiToken": "tok-second-2"}});
    let renewed = app.call(reqwest::Method::PATCH, &path, Some(renewed), Some(&token)).await;
    assert!(renewed.status == 200 && !renewed.text.contains("tok-second-2"), "{}", renewed.text);
    assert_eq!(app.post(&test, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    assert_eq!(sent_config(&sink, 2).await["apiToken"], "tok-second-2");

    // The developer marks `room` write-only too: the subscriber's room is sealed at once, and still sent.
    sealed["configSchema"]["properties"]["room"]["writeOnly"] = json!(true);
    let changed = json!({"configSchema": sealed["configSchema"]});
    let path_type = format!("/v1/marketplace/agents/{id}");
    app.call(reqwest::Method::PATCH, &path_type, Some(changed), Some(&developer)).await.data(200);
    assert_eq!(scalar(&app, stored).await, "{} true", "the room left the stored config");
    // A subscriber's change that read the old schema lands after that reseal (written here directly): the
    // approval that must come before anything is sent seals it too.
    let racing =
        format!("UPDATE user_agent_subscriptions SET config = '{{\"room\": \"porch\"}}' WHERE id = '{subscription}'");
    crate::fixtures::exec(&app, &racing).await;
    approve(&app, &id).await;
    assert_eq!(scalar(&app, stored).await, "{} true", "sealed again at the approval");
    assert_eq!(app.post(&test, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    assert_eq!(sent_config(&sink, 3).await, json!({"room": "porch", "apiToken": "tok-second-2"}));

    // Sealed under another ENCRYPTION_KEY (here: spoiled), they cannot be kept: a change asks for them again.
    let spoil = format!(
        "UPDATE user_agent_subscriptions SET secret_ciphertext = '\\x00112233445566778899aabbccdd' WHERE id = '{subscription}'"
    );
    crate::fixtures::exec(&app, &spoil).await;
    let refused = app.call(reqwest::Method::PATCH, &path, Some(json!({"config": {}})), Some(&token)).await;
    refused.assert_error(400, "VALIDATION_ERROR");
    let given = json!({"config": {"room": "attic", "apiToken": "tok-third-3"}});
    app.call(reqwest::Method::PATCH, &path, Some(given), Some(&token)).await.data(200);
    assert_eq!(app.post(&test, json!({}), Some(&token)).await.data(200)["outcome"], "sent");
    assert_eq!(sent_config(&sink, 4).await, json!({"room": "attic", "apiToken": "tok-third-3"}));

    // A schema that stops marking a setting write-only does not show what was sealed.
    sealed["configSchema"]["properties"]["room"]["writeOnly"] = json!(false);
    let changed = json!({"configSchema": sealed["configSchema"]});
    app.call(reqwest::Method::PATCH, &path_type, Some(changed), Some(&developer)).await.data(200);
    assert_eq!(scalar(&app, stored).await, "{} true", "nothing sealed is unsealed");
    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    assert!(listed.status == 200 && !listed.text.contains("attic"), "{}", listed.text);
}
