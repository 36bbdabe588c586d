//! Helpers shared by the reminder, action and profile tests: users, raw SQL, reminder bodies.

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::accounts::register;
use crate::common::{Reply, TestApp};

/// The "Gentle" preset (email now; email, webhook and pull at 60 min; email and SMS at 180 min).
pub const GENTLE: &str = "00000000-0000-4000-8000-000000000001";
pub const URGENT: &str = "00000000-0000-4000-8000-000000000002";

/// Registers a user (zone Europe/Berlin) and returns an access token.
pub async fn user(app: &TestApp, email: &str) -> String {
    let auth = register(app, email).await;
    auth["tokens"]["accessToken"].as_str().expect("access token").to_owned()
}

/// Marks the account of `email` as having confirmed its own address, as its mailed link would: for tests of
/// channels to other addresses on a server that sends email (the confirmation is not their point).
pub async fn confirm_own_address(app: &TestApp, email: &str) {
    exec(app, &format!("UPDATE users SET email_verified_at = now() WHERE email = '{email}'")).await;
}

/// The id of the user behind `token`.
pub async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/v1/users/me", Some(token)).await.data(200)["id"].as_str().unwrap().to_owned()
}

/// Runs one SQL statement on the test database.
pub async fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.db.connect().await;
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|err| panic!("{sql}: {err}"));
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// One text value from SQL (`SELECT … AS value`).
pub async fn scalar(app: &TestApp, sql: &str) -> String {
    let mut conn = app.db.connect().await;
    diesel::sql_query(sql).get_result::<Text>(&mut conn).await.unwrap_or_else(|err| panic!("{sql}: {err}")).value
}

/// An RFC 3339 instant `hours` from now, in whole seconds (Postgres keeps microseconds, not nanoseconds).
pub fn in_hours(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An RFC 3339 instant at least `seconds` after the app's clock, in whole seconds (rounded up: cut down, a
/// one-second margin could be all but gone, and a loaded machine's request then arrives after it): for
/// reminders a test waits to fire.
pub fn soon(app: &TestApp, seconds: i64) -> String {
    let at = app.state.clock.now() + chrono::Duration::seconds(seconds) + chrono::Duration::milliseconds(999);
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A valid one-off reminder body on the Gentle preset.
pub fn once_body(title: &str) -> Value {
    json!({"title": title, "escalationProfileId": GENTLE, "schedule": {"type": "once", "triggerAt": in_hours(2)}})
}

/// Creates a one-off reminder on the Gentle preset (see [`once_body`]) and returns its id.
pub async fn once_reminder(app: &TestApp, token: &str, title: &str) -> String {
    create(app, token, once_body(title)).await["id"].as_str().unwrap().to_owned()
}

/// Creates a reminder and returns its view.
pub async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/v1/reminders", body, Some(token)).await.data(201).clone()
}

pub async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> Reply {
    app.call(Method::PATCH, path, Some(body), Some(token)).await
}

pub async fn delete(app: &TestApp, token: &str, path: &str) -> Reply {
    app.call(Method::DELETE, path, None, Some(token)).await
}

/// The `field`s of an error's details.
pub fn fields(reply: &Reply) -> Vec<String> {
    reply.body["error"]["details"]
        .as_array()
        .map(|details| details.iter().filter_map(|d| d["field"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Adds a channel subscription of `kind` for the user, already verified (its address is not the point of
/// the tests that use it), and returns its id.
pub async fn subscribe(app: &TestApp, user: &str, kind: &str) -> String {
    scalar(
        app,
        &format!(
            "INSERT INTO user_agent_subscriptions (user_id, agent_type, config, verified_at) \
             VALUES ('{user}', '{kind}', '{{}}', now()) RETURNING id::text AS value"
        ),
    )
    .await
}

/// Sets the admin tier override of `user` (as the admin route does), applying the new limits at once.
pub async fn override_tier(app: &TestApp, user: uuid::Uuid, tier: reminder_core::tiers::Tier) {
    escalating_reminders::stopping::set_tier_override(&app.state, user.into(), Some(tier))
        .await
        .expect("tier override");
}

/// Inserts deliveries, each row an SQL tuple of `(escalation_id, reminder_id, user_id, tier, loop_index,
/// target_kind, target_id, channel, status, created_at)`: for pages and reports that read the log.
pub async fn insert_deliveries(app: &TestApp, rows: &[String]) {
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
             channel, status, created_at) VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
}

/// An acknowledged episode of `reminder` (owned by `user`) that fired now, for reports and pages that count
/// episodes; returns its id.
pub async fn acknowledged_episode(app: &TestApp, reminder: &str, user: &str) -> String {
    scalar(
        app,
        &format!(
            "INSERT INTO escalations (reminder_id, user_id, occurrence_at, plan, status, fired_at, loop_started_at, \
             scheduler_epoch) VALUES ('{reminder}', '{user}', now(), '{{}}', 'acknowledged', now(), now(), 1) \
             RETURNING id::text AS value"
        ),
    )
    .await
}
