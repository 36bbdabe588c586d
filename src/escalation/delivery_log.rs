//! The user's delivery log and the pull-agent inbox.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, SubscriptionId, UserId};
use reminder_core::status::DeliveryStatus;
use serde::{Deserialize, Serialize};

use crate::accounts::auth::AuthUser;
use crate::db::schema::{deliveries, pending_notifications, reminders};
use crate::http::envelope::{Envelope, no_content};
use crate::http::pagination::{Cursor, Page};
use crate::http::{ApiError, ApiResponse, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => log, pending, delivered);
}

/// The delivery statuses the log can be filtered by.
pub const STATUSES: [&str; 6] = ["pending", "sending", "sent", "delivered", "failed", "cancelled"];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
    /// Keyset paging: `meta.pagination.nextCursor` of the previous page. Each row appears on exactly one page
    /// even while new deliveries arrive; `page` is then not used.
    pub cursor: Option<String>,
}

/// One delivery as the log shows it.
#[derive(Debug, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = deliveries)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryLogEntry {
    #[schema(value_type = Uuid)]
    pub id: DeliveryId,
    #[schema(value_type = Uuid)]
    pub reminder_id: ReminderId,
    #[schema(value_type = Uuid)]
    pub escalation_id: EpisodeId,
    pub tier: i16,
    pub loop_index: i16,
    pub channel: String,
    pub target_kind: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub cancel_reason: Option<String>,
    pub deferred_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", operation_id = "notifications_log", params(LogQuery),
    responses((status = 200, body = Envelope<Vec<DeliveryLogEntry>>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn log(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<LogQuery>,
) -> Result<ApiResponse<Vec<DeliveryLogEntry>>, ApiError> {
    let mut errors = Vec::new();
    let page = Page::from_query(query.page, query.page_size, &mut errors);
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        errors.push(crate::http::FieldError::new("status", format!("must be one of {}", STATUSES.join(", "))));
    }
    let cursor = query.cursor.as_deref().and_then(|text| Cursor::decode(text, &mut errors));
    if query.cursor.is_some() && query.page.is_some_and(|page| page > 1) {
        errors.push(crate::http::FieldError::new("page", "cannot be combined with cursor"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.db.get().await?;
    let (rows, pagination) = delivery_log(&mut conn, user.id, query.status.as_deref(), page, cursor).await?;
    Ok(ApiResponse::page(rows, pagination))
}

/// One page of the owner's deliveries, newest first, and its page information (API and console). With a
/// cursor the page starts after that row; either way `nextCursor` is set when more rows follow.
pub async fn delivery_log(
    conn: &mut diesel_async::AsyncPgConnection,
    owner: UserId,
    status: Option<&str>,
    page: Page,
    cursor: Option<Cursor>,
) -> Result<(Vec<DeliveryLogEntry>, crate::http::envelope::Pagination), ApiError> {
    let (rows, pagination) =
        filtered_log(conn, owner, LogFilter { status, ..LogFilter::default() }, page, cursor).await?;
    Ok((rows.into_iter().map(|row| row.entry).collect(), pagination))
}

/// Which of the owner's deliveries a log page shows (the console's notifications page filters by each).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFilter<'a> {
    pub status: Option<&'a str>,
    pub reminder: Option<ReminderId>,
    /// Text in the reminder's title (any case; `%` and `_` match themselves).
    pub title: Option<&'a str>,
    pub channel: Option<&'a str>,
}

/// A delivery with the title of its reminder (an archived one's too), read in the same query.
#[derive(Debug)]
pub struct TitledEntry {
    pub entry: DeliveryLogEntry,
    pub title: String,
}

/// [`delivery_log`] with every filter and each row's reminder title: the same order, paging and cursor.
pub async fn filtered_log(
    conn: &mut diesel_async::AsyncPgConnection,
    owner: UserId,
    filter: LogFilter<'_>,
    page: Page,
    cursor: Option<Cursor>,
) -> Result<(Vec<TitledEntry>, crate::http::envelope::Pagination), ApiError> {
    let mine = || deliveries::table.inner_join(reminders::table).filter(deliveries::user_id.eq(owner)).into_boxed();
    let mut filtered = mine();
    filtered = match cursor {
        Some(after) => filtered
            .filter(
                deliveries::created_at
                    .lt(after.created_at)
                    .or(deliveries::created_at.eq(after.created_at).and(deliveries::id.lt(after.id))),
            )
            .limit(page.limit() + 1),
        None => filtered.limit(page.limit() + 1).offset(page.offset()),
    };
    let mut counted = mine();
    // Both callers check the name against `STATUSES` first, so the error is not reached.
    let status =
        filter.status.map(|name| DeliveryStatus::parse(name).ok_or_else(|| ApiError::field("status", "unknown")));
    if let Some(status) = status.transpose()? {
        filtered = filtered.filter(deliveries::status.eq(status));
        counted = counted.filter(deliveries::status.eq(status));
    }
    if let Some(reminder) = filter.reminder {
        filtered = filtered.filter(deliveries::reminder_id.eq(reminder));
        counted = counted.filter(deliveries::reminder_id.eq(reminder));
    }
    if let Some(title) = filter.title {
        let pattern = format!("%{}%", crate::reminders::store::escape_like(title));
        filtered = filtered.filter(reminders::title.ilike(pattern.clone()));
        counted = counted.filter(reminders::title.ilike(pattern));
    }
    if let Some(channel) = filter.channel {
        filtered = filtered.filter(deliveries::channel.eq(channel.to_owned()));
        counted = counted.filter(deliveries::channel.eq(channel.to_owned()));
    }
    let total: i64 = counted.count().get_result(conn).await?;
    // A unique order (id breaks ties) so that no row moves between pages; one row more tells if there is a next.
    let rows: Vec<(DeliveryLogEntry, String)> = filtered
        .order((deliveries::created_at.desc(), deliveries::id.desc()))
        .select((DeliveryLogEntry::as_select(), reminders::title))
        .load(conn)
        .await?;
    let mut rows: Vec<TitledEntry> = rows.into_iter().map(|(entry, title)| TitledEntry { entry, title }).collect();
    let mut pagination = page.pagination(total);
    if rows.len() > page.page_size as usize {
        rows.truncate(page.page_size as usize);
        pagination.next_cursor =
            rows.last().map(|row| Cursor { created_at: row.entry.created_at, id: row.entry.id.0 }.encode());
    }
    Ok((rows, pagination))
}

/// The owner's `limit` newest deliveries, without counting the rest (the home page lists a few and pages
/// nothing; the count was a fifth of its time).
pub async fn newest(
    conn: &mut diesel_async::AsyncPgConnection,
    owner: UserId,
    limit: i64,
) -> Result<Vec<DeliveryLogEntry>, ApiError> {
    Ok(deliveries::table
        .filter(deliveries::user_id.eq(owner))
        .order((deliveries::created_at.desc(), deliveries::id.desc()))
        .limit(limit)
        .select(DeliveryLogEntry::as_select())
        .load(conn)
        .await?)
}

/// A notification waiting for a pull agent.
#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingNotification {
    #[schema(value_type = Uuid)]
    pub id: DeliveryId,
    #[schema(value_type = Uuid)]
    pub subscription_id: SubscriptionId,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/notifications/pending", tag = "notifications", operation_id = "notifications_pending",
    description = "For pull agents (API key): notifications not yet confirmed, oldest first, at most 100.",
    responses((status = 200, body = Envelope<Vec<PendingNotification>>)), security(("apiKey" = []), ("bearer" = [])))]
pub async fn pending(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<ApiResponse<Vec<PendingNotification>>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = pending_notifications::table
        .filter(pending_notifications::user_id.eq(user.id))
        .filter(pending_notifications::delivered_at.is_null())
        .order(pending_notifications::created_at.asc())
        .limit(100)
        .select((
            pending_notifications::delivery_id,
            pending_notifications::subscription_id,
            pending_notifications::payload,
            pending_notifications::created_at,
        ))
        .load(&mut conn)
        .await?;
    Ok(ApiResponse::ok(rows))
}

#[utoipa::path(post, path = "/v1/notifications/{id}/delivered", tag = "notifications", operation_id = "notifications_delivered", params(("id" = Uuid, Path, description = "The resource id")),
    description = "A pull agent confirms it has shown the notification. Confirming twice is harmless.",
    responses((status = 204), (status = 404)), security(("apiKey" = []), ("bearer" = [])))]
pub async fn delivered(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<DeliveryId>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (*id, state.clock.now());
    let mut conn = state.db.get().await?;
    let found = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let marked = diesel::update(
                pending_notifications::table.find(id).filter(pending_notifications::user_id.eq(user.id)),
            )
            .set(pending_notifications::delivered_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("COALESCE(delivered_at, now())")))
            .execute(conn)
            .await?;
            if marked == 1 {
                crate::escalation::engine::deliveries::mark_pulled(conn, id, now).await?;
            }
            Ok(marked == 1)
        })
        .await?;
    if found { Ok(no_content()) } else { Err(ApiError::not_found("Notification")) }
}
