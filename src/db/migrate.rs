//! Embedded migrations, applied under an advisory lock so two processes starting together migrate once.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations folder, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory-lock key that serialises migration runs across processes ("ER-MIGR").
const MIGRATION_LOCK_KEY: i64 = 0x4552_2d4d_4947_52;

/// Applies pending migrations on `conn` and returns how many ran. Needs the multi-thread runtime.
pub async fn run_pending(mut conn: AsyncPgConnection) -> anyhow::Result<usize> {
    diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(MIGRATION_LOCK_KEY).execute(&mut conn).await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = tokio::task::block_in_place(|| harness.run_pending_migrations(MIGRATIONS).map(|done| done.len()));
    let mut conn = harness.into_inner();
    diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(MIGRATION_LOCK_KEY).execute(&mut conn).await?;
    applied.map_err(|err| anyhow::anyhow!("migration failed: {err}"))
}

/// True when every embedded migration has been applied (readiness).
pub async fn all_applied(conn: AsyncPgConnection) -> anyhow::Result<bool> {
    let mut harness = AsyncMigrationHarness::new(conn);
    let pending = tokio::task::block_in_place(|| harness.has_pending_migration(MIGRATIONS));
    pending.map(|p| !p).map_err(|err| anyhow::anyhow!("could not read migrations: {err}"))
}
