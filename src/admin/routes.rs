//! Thin handlers for `/v1/admin/*`. Each one names its permission first; the role table decides.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use reminder_core::ids::UserId;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::extractor::AdminUser;
use super::model::{
    AdminAction, AdminEntry, DashboardStats, DeliveryStateChange, HealthNow, HealthSnapshot, NoteEdit, NoteInput,
    Reasoned, RoleChange, SettingView, SettingsPatch, SubscriptionControls, SubscriptionOverride, SupportNote,
    UserDetail, UserSummary,
};
use super::params::{AuditQuery, HistoryQuery, PageQuery, UserSearchQuery};
use super::permissions::Permission;
use super::reports::{ActivityQuery, ActivityStats, RevenueQuery, RevenueStats};
use super::{action_log, health, reports, roles, service, settings as knobs, stats, store};
use crate::http::envelope::{Envelope, no_content};
use crate::http::rate_limit::OwnBucket;
use crate::http::{ApiError, ApiResponse, Json, Routes, SessionOnly, routes};
use crate::state::AppState;

/// Every admin route is mounted in this scope, wrapped in [`layer`].
pub const SCOPE: &str = "/v1/admin";

/// Requests per hour on admin routes, per admin (scaled by `RATE_LIMIT_MULTIPLIER` like every limit).
const HOURLY_LIMIT: u64 = 10_000;

/// Marks a request to an admin route before any shared layer authenticates the caller (the composition
/// root wraps the admin scope in it last, so it runs first). Admin routes have their own rate-limit bucket at
/// the highest tier's rate: an admin's console is not throttled by the tier of the admin's own account,
/// and their own API use does not eat into it. And they accept no API key (see [`super::accepts`]).
pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    req.extensions_mut().insert(OwnBucket { name: "admin", hourly: HOURLY_LIMIT });
    req.extensions_mut().insert(SessionOnly);
    next.call(req).await
}

pub fn configure(r: &mut Routes) {
    routes!(r =>
        dashboard, search_users, user, set_delivery_state, notes, add_note, override_subscription, audit,
        health_now, health_history, edit_note, delete_note, delete_user, admins, set_role, revoke_role, settings,
        change_settings, revenue, activity,
    );
}

/// The JSON body of a write, read only after the handler's permission is checked (by [`PendingBody::permitted`]):
/// actix extracts handler arguments concurrently, so a `Json` argument could answer 400 to a caller who may not
/// write at all.
pub struct PendingBody {
    req: HttpRequest,
    payload: Payload,
}

impl FromRequest for PendingBody {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Ok(Self { req: req.clone(), payload: payload.take() }))
    }
}

impl PendingBody {
    pub(super) async fn permitted<T: DeserializeOwned + 'static>(
        mut self,
        admin: &AdminUser,
        permission: Permission,
    ) -> Result<T, ApiError> {
        admin.require(permission)?;
        Json::<T>::from_request(&self.req, &mut self.payload).await.map(|json| json.0)
    }
}

#[utoipa::path(get, path = "/v1/admin/stats", tag = "admin", operation_id = "admin_stats",
    description = "Dashboard numbers. Any admin role.",
    responses((status = 200, body = Envelope<DashboardStats>), (status = 403)), security(("bearer" = [])))]
pub async fn dashboard(state: web::Data<AppState>, admin: AdminUser) -> Result<ApiResponse<DashboardStats>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(stats::dashboard(&mut conn, &state.config.tier_limits, state.clock.now()).await?))
}

#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", operation_id = "admin_users_search", params(UserSearchQuery),
    description = "Users whose email contains `q`, newest first. Any admin role.",
    responses((status = 200, body = Envelope<Vec<UserSummary>>), (status = 403)), security(("bearer" = [])))]
pub async fn search_users(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<UserSearchQuery>,
) -> Result<ApiResponse<Vec<UserSummary>>, ApiError> {
    admin.require(Permission::ViewUsers)?;
    let (page, q) = query.checked()?;
    let mut conn = state.db.get().await?;
    let (users, total) = store::search_users(&mut conn, q.as_deref(), page).await?;
    Ok(ApiResponse::page(users, page.pagination(total)))
}

#[utoipa::path(get, path = "/v1/admin/users/{id}", tag = "admin", operation_id = "admin_users_get",
    params(("id" = Uuid, Path, description = "The user id")), description = "One user with subscription and usage. Any admin role.",
    responses((status = 200, body = Envelope<UserDetail>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn user(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
) -> Result<ApiResponse<UserDetail>, ApiError> {
    admin.require(Permission::ViewUsers)?;
    Ok(ApiResponse::ok(service::user_detail(&state, *id).await?))
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/delivery-state", tag = "admin", operation_id = "admin_users_delivery_state",
    params(("id" = Uuid, Path, description = "The user id")), request_body = DeliveryStateChange,
    description = "Suspend (USAGE_SUSPENDED with `until`), disable (DELIVERY_DISABLED) or restore (ACTIVE) a user's \
        deliveries. SUPER_ADMIN and SUPPORT.",
    responses((status = 200, body = Envelope<SubscriptionControls>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn set_delivery_state(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<ApiResponse<SubscriptionControls>, ApiError> {
    let change = body.permitted(&admin, Permission::SetDeliveryState).await?;
    Ok(ApiResponse::ok(service::set_delivery_state(&state, &admin, *id, change).await?))
}

#[utoipa::path(get, path = "/v1/admin/users/{id}/notes", tag = "admin", operation_id = "admin_users_notes",
    params(("id" = Uuid, Path, description = "The user id"), PageQuery), description = "Support notes, newest first. Any admin role.",
    responses((status = 200, body = Envelope<Vec<SupportNote>>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn notes(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    query: web::Query<PageQuery>,
) -> Result<ApiResponse<Vec<SupportNote>>, ApiError> {
    admin.require(Permission::ViewUsers)?;
    let page = query.checked()?;
    let mut conn = state.db.get().await?;
    store::account(&mut conn, *id).await?.ok_or_else(|| ApiError::not_found("User"))?;
    let (notes, total) = store::notes(&mut conn, *id, page).await?;
    Ok(ApiResponse::page(notes, page.pagination(total)))
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/notes", tag = "admin", operation_id = "admin_users_add_note",
    params(("id" = Uuid, Path, description = "The user id")), request_body = NoteInput,
    description = "Adds a support note. Every role but READONLY.",
    responses((status = 201, body = Envelope<SupportNote>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn add_note(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<ApiResponse<SupportNote>, ApiError> {
    let note = body.permitted(&admin, Permission::WriteSupportNotes).await?;
    Ok(ApiResponse::created(service::add_note(&state, &admin, *id, note).await?))
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/subscription", tag = "admin", operation_id = "admin_users_subscription",
    params(("id" = Uuid, Path, description = "The user id")), request_body = SubscriptionOverride,
    description = "Grants a tier over the paid one (`tier: null` ends the grant). SUPER_ADMIN and BILLING.",
    responses((status = 200, body = Envelope<SubscriptionControls>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn override_subscription(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<ApiResponse<SubscriptionControls>, ApiError> {
    let grant = body.permitted(&admin, Permission::OverrideSubscription).await?;
    Ok(ApiResponse::ok(service::override_subscription(&state, &admin, *id, grant).await?))
}

#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", operation_id = "admin_audit", params(AuditQuery),
    description = "Admin actions, newest first. Any admin role.",
    responses((status = 200, body = Envelope<Vec<AdminAction>>), (status = 403)), security(("bearer" = [])))]
pub async fn audit(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<AuditQuery>,
) -> Result<ApiResponse<Vec<AdminAction>>, ApiError> {
    admin.require(Permission::ViewAudit)?;
    let (page, filter) = query.checked()?;
    let mut conn = state.db.get().await?;
    let (entries, total) = action_log::page(&mut conn, &filter, page).await?;
    Ok(ApiResponse::page(entries, page.pagination(total)))
}

#[utoipa::path(get, path = "/v1/admin/health", tag = "admin", operation_id = "admin_health",
    description = "A live health reading and the newest stored snapshot. Any admin role.",
    responses((status = 200, body = Envelope<HealthNow>), (status = 403)), security(("bearer" = [])))]
pub async fn health_now(state: web::Data<AppState>, admin: AdminUser) -> Result<ApiResponse<HealthNow>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let mut conn = state.db.get().await?;
    let measured_at = state.clock.now();
    let reading = health::measure(&state, &mut conn, measured_at).await?;
    let last_snapshot = health::latest(&mut conn).await?;
    Ok(ApiResponse::ok(HealthNow { measured_at, reading, last_snapshot }))
}

#[utoipa::path(get, path = "/v1/admin/health/history", tag = "admin", operation_id = "admin_health_history",
    params(HistoryQuery), description = "Stored snapshots (one per 5 minutes), newest first. Any admin role.",
    responses((status = 200, body = Envelope<Vec<HealthSnapshot>>), (status = 403)), security(("bearer" = [])))]
pub async fn health_history(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<HistoryQuery>,
) -> Result<ApiResponse<Vec<HealthSnapshot>>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let page = query.checked()?;
    let mut conn = state.db.get().await?;
    let (snapshots, total) = health::history(&mut conn, query.from, query.to, page).await?;
    Ok(ApiResponse::page(snapshots, page.pagination(total)))
}

#[utoipa::path(patch, path = "/v1/admin/users/{id}/notes/{noteId}", tag = "admin", operation_id = "admin_users_edit_note",
    params(("id" = Uuid, Path, description = "The user id"), ("noteId" = Uuid, Path, description = "The note id")),
    request_body = NoteEdit, description = "Edits a support note's text or pins it (pinned notes are listed first). \
        Every role but READONLY.",
    responses((status = 200, body = Envelope<SupportNote>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn edit_note(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<(UserId, Uuid)>,
    body: PendingBody,
) -> Result<ApiResponse<SupportNote>, ApiError> {
    let edit = body.permitted(&admin, Permission::WriteSupportNotes).await?;
    let (user, note) = path.into_inner();
    Ok(ApiResponse::ok(service::edit_note(&state, &admin, user, note, edit).await?))
}

#[utoipa::path(delete, path = "/v1/admin/users/{id}/notes/{noteId}", tag = "admin", operation_id = "admin_users_delete_note",
    params(("id" = Uuid, Path, description = "The user id"), ("noteId" = Uuid, Path, description = "The note id")),
    request_body = Reasoned, description = "Deletes a support note. Every role but READONLY.",
    responses((status = 204), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn delete_note(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<(UserId, Uuid)>,
    body: PendingBody,
) -> Result<HttpResponse, ApiError> {
    let reason = body.permitted(&admin, Permission::WriteSupportNotes).await?;
    let (user, note) = path.into_inner();
    service::delete_note(&state, &admin, user, note, reason).await?;
    Ok(no_content())
}

#[utoipa::path(delete, path = "/v1/admin/users/{id}", tag = "admin", operation_id = "admin_users_delete",
    params(("id" = Uuid, Path, description = "The user id")), request_body = Reasoned,
    description = "Deletes the account as its owner could (sessions and API keys revoked). An admin's account is \
        refused (409) until their role is revoked. SUPER_ADMIN only.",
    responses((status = 204), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn delete_user(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<HttpResponse, ApiError> {
    let reason = body.permitted(&admin, Permission::DeleteUsers).await?;
    roles::delete_user(&state, &admin, *id, reason).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1/admin/admins", tag = "admin", operation_id = "admin_admins_list",
    description = "Every admin and their role, SUPER_ADMIN first. Any admin role.",
    responses((status = 200, body = Envelope<Vec<AdminEntry>>), (status = 403)), security(("bearer" = [])))]
pub async fn admins(state: web::Data<AppState>, admin: AdminUser) -> Result<ApiResponse<Vec<AdminEntry>>, ApiError> {
    admin.require(Permission::ViewUsers)?;
    Ok(ApiResponse::ok(roles::list(&state).await?))
}

#[utoipa::path(put, path = "/v1/admin/admins/{id}", tag = "admin", operation_id = "admin_admins_set_role",
    params(("id" = Uuid, Path, description = "The user id")), request_body = RoleChange,
    description = "Makes the user an admin with `role`, or gives an admin another role. The last SUPER_ADMIN \
        cannot be demoted (409). SUPER_ADMIN only.",
    responses((status = 200, body = Envelope<AdminEntry>), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn set_role(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<ApiResponse<AdminEntry>, ApiError> {
    let change = body.permitted(&admin, Permission::ManageAdmins).await?;
    Ok(ApiResponse::ok(roles::set(&state, &admin, *id, change).await?))
}

#[utoipa::path(delete, path = "/v1/admin/admins/{id}", tag = "admin", operation_id = "admin_admins_revoke",
    params(("id" = Uuid, Path, description = "The user id")), request_body = Reasoned,
    description = "Ends the user's admin role; the action log still names them. The last SUPER_ADMIN cannot be \
        revoked (409). SUPER_ADMIN only.",
    responses((status = 204), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn revoke_role(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<UserId>,
    body: PendingBody,
) -> Result<HttpResponse, ApiError> {
    let reason = body.permitted(&admin, Permission::ManageAdmins).await?;
    roles::revoke(&state, &admin, *id, reason).await?;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1/admin/settings", tag = "admin", operation_id = "admin_settings",
    description = "The operator knobs kept in the database: each one's value in force, the environment's default \
        and its bounds. Any admin role.",
    responses((status = 200, body = Envelope<Vec<SettingView>>), (status = 403)), security(("bearer" = [])))]
pub async fn settings(state: web::Data<AppState>, admin: AdminUser) -> Result<ApiResponse<Vec<SettingView>>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    Ok(ApiResponse::ok(knobs::list(&state).await?))
}

#[utoipa::path(patch, path = "/v1/admin/settings", tag = "admin", operation_id = "admin_settings_change",
    request_body = SettingsPatch,
    description = "Sets the knobs given; `null` goes back to the environment's value. Every role reads the new \
        value where it applies it (the allowance when it counts, retention at its next run). SUPER_ADMIN only.",
    responses((status = 200, body = Envelope<Vec<SettingView>>), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn change_settings(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: PendingBody,
) -> Result<ApiResponse<Vec<SettingView>>, ApiError> {
    let patch = body.permitted(&admin, Permission::ChangeSettings).await?;
    Ok(ApiResponse::ok(knobs::change(&state, &admin, patch).await?))
}

#[utoipa::path(get, path = "/v1/admin/stats/revenue", tag = "admin", operation_id = "admin_stats_revenue", params(RevenueQuery),
    description = "Revenue by month (UTC): paying subscriptions, MRR and ARR at list price, new, changed and cancelled \
        subscriptions, churn, and payments collected. Any admin role.",
    responses((status = 200, body = Envelope<RevenueStats>), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn revenue(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<RevenueQuery>,
) -> Result<ApiResponse<RevenueStats>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let months = query.checked(state.clock.now())?;
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(reports::revenue(&mut conn, &state.config.tier_limits, months).await?))
}

#[utoipa::path(get, path = "/v1/admin/stats/activity", tag = "admin", operation_id = "admin_stats_activity", params(ActivityQuery),
    description = "What happened between `from` and `to` (the last 30 days by default, at most 366): reminders \
        created, escalations fired, deliveries by channel and outcome, channels added. Any admin role.",
    responses((status = 200, body = Envelope<ActivityStats>), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn activity(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<ActivityQuery>,
) -> Result<ApiResponse<ActivityStats>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let range = query.checked(state.clock.now())?;
    let mut conn = state.db.get().await?;
    Ok(ApiResponse::ok(reports::activity(&mut conn, range).await?))
}
