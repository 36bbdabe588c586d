//! The SSRF matrix: hostile webhook URLs are refused at subscribe time where the address is visible in the
//! URL, and always at send time, while a canary listening on loopback sees no connection at all.
//!
//! No test may reach the internet, so names are resolved by a fixed table handed to the webhook channel's
//! resolver hook (`WebhookChannel::with_lookup`): the guard then judges the addresses a real resolver would
//! have returned. The redirect case needs a sink that answers, which in a sandbox can only be on loopback, so
//! it runs with the guard's private-address allowance on (`WEBHOOK_ALLOW_PRIVATE=true` semantics) and shows
//! that the redirect itself is never followed. The proxy case runs the real binary as a worker with
//! `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` pointing at the canary.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use escalating_reminders::agents::webhook::WebhookChannel;
use escalating_reminders::agents::{Channel, Channels, Job, Outcome, Recipient, ssrf};
use escalating_reminders::config::Config;
use escalating_reminders::notifications::links::LinkSigner;
use reminder_core::ChannelKind;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{BinaryProcess, TestApp, TestDb, base_env};
use crate::engine::seed::{Seed, count};
use crate::engine::{accepting_sink, eventually};
use crate::fixtures::user;

/// A listener on loopback (IPv4 and, where available, IPv6 on the same port) counting every connection.
struct Canary {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Canary {
        let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let mut listeners = vec![v4];
        listeners.extend(TcpListener::bind(("::1", port)).await.ok());
        for listener in listeners {
            let hits = Arc::clone(&hits);
            tokio::spawn(async move {
                while let Ok((_socket, _)) = listener.accept().await {
                    hits.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        Canary { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Hostile URLs whose address shows in the URL itself: refused at subscribe time and at send time.
fn literal_urls(port: u16) -> Vec<String> {
    [
        "http://127.0.0.1:{p}/",
        "http://2130706433:{p}/",
        "http://0x7f.1:{p}/",
        "http://0177.0.0.1:{p}/",
        "http://127.1:{p}/",
        "http://0:{p}/",
        "http://0.0.0.0:{p}/",
        "http://[::1]:{p}/",
        "http://[::]:{p}/",
        "http://[::ffff:127.0.0.1]:{p}/",
        "http://[64:ff9b::7f00:1]:{p}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1:{p}/",
        "http://172.16.0.1:{p}/",
        "http://192.168.1.1:{p}/",
        "http://100.64.0.1:{p}/",
        "http://224.0.0.1:{p}/",
        "http://[fe80::1]:{p}/",
        "http://[fd00::1]:{p}/",
        "http://localhost:{p}/",
        "http://LOCALHOST.:{p}/",
        // IPv6 forms that embed or tunnel to IPv4, and the rest of the special-purpose registries.
        "http://[::127.0.0.1]:{p}/",
        "http://[64:ff9b:1::7f00:1]:{p}/",
        "http://[2002:7f00:1::]:{p}/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]:{p}/",
        "http://[fec0::1]:{p}/",
        "http://[100::1]:{p}/",
        "http://[2001:db8::1]:{p}/",
        "http://[ff02::1]:{p}/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://192.0.0.170:{p}/",
        "http://198.18.0.1:{p}/",
        "http://240.0.0.1:{p}/",
    ]
    .iter()
    .map(|url| url.replace("{p}", &port.to_string()))
    .collect()
}

/// Names a real resolver would turn into forbidden addresses; only the send-time guard can see those.
const RESOLVED: [(&str, &[&str]); 5] = [
    ("loopback.example.test", &["127.0.0.1"]),
    ("embedded.example.test", &["::127.0.0.1", "64:ff9b:1::7f00:1", "2002:7f00:1::", "fec0::1"]),
    ("metadata.example.test", &["169.254.169.254"]),
    ("mapped.example.test", &["::ffff:127.0.0.1", "::1"]),
    ("internal.example.test", &["10.1.2.3", "192.168.0.10"]),
];

fn test_lookup() -> ssrf::Lookup {
    Arc::new(|host: String| {
        Box::pin(async move {
            RESOLVED
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, ips)| ips.iter().map(|ip| ip.parse::<IpAddr>().unwrap()).collect())
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not in the test table"))
        })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_urls_are_refused_at_subscribe_and_send_time_and_the_canary_sees_nothing() {
    let canary = Canary::start().await;
    let app = TestApp::spawn_roles("api,scheduler", &[("WEBHOOK_ALLOW_PRIVATE", "false")]).await;
    let token = user(&app, "ssrf-matrix@example.com").await;
    let literals = literal_urls(canary.port);
    for url in &literals {
        let reply = app.post("/v1/agents/webhook/subscribe", json!({"config": {"url": url}}), Some(&token)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["error"]["details"][0]["field"], "config.url", "{url}");
    }

    // At send time, the same URLs stored behind the subscribe check, plus the names only a resolver reveals.
    let seed = Seed::new(&app).await;
    let mut hostile = literals.clone();
    hostile.extend(RESOLVED.iter().map(|(name, _)| format!("http://{name}:{}/", canary.port)));
    assert!(hostile.len() >= 20);
    let mut ids = Vec::new();
    for url in &hostile {
        ids.push(seed.webhook(url).await.id);
    }
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &ids)], 0).await;
    let channels = Channels::new(HashMap::from([(
        ChannelKind::Webhook,
        Arc::new(WebhookChannel::with_lookup(test_lookup(), LinkSigner::new(&app.state.config)).unwrap())
            as Arc<dyn Channel>,
    )]));
    let stop = CancellationToken::new();
    let worker =
        tokio::spawn(escalating_reminders::dispatch::worker::run_with(app.state.clone(), channels, stop.clone()));
    let total = hostile.len() as i64;
    eventually(Duration::from_secs(20), "every hostile delivery refused", || async {
        let mut conn = app.db.connect().await;
        count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'failed' AND attempts = 1").await == total
    })
    .await;
    let mut conn = app.db.connect().await;
    let refused = "SELECT count(*) AS n FROM deliveries
                   WHERE last_error LIKE 'webhook URL points at a private%' OR last_error LIKE 'webhook host refused%'";
    assert_eq!(count(&mut conn, refused).await, total, "each refused by the guard, not by chance");
    stop.cancel();
    worker.await.unwrap().unwrap();
    assert_eq!(canary.hits(), 0, "the canary saw a connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_loopback_is_not_followed() {
    let canary = Canary::start().await;
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("http://127.0.0.1:{}/", canary.port)),
        )
        .mount(&sink)
        .await;
    // The sink is on loopback, so only the allowance lets the first request out at all.
    let channel = WebhookChannel::new(true, LinkSigner::new(&Config::from_lookup(|_| None).unwrap())).unwrap();
    let job = Job {
        delivery_id: reminder_core::ids::DeliveryId(uuid::Uuid::new_v4()),
        user_id: reminder_core::ids::UserId(uuid::Uuid::new_v4()),
        attempt: 1,
        channel: ChannelKind::Webhook,
        recipient: Recipient::Webhook {
            subscription_id: uuid::Uuid::new_v4(),
            url: format!("{}/hook", sink.uri()),
            secret: "whsec_c2VjcmV0".to_owned().into(),
            previous_secret: None,
        },
        payload: json!({"type": "test", "title": "t"}),
    };
    let outcome = channel.send(&job).await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert_eq!(sink.received_requests().await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(canary.hits(), 0, "the redirect was followed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_workers_environment_is_not_used() {
    let canary = Canary::start().await;
    let sink = accepting_sink().await;
    let db = TestDb::create().await;
    let seed = Seed::on(&db, escalating_reminders::clock::Clock::default()).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::zero(), &[(0, &[hook.id])], 0).await;
    let proxy = format!("http://127.0.0.1:{}", canary.port);
    let mut env = base_env(&db);
    // Loopback sink: the private allowance is on, which is exactly when a proxy would be the only guard left.
    env.insert("WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned());
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        env.insert(name.to_owned(), proxy.clone());
    }
    let _worker = BinaryProcess::start(&["--role", "scheduler,worker"], &env);
    eventually(Duration::from_secs(30), "the sink receives the webhook directly", || async {
        sink.received_requests().await.unwrap_or_default().len() == 1
    })
    .await;
    assert_eq!(canary.hits(), 0, "the proxy from the environment was used");
}
