//! `/health` (liveness with dependency checks) and `/health/ready` (migrations applied, pool up).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;

use crate::redis_client::RedisStatus;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthChecks {
    pub database: &'static str,
    pub redis: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `degraded` (Redis down: everything still works, slower) or `down` (database unreachable).
    pub status: &'static str,
    pub checks: HealthChecks,
    pub version: &'static str,
    pub role: String,
}

/// Runs `SELECT 1` with a short timeout.
pub async fn database_ok(state: &AppState) -> bool {
    let probe = async {
        let mut conn = state.db.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), probe).await, Ok(Some(_)))
}

/// Computes the health report shared by `/health` and the admin health snapshot.
pub async fn report(state: &AppState) -> Health {
    let (database, redis) = tokio::join!(database_ok(state), state.redis.status());
    let status = match (database, redis) {
        (false, _) => "down",
        (true, RedisStatus::Down) => "degraded",
        (true, _) => "ok",
    };
    Health {
        status,
        checks: HealthChecks { database: if database { "ok" } else { "down" }, redis: redis.as_str() },
        version: crate::VERSION,
        role: state.roles.label(),
    }
}

#[utoipa::path(get, path = "/health", tag = "meta", responses(
    (status = 200, description = "Serving; `degraded` when Redis is down", body = Health),
    (status = 503, description = "Database unreachable", body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let health = report(&state).await;
    let mut response = if health.status == "down" { HttpResponse::ServiceUnavailable() } else { HttpResponse::Ok() };
    response.json(health)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ready: bool,
}

#[utoipa::path(get, path = "/health/ready", tag = "meta", responses(
    (status = 200, description = "Migrations applied and the pool answers", body = Readiness),
    (status = 503, description = "Not ready", body = Readiness)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let ready = state.is_migrated() && database_ok(&state).await;
    let mut response = if ready { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    response.json(Readiness { ready })
}
