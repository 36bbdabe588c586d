//! Stable paging of the delivery log: with many rows sharing one `created_at`, every row appears on exactly
//! one page, by `page` and by `cursor`, and a cursor walk is not disturbed by rows arriving meanwhile.

use std::collections::HashSet;

use serde_json::Value;

use crate::common::TestApp;
use crate::fixtures::{exec, once_reminder, user, user_id};

const ROWS: usize = 20_000;

/// Inserts `count` sent deliveries for the user, 40 distinct creation instants, so most rows tie on time.
async fn seed(app: &TestApp, owner: &str, reminder: &str, count: usize, at: &str) {
    exec(
        app,
        &format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
             channel, status, created_at) \
             SELECT gen_random_uuid(), '{reminder}', '{owner}', 1, 0, 'subscription', gen_random_uuid(), 'email', \
             'sent', {at} - (n % 40) * interval '1 second' FROM generate_series(1, {count}) AS n"
        ),
    )
    .await;
}

fn ids(page: &Value) -> Vec<String> {
    page.as_array().unwrap().iter().map(|row| row["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_through_twenty_thousand_deliveries_sees_each_exactly_once() {
    // About 400 requests: above a free user's hourly allowance, which is not what this test is about.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_MULTIPLIER", "100")]).await;
    let token = user(&app, "pages@example.com").await;
    let owner = user_id(&app, &token).await;
    let reminder = once_reminder(&app, &token, "many deliveries").await;
    seed(&app, &owner, &reminder, ROWS, "now()").await;

    // By page number.
    let mut seen = HashSet::new();
    let first = app.get("/v1/notifications?pageSize=100", Some(&token)).await;
    assert_eq!(first.body["meta"]["pagination"]["totalItems"], ROWS);
    let pages = first.body["meta"]["pagination"]["totalPages"].as_u64().unwrap();
    for page in 1..=pages {
        let reply = app.get(&format!("/v1/notifications?pageSize=100&page={page}"), Some(&token)).await;
        for id in ids(reply.data(200)) {
            assert!(seen.insert(id), "a row appeared on two pages");
        }
    }
    assert_eq!(seen.len(), ROWS, "every row on some page");

    // By cursor, while new deliveries arrive half-way: the walk sees each old row once and ends.
    let mut walked = HashSet::new();
    let mut path = "/v1/notifications?pageSize=100".to_owned();
    let mut requests = 0;
    loop {
        let reply = app.get(&path, Some(&token)).await;
        for id in ids(reply.data(200)) {
            assert!(walked.insert(id), "a row appeared on two cursor pages");
        }
        requests += 1;
        if requests == 100 {
            seed(&app, &owner, &reminder, 500, "now() + interval '1 hour'").await;
        }
        match reply.body["meta"]["pagination"]["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/notifications?pageSize=100&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, seen, "the cursor walk saw exactly the rows that existed when it began");

    // A cursor we did not issue is a field error, not a 500.
    let reply = app.get("/v1/notifications?cursor=bm90LWEtY3Vyc29y", Some(&token)).await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(reply.body["error"]["details"][0]["field"], "cursor");
}
