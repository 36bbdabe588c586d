//! `/admin/audit`: the admin action log, newest first, filtered by admin, target user, action and days; the
//! filters are a GET form, so a filtered view is a link to share.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{AdminViewer, admin_page, refused};
use crate::admin::action_log;
use crate::admin::params::AuditQuery;
use crate::admin::permissions::Permission;
use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, blank_is_none};
use crate::state::AppState;

const PAGE_SIZE: u32 = 25;

/// The actions the service writes, offered in the filter (any other name can still be typed in the URL).
const ACTIONS: &[&str] = &[
    "user.suspend",
    "user.unsuspend",
    "user.disable_delivery",
    "user.enable_delivery",
    "subscription.override",
    "subscription.clear_override",
    "note.add",
    "note.edit",
    "note.delete",
    "settings.change",
    "admin.grant",
    "admin.change_role",
    "admin.revoke",
    "user.delete",
];

/// The filters as the form sends them: blank is "any".
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Filters {
    admin: String,
    target: String,
    action: String,
    since: String,
    until: String,
    page: String,
}

fn uuid_field(raw: &str, field: &str, errors: &mut Errors) -> Option<Uuid> {
    let text = blank_is_none(raw)?;
    let parsed = Uuid::parse_str(&text).ok();
    if parsed.is_none() {
        errors.insert(field.to_owned(), "Give an id such as 0193a2c4-…, as the user's page shows it.".to_owned());
    }
    parsed
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
    query: web::Query<Filters>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewAudit)?;
    let mut errors = Errors::new();
    let page_number = query.page.trim().parse::<u32>().ok().filter(|p| *p >= 1).unwrap_or(1);
    let asked = AuditQuery {
        admin_id: uuid_field(&query.admin, "admin", &mut errors),
        target_user_id: uuid_field(&query.target, "target", &mut errors),
        action: blank_is_none(&query.action),
        from: super::utc_day(&query.since, 0, "since", &mut errors),
        to: super::utc_day(&query.until, 1, "until", &mut errors),
        page: Some(page_number),
        page_size: Some(PAGE_SIZE),
    };
    let (page, filter) = match asked.checked() {
        Ok(checked) if errors.is_empty() => checked,
        outcome => {
            if let Err(err) = outcome {
                errors.extend(refused(err, "")?.into_iter().map(|(field, message)| {
                    let field = match field.as_str() {
                        "to" => "until".to_owned(),
                        "from" => "since".to_owned(),
                        _ => field,
                    };
                    (field, message)
                }));
            }
            let everything = AuditQuery {
                admin_id: None,
                target_user_id: None,
                action: None,
                from: None,
                to: None,
                page: Some(1),
                page_size: Some(PAGE_SIZE),
            };
            everything.checked()?
        }
    };
    let mut conn = state.db.get().await?;
    let (entries, total) = action_log::page(&mut conn, &filter, page).await?;
    drop(conn);
    let admins = crate::admin::roles::list(&state).await?;
    let pages = u32::try_from((total + i64::from(PAGE_SIZE) - 1) / i64::from(PAGE_SIZE)).unwrap_or(1).max(1);
    let link = |to: u32| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("admin", &query.admin)
            .append_pair("target", &query.target)
            .append_pair("action", &query.action)
            .append_pair("since", &query.since)
            .append_pair("until", &query.until)
            .append_pair("page", &to.to_string())
            .finish();
        format!("/admin/audit?{query}")
    };
    let entries: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            let changes = serde_json::to_string(&entry.changes).unwrap_or_default();
            json!({"entry": entry, "changes": changes})
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let context = json!({
        "filters": &*query, "actions": ACTIONS, "admins": admins, "entries": entries, "total": total,
        "page": page.page, "pages": pages,
        "previous": (page.page > 1).then(|| link(page.page - 1)),
        "next": (page.page < pages).then(|| link(page.page + 1)),
        "errors": errors,
    });
    Ok(admin_page(&req, &state, &who, "audit", "admin_audit.html", status, context))
}
