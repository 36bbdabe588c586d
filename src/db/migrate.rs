//! Embedded migrations, applied under an advisory lock so two processes starting together migrate once.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations folder, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory-lock key that serialises migration runs across processes ("ER-MIGR").
const MIGRATION_LOCK_KEY: i64 = 0x0045_522d_4d49_4752;

/// Applies pending migrations on `conn` and returns how many ran. Needs the multi-thread runtime.
pub async fn run_pending(mut conn: AsyncPgConnection) -> anyhow::Result<usize> {
    diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(MIGRATION_LOCK_KEY).execute(&mut conn).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = tokio::task::block_in_place(|| harness.run_pending_migrations(MIGRATIONS).map(|done| done.len()));
    let mut conn = harness.into_inner();
    diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(MIGRATION_LOCK_KEY).execute(&mut conn).await?;
    applied.map_err(|err| anyhow::anyhow!("migration failed: {err}"))
}

/// True when every embedded migration has been applied. Read-only: it must not create diesel's bookkeeping
/// table, or it would race an api process that is migrating at the same moment.
pub async fn all_applied(mut conn: AsyncPgConnection) -> anyhow::Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: Vec<Version> = diesel::sql_query(
        "SELECT version FROM __diesel_schema_migrations WHERE to_regclass('__diesel_schema_migrations') IS NOT NULL",
    )
    .load(&mut conn)
    .await
    .unwrap_or_default();
    let applied: std::collections::HashSet<String> = applied.into_iter().map(|v| v.version).collect();
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|err| anyhow::anyhow!("could not read embedded migrations: {err}"))?;
    Ok(embedded.iter().all(|m| applied.contains(&m.name().version().to_string())))
}
