//! The actix app factory and the server loop with graceful shutdown.

use actix_cors::Cors;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use super::context::request_context;
use super::error::ApiError;
use crate::state::AppState;

/// The service type of an app: what [`app`] returns and [`serve`] runs.
pub trait AppService:
    ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >
{
}

impl<T> AppService for T where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<BoxBody>,
            Error = actix_web::Error,
            InitError = (),
        >
{
}

/// Builds the application for one actix worker: the shared state, extractor settings and the layers every
/// request passes. `configure` (the composition root) adds the routes, the default service and the layers
/// that depend on the route (idempotency, inside the scopes).
pub fn app(state: AppState, configure: impl FnOnce(&mut web::ServiceConfig)) -> App<impl AppService> {
    let cors = cors(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| ApiError::bad_request(format!("Invalid path parameter: {err}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| ApiError::bad_request(format!("Invalid query string: {err}")).into()),
        )
        .app_data(web::PayloadConfig::new(super::MAX_BODY_BYTES))
        .app_data(web::FormConfig::default().limit(super::MAX_BODY_BYTES))
        .configure(configure)
        // Innermost first: audit sees replays and errors too; the context middleware is outermost so every
        // response gets its request id and envelope.
        .wrap(from_fn(super::audit::record))
        .wrap(cors)
        .wrap(from_fn(request_context))
}

fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers(["authorization", "content-type", "x-api-key", "idempotency-key", "x-request-id"])
        .expose_headers([
            "x-request-id",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
            "idempotency-replayed",
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin();
    }
    origins.iter().fold(base, |cors, origin| cors.allowed_origin(origin))
}

/// Serves the app that `app` builds (one per actix worker) on `listener` until `shutdown` is cancelled, then
/// drains in-flight requests for up to `SHUTDOWN_GRACE_SECS`.
pub async fn serve<T: AppService + 'static>(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
    app: fn(AppState) -> App<T>,
) -> anyhow::Result<()> {
    let grace = state.config.shutdown_grace;
    let in_flight = state.in_flight.clone();
    let workers = match state.config.http_workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(8),
        n => n,
    };
    let address = listener.local_addr()?;
    // Each HTTP thread gets its share of DATABASE_POOL_SIZE as a pool of its own (`AppState::for_http_thread`).
    let connections = state.config.database_pool_size.div_ceil(workers);
    let server = HttpServer::new(move || app(state.for_http_thread(connections)))
        .listen(listener)?
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(grace.as_secs())
        .run();
    let handle = server.handle();
    tracing::info!(%address, "api listening");
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = shutdown.cancelled() => {
            tracing::info!("api stopping: finishing in-flight requests");
            // Stop accepting, then wait for our own count of requests in flight (a slow upload included)
            // before asking the workers to stop: their connection accounting alone proved racy under load.
            // The server future processes commands, so it is polled while the pause is acknowledged.
            tokio::select! {
                () = handle.pause() => {}
                result = &mut server => return Ok(result?),
            }
            let deadline = tokio::time::Instant::now() + grace;
            while in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
                    result = &mut server => return Ok(result?),
                }
            }
            // The server future processes the stop command, so both must be polled together.
            let ((), result) = tokio::join!(handle.stop(true), &mut server);
            result?;
        }
    }
    Ok(())
}
