//! The backup and restore drill of `docs/operations.md`, run for real: a PostgreSQL 15 cluster of its own with
//! WAL archiving, the binary on it, reminders created through the API, a `pg_basebackup` taken while it runs,
//! more writes, a restore target, writes after it, a crash; then the base backup and the archived WAL
//! restored to the target into a second cluster and the binary started on that, with an empty Redis.
//!
//! What must hold: what was committed before the target is there and what came after is not; every
//! reminder due in the gap fires exactly once; a delivery that was on its way at the target is sent again
//! with the same `webhook-id`. A reminder that fired after the target fires again, and since episode and
//! delivery ids are derived from the reminder, its occurrence and the delivery's step and target, it is the
//! same episode and delivery again, with the same `webhook-id` (as `docs/operations.md` says): a receiver
//! that keeps the ids it has seen drops every repeat. Prints the measured RPO and RTO
//! (`cargo test --test integration restore_drill -- --nocapture`).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::postgres::{OwnPostgres, PostgresDir};
use crate::common::{BinaryProcess, Reply, TestDb, base_env, free_port, webhook_signed_by};
use crate::engine::{eventually, is_tier_delivery};

/// The drill's archive timeout: at most this long before a commit's WAL is in the archive. Production uses
/// 60 s (docs/operations.md); a short one keeps the drill short.
const ARCHIVE_TIMEOUT_SECS: u64 = 5;
/// How long the receiver takes to answer the first request to `/slow`: that send is still on its way at the
/// restore target (and the worker is killed before it is answered). Less than the webhook timeout (10 s).
const SLOW_ANSWER: Duration = Duration::from_secs(8);
/// When the gap's reminders are due, after their creation: after the crash, before or while the restored
/// service starts.
const GAP_DUE_SECS: i64 = 20;

/// The primary's archiving, as in docs/operations.md (there with `archive_timeout = 60s`).
fn archiving(archive: &Path) -> Vec<String> {
    vec![
        "wal_level = replica".to_owned(),
        "archive_mode = on".to_owned(),
        format!("archive_command = 'test ! -f {0}/%f && cp %p {0}/%f'", archive.display()),
        format!("archive_timeout = {ARCHIVE_TIMEOUT_SECS}s"),
    ]
}

/// The restored cluster's recovery settings, as in docs/operations.md.
fn recovery(archive: &Path, target: DateTime<Utc>) -> Vec<String> {
    vec![
        format!("restore_command = 'cp {}/%f %p'", archive.display()),
        format!("recovery_target_time = '{}'", postgres_time(target)),
        "recovery_target_action = 'promote'".to_owned(),
    ]
}

fn postgres_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// The REST API of a running binary, as one signed-in user.
struct Api {
    base: String,
    client: reqwest::Client,
    token: String,
}

impl Api {
    async fn register(port: u16, email: &str) -> Api {
        let mut api =
            Api { base: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new(), token: String::new() };
        let body =
            json!({"email": email, "password": "correct horse battery", "displayName": "Drill", "timezone": "UTC"});
        api.token = api.post("/v1/auth/register", body).await.data(201)["tokens"]["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned();
        api
    }

    /// The same user on another running binary (the restored one): the session was restored with the
    /// database, and the same `JWT_SECRET` accepts its token.
    fn on(&self, port: u16) -> Api {
        Api { base: format!("http://127.0.0.1:{port}"), client: self.client.clone(), token: self.token.clone() }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        let request = self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body);
        Reply::from(request.send().await.expect("request sent")).await
    }

    async fn get(&self, path: &str) -> Reply {
        let request = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// A webhook channel to `url` and a profile whose one tier sends to it at once; (profile id, signing
    /// secret).
    async fn webhook_profile(&self, url: &str) -> (String, String) {
        let channel = self.post("/v1/agents/webhook/subscribe", json!({"config": {"url": url}})).await;
        let channel = channel.data(201).clone();
        let tiers = json!([{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [channel["id"]]}]);
        let profile = self.post("/v1/escalation-profiles", json!({"name": url, "tiers": tiers})).await;
        let id = profile.data(201)["id"].as_str().expect("profile id").to_owned();
        (id, channel["signingSecret"].as_str().expect("signing secret").to_owned())
    }

    /// A one-off reminder due `in_secs` from now (in whole seconds); its id.
    async fn reminder(&self, title: &str, profile: &str, in_secs: i64) -> String {
        let due = (Utc::now() + chrono::Duration::seconds(in_secs)).to_rfc3339_opts(SecondsFormat::Secs, true);
        let body =
            json!({"title": title, "escalationProfileId": profile, "schedule": {"type": "once", "triggerAt": due}});
        self.post("/v1/reminders", body).await.data(201)["id"].as_str().expect("reminder id").to_owned()
    }

    async fn reminders(&self, titles: &[&str], profile: &str, in_secs: i64) -> Vec<String> {
        let mut ids = Vec::new();
        for title in titles {
            ids.push(self.reminder(title, profile, in_secs).await);
        }
        ids
    }
}

/// A tier delivery the receiver got.
struct Arrival {
    reminder: String,
    webhook_id: String,
    due_at: String,
    request: wiremock::Request,
}

/// The tier deliveries the receiver got so far, in order (lifecycle events left out).
async fn arrivals(sink: &MockServer) -> Vec<Arrival> {
    let requests = sink.received_requests().await.unwrap_or_default();
    requests
        .into_iter()
        .filter(is_tier_delivery)
        .map(|request| {
            let body: Value = request.body_json().unwrap_or_default();
            let header = request.headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            Arrival {
                reminder: body["data"]["reminderId"].as_str().unwrap_or("").to_owned(),
                webhook_id: header,
                due_at: body["data"]["dueAt"].as_str().unwrap_or("").to_owned(),
                request,
            }
        })
        .collect()
}

/// How often each reminder's tier delivery reached the receiver.
async fn per_reminder(sink: &MockServer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for arrival in arrivals(sink).await {
        *counts.entry(arrival.reminder).or_insert(0) += 1;
    }
    counts
}

async fn all_arrived(sink: &MockServer, reminders: &[String], times: usize) -> bool {
    let counts = per_reminder(sink).await;
    reminders.iter().all(|id| counts.get(id).copied().unwrap_or(0) >= times)
}

fn quoted(ids: &[String]) -> String {
    ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",")
}

/// Waits until the tier deliveries of `reminders` are recorded as sent in the primary's database, so the
/// outcome is committed before whatever the test does next.
async fn recorded_sent(cluster: &OwnPostgres, database: &str, reminders: &[String]) {
    let sql = format!(
        "SELECT count(*) FROM deliveries WHERE tier > 0 AND status = 'sent' AND reminder_id IN ({})",
        quoted(reminders)
    );
    eventually(Duration::from_secs(30), "the sends are recorded", || async {
        cluster.value(database, &sql).await == reminders.len().to_string()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_drill_point_in_time_restore_fires_the_gap_once() {
    let drill_started = Instant::now();
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(SLOW_ANSWER))
        .up_to_n_times(1)
        .mount(&sink)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&sink).await;

    // A primary with WAL archiving, migrated by the binary it runs.
    let archive = PostgresDir::new("wal-archive");
    let backups = PostgresDir::new("base-backups");
    let settings = archiving(&archive.path);
    let primary = tokio::task::spawn_blocking(move || OwnPostgres::start_new_with(&settings)).await.unwrap();
    let db = TestDb::create_empty_on(&primary.url()).await;
    let mut env = base_env(&db);
    env.insert("DEFAULT_TIER".into(), "PRO".into());
    // A lease outlives its worker by this much; the delivery on its way at the crash comes back after it.
    env.insert("DELIVERY_LEASE_SECS".into(), "5".into());
    let port = free_port();
    env.insert("PORT".into(), port.to_string());
    let mut app = BinaryProcess::start(&["--role", "all"], &env);
    assert!(app.wait_ready(Duration::from_secs(60)).await, "the binary never got ready: {:?}", app.output());

    let api = Api::register(port, "drill@example.com").await;
    let (to_hook, hook_secret) = api.webhook_profile(&format!("{}/hook", sink.uri())).await;
    let (to_slow, _) = api.webhook_profile(&format!("{}/slow", sink.uri())).await;

    // Before the base backup: fired and sent.
    let before_backup = api.reminders(&["before the backup 1", "before the backup 2"], &to_hook, 3).await;
    eventually(Duration::from_secs(30), "the first reminders fire", || all_arrived(&sink, &before_backup, 1)).await;
    recorded_sent(&primary, &db.name, &before_backup).await;

    // The base backup, taken while the service runs.
    let backup_started = Instant::now();
    tokio::task::block_in_place(|| primary.base_backup(&backups.path.join("base")));
    let backup_took = backup_started.elapsed();

    // After the backup, before the target: only the archived WAL brings these back.
    let after_backup = api.reminders(&["after the backup 1", "after the backup 2"], &to_hook, 3).await;
    eventually(Duration::from_secs(30), "reminders after the backup fire", || all_arrived(&sink, &after_backup, 1))
        .await;
    recorded_sent(&primary, &db.name, &after_backup).await;

    // On its way at the target: the receiver has the request, its answer takes SLOW_ANSWER.
    let in_flight = vec![api.reminder("on its way at the target", &to_slow, 3).await];
    eventually(Duration::from_secs(30), "the slow send reaches the receiver", || all_arrived(&sink, &in_flight, 1))
        .await;
    // Due in the gap, after the crash.
    let gap =
        api.reminders(&["due in the gap 1", "due in the gap 2", "due in the gap 3"], &to_hook, GAP_DUE_SECS).await;
    // Created before the target, fired after it (its due time is at least a second after the target).
    let refired = vec![api.reminder("fired after the target", &to_hook, 3).await];
    // The restore target; the last write before it is the reminder just created.
    let target = Utc::now();
    // After the target: lost by the restore.
    let after_target = api.reminders(&["after the target 1", "after the target 2"], &to_hook, 3600).await;
    eventually(Duration::from_secs(30), "the reminder due after the target fires on the primary", || {
        all_arrived(&sink, &refired, 1)
    })
    .await;

    // The WAL written after the target reaches the archive within the archive timeout.
    let written = Instant::now();
    let segment = primary.value(&db.name, "SELECT pg_walfile_name(pg_current_wal_lsn())").await;
    let archived = format!("SELECT coalesce(last_archived_wal, '') >= '{segment}' FROM pg_stat_archiver");
    eventually(Duration::from_secs(60), "the WAL after the target is archived", || async {
        primary.value("postgres", &archived).await == "t"
    })
    .await;
    let archive_lag = written.elapsed();

    // The disaster: the service and its database server die.
    app.signal("KILL").await;
    let _ = app.wait_exit(Duration::from_secs(10)).await;
    tokio::task::block_in_place(|| primary.crash());
    let before_restore = per_reminder(&sink).await;
    for id in &gap {
        assert!(
            !before_restore.contains_key(id),
            "a reminder due in the gap fired before the crash: the machine was too slow for the drill's timing"
        );
    }
    let first_slow_id = arrivals(&sink).await.into_iter().find(|a| a.reminder == in_flight[0]).unwrap().webhook_id;

    // The restore: the base backup and the archived WAL up to the target, into a new cluster.
    let restore_started = Instant::now();
    let settings = recovery(&archive.path, target);
    let base = backups.path.join("base");
    let restored = tokio::task::spawn_blocking(move || OwnPostgres::restore(&base, &settings)).await.unwrap();
    eventually(Duration::from_secs(60), "recovery reaches the target and promotes", || async {
        !restored.in_recovery().await
    })
    .await;
    let recovered_in = restore_started.elapsed();
    let rpo_sql = format!(
        "SELECT extract(epoch FROM '{}'::timestamptz - pg_last_xact_replay_timestamp())",
        postgres_time(target)
    );
    let rpo: f64 = restored.value("postgres", &rpo_sql).await.parse().expect("a number of seconds");

    // The binary on the restored cluster, with an empty Redis (a key prefix nobody used).
    let mut env = env.clone();
    let restored_port = free_port();
    env.insert("DATABASE_URL".into(), format!("{}/{}?sslmode=disable", restored.url(), db.name));
    env.insert("REDIS_KEY_PREFIX".into(), format!("test:{}:", uuid::Uuid::new_v4().simple()));
    env.insert("PORT".into(), restored_port.to_string());
    let service = BinaryProcess::start(&["--role", "all"], &env);
    assert!(service.wait_ready(Duration::from_secs(60)).await, "never ready: {:?}", service.output());
    let rto = restore_started.elapsed();

    // What was committed before the target is there, what came after is not (through the API, with the
    // session and secrets restored).
    let api = api.on(restored_port);
    for id in before_backup.iter().chain(&after_backup).chain(&in_flight).chain(&gap).chain(&refired) {
        assert_eq!(api.get(&format!("/v1/reminders/{id}")).await.status, 200, "reminder {id} was lost");
    }
    for id in &after_target {
        assert_eq!(api.get(&format!("/v1/reminders/{id}")).await.status, 404, "{id} was created after the target");
    }

    // Every reminder due in the gap fires; the send on its way at the target and the reminder that fired
    // after it go out again; then nothing is owed any more.
    eventually(Duration::from_secs(60), "the gap's reminders fire", || all_arrived(&sink, &gap, 1)).await;
    eventually(Duration::from_secs(60), "the send on its way at the target is repeated", || {
        all_arrived(&sink, &in_flight, 2)
    })
    .await;
    eventually(Duration::from_secs(30), "the reminder fired after the target fires again", || {
        all_arrived(&sink, &refired, 2)
    })
    .await;
    let owed = "SELECT count(*) FROM deliveries WHERE tier > 0 AND status IN ('pending', 'sending')";
    eventually(Duration::from_secs(30), "nothing owed", || async { restored.value(&db.name, owed).await == "0" }).await;

    let counts = per_reminder(&sink).await;
    let times = |id: &String| counts.get(id).copied().unwrap_or(0);
    for id in before_backup.iter().chain(&after_backup) {
        assert_eq!(times(id), 1, "{id} was sent before the target and recorded: not again");
    }
    let all = arrivals(&sink).await;
    for id in &gap {
        assert_eq!(times(id), 1, "{id} was due in the gap: exactly once");
        let arrival = all.iter().find(|a| &a.reminder == id).unwrap();
        assert!(webhook_signed_by(&hook_secret, &arrival.request), "signed with the restored channel's secret");
    }
    let slow: Vec<&Arrival> = all.iter().filter(|a| a.reminder == in_flight[0]).collect();
    assert_eq!(slow.len(), 2, "on its way at the target: sent again, once");
    assert_eq!(slow[0].webhook_id, first_slow_id);
    assert_eq!(slow[1].webhook_id, first_slow_id, "a delivery repeated after a restore keeps its webhook-id");
    let again: Vec<&Arrival> = all.iter().filter(|a| a.reminder == refired[0]).collect();
    assert_eq!(again.len(), 2, "fired after the target: once on the primary, once after the restore");
    assert!(!again[0].webhook_id.is_empty());
    assert_eq!(
        again[0].webhook_id, again[1].webhook_id,
        "the same occurrence fired again after the restore: the same episode and delivery, the same webhook-id"
    );
    assert_eq!(again[0].due_at, again[1].due_at, "and the same occurrence in the payload");
    for id in &after_target {
        assert_eq!(times(id), 0);
    }

    println!(
        "restore drill: {}",
        json!({
            "rpo_seconds": rpo,
            "rto_seconds": rto.as_secs_f64(),
            "recovery_seconds": recovered_in.as_secs_f64(),
            "base_backup_seconds": backup_took.as_secs_f64(),
            "archive_lag_seconds": archive_lag.as_secs_f64(),
            "archive_timeout_seconds": ARCHIVE_TIMEOUT_SECS,
            "drill_seconds": drill_started.elapsed().as_secs_f64(),
        })
    );
    drop(service);
    drop(restored);
}
