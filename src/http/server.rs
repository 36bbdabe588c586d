//! The actix app factory and the server loop with graceful shutdown.

use actix_cors::Cors;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use super::context::request_context;
use super::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Builds the application for one actix worker.
pub fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.config.cors_origins);
    let config = state.config.clone();
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
        .configure(super::configure_api)
        .configure(|cfg| super::openapi::configure(cfg, &config))
        .configure(crate::console::configure)
        // Unknown paths: a person's browser gets the console's page, everyone else (and all of /v1) JSON.
        .default_service(web::to(|req: actix_web::HttpRequest| async move {
            match crate::console::wants_page(&req) {
                true => Ok(crate::console::not_found_page()),
                false => Err::<actix_web::HttpResponse, _>(ApiError::new(ErrorCode::NotFound, "No such route.")),
            }
        }))
        // Innermost first: idempotency needs the caller and the body; audit sees replays and errors too;
        // the context middleware is outermost so every response gets its request id and envelope.
        .wrap(from_fn(super::idempotency::guard))
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

/// Serves the API on `listener` until `shutdown` is cancelled, then drains in-flight requests for up to
/// `SHUTDOWN_GRACE_SECS`.
pub async fn serve(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = state.config.shutdown_grace;
    let in_flight = state.in_flight.clone();
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(8);
    let address = listener.local_addr()?;
    let server = HttpServer::new(move || app(state.clone()))
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
