//! Start-up as a library function: builds the shared state and runs the loops of the chosen roles until
//! shutdown. `main` only parses the command line and calls [`run`]; tests call it too.

mod api;
mod due_soon;
pub mod leadership;
mod scheduler;
mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::{Role, Roles};
use crate::config::Config;
use crate::db;
use crate::redis_client::RedisClient;
use crate::state::AppState;

/// Builds the shared state. Connections are lazy, so this succeeds while Postgres or Redis are down.
pub fn build_state(config: Arc<Config>, roles: Roles) -> anyhow::Result<AppState> {
    let api_only = roles.0.len() == 1 && roles.contains(Role::Api);
    let target = if api_only { config.api_database() } else { &config.database };
    let application_name = format!("escalating-reminders-{}", roles.label());
    // The engine's statements need plans made for the rows due now; the api's keyed lookups do not.
    let plans = if api_only { db::Plans::Auto } else { db::Plans::Custom };
    let db_spec = db::PoolSpec { target: target.clone(), application_name, plans };
    let db = db_spec.build(&config, config.database_pool_size)?;
    let redis = Arc::new(RedisClient::new(&config)?);
    let mailer = Arc::new(crate::mailer::Mailer::from_config(&config)?);
    Ok(AppState {
        config,
        db,
        db_spec: Arc::new(db_spec),
        redis,
        mailer,
        limiter: Default::default(),
        roles,
        clock: Default::default(),
        migrated: Arc::new(AtomicBool::new(false)),
        in_flight: Default::default(),
    })
}

/// Runs the roles in `state.roles` until `shutdown` is cancelled. The api role serves on `listener`.
pub async fn run(
    state: AppState,
    listener: Option<std::net::TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    crate::http::metrics::install();
    let mut tasks = JoinSet::new();
    // Every role listens on PORT: the api serves everything, the others health and metrics only. Serving
    // starts at once so `/health` can say what is wrong while the database is unreachable; readiness turns
    // true when migrations are applied.
    let listener = match listener {
        Some(listener) => listener,
        None => std::net::TcpListener::bind((state.config.host, state.config.port)).map_err(|err| {
            anyhow::anyhow!("cannot listen on {}:{} (PORT): {err}", state.config.host, state.config.port)
        })?,
    };
    if state.roles.contains(Role::Api) {
        tasks.spawn(crate::api::serve(state.clone(), listener, shutdown.clone()));
        let (migrating, stop) = (state.clone(), shutdown.clone());
        tasks.spawn(async move { api::migrate_with_retry(&migrating, &stop).await });
    } else {
        tasks.spawn(crate::http::probes::serve(state.clone(), listener, shutdown.clone()));
    }
    if state.roles.contains(Role::Worker) {
        let (worker_state, stop) = (state.clone(), shutdown.clone());
        tasks.spawn(async move {
            api::wait_for_migrations(&worker_state, &stop).await;
            worker::run(worker_state, stop).await
        });
    }
    if state.roles.contains(Role::Scheduler) {
        let (scheduler_state, stop) = (state.clone(), shutdown.clone());
        tasks.spawn(async move {
            api::wait_for_migrations(&scheduler_state, &stop).await;
            scheduler::run(scheduler_state, stop).await
        });
    }
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(err) = outcome {
            // One role failing stops the process: a half-running binary is worse than a restart.
            tracing::error!(error = format!("{err:#}"), "a role stopped with an error; shutting down");
            shutdown.cancel();
            result = Err(err);
        }
    }
    result
}

/// The `migrate` subcommand: applies pending migrations once and fails if the database is unreachable.
pub async fn migrate(state: &AppState) -> anyhow::Result<()> {
    api::migrate_once(state).await
}

/// Cancels `shutdown` on SIGTERM or SIGINT.
pub async fn cancel_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
        () = shutdown.cancelled() => {}
    }
    shutdown.cancel();
}
