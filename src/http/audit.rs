//! The audit trail: one `audit_trails` row per mutating request, written once the response is known.
//!
//! Only who, what (the route pattern, never the raw path, query or body), which target, the status, the
//! IP and the request id are kept, so no secret or personal text can reach the table. A failed insert is
//! logged and the response still goes out: auditing must not turn a done change into an error.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::caller::Caller;
use super::client_ip::client_ip;
use super::context::current_request_id;
use crate::db::schema::audit_trails;
use crate::state::AppState;

/// One row to write.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_trails)]
struct NewAudit {
    actor_user_id: Option<uuid::Uuid>,
    actor_kind: &'static str,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    status: Option<i16>,
    ip: Option<String>,
    request_id: Option<String>,
}

fn is_mutating(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
}

/// The resource a pattern's `{id}` names: the segment before it (`/v1/api-keys/{id}` → `api-keys`).
pub fn target_type(pattern: &str) -> Option<String> {
    let segments: Vec<&str> = pattern.split('/').collect();
    let index = segments.iter().position(|s| *s == "{id}")?;
    index.checked_sub(1).and_then(|i| segments.get(i)).map(|s| (*s).to_owned())
}

/// The middleware (`from_fn(audit::record)`), inside the context middleware so the request id is known.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !is_mutating(req.method()) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await?.map_into_boxed_body();
    if let Some(state) = state {
        let row = row_for(&state, &method, &response);
        write(&state, row).await;
    }
    Ok(response)
}

fn row_for(state: &AppState, method: &str, response: &ServiceResponse<BoxBody>) -> NewAudit {
    let req = response.request();
    let caller = req.extensions().get::<Caller>().copied();
    let pattern = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let target_id = req.match_info().get("id").map(|id| id.chars().take(64).collect::<String>());
    NewAudit {
        actor_user_id: caller.map(|c| c.user_id),
        actor_kind: caller.map_or("anonymous", |c| c.kind.as_str()),
        action: format!("{method} {pattern}"),
        target_type: target_id.as_ref().and_then(|_| target_type(&pattern)),
        target_id,
        status: i16::try_from(response.status().as_u16()).ok(),
        ip: client_ip(req, &state.config.trusted_proxies).map(|ip| ip.to_string()),
        request_id: Some(current_request_id()),
    }
}

async fn write(state: &AppState, row: NewAudit) {
    let insert = async {
        let mut conn = state.db.get().await.map_err(|err| err.to_string())?;
        diesel::insert_into(audit_trails::table).values(&row).execute(&mut conn).await.map_err(|err| err.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(2), insert).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::error!(%error, action = %row.action, "audit row could not be written"),
        Err(_) => tracing::error!(action = %row.action, "audit row was not written within 2 s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_type_is_the_segment_before_the_id() {
        assert_eq!(target_type("/v1/api-keys/{id}").as_deref(), Some("api-keys"));
        assert_eq!(target_type("/v1/auth/sessions/{id}").as_deref(), Some("sessions"));
        assert_eq!(target_type("/v1/reminders/{id}/snooze").as_deref(), Some("reminders"));
        assert_eq!(target_type("/v1/users/me"), None);
    }
}
