//! Start-up duties of the api role: the database must exist and be migrated before serving.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db;
use crate::state::AppState;

/// Applies migrations, retrying while Postgres is unreachable (a database that starts after us is normal
/// on a fresh `docker compose up`). Creates the default local database in development if it is missing.
pub async fn migrate_with_retry(state: &AppState, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let config = &state.config;
    let mut delay = Duration::from_millis(200);
    loop {
        // Migrations use the direct URL: pgbouncer in transaction mode cannot hold an advisory lock.
        match db::establish(config, &config.database, "escalating-reminders-migrate").await {
            Ok(conn) => {
                let applied = db::migrate::run_pending(conn).await?;
                if applied > 0 {
                    tracing::info!(applied, "database migrations applied");
                }
                state.set_migrated();
                return Ok(());
            }
            Err(err) if db::is_missing_database(&err) && config.database_is_default => {
                db::create_default_database(config).await?;
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "database unreachable; retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.cancelled() => return Ok(()),
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Applies migrations once; errors when Postgres is unreachable (the `migrate` subcommand).
pub async fn migrate_once(state: &AppState) -> anyhow::Result<()> {
    let config = &state.config;
    let conn = match db::establish(config, &config.database, "escalating-reminders-migrate").await {
        Err(err) if db::is_missing_database(&err) && config.database_is_default => {
            db::create_default_database(config).await?;
            db::establish(config, &config.database, "escalating-reminders-migrate").await?
        }
        other => other?,
    };
    let applied = db::migrate::run_pending(conn).await?;
    tracing::info!(applied, "database migrations applied");
    println!("{applied} migration(s) applied");
    Ok(())
}

/// Workers and schedulers do not migrate; they wait until the schema is current.
pub async fn wait_for_migrations(state: &AppState, shutdown: &CancellationToken) {
    let mut logged = false;
    loop {
        if state.is_migrated() {
            return;
        }
        let current = match db::establish(&state.config, &state.config.database, "escalating-reminders-check").await {
            Ok(conn) => db::migrate::all_applied(conn).await.unwrap_or(false),
            Err(_) => false,
        };
        if current {
            state.set_migrated();
            return;
        }
        if !logged {
            tracing::info!("waiting for the database to be reachable and migrated (run `migrate` or start an api)");
            logged = true;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
