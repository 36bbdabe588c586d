//! PostgreSQL: connections (with real TLS), the pool, embedded migrations and the diesel schema.

mod connect;
pub mod migrate;
mod pooler;
mod prepared;
pub mod schema;

use std::time::Duration;

pub use connect::{Connector, Plans, establish, is_missing_database};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
pub use prepared::{Prepare, Prepared};
use secrecy::ExposeSecret;

use crate::config::{Config, DatabaseTarget};

/// The connection pool type used everywhere.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection checked out of the pool.
pub type PooledConn = deadpool::managed::Object<AsyncDieselConnectionManager<AsyncPgConnection>>;

/// A connection checked out again within this long of its last checkout is handed out after the cheap
/// check alone (`RecyclingMethod::Fast`: its socket is open and it holds no transaction; a Postgres restart
/// closes the socket, which that check sees). One idle for longer first answers `SELECT 1`, so a connection
/// a firewall or a failover dropped without closing is replaced instead of failing a request. Verifying
/// every checkout cost a round trip each time: three per reminder created.
const VERIFY_AFTER_IDLE: Duration = Duration::from_secs(30);

/// What a process's pools connect to and how: one spec, so the pool of each HTTP thread
/// ([`PoolSpec::build`] with its share of `DATABASE_POOL_SIZE`) is made like the process's own.
#[derive(Clone, Debug)]
pub struct PoolSpec {
    pub target: DatabaseTarget,
    pub application_name: String,
    pub plans: Plans,
}

impl PoolSpec {
    /// A pool of at most `max_size` connections. Connections are made lazily, so this succeeds while
    /// Postgres is down.
    pub fn build(&self, config: &Config, max_size: usize) -> anyhow::Result<DbPool> {
        let target = &self.target;
        let connector = Connector::new(config, target.tls, &self.application_name)?
            .behind_pooler(target.pooler)
            .with_plans(self.plans);
        let mut manager_config = ManagerConfig::default();
        manager_config.custom_setup = Box::new(move |url| {
            let connector = connector.clone();
            let url = url.to_owned();
            Box::pin(async move { connector.connect(&url).await })
        });
        manager_config.recycling_method = RecyclingMethod::Fast;
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            target.url.expose_secret(),
            manager_config,
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .pre_recycle(deadpool::managed::Hook::async_fn(|conn: &mut AsyncPgConnection, metrics| {
                Box::pin(async move {
                    if metrics.last_used() < VERIFY_AFTER_IDLE {
                        return Ok(());
                    }
                    let check = diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), conn);
                    match tokio::time::timeout(Duration::from_secs(5), check).await {
                        Ok(Ok(_)) => Ok(()),
                        _ => Err(deadpool::managed::HookError::message("an idle connection failed its check")),
                    }
                })
            }))
            .runtime(deadpool::Runtime::Tokio1)
            .build()?;
        Ok(pool)
    }
}

/// Creates the default local database (`escalating_reminders`) so the quick start needs no set-up.
pub async fn create_default_database(config: &Config) -> anyhow::Result<()> {
    let mut admin_url = url::Url::parse(config.database.url.expose_secret())?;
    let name = admin_url.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "DATABASE_URL names a database that cannot be created automatically"
    );
    admin_url.set_path("/postgres");
    let connector = Connector::new(config, config.database.tls, "escalating-reminders-setup")?;
    let mut conn = connector.connect(admin_url.as_str()).await?;
    let created =
        diesel_async::RunQueryDsl::execute(diesel::sql_query(format!("CREATE DATABASE \"{name}\"")), &mut conn).await;
    match created {
        Ok(_) => tracing::info!(database = %name, "created the local database"),
        // Another process created it first.
        Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("already exists") => {}
        Err(err) => return Err(err.into()),
    }
    Ok(())
}
