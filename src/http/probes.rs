//! The probe server of a process without the api role (`--role worker`, `scheduler` or both): it listens on
//! `PORT` and serves exactly `/health`, `/health/ready` and `/metrics` (API.md "Health and meta"), so a
//! platform can health-check and scrape every service. Everything else is a 404 envelope.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tokio_util::sync::CancellationToken;

use super::context::request_context;
use super::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Serves the probes on `listener` until `shutdown` is cancelled. One actix worker: three cheap routes.
pub async fn serve(
    state: AppState,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(|cfg| {
                let mut routes = super::Routes::new();
                super::meta_routes(&mut routes);
                routes.mount(cfg);
            })
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::new(ErrorCode::NotFound, "No such route."))
            }))
            .wrap(from_fn(request_context))
    })
    .listen(listener)?
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .run();
    let handle = server.handle();
    tracing::info!(%address, "health and metrics listening");
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = shutdown.cancelled() => {
            // The server future processes the stop command, so both are polled together.
            let ((), result) = tokio::join!(handle.stop(true), &mut server);
            result?;
        }
    }
    Ok(())
}
