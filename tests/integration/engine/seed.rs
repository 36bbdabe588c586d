//! Rows the engine tests start from, written with SQL until every creating route exists.

use diesel::sql_types::{BigInt, Bytea, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestDb};

/// The key `base_env` configures.
const KEY: [u8; 32] = {
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = i as u8;
        i += 1;
    }
    key
};

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs a `SELECT count(*) AS n …`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).await.expect("count query").n
}

pub struct Webhook {
    pub id: Uuid,
    pub secret: String,
}

pub struct Seed<'a> {
    db: &'a TestDb,
    clock: escalating_reminders::clock::Clock,
    pub user: Uuid,
}

impl<'a> Seed<'a> {
    /// A user (timezone UTC, no quiet hours) on the FREE tier.
    pub async fn new(app: &'a TestApp) -> Seed<'a> {
        Self::on(&app.db, app.state.clock.clone()).await
    }

    /// Seeds for a user who registered through the API.
    pub fn for_user(app: &'a TestApp, user: Uuid) -> Seed<'a> {
        Seed { db: &app.db, clock: app.state.clock.clone(), user }
    }

    /// Seeds a database used by child processes (which run on the real clock).
    pub async fn on(db: &'a TestDb, clock: escalating_reminders::clock::Clock) -> Seed<'a> {
        let user = Uuid::new_v4();
        let mut conn = db.connect().await;
        diesel::sql_query(
            "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Engine Test');
             ",
        )
        .bind::<SqlUuid, _>(user)
        .bind::<Text, _>(format!("{user}@example.com"))
        .execute(&mut conn)
        .await
        .expect("user");
        diesel::sql_query("INSERT INTO subscriptions (user_id) VALUES ($1)")
            .bind::<SqlUuid, _>(user)
            .execute(&mut conn)
            .await
            .expect("sub");
        Seed { db, clock, user }
    }

    /// A webhook subscription with an encrypted signing secret.
    pub async fn webhook(&self, url: &str) -> Webhook {
        use base64::Engine;
        let id = Uuid::new_v4();
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(Uuid::new_v4().as_bytes()));
        let sealed = escalating_reminders::crypto::encrypt(&KEY, id, secret.as_bytes()).unwrap();
        let mut conn = self.db.connect().await;
        diesel::sql_query(
            "INSERT INTO user_agent_subscriptions (id, user_id, agent_type, config, secret_ciphertext, verified_at)
             VALUES ($1, $2, 'webhook', $3, $4, now())",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(self.user)
        .bind::<Jsonb, _>(json!({ "url": url }))
        .bind::<Bytea, _>(sealed)
        .execute(&mut conn)
        .await
        .expect("webhook subscription");
        Webhook { id, secret }
    }

    /// A subscription without secrets (email, sms, pull), already verified: these tests are about the
    /// engine, not about proving an address (tests/integration/verification.rs does that through the API).
    pub async fn subscription(&self, agent_type: &str, config: serde_json::Value) -> Uuid {
        let id = Uuid::new_v4();
        let mut conn = self.db.connect().await;
        diesel::sql_query(
            "INSERT INTO user_agent_subscriptions (id, user_id, agent_type, config, verified_at)
             VALUES ($1, $2, $3, $4, now())",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(self.user)
        .bind::<Text, _>(agent_type)
        .bind::<Jsonb, _>(config)
        .execute(&mut conn)
        .await
        .expect("subscription");
        id
    }

    /// An email subscription to `address`.
    pub async fn email(&self, address: &str) -> Uuid {
        self.subscription("email", json!({ "address": address })).await
    }

    /// Gives `reminder` another title.
    pub async fn retitle(&self, reminder: Uuid, title: &str) {
        let mut conn = self.db.connect().await;
        diesel::sql_query("UPDATE reminders SET title = $2 WHERE id = $1")
            .bind::<SqlUuid, _>(reminder)
            .bind::<Text, _>(title)
            .execute(&mut conn)
            .await
            .expect("retitle");
    }

    /// An SMS subscription to `phone`.
    pub async fn sms(&self, phone: &str) -> Uuid {
        self.subscription("sms", json!({ "phoneNumber": phone })).await
    }

    /// A one-off reminder due `in_` from the app's clock, with a profile of `tiers` (delay minutes,
    /// subscription ids) repeated `repeat` times.
    pub async fn reminder_due_in(&self, in_: chrono::Duration, tiers: &[(u32, &[Uuid])], repeat: i16) -> Uuid {
        let tiers_json: Vec<serde_json::Value> = tiers
            .iter()
            .enumerate()
            .map(|(i, (delay, subs))| json!({"tierNumber": i + 1, "delayMinutes": delay, "agentSubscriptionIds": subs}))
            .collect();
        self.reminder_with_tiers(in_, serde_json::Value::Array(tiers_json), repeat).await
    }

    /// A one-off reminder due `in_` from the app's clock, with a profile of `tiers` as stored (JSON).
    pub async fn reminder_with_tiers(&self, in_: chrono::Duration, tiers: serde_json::Value, repeat: i16) -> Uuid {
        let profile = Uuid::new_v4();
        let reminder = Uuid::new_v4();
        let due = self.clock.now() + in_;
        let mut conn = self.db.connect().await;
        diesel::sql_query(
            "INSERT INTO escalation_profiles (id, user_id, name, tiers, repeat_count, ack_window_minutes)
             VALUES ($1, $2, 'test', $3, $4, 30)",
        )
        .bind::<SqlUuid, _>(profile)
        .bind::<SqlUuid, _>(self.user)
        .bind::<Jsonb, _>(tiers)
        .bind::<diesel::sql_types::SmallInt, _>(repeat)
        .execute(&mut conn)
        .await
        .expect("profile");
        diesel::sql_query(
            "INSERT INTO reminders (id, user_id, title, escalation_profile_id, timezone, next_trigger_at)
             VALUES ($1, $2, 'Take the pills', $3, 'UTC', $4)",
        )
        .bind::<SqlUuid, _>(reminder)
        .bind::<SqlUuid, _>(self.user)
        .bind::<SqlUuid, _>(profile)
        .bind::<Timestamptz, _>(due)
        .execute(&mut conn)
        .await
        .expect("reminder");
        diesel::sql_query(
            "INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone) VALUES ($1, 'once', $2, 'UTC')",
        )
        .bind::<SqlUuid, _>(reminder)
        .bind::<Timestamptz, _>(due)
        .execute(&mut conn)
        .await
        .expect("schedule");
        reminder
    }
}

impl Seed<'_> {
    /// `n` one-off reminders all due at `at`, one tier to `subscription`, inserted set-based.
    pub async fn many_due_at(&self, n: i64, at: chrono::DateTime<chrono::Utc>, subscription: Uuid) {
        let profile = Uuid::new_v4();
        let mut conn = self.db.connect().await;
        diesel::sql_query("INSERT INTO escalation_profiles (id, user_id, name, tiers) VALUES ($1, $2, 'bulk', $3)")
            .bind::<SqlUuid, _>(profile)
            .bind::<SqlUuid, _>(self.user)
            .bind::<Jsonb, _>(json!([{"tierNumber": 1, "delayMinutes": 0, "agentSubscriptionIds": [subscription]}]))
            .execute(&mut conn)
            .await
            .expect("profile");
        diesel::sql_query(
            "WITH created AS (
                INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, next_trigger_at)
                SELECT $1, 'Bulk ' || g, $2, 'UTC', $3 FROM generate_series(1, $4) AS g
                RETURNING id)
             INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone)
             SELECT id, 'once', $3, 'UTC' FROM created",
        )
        .bind::<SqlUuid, _>(self.user)
        .bind::<SqlUuid, _>(profile)
        .bind::<Timestamptz, _>(at)
        .bind::<BigInt, _>(n)
        .execute(&mut conn)
        .await
        .expect("bulk reminders");
    }
}
