//! The test harness: databases from a migrated template, an in-process app on a random port, and helpers
//! that start the real binary as child processes.

mod binary;
pub mod database;
pub mod dovecot;
pub mod pgbouncer;
pub mod postgres;
pub mod radicale;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use binary::{BinaryProcess, free_port};
pub use database::TestDb;
use escalating_reminders::cli::{Roles, parse_roles};
use escalating_reminders::config::Config;
use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Redis for tests (`TEST_REDIS_URL`, default local).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The environment every test app starts from: its own database and Redis prefix, fixed secrets.
pub fn base_env(db: &TestDb) -> HashMap<String, String> {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    [
        ("APP_ENV", "development".to_owned()),
        ("DATABASE_URL", db.url()),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", prefix),
        ("JWT_SECRET", "test-jwt-secret-that-is-long-enough-0123456789".to_owned()),
        ("JWT_REFRESH_SECRET", "test-refresh-secret-that-is-long-enough-012345".to_owned()),
        ("ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()),
        // Fixed, so every process of a test signs for the same browser subscriptions.
        ("VAPID_PRIVATE_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("SCHEDULER_TICK_MS", "100".to_owned()),
        ("API_URL", "http://127.0.0.1:3801".to_owned()),
        ("EMAIL_OUTBOX_DIR", std::env::temp_dir().join("er-test-outbox").to_string_lossy().into_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The app served in-process on `127.0.0.1:0`, with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: escalating_reminders::state::AppState,
    pub db: TestDb,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    _server: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// Starts the api role with the default test environment.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts the api role with `overrides` applied to the environment ("" unsets a variable).
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        Self::spawn_roles("api", overrides).await
    }

    /// Starts the given roles in-process.
    pub async fn spawn_roles(roles: &str, overrides: &[(&str, &str)]) -> TestApp {
        Self::spawn_on(TestDb::create().await, roles, overrides).await
    }

    /// Starts the given roles in-process on `db` (for overrides that name it).
    pub async fn spawn_on(db: TestDb, roles: &str, overrides: &[(&str, &str)]) -> TestApp {
        escalating_reminders::install_crypto_provider();
        if std::env::var("TEST_LOG").is_ok() {
            // Opt-in logs of in-process apps when chasing a failure: TEST_LOG=1 cargo test … -- --nocapture
            let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
        }
        let mut env = base_env(&db);
        for (key, value) in overrides {
            env.insert((*key).to_owned(), (*value).to_owned());
        }
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test configuration is valid");
        let roles: Roles = parse_roles(roles).expect("roles parse");
        let state = escalating_reminders::roles::build_state(Arc::new(config), roles).expect("state builds");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(escalating_reminders::roles::run(state.clone(), Some(listener), shutdown.clone()));
        let app = TestApp {
            addr,
            state,
            db,
            // Idle connections are dropped before the server's keep-alive (actix's 5 s) closes them: reusing one
            // the server is closing at that moment fails the request ("request sent"), which a loaded machine
            // made happen now and then.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(std::time::Duration::from_secs(3))
                .build()
                .expect("client"),
            shutdown,
            _server: server,
        };
        app.wait_until_serving().await;
        app
    }

    async fn wait_until_serving(&self) {
        for _ in 0..200 {
            if let Ok(res) = self.client.get(self.url("/health/ready")).send().await
                && res.status().is_success()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("test app did not become ready");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request with an optional JSON body and bearer token; returns status, headers and JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, None, token).await
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.call(Method::POST, path, Some(body), token).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A response as a test reads it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn from(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts the API error envelope with `status` and `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert!(
            self.content_type().starts_with("application/json"),
            "not JSON: {:?} {}",
            self.content_type(),
            self.text
        );
        assert_eq!(self.body["success"], false, "{}", self.text);
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
        assert!(self.body["meta"]["requestId"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
    }

    /// The `data` of a success envelope after asserting `status`.
    pub fn data(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.body["success"], true, "{}", self.text);
        &self.body["data"]
    }
}

/// Verifies a Standard Webhooks signature independently of the code under test: true when any `v1,`
/// signature in the header is the HMAC-SHA256 of `id.timestamp.body` under `secret`.
pub fn webhook_signed_by(secret: &str, request: &wiremock::Request) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let engine = base64::engine::general_purpose::STANDARD;
    let Ok(key) = engine.decode(secret.trim_start_matches("whsec_")) else { return false };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else { return false };
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(&request.body);
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    header("webhook-signature").split(' ').any(|candidate| candidate == expected)
}
