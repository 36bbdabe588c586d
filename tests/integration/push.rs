//! Browser push through the binary: a local push service (wiremock) that checks each request as a real one
//! would — the VAPID token's ES256 signature against the key in `k=`, its audience and expiry — and a
//! browser's side that decrypts the payload with the subscription's private key (RFC 8291 and RFC 8188,
//! written here from the RFCs, independently of the library the server encrypts with).

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::engine::eventually;
use crate::fixtures::{GENTLE, create, fields, scalar, soon, user};

/// A browser's half of a push subscription: the private key and auth secret the push service never sees.
pub struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
    pub endpoint: String,
}

impl Browser {
    pub fn new(push_service: &MockServer) -> Browser {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let mut auth = [0u8; 16];
        rand::rng().fill_bytes(&mut auth);
        let endpoint = format!("{}/push/{}", push_service.uri(), uuid::Uuid::new_v4().simple());
        Browser { secret, auth, endpoint }
    }

    /// What `PushSubscription.toJSON()` gives.
    pub fn subscription(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": B64.encode(self.secret.public_key().to_encoded_point(false).as_bytes()),
                "auth": B64.encode(self.auth),
            }
        })
    }

    /// Decrypts an `aes128gcm` body (RFC 8291 §3.4, RFC 8188 §2) and reads its JSON.
    pub fn decrypt(&self, body: &[u8]) -> Value {
        let (salt, rest) = body.split_at(16);
        let record_size = u32::from_be_bytes(rest[..4].try_into().unwrap());
        assert!(record_size >= 18 && body.len() <= 4096, "RFC 8291: one record of at most 4096 bytes");
        let id_len = usize::from(rest[4]);
        assert_eq!(id_len, 65, "the key id is the sender's uncompressed public key");
        let sender = p256::PublicKey::from_sec1_bytes(&rest[5..5 + id_len]).expect("a P-256 point");
        let ciphertext = &rest[5 + id_len..];
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(self.secret.public_key().to_encoded_point(false).as_bytes());
        key_info.extend_from_slice(sender.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&key_info, &mut ikm)
            .unwrap();
        let prk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).unwrap();
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce).unwrap();
        let cipher = Aes128Gcm::new(&Key::<Aes128Gcm>::from(cek));
        let mut plain = cipher.decrypt(&Nonce::from(nonce), ciphertext).expect("decrypts with the browser's keys");
        // The last record ends with the delimiter 2, then zero padding.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "a final record's delimiter");
        serde_json::from_slice(&plain).expect("a JSON notification")
    }
}

/// Checks a request's VAPID `Authorization` as a push service does and returns its claims.
pub fn vapid_claims(request: &wiremock::Request, service: &MockServer, app: &TestApp) -> Value {
    let header = request.headers.get("authorization").expect("an Authorization header").to_str().unwrap();
    let rest = header.strip_prefix("vapid ").expect("the vapid scheme (RFC 8292 §3)");
    let (token, key) = rest.split_once(", ").expect("t= and k=");
    let (token, key) = (token.strip_prefix("t=").unwrap(), key.strip_prefix("k=").unwrap());
    let public = app.state.config.vapid.as_ref().expect("push is on").public_key.clone();
    assert_eq!(key, public, "k= is the key the browser subscribed with");
    let point = B64.decode(key).unwrap();
    let decoding =
        jsonwebtoken::DecodingKey::from_ec_components(&B64.encode(&point[1..33]), &B64.encode(&point[33..65])).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    // The push service's own origin, as the browser's endpoint names it (RFC 8292 §2: `aud`).
    let origin = url::Url::parse(&service.uri()).unwrap().origin().ascii_serialization();
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation).expect("a valid ES256 token").claims;
    let lifetime = claims["exp"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((0..=86_400).contains(&lifetime), "RFC 8292: at most 24 hours ahead, got {lifetime} s");
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"), "{claims}");
    claims
}

/// A push service answering `status` to every notification.
pub async fn push_service(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/push/"))
        .respond_with(ResponseTemplate::new(status).insert_header("location", "/message/1"))
        .mount(&server)
        .await;
    server
}

async fn subscribe(app: &TestApp, token: &str, config: Value) -> crate::common::Reply {
    app.post("/v1/agents/push/subscribe", json!({"config": config}), Some(token)).await
}

/// The push requests the service has received so far.
async fn pushes(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

async fn wait_for_pushes(server: &MockServer, n: usize) -> Vec<wiremock::Request> {
    eventually(Duration::from_secs(15), "push requests", || async { pushes(server).await.len() >= n }).await;
    pushes(server).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preset_with_push_reaches_the_browser_and_its_buttons_act() {
    let service = push_service(201).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = user(&app, "push@example.com").await;
    let key = app.get("/v1/agents/push/public-key", Some(&token)).await;
    assert_eq!(key.data(200)["publicKey"].as_str().unwrap().len(), 87, "65 bytes, base64url");
    let browser = Browser::new(&service);
    let created = subscribe(&app, &token, browser.subscription()).await;
    let channel = created.data(201).clone();
    assert_eq!(channel["config"]["service"], "127.0.0.1");
    assert!(!created.text.contains(&browser.endpoint), "the capability URL is not shown back");
    let dump = scalar(&app, "SELECT string_agg(t::text, '|') AS value FROM user_agent_subscriptions t").await;
    assert!(!dump.contains(&browser.endpoint), "the endpoint is sealed at rest");
    assert!(!dump.contains(&B64.encode(browser.auth)), "so is the auth secret");

    let body = json!({"title": "Take the pills", "escalationProfileId": GENTLE, "importance": "high",
                      "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    let reminder = create(&app, &token, body).await["id"].as_str().unwrap().to_owned();
    let request = wait_for_pushes(&service, 1).await.remove(0);
    vapid_claims(&request, &service, &app);
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-encoding").as_deref(), Some("aes128gcm"));
    assert_eq!(header("urgency").as_deref(), Some("high"), "a high-importance reminder");
    assert!(header("ttl").is_some_and(|ttl| ttl.parse::<u32>().unwrap() > 0));
    assert_eq!(header("topic"), Some(reminder.replace('-', "")), "a later tier replaces a queued one");

    let note = browser.decrypt(&request.body);
    assert_eq!(note["title"], "Reminder: Take the pills");
    assert_eq!(note["tier"], 1);
    assert_eq!(note["tag"], reminder.as_str());
    assert!(note["url"].as_str().unwrap().ends_with(&format!("/reminders/{reminder}")));
    let actions = note["actions"].as_array().unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["acknowledge", "snooze-30m", "complete"]);

    // The service worker POSTs a button's link; the snooze button snoozes for 30 minutes.
    let snooze = actions[1]["url"].as_str().unwrap();
    let path = url::Url::parse(snooze).unwrap().path().to_owned();
    let acted = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(acted.status(), 200);
    let view = app.get(&format!("/v1/reminders/{reminder}"), Some(&token)).await;
    let until = view.data(200)["snoozedUntil"].as_str().map(str::to_owned).unwrap_or_else(|| view.text.clone());
    let until = chrono::DateTime::parse_from_rfc3339(&until).unwrap_or_else(|_| panic!("snoozed: {}", view.text));
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((28..=30).contains(&minutes), "snoozed for 30 minutes, got {minutes}");
    let again = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), 409, "a link acts once");
    assert_eq!(pushes(&service).await.len(), 1, "nothing more was pushed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_subscription_disables_the_channel_until_the_browser_subscribes_again() {
    let service = push_service(410).await;
    let outbox = std::env::temp_dir().join(format!("er-push-{}", uuid::Uuid::new_v4().simple()));
    let dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_roles("all", &[("EMAIL_OUTBOX_DIR", dir.as_str())]).await;
    let token = user(&app, "gone@example.com").await;
    let browser = Browser::new(&service);
    let id = subscribe(&app, &token, browser.subscription()).await.data(201)["id"].as_str().unwrap().to_owned();
    let body = json!({"title": "Call the pharmacy", "escalationProfileId": GENTLE,
                      "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    create(&app, &token, body).await;
    wait_for_pushes(&service, 1).await;
    eventually(Duration::from_secs(10), "the channel disabled", || async {
        let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
        listed.data(200).as_array().unwrap().iter().any(|c| c["id"] == id.as_str() && c["enabled"] == false)
    })
    .await;
    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    assert_eq!(listed.data(200)[0]["disabledReason"], "the browser withdrew its push subscription");
    eventually(Duration::from_secs(10), "the owner told", || async {
        crate::contacts::mails_to(&outbox, "gone@example.com")
            .iter()
            .any(|m| m.contains("Browser notifications stopped"))
    })
    .await;

    // The same browser subscribing again (new keys) renews that channel: no second slot is taken.
    let renewed = subscribe(
        &app,
        &token,
        Browser { endpoint: browser.endpoint.clone(), ..Browser::new(&service) }.subscription(),
    )
    .await;
    let renewed = renewed.data(201);
    assert_eq!(renewed["id"], id.as_str());
    assert_eq!(renewed["enabled"], true);
    assert_eq!(app.get("/v1/agents/subscriptions", Some(&token)).await.data(200).as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_service_that_is_busy_is_tried_again() {
    let service = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&service)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(201)).with_priority(2).mount(&service).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let token = user(&app, "busy@example.com").await;
    let browser = Browser::new(&service);
    subscribe(&app, &token, browser.subscription()).await.data(201);
    let body = json!({"title": "Stretch", "escalationProfileId": GENTLE,
                      "schedule": {"type": "once", "triggerAt": soon(&app, 2)}});
    create(&app, &token, body).await;
    // The push ladder's first step is 10 s (± 10 %).
    eventually(Duration::from_secs(25), "a second attempt", || async { pushes(&service).await.len() >= 2 }).await;
    let requests = pushes(&service).await;
    assert_eq!(browser.decrypt(&requests[0].body)["title"], browser.decrypt(&requests[1].body)["title"]);
    eventually(Duration::from_secs(5), "the delivery sent", || async {
        scalar(&app, "SELECT string_agg(status || ':' || attempts, ',') AS value FROM deliveries").await == "sent:2"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_subscriptions_are_refused_field_by_field() {
    let service = push_service(201).await;
    let app = TestApp::spawn().await;
    let token = user(&app, "bad@example.com").await;
    let good = Browser::new(&service).subscription();
    let with = |pointer: &str, value: Value| {
        let mut config = good.clone();
        *config.pointer_mut(pointer).unwrap() = value;
        config
    };
    let cases = [
        (with("/keys/p256dh", json!(B64.encode([4u8; 65]))), "config.keys"),
        (with("/keys/auth", json!(B64.encode([1u8; 8]))), "config.keys"),
        (with("/keys/auth", json!(7)), "config.keys.auth"),
        (with("/endpoint", json!("ftp://push.example.com/x")), "config.endpoint"),
        (with("/endpoint", json!(format!("https://push.example.com/{}", "a".repeat(2100)))), "config.endpoint"),
        (with("/expirationTime", json!("soon")), "config.expirationTime"),
        (json!({"endpoint": good["endpoint"]}), "config.keys"),
        (json!({"endpoint": good["endpoint"], "keys": good["keys"], "extra": 1}), "config.extra"),
    ];
    for (config, field) in cases {
        let refused = subscribe(&app, &token, config.clone()).await;
        refused.assert_error(400, "VALIDATION_ERROR");
        assert!(fields(&refused).contains(&field.to_owned()), "{config}: {}", refused.text);
    }
    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    assert_eq!(listed.data(200).as_array().unwrap().len(), 0, "nothing was stored");

    let guarded = TestApp::spawn_with(&[("WEBHOOK_ALLOW_PRIVATE", "false")]).await;
    let token = user(&guarded, "ssrf@example.com").await;
    for endpoint in ["https://127.0.0.1/push/1", "https://169.254.169.254/latest", "http://push.example.com/1"] {
        let refused = subscribe(&guarded, &token, with("/endpoint", json!(endpoint))).await;
        refused.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(fields(&refused), ["config.endpoint"], "{endpoint}: {}", refused.text);
    }
    let other = user(&app, "other@example.com").await;
    let mine = subscribe(&app, &other, good.clone()).await.data(201)["id"].as_str().unwrap().to_owned();
    let token = user(&app, "thief@example.com").await;
    let patched = app
        .call(Method::PATCH, &format!("/v1/agents/subscriptions/{mine}"), Some(json!({"enabled": false})), Some(&token))
        .await;
    patched.assert_error(404, "NOT_FOUND");
}
