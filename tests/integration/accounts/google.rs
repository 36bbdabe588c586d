//! Sign in with Google against a fake OpenID provider of the test's own (wiremock): its discovery document,
//! its published key, and a token endpoint that checks the PKCE verifier and the client's credentials and
//! hands out the ID token the test chose for that code. Tokens we must not accept (another key, another
//! audience, another flow's nonce, expired, another issuer) are refused and create nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{PASSWORD, access, register, user_count};
use crate::common::{Reply, TestApp};
use crate::console::Visitor;

const CLIENT_ID: &str = "er-test.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "fake-provider-client-secret";
const PROVIDER_KEY: &[u8] = include_bytes!("../../fixtures/oidc/provider_key.der");
const OTHER_KEY: &[u8] = include_bytes!("../../fixtures/oidc/other_key.der");
const KID: &str = "provider-key-1";

/// What the provider will answer for one code.
struct Grant {
    id_token: String,
    code_challenge: String,
}

type Grants = Arc<Mutex<HashMap<String, Grant>>>;

/// The token endpoint: a code works once, with the verifier of its challenge and the client's credentials.
struct TokenEndpoint(Grants);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        let invalid = |why: &str| {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": why}))
        };
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value == format!("Basic {basic}"));
        if !authorized {
            return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}));
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return invalid("grant_type");
        }
        let Some(grant) = form.get("code").and_then(|code| self.0.lock().expect("grants").remove(code)) else {
            return invalid("unknown or used code");
        };
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if challenge != grant.code_challenge {
            return invalid("PKCE verifier does not match the challenge");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "provider-access-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": grant.id_token,
        }))
    }
}

/// The public half of `key` as the provider publishes it, named `kid`.
fn jwk(key: &[u8], kid: &str) -> Value {
    let key = EncodingKey::from_rsa_der(key);
    let mut jwk = serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk"))
        .expect("jwk json");
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk
}

struct FakeGoogle {
    server: MockServer,
    /// The issuer's path on `server`, and the issuer.
    prefix: String,
    issuer: String,
    grants: Grants,
}

impl FakeGoogle {
    async fn start() -> FakeGoogle {
        let server = MockServer::start().await;
        // An issuer of its own, not just a server: the app keeps what it read from an issuer for an hour, and a
        // later test's provider may get an earlier one's port.
        let prefix = format!("/{}", uuid::Uuid::new_v4().simple());
        let issuer = format!("{}{prefix}", server.uri());
        Mock::given(method("GET"))
            .and(path(format!("{prefix}/.well-known/openid-configuration")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{prefix}/jwks")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk(PROVIDER_KEY, KID)]})))
            .mount(&server)
            .await;
        let grants = Grants::default();
        Mock::given(method("POST"))
            .and(path(format!("{prefix}/token")))
            .respond_with(TokenEndpoint(grants.clone()))
            .mount(&server)
            .await;
        FakeGoogle { server, prefix, issuer, grants }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GOOGLE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("GOOGLE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("GOOGLE_ISSUER_URL", self.issuer.clone()),
        ]
    }

    async fn app(&self) -> TestApp {
        let env = self.env();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        TestApp::spawn_with(&pairs).await
    }

    /// Claims of a good ID token for `flow`: this provider, this client, the flow's nonce, valid now.
    fn claims(&self, flow: &Flow, subject: &str, email: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": subject,
            "email": email,
            "email_verified": true,
            "name": "Grace Hopper",
            "nonce": flow.nonce,
            "iat": now,
            "exp": now + 600,
        })
    }

    /// The person consents: the provider answers `code` with `claims` signed by `key`.
    fn grant(&self, flow: &Flow, claims: &Value, key: &[u8]) -> String {
        self.grant_signed(flow, claims, key, KID)
    }

    /// As [`FakeGoogle::grant`], the token's header naming key `kid`.
    fn grant_signed(&self, flow: &Flow, claims: &Value, key: &[u8], kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let token = jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(key)).expect("sign");
        let code = uuid::Uuid::new_v4().simple().to_string();
        self.grants
            .lock()
            .expect("grants")
            .insert(code.clone(), Grant { id_token: token, code_challenge: flow.code_challenge.clone() });
        code
    }
}

/// A begun sign-in as the browser sees it.
struct Flow {
    authorize: url::Url,
    state: String,
    nonce: String,
    code_challenge: String,
    cookie: String,
}

async fn begin(app: &TestApp, next: Option<&str>) -> Flow {
    let path = match next {
        Some(next) => format!("/v1/auth/google?next={}", urlencoding(next)),
        None => "/v1/auth/google".to_owned(),
    };
    let reply = app.get(&path, None).await;
    assert_eq!(reply.status, 302, "{}", reply.text);
    let authorize = url::Url::parse(reply.headers[LOCATION].to_str().expect("location")).expect("authorize URL");
    let params: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    let set_cookie = reply.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).expect("flow cookie").to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    Flow {
        state: params["state"].clone(),
        nonce: params["nonce"].clone(),
        code_challenge: params["code_challenge"].clone(),
        authorize,
        cookie,
    }
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The provider's redirect back, in the browser holding `cookie`, as an API client (no HTML).
async fn callback(app: &TestApp, state: &str, code: &str, cookie: &str) -> Reply {
    let query = format!("state={}&code={}", urlencoding(state), urlencoding(code));
    let request = app.client.get(app.url(&format!("/v1/auth/google/callback?{query}"))).header(COOKIE, cookie);
    Reply::from(request.send().await.expect("callback sent")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_google_account_signs_up_once_and_signs_in_again_by_its_subject() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;

    let flow = begin(&app, None).await;
    let params: HashMap<String, String> = flow.authorize.query_pairs().into_owned().collect();
    assert!(flow.authorize.as_str().starts_with(&format!("{}/authorize?", google.issuer)));
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], "http://127.0.0.1:3801/v1/auth/google/callback");
    assert_eq!(params["code_challenge_method"], "S256");
    let scopes: Vec<&str> = params["scope"].split(' ').collect();
    assert!(scopes.contains(&"openid") && scopes.contains(&"email"), "{scopes:?}");

    let code = google.grant(&flow, &google.claims(&flow, "google-sub-1", "Grace@Example.com"), PROVIDER_KEY);
    let reply = callback(&app, &flow.state, &code, &flow.cookie).await;
    let auth = reply.data(200).clone();
    let forget = reply.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(forget.starts_with("er_oidc=;") && forget.contains("Max-Age=0"), "the flow cookie is cleared: {forget}");
    let me = app.get("/v1/users/me", Some(&access(&auth))).await;
    let me = me.data(200);
    assert_eq!(me["email"], "grace@example.com");
    assert_eq!(me["emailVerified"], true, "Google vouched for the address");
    assert_eq!(me["displayName"], "Grace Hopper");
    assert_eq!(user_count(&app).await, 1);

    // The same callback again (a replayed redirect): the state worked once.
    let code = google.grant(&flow, &google.claims(&flow, "google-sub-1", "grace@example.com"), PROVIDER_KEY);
    callback(&app, &flow.state, &code, &flow.cookie).await.assert_error(401, "UNAUTHORIZED");

    // Later, with another address at Google: the subject decides, not the address.
    let again = begin(&app, None).await;
    let code = google.grant(&again, &google.claims(&again, "google-sub-1", "grace.renamed@example.com"), PROVIDER_KEY);
    let second = callback(&app, &again.state, &code, &again.cookie).await;
    assert_eq!(second.data(200)["user"]["id"], auth["user"]["id"]);
    assert_eq!(user_count(&app).await, 1);

    // The new account has no password anyone knows.
    let login = app.post("/v1/auth/login", json!({"email": "grace@example.com", "password": PASSWORD}), None).await;
    login.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_google_address_links_to_the_account_with_that_address() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;
    let registered = register(&app, "ada@example.com").await;

    let flow = begin(&app, None).await;
    let code = google.grant(&flow, &google.claims(&flow, "google-ada", "ADA@example.com"), PROVIDER_KEY);
    let linked = callback(&app, &flow.state, &code, &flow.cookie).await;
    assert_eq!(linked.data(200)["user"]["id"], registered["user"]["id"]);
    assert_eq!(user_count(&app).await, 1);
    // The owner's password and sessions are theirs as before.
    let login = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
    login.data(200);
    app.get("/v1/users/me", Some(&access(&registered))).await.data(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_account_is_taken_back_by_the_address_owner_signing_in_with_google() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;
    // Someone registered the address before its owner, and never confirmed it.
    let squatter = register(&app, "owner@example.com").await;
    let key = app.post("/v1/api-keys", json!({"name": "squatter"}), Some(&access(&squatter))).await;
    let key = key.data(201)["secret"].as_str().expect("api key").to_owned();
    crate::fixtures::exec(&app, "UPDATE users SET email_verified_at = NULL").await;

    let flow = begin(&app, None).await;
    let code = google.grant(&flow, &google.claims(&flow, "google-owner", "owner@example.com"), PROVIDER_KEY);
    let owner = callback(&app, &flow.state, &code, &flow.cookie).await;
    assert_eq!(owner.data(200)["user"]["id"], squatter["user"]["id"]);
    assert_eq!(owner.body["data"]["user"]["emailVerified"], true);

    let login = app.post("/v1/auth/login", json!({"email": "owner@example.com", "password": PASSWORD}), None).await;
    login.assert_error(401, "UNAUTHORIZED");
    let refresh = squatter["tokens"]["refreshToken"].as_str().expect("refresh");
    app.post("/v1/auth/refresh", json!({"refreshToken": refresh}), None).await.assert_error(401, "UNAUTHORIZED");
    let by_key = app.client.get(app.url("/v1/users/me")).header("x-api-key", &key).send().await.expect("sent");
    assert_eq!(by_key.status(), 401, "the squatter's API key ended");
    app.get("/v1/users/me", Some(&access(&owner.body["data"]))).await.data(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_the_provider_did_not_issue_for_this_sign_in_are_refused_and_create_nothing() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;
    let earlier = begin(&app, None).await;

    type Spoil = fn(&mut Value, &Flow);
    let cases: [(&str, Spoil, &[u8], u16); 6] = [
        ("signed by a key the provider does not publish", |_, _| {}, OTHER_KEY, 401),
        (
            "for another client",
            |claims, _| claims["aud"] = json!("someone-else.apps.googleusercontent.com"),
            PROVIDER_KEY,
            401,
        ),
        (
            "with the nonce of an earlier sign-in",
            |claims, earlier| claims["nonce"] = json!(earlier.nonce),
            PROVIDER_KEY,
            401,
        ),
        (
            "expired",
            |claims, _| {
                let past = chrono::Utc::now().timestamp() - 3600;
                claims["iat"] = json!(past - 600);
                claims["exp"] = json!(past);
            },
            PROVIDER_KEY,
            401,
        ),
        ("from another issuer", |claims, _| claims["iss"] = json!("https://accounts.example.net"), PROVIDER_KEY, 401),
        (
            "with an address Google has not verified",
            |claims, _| claims["email_verified"] = json!(false),
            PROVIDER_KEY,
            403,
        ),
    ];
    for (what, spoil, key, status) in cases {
        let flow = begin(&app, None).await;
        let mut claims = google.claims(&flow, "google-mallory", "mallory@example.com");
        spoil(&mut claims, &earlier);
        let code = google.grant(&flow, &claims, key);
        let reply = callback(&app, &flow.state, &code, &flow.cookie).await;
        assert_eq!(reply.status, status, "a token {what}: {}", reply.text);
        assert_eq!(reply.body["success"], false, "a token {what}");
    }
    assert_eq!(user_count(&app).await, 0, "no refused sign-in made an account");

    // A good token, but the callback arrives in a browser that did not begin the sign-in (login CSRF).
    let flow = begin(&app, None).await;
    let code = google.grant(&flow, &google.claims(&flow, "google-mallory", "mallory@example.com"), PROVIDER_KEY);
    callback(&app, &flow.state, &code, "er_oidc=someone-elses").await.assert_error(401, "UNAUTHORIZED");
    let flow = begin(&app, None).await;
    let code = google.grant(&flow, &google.claims(&flow, "google-mallory", "mallory@example.com"), PROVIDER_KEY);
    callback(&app, &flow.state, &code, "").await.assert_error(401, "UNAUTHORIZED");
    // A state never issued, and a provider that answered with an error.
    callback(&app, "made-up-state", "code", &flow.cookie).await.assert_error(401, "UNAUTHORIZED");
    let declined = begin(&app, None).await;
    let url = format!("/v1/auth/google/callback?state={}&error=access_denied", urlencoding(&declined.state));
    let reply = app.client.get(app.url(&url)).header(COOKIE, &declined.cookie).send().await.expect("sent");
    Reply::from(reply).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_from_the_console_opens_a_session_and_returns_to_the_page() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;
    let mut visitor = Visitor::new(&app);

    let login = visitor.get("/login?next=/reminders").await;
    assert!(login.text.contains("/v1/auth/google?next=%2Freminders"), "the sign-in page offers Google: {}", login.text);
    // The button's link, followed by the browser.
    let started = visitor.get("/v1/auth/google?next=%2Freminders").await;
    assert_eq!(started.status, 302, "{}", started.text);
    let authorize = url::Url::parse(started.headers[LOCATION].to_str().expect("location")).expect("url");
    let params: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    let flow = Flow {
        state: params["state"].clone(),
        nonce: params["nonce"].clone(),
        code_challenge: params["code_challenge"].clone(),
        authorize,
        cookie: String::new(),
    };
    let code = google.grant(&flow, &google.claims(&flow, "google-lin", "lin@example.com"), PROVIDER_KEY);
    let back = visitor.get(&format!("/v1/auth/google/callback?state={}&code={code}", urlencoding(&flow.state))).await;
    assert_eq!(back.status, 303, "{}", back.text);
    assert_eq!(back.headers[LOCATION], "/reminders");
    assert!(visitor.jar.contains_key("er_session"), "a console session: {:?}", visitor.set_cookies);
    assert!(!visitor.jar.contains_key("er_oidc"), "the flow cookie is gone");
    let page = visitor.get("/reminders").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Grace Hopper"), "signed in as the new account");

    // A failed sign-in from a page goes back to the sign-in page and says so.
    let mut stranger = Visitor::new(&app);
    let failed = stranger.get(&format!("/v1/auth/google/callback?state={}&code=x", urlencoding("nope"))).await;
    assert_eq!(failed.status, 303, "{}", failed.text);
    assert_eq!(failed.headers[LOCATION], "/login");
    let shown = stranger.get("/login").await;
    assert!(shown.text.contains("Signing in with Google did not work"), "{}", shown.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn google_sign_in_is_off_unless_configured() {
    let app = TestApp::spawn().await;
    app.get("/v1/auth/google", None).await.assert_error(404, "NOT_FOUND");
    app.get("/v1/auth/google/callback?state=a&code=b", None).await.assert_error(404, "NOT_FOUND");
    let page = app.client.get(app.url("/login")).header(ACCEPT, "text/html").send().await.expect("login page");
    let html = page.text().await.expect("html");
    assert!(html.contains("Sign in") && !html.contains("/v1/auth/google"), "no Google button: {html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_is_read_once_and_read_again_when_it_signs_with_a_new_key() {
    let google = FakeGoogle::start().await;
    let app = google.app().await;
    let reads = || async {
        let requests = google.server.received_requests().await.expect("recorded");
        let count = |at: &str| requests.iter().filter(|r| r.url.path() == format!("{}{at}", google.prefix)).count();
        (count("/.well-known/openid-configuration"), count("/jwks"))
    };
    for subject in ["google-once-1", "google-once-2"] {
        let flow = begin(&app, None).await;
        let code = google.grant(&flow, &google.claims(&flow, subject, &format!("{subject}@example.com")), PROVIDER_KEY);
        callback(&app, &flow.state, &code, &flow.cookie).await.data(200);
    }
    assert_eq!(reads().await, (1, 1), "two sign-ins read the discovery document and the keys once");

    // The provider rotates its key: a token signed by the new one is accepted after one more read.
    Mock::given(method("GET"))
        .and(path(format!("{}/jwks", google.prefix)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk(OTHER_KEY, "provider-key-2")]})))
        .with_priority(1)
        .mount(&google.server)
        .await;
    let flow = begin(&app, None).await;
    let claims = google.claims(&flow, "google-rotated", "rotated@example.com");
    let code = google.grant_signed(&flow, &claims, OTHER_KEY, "provider-key-2");
    let reply = callback(&app, &flow.state, &code, &flow.cookie).await;
    assert_eq!(reply.data(200)["user"]["email"], "rotated@example.com", "{}", reply.text);
    assert_eq!(reads().await, (2, 2));
    // A key it never published is still refused, after reading the keys again.
    let flow = begin(&app, None).await;
    let claims = google.claims(&flow, "google-forged", "forged@example.com");
    let code = google.grant_signed(&flow, &claims, PROVIDER_KEY, "never-published");
    callback(&app, &flow.state, &code, &flow.cookie).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(user_count(&app).await, 3, "the forged token made no account");
}
