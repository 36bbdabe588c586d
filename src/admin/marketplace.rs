//! The review of marketplace agent types: the queue, and an admin's approve / reject / suspend, written to the
//! admin action log in the same transaction.

use actix_web::web;
use diesel_async::AsyncConnection;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::extractor::AdminUser;
use super::permissions::Permission;
use super::routes::PendingBody;
use crate::agents::marketplace::model::{AgentView, ReviewInput};
use crate::agents::marketplace::service;
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => queue, review);
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `pending` (the default), `approved`, `rejected`, `suspended` or `all`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/v1/admin/marketplace/agents", tag = "admin", operation_id = "admin_marketplace_queue",
    params(QueueQuery), description = "Agent types waiting for review, oldest first (or those in `status`). Any admin role.",
    responses((status = 200, body = Envelope<Vec<AgentView>>), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn queue(
    state: web::Data<AppState>,
    admin: AdminUser,
    query: web::Query<QueueQuery>,
) -> Result<ApiResponse<Vec<AgentView>>, ApiError> {
    admin.require(Permission::ViewSystem)?;
    let status = match query.status.as_deref() {
        None => Some("pending"),
        Some("all") => None,
        Some(status) => Some(status),
    };
    Ok(ApiResponse::ok(service::queue(&state, status).await?))
}

#[utoipa::path(post, path = "/v1/admin/marketplace/agents/{id}/review", tag = "admin", operation_id = "admin_marketplace_review",
    params(("id" = Uuid, Path, description = "The agent type's id")), request_body = ReviewInput,
    description = "Approves (it joins the catalogue), rejects or suspends (its subscribers get nothing; the reason is \
        shown to its developer) an agent type. super_admin.",
    responses((status = 200, body = Envelope<AgentView>), (status = 400), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn review(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: PendingBody,
) -> Result<ApiResponse<AgentView>, ApiError> {
    let input: ReviewInput = body.permitted(&admin, Permission::ReviewAgents).await?;
    service::require_enabled(&state)?;
    let now = state.clock.now();
    let key = state.config.encryption_key.expose_secret();
    let mut conn = state.db.get().await?;
    let after = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (before, after) = service::review(conn, key, *id, &input, now).await?;
            let changes = json!({"agentType": after.agent_type, "before": before.status, "after": after.status});
            let reason = input.reason.as_deref().unwrap_or(&input.decision);
            let action = format!("marketplace.{}", input.decision);
            super::service::log(conn, &admin, &action, after.developer_id, reason, changes).await?;
            Ok(after)
        })
        .await?;
    Ok(ApiResponse::ok(after.into()))
}
