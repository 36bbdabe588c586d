//! Notifications: the whole delivery log (the service behind `GET /v1/notifications`), filtered by reminder
//! (a link's id, or words of any reminder's title), status and channel, paged by the API's keyset cursor so
//! no row is skipped or shown twice while new ones arrive. Each row's title comes with it from the log's query.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ChannelKind;
use reminder_core::ids::ReminderId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::dashboard::all_reminders;
use super::page;
use crate::console::error::ConsoleError;
use crate::console::forms::Errors;
use crate::console::session::Viewer;
use crate::escalation::delivery_log::{LogFilter, STATUSES, TitledEntry, filtered_log};
use crate::http::pagination::{Cursor, Page};
use crate::reminders::service as reminders;
use crate::state::AppState;

/// Deliveries per page.
const PAGE_SIZE: u32 = 25;
/// The longest reminder title (and so the longest text worth searching for).
const TITLE_MAX: usize = 200;

/// The filters as typed in the query string; empty means any.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LogQuery {
    /// A reminder's id (from a link), or words of reminders' titles (typed).
    reminder: String,
    status: String,
    channel: String,
    cursor: String,
}

impl LogQuery {
    /// The service's filter, or the fields it cannot use.
    fn filter(&self) -> Result<(LogFilter<'_>, Option<Cursor>), Errors> {
        let mut errors = Errors::new();
        let typed = Some(self.reminder.trim()).filter(|r| !r.is_empty());
        let reminder = typed.and_then(|raw| Uuid::parse_str(raw).ok().map(ReminderId));
        let title = typed.filter(|_| reminder.is_none());
        if title.is_some_and(|t| t.chars().count() > TITLE_MAX) {
            errors.insert("reminder".into(), format!("Type at most {TITLE_MAX} characters of a title."));
        }
        let status = Some(self.status.as_str()).filter(|s| !s.is_empty());
        if status.is_some_and(|s| !STATUSES.contains(&s)) {
            errors.insert("status".into(), "Choose a status from the list.".into());
        }
        let channel = Some(self.channel.as_str()).filter(|c| !c.is_empty());
        if channel.is_some_and(|c| ChannelKind::parse(c).is_none()) {
            errors.insert("channel".into(), "Choose a channel from the list.".into());
        }
        let mut found = Vec::new();
        let cursor = Some(self.cursor.as_str()).filter(|c| !c.is_empty()).and_then(|c| Cursor::decode(c, &mut found));
        if !found.is_empty() {
            errors.insert(String::new(), "That page link is broken. Start again from the newest deliveries.".into());
        }
        if errors.is_empty() { Ok((LogFilter { status, reminder, title, channel }, cursor)) } else { Err(errors) }
    }

    /// This page's link with another cursor (none: the newest page).
    fn link(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("reminder", &self.reminder), ("status", &self.status), ("channel", &self.channel)] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        match query.finish() {
            query if query.is_empty() => "/notifications".to_owned(),
            query => format!("/notifications?{query}"),
        }
    }
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.get().await?;
    // Suggestions for the reminder field; the filter itself reaches every reminder, however many.
    let suggested = all_reminders(&mut conn, viewer.user_id, None).await?;
    let mut shown_filter = query.reminder.clone();
    let (rows, next, total, errors) = match query.filter() {
        Ok((filter, cursor)) => {
            // Another user's reminder is the same 404 as on its own page; one of mine reads as its title.
            if let Some(id) = filter.reminder {
                shown_filter = reminders::get(&mut conn, viewer.user_id, id).await?.title;
            }
            let page_of = Page { page: 1, page_size: PAGE_SIZE };
            let (rows, pagination) = filtered_log(&mut conn, viewer.user_id, filter, page_of, cursor).await?;
            (rows, pagination.next_cursor, pagination.total_items, Errors::new())
        }
        Err(errors) => (Vec::new(), None, 0, errors),
    };
    drop(conn);
    let rows: Vec<_> = rows
        .iter()
        .map(|TitledEntry { entry: d, title }| {
            json!({"reminderId": d.reminder_id, "title": title,
                   "tier": d.tier, "loop": d.loop_index, "channel": d.channel, "targetKind": d.target_kind,
                   "status": d.status, "attempts": d.attempts, "at": d.sent_at.unwrap_or(d.created_at),
                   "lastError": d.last_error, "cancelReason": d.cancel_reason, "deferredReason": d.deferred_reason})
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let context = json!({
        "rows": rows,
        "total": total,
        "query": &*query,
        "errors": errors,
        "reminderShown": shown_filter,
        "suggestions": suggested.iter().map(|r| r.title.as_str()).collect::<std::collections::BTreeSet<_>>(),
        "statuses": STATUSES,
        "channels": ChannelKind::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "older": next.as_deref().map(|cursor| query.link(Some(cursor))),
        "newest": (!query.cursor.is_empty()).then(|| query.link(None)),
    });
    Ok(page(&req, &state.config, &viewer, "notifications", "notifications.html", status, context))
}
