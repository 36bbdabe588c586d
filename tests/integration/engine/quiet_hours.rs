//! Quiet hours in the engine (API.md "Delivery rules that hold at send time"): a non-critical delivery that
//! falls inside its recipient's window waits for the window's end, retries included; a trusted contact's own
//! zone and window count for them; `critical` goes through.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestApp;
use crate::engine::seed::{Seed, count};
use crate::engine::{advance_settled, eventually};
use crate::fixtures::{exec, scalar};

/// A wall-clock time `minutes` from `at` in `zone`, to the minute.
pub fn local_time(at: DateTime<Utc>, zone: Tz, minutes: i64) -> NaiveTime {
    let time = (at + chrono::Duration::minutes(minutes)).with_timezone(&zone).time();
    NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).expect("a time")
}

/// Tier deliveries that reached `to` (not lifecycle events: the episode expiring after the final wait is
/// told to the webhook too).
async fn posts_to(sink: &MockServer, to: &str) -> usize {
    let requests = sink.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.url.path() == to && crate::engine::is_tier_delivery(r)).count()
}

/// One column of the delivery to `target` as text (ISO 8601 for times, "" for NULL).
async fn delivery_to(app: &TestApp, target: uuid::Uuid, column: &str) -> String {
    let sql = format!(
        "SELECT coalesce(to_json({column}) #>> '{{}}', '') AS value FROM deliveries WHERE target_id = '{target}'"
    );
    scalar(app, &sql).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_inside_quiet_hours_waits_for_their_end_and_a_critical_one_goes_through() {
    let sink = MockServer::start().await;
    // Each endpoint fails once, asking for a retry in two minutes: by then the owner's quiet hours have begun.
    for to in ["/normal", "/critical"] {
        Mock::given(method("POST"))
            .and(path(to))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&sink)
            .await;
    }
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&sink).await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let now = app.state.clock.now();
    let (start, end) = (local_time(now, chrono_tz::UTC, 2), local_time(now, chrono_tz::UTC, 180));
    exec(
        &app,
        &format!(
            "UPDATE users SET quiet_hours_start = '{start}', quiet_hours_end = '{end}' WHERE id = '{}'",
            seed.user
        ),
    )
    .await;
    let normal = seed.webhook(&format!("{}/normal", sink.uri())).await;
    let critical = seed.webhook(&format!("{}/critical", sink.uri())).await;
    seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[normal.id])], 0).await;
    let urgent = seed.reminder_due_in(chrono::Duration::seconds(1), &[(0, &[critical.id])], 0).await;
    exec(&app, &format!("UPDATE reminders SET importance = 'critical' WHERE id = '{urgent}'")).await;

    let retrying = "SELECT count(*) AS n FROM deliveries WHERE status = 'pending' AND attempts = 1";
    eventually(Duration::from_secs(15), "both first attempts failed", || async {
        count(&mut app.db.connect().await, retrying).await == 2
    })
    .await;
    assert_eq!(delivery_to(&app, normal.id, "deferred_reason").await, "", "the first send was outside the window");

    advance_settled(&app, chrono::Duration::minutes(3)).await;
    eventually(Duration::from_secs(15), "the critical retry went out in quiet hours", || async {
        posts_to(&sink, "/critical").await == 2
    })
    .await;
    eventually(Duration::from_secs(15), "the normal retry was put off", || async {
        delivery_to(&app, normal.id, "deferred_reason").await == "quiet hours"
    })
    .await;
    assert_eq!(posts_to(&sink, "/normal").await, 1, "nothing was sent in quiet hours");
    assert_eq!(delivery_to(&app, normal.id, "attempts").await, "1", "a deferral does not use up a retry");
    let waits_until: DateTime<Utc> = delivery_to(&app, normal.id, "next_attempt_at").await.parse().unwrap();
    assert_eq!(waits_until.time(), end, "it waits for the end of the window");

    advance_settled(&app, chrono::Duration::hours(3)).await;
    eventually(Duration::from_secs(15), "sent once the window ended", || async {
        delivery_to(&app, normal.id, "status").await == "sent"
    })
    .await;
    assert_eq!(posts_to(&sink, "/normal").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_contact_is_not_asked_in_their_own_quiet_hours_in_their_own_zone() {
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
    let now = app.state.clock.now();
    // The owner (UTC) has no quiet hours; the contact's window, in Tokyo, holds the present moment.
    let (start, end) = (local_time(now, tokyo, -60), local_time(now, tokyo, 120));
    let contact = scalar(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, email, timezone, consent_status, accepted_at, \
             quiet_hours_start, quiet_hours_end) VALUES ('{}', 'Neighbour', 'neighbour@example.com', 'Asia/Tokyo', \
             'accepted', now(), '{start}', '{end}') RETURNING id::text AS value",
            seed.user
        ),
    )
    .await;
    let tiers = json!([{"tierNumber": 1, "delayMinutes": 0, "trustedContactIds": [contact]}]);
    seed.reminder_with_tiers(chrono::Duration::seconds(1), tiers, 0).await;

    let contact_id: uuid::Uuid = contact.parse().unwrap();
    eventually(Duration::from_secs(15), "the contact's delivery was put off", || async {
        count(
            &mut app.db.connect().await,
            &format!(
                "SELECT count(*) AS n FROM deliveries WHERE target_id = '{contact_id}' AND status = 'pending' \
                 AND deferred_reason = 'quiet hours' AND attempts = 0"
            ),
        )
        .await
            == 1
    })
    .await;
    let waits_until: DateTime<Utc> = delivery_to(&app, contact_id, "next_attempt_at").await.parse().unwrap();
    assert_eq!(waits_until.with_timezone(&tokyo).time(), end, "the end of the window in Tokyo");
}
