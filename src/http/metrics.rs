//! Prometheus metrics: one recorder per process, rendered at `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;

use super::ApiError;
use super::client_ip::client_ip;
use crate::config::Config;
use crate::crypto::constant_time_eq;
use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder once (later calls, e.g. from a second in-process app in tests, reuse it).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            spawn_upkeep(handle.clone());
            Some(handle)
        })
        .as_ref()
}

/// How often histogram samples are folded into their buckets (the exporter's own default).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// `build_recorder` (unlike the exporter's own `install`) starts no upkeep: every histogram sample (one per
/// request, claim, send, tick) is then kept in a growing list until a scrape of `/metrics` folds it into the
/// buckets, so a process nobody scrapes grows by each sample it records. A plain thread does the upkeep, as
/// the recorder may be installed before (or without) the async runtime.
fn spawn_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new().name("metrics-upkeep".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_EVERY);
            handle.run_upkeep();
        }
    });
    if let Err(err) = started {
        tracing::warn!(error = %err, "metrics upkeep thread not started; histograms are folded at each scrape only");
    }
}

/// Counts one request and its latency by route pattern (never by raw path: ids would explode cardinality).
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "meta", operation_id = "metrics",
    description = "Open to everyone unless `METRICS_ALLOW` or `METRICS_TOKEN` is set; then only clients inside \
        `METRICS_ALLOW` or presenting `Authorization: Bearer <METRICS_TOKEN>` may read it.",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain", body = String),
        (status = 401, description = "METRICS_TOKEN is set and was not presented"),
        (status = 403, description = "Only METRICS_ALLOW is set and the client is outside it")))]
pub async fn render(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    check_access(&req, &state.config)?;
    let body = install().map(PrometheusHandle::render).unwrap_or_default();
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body))
}

/// Metrics name routes, volumes and error rates: a public deployment may keep them to its own scraper, found
/// by network (the client address as `TRUSTED_PROXIES` resolves it) or by bearer token.
fn check_access(req: &HttpRequest, config: &Config) -> Result<(), ApiError> {
    if config.metrics_allow.is_empty() && config.metrics_token.is_none() {
        return Ok(());
    }
    let ip = client_ip(req, &config.trusted_proxies).map(|ip| ip.to_canonical());
    if ip.is_some_and(|ip| config.metrics_allow.iter().any(|net| net.contains(&ip))) {
        return Ok(());
    }
    let Some(expected) = &config.metrics_token else {
        return Err(ApiError::forbidden("Metrics are not served to this address."));
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), expected.expose_secret().as_bytes()) => Ok(()),
        _ => Err(ApiError::unauthorized("Metrics need the METRICS_TOKEN bearer token.")),
    }
}
