//! Thin handler for `GET /v1/users/me/export`.

use actix_web::http::header::{CONTENT_DISPOSITION, HeaderValue};
use actix_web::{CustomizeResponder, Responder, web};

use super::model::Export;
use super::service;
use crate::accounts::auth::AuthUser;
use crate::http::envelope::Envelope;
use crate::http::{ApiError, ApiResponse, Routes, routes};
use crate::state::AppState;

pub fn configure(r: &mut Routes) {
    routes!(r => export);
}

#[utoipa::path(get, path = "/v1/users/me/export", tag = "users",
    description = "Every row the caller owns, table by table, as a download (`Content-Disposition: attachment`). \
        Credentials and secrets are left out. Deleting the account (`DELETE /v1/users/me`) erases the same rows \
        30 days later.",
    responses((status = 200, body = Envelope<Export>)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<CustomizeResponder<ApiResponse<Export>>, ApiError> {
    let mut conn = state.db.get().await?;
    let export = service::export(&mut conn, user.id, state.clock.now()).await?;
    let disposition = format!("attachment; filename=\"{}\"", service::file_name(&export));
    let disposition = HeaderValue::from_str(&disposition).map_err(ApiError::internal)?;
    Ok(ApiResponse::ok(export).customize().insert_header((CONTENT_DISPOSITION, disposition)))
}
