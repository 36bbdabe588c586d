//! The admin action log: one row per admin write, inserted in the write's own transaction, and the
//! filtered, paged reading of it behind `GET /v1/admin/audit`.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::model::AdminAction;
use crate::db::schema::{admin_actions, admin_users, users};
use crate::http::pagination::Page;

/// One admin action to log.
#[derive(Debug, Insertable)]
#[diesel(table_name = admin_actions)]
pub struct NewAdminAction<'a> {
    pub admin_user_id: Uuid,
    pub action: &'a str,
    pub target_user_id: Option<UserId>,
    pub reason: &'a str,
    pub changes: serde_json::Value,
    pub ip: Option<&'a str>,
    pub request_id: Option<String>,
}

/// Inserts the row; called inside the transaction that makes the change it describes.
pub async fn record(conn: &mut AsyncPgConnection, action: NewAdminAction<'_>) -> QueryResult<usize> {
    diesel::insert_into(admin_actions::table).values(action).execute(conn).await
}

/// Filters of the action log, already validated.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub admin_id: Option<Uuid>,
    pub target_user_id: Option<UserId>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

fn actions_matching(filter: &AuditFilter) -> admin_actions::BoxedQuery<'static, Pg> {
    let mut query = admin_actions::table.into_boxed();
    if let Some(admin) = filter.admin_id {
        query = query.filter(admin_actions::admin_user_id.eq(admin));
    }
    if let Some(target) = filter.target_user_id {
        query = query.filter(admin_actions::target_user_id.eq(target));
    }
    if let Some(action) = &filter.action {
        query = query.filter(admin_actions::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(admin_actions::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(admin_actions::created_at.lt(to));
    }
    query
}

type ActionRow =
    (Uuid, Uuid, String, Option<Uuid>, String, serde_json::Value, Option<String>, Option<String>, DateTime<Utc>);

/// One page of the action log, newest first, with each admin's email, and the number of matches.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: Page,
) -> QueryResult<(Vec<AdminAction>, i64)> {
    let total: i64 = actions_matching(filter).count().get_result(conn).await?;
    let rows: Vec<ActionRow> = actions_matching(filter)
        .order((admin_actions::created_at.desc(), admin_actions::id))
        .limit(page.limit())
        .offset(page.offset())
        .select((
            admin_actions::id,
            admin_actions::admin_user_id,
            admin_actions::action,
            admin_actions::target_user_id,
            admin_actions::reason,
            admin_actions::changes,
            admin_actions::ip,
            admin_actions::request_id,
            admin_actions::created_at,
        ))
        .load(conn)
        .await?;
    let admin_ids: Vec<Uuid> = rows.iter().map(|row| row.1).collect();
    let emails: std::collections::HashMap<Uuid, String> = admin_users::table
        .inner_join(users::table)
        .filter(admin_users::id.eq_any(admin_ids))
        .select((admin_users::id, users::email))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let entries = rows
        .into_iter()
        .map(|(id, admin_id, action, target_user_id, reason, changes, ip, request_id, created_at)| AdminAction {
            id,
            admin_email: emails.get(&admin_id).cloned(),
            admin_id,
            action,
            target_user_id,
            reason,
            changes,
            ip,
            request_id,
            created_at,
        })
        .collect();
    Ok((entries, total))
}
