//! The success envelope: `{"success": true, "data": …, "meta": {…}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, Responder};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use super::context::current_request_id;

/// Response metadata present on every envelope.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub timestamp: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

impl Meta {
    pub fn now() -> Meta {
        Meta {
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            request_id: current_request_id(),
            pagination: None,
        }
    }
}

/// Page information of a list response.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    pub total_items: u64,
    pub total_pages: u64,
    /// On lists that offer keyset paging: pass as `cursor` for the rows after this page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The success envelope as the OpenAPI document describes it (`ApiResponse` renders it).
#[derive(utoipa::ToSchema)]
pub struct Envelope<T> {
    pub success: bool,
    pub data: T,
    pub meta: Meta,
}

/// A successful answer with a status.
pub struct ApiResponse<T> {
    status: StatusCode,
    data: T,
    pagination: Option<Pagination>,
}

#[derive(Serialize)]
struct Body<'a, T> {
    success: bool,
    data: &'a T,
    meta: Meta,
}

impl<T: Serialize> ApiResponse<T> {
    pub fn ok(data: T) -> Self {
        ApiResponse { status: StatusCode::OK, data, pagination: None }
    }

    pub fn created(data: T) -> Self {
        ApiResponse { status: StatusCode::CREATED, data, pagination: None }
    }

    pub fn page(data: T, pagination: Pagination) -> Self {
        ApiResponse { status: StatusCode::OK, data, pagination: Some(pagination) }
    }
}

impl<T: Serialize> Responder for ApiResponse<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> HttpResponse {
        let mut meta = Meta::now();
        meta.pagination = self.pagination;
        match serde_json::to_vec(&Body { success: true, data: &self.data, meta }) {
            Ok(body) => HttpResponse::build(self.status).content_type("application/json").body(body),
            Err(err) => actix_web::ResponseError::error_response(&super::ApiError::internal(err)),
        }
    }
}

/// 204 No Content.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
