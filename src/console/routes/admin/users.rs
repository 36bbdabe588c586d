//! `/admin/users`: search by email, a user's page (account, subscription, usage, notes, the recent admin
//! actions on them), and its two support forms: the delivery state and the tier override, each with a reason.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use reminder_core::ids::UserId;
use reminder_core::tiers::{self, Tier};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{AdminPosted, AdminViewer, admin_page, refusal, refused};
use crate::admin::action_log::{self, AuditFilter};
use crate::admin::model::{DeliveryState, DeliveryStateChange, Reasoned, RoleChange, SubscriptionOverride};
use crate::admin::params::{PageQuery, UserSearchQuery};
use crate::admin::permissions::{Permission, Role};
use crate::admin::{service, store};
use crate::console::error::ConsoleError;
use crate::console::forms::{Errors, blank_is_none, local_datetime};
use crate::console::routes::{path_id, redirect_with, tokened};
use crate::state::AppState;

/// Results per page of the search, and notes and actions shown on a user's page.
const PAGE_SIZE: u32 = 25;
const NOTES_SHOWN: u32 = 50;
const ACTIONS_SHOWN: u32 = 10;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Search {
    q: String,
    page: String,
}

pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
    query: web::Query<Search>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewUsers)?;
    let page_number = query.page.trim().parse::<u32>().ok().filter(|p| *p >= 1).unwrap_or(1);
    let asked = UserSearchQuery { q: blank_is_none(&query.q), page: Some(page_number), page_size: Some(PAGE_SIZE) };
    let (page, q, errors) = match asked.checked() {
        Ok((page, q)) => (page, q, Errors::new()),
        Err(err) => {
            let errors = refused(err, "")?;
            let blank = UserSearchQuery { q: None, page: Some(1), page_size: Some(PAGE_SIZE) };
            let (page, _) = blank.checked()?;
            (page, None, errors)
        }
    };
    let mut conn = state.db.get().await?;
    let (users, total) = store::search_users(&mut conn, q.as_deref(), page).await?;
    drop(conn);
    let pages = u32::try_from((total + i64::from(PAGE_SIZE) - 1) / i64::from(PAGE_SIZE)).unwrap_or(1).max(1);
    let link = |to: u32| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q.as_deref().unwrap_or(""))
            .append_pair("page", &to.to_string())
            .finish();
        format!("/admin/users?{query}")
    };
    let context = json!({
        "q": query.q, "users": users, "total": total, "page": page.page, "pages": pages,
        "previous": (page.page > 1).then(|| link(page.page - 1)),
        "next": (page.page < pages).then(|| link(page.page + 1)),
        "errors": errors,
    });
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(admin_page(&req, &state, &who, "users", "admin_users.html", status, context))
}

/// `POST /admin/users/{id}/delivery-state`. `until` is a date and time on the admin's clock.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DeliveryForm {
    csrf: String,
    state: String,
    until: String,
    reason: String,
}
tokened!(DeliveryForm);

/// `POST /admin/users/{id}/tier`: a tier, or blank to end the override.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TierForm {
    csrf: String,
    tier: String,
    reason: String,
}
tokened!(TierForm);

/// `POST /admin/users/{id}/role`: a role, or blank to revoke the one held.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RoleForm {
    csrf: String,
    role: String,
    reason: String,
}
tokened!(RoleForm);

/// `POST /admin/users/{id}/delete`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
    reason: String,
}
tokened!(DeleteForm);

/// What a user's page shows again after a refused form: the errors, and what was typed where.
#[derive(Default, Serialize)]
pub(super) struct Typed {
    pub errors: Errors,
    pub delivery: Option<DeliveryForm>,
    pub tier: Option<TierForm>,
    pub role: Option<RoleForm>,
    pub delete: Option<DeleteForm>,
    pub note: Option<super::notes::NoteForm>,
    /// The note whose edit or delete was refused, and what was typed for it.
    pub note_id: Option<String>,
    pub note_typed: Option<super::notes::NoteForm>,
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: AdminViewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(Permission::ViewUsers)?;
    user_page(&req, &state, &who, path_id(&id)?, Typed::default(), StatusCode::OK).await
}

/// A user's page, showing `typed` in its forms.
pub(super) async fn user_page(
    req: &HttpRequest,
    state: &AppState,
    who: &AdminViewer,
    user: UserId,
    typed: Typed,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let detail = service::user_detail(state, user).await?;
    let notes_page = PageQuery { page: Some(1), page_size: Some(NOTES_SHOWN) }.checked()?;
    let actions_page = PageQuery { page: Some(1), page_size: Some(ACTIONS_SHOWN) }.checked()?;
    let mut conn = state.db.get().await?;
    let (notes, notes_total) = store::notes(&mut conn, user, notes_page).await?;
    let filter = AuditFilter { target_user_id: Some(user), ..AuditFilter::default() };
    let (actions, actions_total) = action_log::page(&mut conn, &filter, actions_page).await?;
    drop(conn);
    // Each note's author by email, from the list of admins (an author whose role was revoked stays unnamed).
    let admins = crate::admin::roles::list(state).await?;
    let notes: Vec<_> = notes
        .into_iter()
        .map(|note| {
            let author = admins.iter().find(|a| a.admin_id == note.admin_id).map(|a| a.email.clone());
            json!({"note": note, "author": author})
        })
        .collect();
    let until = detail
        .subscription
        .usage_suspended_until
        .map(|at| at.with_timezone(&who.viewer.tz).format("%Y-%m-%dT%H:%M").to_string());
    let context = json!({
        "user": detail, "notes": notes, "notesTotal": notes_total, "actions": actions, "actionsTotal": actions_total,
        "states": [DeliveryState::Active.as_str(), DeliveryState::UsageSuspended.as_str(), DeliveryState::DeliveryDisabled.as_str()],
        "tiers": tiers::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "roles": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "until": until,
        "typed": typed,
    });
    Ok(admin_page(req, state, who, "users", "admin_user.html", status, context))
}

pub async fn delivery_state(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<DeliveryForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    who.require(Permission::SetDeliveryState)?;
    let user: UserId = path_id(&id)?;
    let mut errors = Errors::new();
    let chosen = DeliveryState::parse(form.state.trim());
    if chosen.is_none() {
        errors.insert("delivery_state".to_owned(), "Choose a delivery state.".to_owned());
    }
    // Only a usage suspension takes an end; the field is ignored for the others, as the form hides nothing.
    let until = match (chosen, blank_is_none(&form.until)) {
        (Some(DeliveryState::UsageSuspended), Some(raw)) => match local_datetime(&raw) {
            Some(local) => Some(reminder_core::timezone::resolve_local(who.viewer.tz, local)),
            None => {
                errors
                    .insert("delivery_until".to_owned(), "Give a date and time, such as 2026-12-24 18:00.".to_owned());
                None
            }
        },
        _ => None,
    };
    if let Some(chosen) = chosen
        && errors.is_empty()
    {
        let change = DeliveryStateChange { state: chosen, reason: form.reason.clone(), until };
        match service::set_delivery_state(&state, &who.admin, user, change).await {
            Ok(after) => {
                let message = format!("Deliveries are now {}.", after.delivery_state);
                return Ok(redirect_with(&state.config, &user_path(user), &message));
            }
            Err(err) => errors.extend(refused(err, "delivery_")?),
        }
    }
    let typed = Typed { errors, delivery: Some(form), ..Typed::default() };
    user_page(&req, &state, &who, user, typed, StatusCode::BAD_REQUEST).await
}

pub async fn tier(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<TierForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    who.require(Permission::OverrideSubscription)?;
    let user: UserId = path_id(&id)?;
    let mut errors = Errors::new();
    let tier = match blank_is_none(&form.tier) {
        None => Ok(None),
        Some(name) => Tier::parse(&name).map(Some).ok_or(()),
    };
    match tier {
        Ok(tier) => {
            let grant = SubscriptionOverride { tier, reason: form.reason.clone() };
            match service::override_subscription(&state, &who.admin, user, grant).await {
                Ok(after) => {
                    let message = match &after.tier_override {
                        Some(tier) => format!("{tier} is granted; it wins over the paid tier."),
                        None => format!("The override is over: the paid tier, {}, is in force.", after.tier),
                    };
                    return Ok(redirect_with(&state.config, &user_path(user), &message));
                }
                Err(err) => errors.extend(refused(err, "tier_")?),
            }
        }
        Err(()) => {
            errors.insert("tier_tier".to_owned(), "Choose a tier.".to_owned());
        }
    }
    let typed = Typed { errors, tier: Some(form), ..Typed::default() };
    user_page(&req, &state, &who, user, typed, StatusCode::BAD_REQUEST).await
}

pub async fn role(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<RoleForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    who.require(Permission::ManageAdmins)?;
    let user: UserId = path_id(&id)?;
    let outcome = match blank_is_none(&form.role) {
        None => {
            let revoked =
                crate::admin::roles::revoke(&state, &who.admin, user, Reasoned { reason: form.reason.clone() });
            revoked.await.map(|()| "The admin role is revoked.".to_owned())
        }
        Some(name) => match Role::parse(&name) {
            Some(role) => {
                crate::admin::roles::set(&state, &who.admin, user, RoleChange { role, reason: form.reason.clone() })
                    .await
                    .map(|entry| format!("The account now holds the role {}.", entry.role.as_str()))
            }
            None => {
                Err(crate::http::ApiError::validation(vec![crate::http::FieldError::new("role", "Choose a role.")]))
            }
        },
    };
    let (status, errors) = match outcome {
        Ok(message) => return Ok(redirect_with(&state.config, &user_path(user), &message)),
        // Revoking from an account without a role: said in the form, not as a missing page.
        Err(err) if err.code() == crate::http::ErrorCode::NotFound && blank_is_none(&form.role).is_none() => (
            StatusCode::CONFLICT,
            Errors::from([("role_form".to_owned(), "This account holds no admin role.".to_owned())]),
        ),
        Err(err) => refusal(err, "role_")?,
    };
    let typed = Typed { errors, role: Some(form), ..Typed::default() };
    user_page(&req, &state, &who, user, typed, status).await
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: AdminPosted<DeleteForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let AdminPosted { who, form } = posted;
    who.require(Permission::DeleteUsers)?;
    let user: UserId = path_id(&id)?;
    let reason = Reasoned { reason: form.reason.clone() };
    let (status, errors) = match crate::admin::roles::delete_user(&state, &who.admin, user, reason).await {
        Ok(()) => return Ok(redirect_with(&state.config, &user_path(user), "The account is deleted.")),
        Err(err) => refusal(err, "delete_")?,
    };
    let typed = Typed { errors, delete: Some(form), ..Typed::default() };
    user_page(&req, &state, &who, user, typed, status).await
}

/// The user's admin page.
pub(super) fn user_path(user: UserId) -> String {
    format!("/admin/users/{}", user.uuid())
}
