//! Logging (JSON lines or pretty), Sentry, and the request-id scope every log line of a request carries.

use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat};

/// Keeps Sentry flushing until dropped at the end of `main`.
pub struct TelemetryGuard {
    _sentry: Option<sentry::ClientInitGuard>,
}

/// Installs the global tracing subscriber and Sentry (when `SENTRY_DSN` is set).
pub fn init(config: &Config) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let sentry_guard = config.sentry_dsn.as_ref().map(|dsn| {
        let mut options = sentry::ClientOptions::default();
        options.release = Some(crate::VERSION.into());
        options.traces_sampling_strategy = sentry::TracesSamplingStrategy::FixedRate(0.1);
        options.send_default_pii = false;
        sentry::init((dsn.expose_secret(), options))
    });
    let sentry_layer = sentry_guard.as_ref().map(|_| sentry_issue_layer());
    let registry = tracing_subscriber::registry().with(filter).with(sentry_layer);
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init(),
    };
    // A subscriber already installed (tests) is fine.
    drop(result);
    TelemetryGuard { _sentry: sentry_guard }
}

/// ERROR events become Sentry issues (with the request id from the span). The newer Span/Log layers
/// send structured logs instead of issues, which is not what an on-call person wants.
#[expect(deprecated, reason = "SentryLayer is the layer that still turns error events into Sentry issues")]
fn sentry_issue_layer<S>() -> sentry::integrations::tracing::SentryLayer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    sentry::integrations::tracing::SentryLayer::default()
}
