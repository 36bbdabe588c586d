//! The home page: what is due next, what is escalating now, what was sent lately.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::{ReminderId, UserId};
use serde_json::json;

use super::page;
use crate::console::chart;
use crate::console::error::ConsoleError;
use crate::console::session::Viewer;
use crate::escalation::delivery_log::newest;
use crate::escalation::{episodes, outcomes};
use crate::onboarding::service as onboarding;
use crate::reminders::service as reminders;
use crate::reminders::views::{ListQuery, ReminderView};
use crate::state::AppState;

const DUE_SHOWN: i64 = 6;
const OPEN_SHOWN: i64 = 20;
const DELIVERIES_SHOWN: i64 = 10;

/// Every reminder but archived ones (the first 100, as the list page shows them).
pub async fn all_reminders(
    conn: &mut diesel_async::AsyncPgConnection,
    owner: UserId,
    q: Option<String>,
) -> Result<Vec<ReminderView>, crate::http::ApiError> {
    let query = ListQuery { status: None, importance: None, q, page: Some(1), page_size: Some(100) };
    Ok(reminders::list(conn, owner, query).await?.0)
}

/// When a reminder next wants attention: the snooze end for a snoozed one.
pub fn next_time(reminder: &ReminderView) -> Option<chrono::DateTime<chrono::Utc>> {
    match reminder.status.as_str() {
        "snoozed" => reminder.snoozed_until,
        _ => reminder.next_trigger_at,
    }
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    let (due, count) = reminders::due_next(&mut conn, viewer.user_id, DUE_SHOWN).await?;
    let due: Vec<_> = due
        .iter()
        .map(|r| json!({"id": r.id, "title": r.title, "next": next_time(r), "status": r.status, "importance": r.importance}))
        .collect();
    let open = episodes::open_for_user(&mut conn, viewer.user_id, OPEN_SHOWN).await?;
    let open_ids: Vec<reminder_core::ids::EpisodeId> = open.iter().map(|e| e.id).collect();
    let reached = outcomes::reached(&mut conn, viewer.user_id, &open_ids).await?;
    let today = state.clock.now().with_timezone(&viewer.tz).date_naive();
    let first = today.checked_sub_days(chrono::Days::new(chart::DAYS - 1)).unwrap_or(today);
    // Where each day of the chart starts on the viewer's clock, and where today ends.
    let midnights: Vec<_> = first
        .iter_days()
        .take_while(|day| *day <= today.succ_opt().unwrap_or(today))
        .map(|day| reminder_core::timezone::resolve_local(viewer.tz, day.and_time(chrono::NaiveTime::MIN)))
        .collect();
    let by_day = outcomes::by_day(&mut conn, viewer.user_id, first, &midnights).await?;
    let recent = newest(&mut conn, viewer.user_id, DELIVERIES_SHOWN).await?;
    // One query names every reminder on the page, whichever of the user's reminders they are.
    let ids: Vec<ReminderId> = open.iter().map(|e| e.reminder_id).chain(recent.iter().map(|d| d.reminder_id)).collect();
    let titles = reminders::titles(&mut conn, viewer.user_id, &ids).await?;
    let title_of = |id: &ReminderId| titles.get(id).map_or("(archived reminder)", String::as_str);

    let open: Vec<_> = open
        .into_iter()
        .map(|e| {
            // Each channel or contact once: "email, sms, Grace Hopper".
            let mut whom: Vec<&str> = Vec::new();
            for r in reached.iter().filter(|r| r.escalation_id == e.id) {
                let who = r.contact.as_deref().unwrap_or(&r.channel);
                if !whom.contains(&who) {
                    whom.push(who);
                }
            }
            json!({"reminderId": e.reminder_id, "title": title_of(&e.reminder_id), "tier": e.current_tier,
                   "reached": whom.join(", "),
                   "loop": e.loop_index, "status": e.status, "firedAt": e.fired_at, "nextStepAt": e.next_step_at,
                   "ackUntil": e.ack_until})
        })
        .collect();
    let recent: Vec<_> = recent
        .into_iter()
        .map(|d| {
            json!({"reminderId": d.reminder_id, "title": title_of(&d.reminder_id), "tier": d.tier,
                   "channel": d.channel, "status": d.status, "at": d.sent_at.unwrap_or(d.created_at)})
        })
        .collect();
    let channels = crate::agents::subscriptions::service::list_on(&mut conn, viewer.user_id).await?;
    // The first-steps card from what this page has read already, plus the owner's progress row.
    let known = onboarding::Known {
        timezone: viewer.zone().to_owned(),
        has_channel: !channels.is_empty(),
        has_reminder: count > 0,
    };
    let onboarding = onboarding::view_with(&mut conn, viewer.user_id, known).await?;
    drop(conn);
    // No channel is ready: said once, by the first-steps card while it asks for a channel, else by an alert.
    let channel_alert =
        !super::channels::any_ready(&channels) && !onboarding.asks_for(crate::onboarding::model::Step::Channel);
    let context = json!({"due": due, "open": open, "recent": recent, "count": count,
                         "channel_alert": channel_alert, "chart": chart::draw(&by_day, today),
                         "verified": viewer.email_verified, "onboarding": onboarding});
    Ok(page(&req, &state.config, &viewer, "home", "dashboard.html", StatusCode::OK, context))
}
