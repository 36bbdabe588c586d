//! A row the engine cannot read is skipped, logged and counted (`engine_bad_rows_total`), never read as a
//! default: a schedule in an unknown zone does not clear the reminder's next occurrence, and a ladder naming
//! an unknown channel does not fire as an empty plan. The other reminders of the batch fire as usual.

use std::time::Duration;

use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::common::TestApp;
use crate::engine::seed::{Seed, count};
use crate::engine::{accepting_sink, eventually, eventually_counts};

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_reminders_are_skipped_and_counted_while_the_others_fire() {
    let sink = accepting_sink().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let seed = Seed::new(&app).await;
    let hook = seed.webhook(&format!("{}/hook", sink.uri())).await;
    // Due in an hour, so the rows can be spoiled before the scheduler sees them.
    let hour = chrono::Duration::hours(1);
    let good = seed.reminder_due_in(hour, &[(0, &[hook.id])], 0).await;
    let bad_schedule = seed.reminder_due_in(hour, &[(0, &[hook.id])], 0).await;
    let unknown_channel = json!([{"tierNumber": 1, "delayMinutes": 0, "channelTypes": ["pigeon"]}]);
    let bad_profile = seed.reminder_with_tiers(hour, unknown_channel, 0).await;
    let mut conn = app.db.connect().await;
    diesel::sql_query("UPDATE reminder_schedules SET timezone = 'Mars/Olympus_Mons' WHERE reminder_id = $1")
        .bind::<SqlUuid, _>(bad_schedule)
        .execute(&mut conn)
        .await
        .unwrap();

    app.state.clock.advance(hour + chrono::Duration::seconds(1));
    let fired = format!("SELECT count(*) AS n FROM deliveries WHERE reminder_id = '{good}' AND status = 'sent'");
    eventually_counts(&app, "the good reminder is delivered", &fired, 1).await;
    // A few more ticks: the spoiled rows are met again and still skipped.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for (reminder, kind) in [(bad_schedule, "schedule"), (bad_profile, "profile")] {
        let episodes = format!("SELECT count(*) AS n FROM escalations WHERE reminder_id = '{reminder}'");
        assert_eq!(count(&mut conn, &episodes).await, 0, "a {kind} that does not read fires nothing");
        // Not cleared, and not due again at once: a batch of bad rows must not hold back the others.
        let waiting = format!(
            "SELECT count(*) AS n FROM reminders WHERE id = '{reminder}' AND status = 'active'
             AND next_trigger_at > '{}'",
            app.state.clock.now().to_rfc3339()
        );
        assert_eq!(count(&mut conn, &waiting).await, 1, "a bad {kind} row waits for its retry, not cleared");
    }
    assert_eq!(sink.received_requests().await.unwrap().len(), 1, "only the good reminder was sent");

    let metrics = || async { app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    eventually(Duration::from_secs(5), "both bad rows counted", || async {
        let text = metrics().await;
        text.contains(r#"engine_bad_rows_total{kind="schedule"}"#)
            && text.contains(r#"engine_bad_rows_total{kind="profile"}"#)
    })
    .await;

    // Repaired, the schedule's reminder fires at its next try.
    diesel::sql_query("UPDATE reminder_schedules SET timezone = 'UTC' WHERE reminder_id = $1")
        .bind::<SqlUuid, _>(bad_schedule)
        .execute(&mut conn)
        .await
        .unwrap();
    crate::engine::advance_settled(&app, chrono::Duration::minutes(6)).await;
    let repaired =
        format!("SELECT count(*) AS n FROM deliveries WHERE reminder_id = '{bad_schedule}' AND status = 'sent'");
    eventually_counts(&app, "the repaired reminder is delivered", &repaired, 1).await;
}
