//! Retention: the scheduler's upkeep prunes logs and dedup tables past their age, keeps what is still owed,
//! and with a constant workload the tables stop growing.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use crate::common::TestApp;
use crate::engine::seed::{Seed, count};

/// Every table retention prunes, as counted by the test.
const TABLES: [&str; 9] = [
    "deliveries",
    "escalations",
    "audit_trails",
    "event_logs",
    "admin_actions",
    "processed_webhook_events",
    "action_link_uses",
    "pending_notifications",
    // Owed rows that must survive every run.
    "deliveries WHERE status IN ('pending', 'sending') OR escalation_id IN (SELECT id FROM escalations WHERE status IN ('active', 'acknowledged'))",
];

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut conn = app.db.connect().await;
    let mut out = Vec::new();
    for table in TABLES {
        out.push(count(&mut conn, &format!("SELECT count(*) AS n FROM {table}")).await);
    }
    out
}

/// Runs one seeding statement with `$1` = `at` and `$2`… = `ids`.
async fn exec(conn: &mut AsyncPgConnection, sql: &str, at: DateTime<Utc>, ids: &[Uuid]) {
    let mut query = diesel::sql_query(sql).into_boxed().bind::<Timestamptz, _>(at);
    for id in ids {
        query = query.bind::<SqlUuid, _>(*id);
    }
    query.execute(conn).await.unwrap_or_else(|err| panic!("seed {sql}: {err}"));
}

/// An episode `$3` of user `$2` in `status`, created at `$1`; an acknowledged one waits for a window far in
/// the future, so the engine leaves it alone.
fn episode(status: &str) -> String {
    let ack_until = if status == "acknowledged" { "$1 + interval '10 years'" } else { "NULL" };
    format!(
        "INSERT INTO escalations (id, reminder_id, user_id, occurrence_at, plan, status, fired_at, loop_started_at,
                                  scheduler_epoch, created_at, ack_until)
         VALUES ($3, gen_random_uuid(), $2, $1, '{{}}', '{status}', $1, $1, 1, $1, {ack_until})"
    )
}

/// A pull delivery `$4` of episode `$3` for user `$2` in `status`, created at `$1`; nothing of it is due for
/// ten years.
fn delivery(status: &str, tier: i16) -> String {
    let lease = if status == "sending" { "$1 + interval '10 years'" } else { "NULL" };
    format!(
        "INSERT INTO deliveries (id, escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id,
                                 channel, status, next_attempt_at, lease_until, created_at, updated_at)
         SELECT $4, $3, e.reminder_id, $2, {tier}, 0, 'test', gen_random_uuid(), 'pull', '{status}',
                $1 + interval '10 years', {lease}, $1, $1
         FROM escalations e WHERE e.id = $3"
    )
}

/// The pull inbox entry of delivery `$3` (user `$2`, subscription `$4`) created at `$1`, confirmed then
/// when `confirmed`.
fn inbox(confirmed: bool) -> String {
    let delivered_at = if confirmed { "$1" } else { "NULL" };
    format!(
        "INSERT INTO pending_notifications (delivery_id, user_id, subscription_id, payload, delivered_at, created_at)
         VALUES ($3, $2, $4, '{{}}', {delivered_at}, $1)"
    )
}

/// One day of work done at `now`: a completed episode with its two deliveries (one confirmed in the pull
/// inbox), one entry in each log, a processed Square event and a used action link.
async fn one_day(app: &TestApp, user: Uuid, admin: Uuid, pull: Uuid, now: DateTime<Utc>) {
    let mut conn = app.db.connect().await;
    let (episode_id, sent, failed) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    exec(&mut conn, &episode("completed"), now, &[user, episode_id]).await;
    exec(&mut conn, &delivery("sent", 1), now, &[user, episode_id, sent]).await;
    exec(&mut conn, &delivery("failed", 2), now, &[user, episode_id, failed]).await;
    exec(&mut conn, &inbox(true), now, &[user, sent, pull]).await;
    let logs = [
        "INSERT INTO audit_trails (actor_user_id, actor_kind, action, created_at) VALUES ($2, 'user', 'login', $1)",
        "INSERT INTO event_logs (user_id, kind, subject_id, created_at) VALUES ($2, 'reminder.completed', $3, $1)",
        "INSERT INTO admin_actions (admin_user_id, action, target_user_id, reason, created_at)
         VALUES ($3, 'note', $2, 'retention test', $1)",
    ];
    exec(&mut conn, logs[0], now, &[user]).await;
    exec(&mut conn, logs[1], now, &[user, episode_id]).await;
    exec(&mut conn, logs[2], now, &[user, admin]).await;
    let square = "INSERT INTO processed_webhook_events (provider, event_id, event_type, payload, processed_at)
                  VALUES ('square', $2::text, 'payment.updated', '{}', $1)";
    exec(&mut conn, square, now, &[episode_id]).await;
    let link = "INSERT INTO action_link_uses (token_id, used_at, outcome) VALUES ($2, $1, 'acknowledge')";
    exec(&mut conn, link, now, &[sent]).await;
}

/// What is owed, seeded once: an acknowledged (open) episode with a sent delivery and an unconfirmed pull
/// notification, and a completed episode whose pending and in-flight deliveries are not settled yet.
async fn owed(app: &TestApp, user: Uuid, pull: Uuid, now: DateTime<Utc>) -> [Uuid; 2] {
    let mut conn = app.db.connect().await;
    let (open, closed, sent) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    exec(&mut conn, &episode("acknowledged"), now, &[user, open]).await;
    exec(&mut conn, &delivery("sent", 1), now, &[user, open, sent]).await;
    exec(&mut conn, &inbox(false), now, &[user, sent, pull]).await;
    exec(&mut conn, &episode("completed"), now, &[user, closed]).await;
    exec(&mut conn, &delivery("pending", 1), now, &[user, closed, Uuid::new_v4()]).await;
    exec(&mut conn, &delivery("sending", 2), now, &[user, closed, Uuid::new_v4()]).await;
    [open, closed]
}

#[tokio::test(flavor = "multi_thread")]
async fn upkeep_prunes_what_is_past_its_age_keeps_what_is_owed_and_the_tables_stop_growing() {
    let app =
        TestApp::spawn_roles("scheduler", &[("RETENTION_DELIVERY_DAYS", "2"), ("RETENTION_AUDIT_DAYS", "3")]).await;
    let seed = Seed::new(&app).await;
    let pull = seed.subscription("pull", json!({})).await;
    let admin = Uuid::new_v4();
    {
        let mut conn = app.db.connect().await;
        diesel::sql_query("INSERT INTO admin_users (id, user_id, role) VALUES ($1, $2, 'SUPPORT')")
            .bind::<SqlUuid, _>(admin)
            .bind::<SqlUuid, _>(seed.user)
            .execute(&mut conn)
            .await
            .expect("admin");
    }
    let [open, closed] = owed(&app, seed.user, pull, app.state.clock.now()).await;

    // Eleven days a step: every configured age but the 30-day ones passes between two steps.
    let mut history = Vec::new();
    for step in 0..5i64 {
        let now = app.state.clock.now();
        one_day(&app, seed.user, admin, pull, now).await;
        let expected = vec![
            2 + 3,                   // today's two deliveries; the owed three
            1 + 2,                   // today's episode; the open one and the closed one still owing
            1,                       // audit trail: 3 days
            1,                       // event log: 3 days
            1,                       // admin actions: 3 days
            (step + 1).min(3),       // Square events: 30 days, so today's, 11 and 22 days old
            1,                       // action link uses: 72 h + a week
            1 + i64::from(step < 3), // today's confirmed one; the unconfirmed one until 30 days
            3,                       // the owed deliveries
        ];
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let last = loop {
            let now_counts = counts(&app).await;
            if now_counts == expected {
                break now_counts;
            }
            assert!(tokio::time::Instant::now() < deadline, "step {step}: counts {now_counts:?}, want {expected:?}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        history.push(last);
        app.state.clock.advance(Duration::days(11));
    }
    // A constant workload, constant tables.
    assert_eq!(history[3], history[4], "the tables stopped growing: {history:?}");

    let mut conn = app.db.connect().await;
    for (episode, what) in [(open, "open episode"), (closed, "closed episode still owing")] {
        let sql = format!("SELECT count(*) AS n FROM escalations WHERE id = '{episode}'");
        assert_eq!(count(&mut conn, &sql).await, 1, "{what} kept");
    }
}
