//! A database per test, cloned from a template migrated once per migration set (shared across test
//! processes through an advisory lock), dropped when the test ends.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Server URL without a database (`TEST_DATABASE_URL`, default local trust auth).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Advisory-lock key that serialises template creation across test processes.
const TEMPLATE_LOCK: i64 = 0x4552_5445_4d50;

pub struct TestDb {
    pub name: String,
    /// Another server than the shared one, when a test runs its own cluster.
    server: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

impl TestDb {
    /// Creates a fresh, migrated database for one test.
    pub async fn create() -> TestDb {
        escalating_reminders::install_crypto_provider();
        let template = ensure_template().await;
        let name = fresh_name();
        let mut admin = admin_connection().await;
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
            .await
            .expect("create test database from template");
        TestDb { name, server: None }
    }

    /// Creates a migrated database on another server (a test's own cluster), without a template.
    pub async fn on_server(server: &str) -> TestDb {
        escalating_reminders::install_crypto_provider();
        let name = fresh_name();
        let mut admin =
            AsyncPgConnection::establish(&format!("{server}/postgres")).await.expect("connect to own server");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        let conn = AsyncPgConnection::establish(&format!("{server}/{name}")).await.expect("connect");
        escalating_reminders::db::migrate::run_pending(conn).await.expect("migrate");
        TestDb { name, server: Some(server.to_owned()) }
    }

    /// A fresh database name that does not exist yet, for start-up tests that create it (dropped, if it
    /// was, like the others).
    pub fn missing() -> TestDb {
        TestDb { name: fresh_name(), server: None }
    }

    /// Creates an empty database with no migrations (start-up tests).
    pub async fn create_empty() -> TestDb {
        let name = fresh_name();
        let mut admin = admin_connection().await;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create empty database");
        TestDb { name, server: None }
    }

    /// Creates an empty database with no migrations on another server (a test's own cluster), for the
    /// binary to migrate when it starts.
    pub async fn create_empty_on(server: &str) -> TestDb {
        let name = fresh_name();
        let mut admin =
            AsyncPgConnection::establish(&format!("{server}/postgres")).await.expect("connect to own server");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        TestDb { name, server: Some(server.to_owned()) }
    }

    fn server(&self) -> String {
        self.server.clone().unwrap_or_else(server_url)
    }

    pub fn url(&self) -> String {
        format!("{}/{}?sslmode=disable", self.server(), self.name)
    }

    /// A direct connection for assertions.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&format!("{}/{}", self.server(), self.name))
            .await
            .expect("connect to test database")
    }
}

/// A database name no other test uses (`er_test_*`, which CI sweeps up after an interrupted run).
fn fresh_name() -> String {
    format!("er_test_{}", uuid::Uuid::new_v4().simple())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = self.server();
        // Drop runs outside async context; use a short-lived runtime on its own thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let mut admin = AsyncPgConnection::establish(&format!("{server}/postgres")).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok()
            })
        })
        .join();
        drop(dropped);
    }
}

async fn admin_connection() -> AsyncPgConnection {
    AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await.expect("connect to the postgres database")
}

/// The template's name carries a hash of the migrations, so a changed migration gets a new template.
async fn ensure_template() -> String {
    let name = format!("er_template_{:016x}", migrations_hash());
    let mut admin = admin_connection().await;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .expect("lock");
    let exists: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(&name)
        .get_result(&mut admin)
        .await
        .expect("look up template");
    if !exists.exists {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("drop");
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).await.expect("create template");
        let conn =
            AsyncPgConnection::establish(&format!("{}/{building}", server_url())).await.expect("connect template");
        escalating_reminders::db::migrate::run_pending(conn).await.expect("migrate template");
        // Renaming makes the finished template appear atomically to other test processes.
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .await
            .expect("rename");
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .expect("unlock");
    name
}

fn migrations_hash() -> u64 {
    let mut hasher = DefaultHasher::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() { walk(&path) } else { vec![path] }
        })
        .collect()
}
