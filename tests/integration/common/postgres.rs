//! PostgreSQL 15 clusters of a test's own, so stopping, crashing or restoring one disturbs no other test.
//! The tests run as root and PostgreSQL refuses to, so every program of the server runs as the `postgres`
//! user (`runuser`), on files it owns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::binary::free_port;

/// Where Debian's `postgresql-15` package installs the server programs.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// Runs `args` (a program and its arguments) as the `postgres` user.
pub fn as_postgres(args: &[&str]) -> Output {
    Command::new("runuser").arg("-u").arg("postgres").arg("--").args(args).output().expect("runuser")
}

/// The path of one of the server's programs (`initdb`, `pg_ctl`, `pg_basebackup`, …).
pub fn program(name: &str) -> String {
    format!("{BIN}/{name}")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

fn give_to_postgres(path: &Path) {
    let status = Command::new("chown").args(["-R", "postgres:postgres", path_str(path)]).status().expect("chown");
    assert!(status.success(), "chown {}", path.display());
}

/// A directory under the temp dir that the `postgres` user owns (a WAL archive, a base backup); removed
/// when dropped.
pub struct PostgresDir {
    pub path: PathBuf,
}

impl PostgresDir {
    pub fn new(label: &str) -> PostgresDir {
        let path = std::env::temp_dir().join(format!("er-{label}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("temp dir");
        give_to_postgres(&path);
        PostgresDir { path }
    }
}

impl Drop for PostgresDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running cluster in `dir/data`, listening on 127.0.0.1:`port` with trust authentication for
/// `postgres`; stopped and deleted when dropped.
pub struct OwnPostgres {
    pub dir: PathBuf,
    pub port: u16,
}

impl OwnPostgres {
    /// A new cluster (initdb) on a free port, started.
    pub fn start_new() -> OwnPostgres {
        Self::start_new_with(&[])
    }

    /// A new cluster with `settings` (lines such as `archive_mode = on`) appended to its
    /// `postgresql.conf`, started. Settings in the file travel with a base backup, as in production.
    pub fn start_new_with(settings: &[String]) -> OwnPostgres {
        let cluster = Self::empty_dir();
        let data = cluster.data();
        let init = as_postgres(&[
            &program("initdb"),
            "-D",
            path_str(&data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        cluster.configure(settings);
        cluster.start();
        cluster
    }

    /// A new cluster restored from the plain-format base backup in `backup`: the backup copied into a fresh
    /// data directory, `settings` (the recovery settings) appended to its `postgresql.conf`, and a
    /// `recovery.signal` so that it starts in targeted recovery. Started: `pg_ctl -w` returns once it
    /// accepts connections, which may be before recovery has ended (see [`OwnPostgres::in_recovery`]).
    pub fn restore(backup: &Path, settings: &[String]) -> OwnPostgres {
        let cluster = Self::empty_dir();
        let data = cluster.data();
        let copied = as_postgres(&["cp", "-a", path_str(backup), path_str(&data)]);
        assert!(copied.status.success(), "copy the base backup: {}", String::from_utf8_lossy(&copied.stderr));
        as_postgres(&["chmod", "700", path_str(&data)]);
        cluster.configure(settings);
        let signal = as_postgres(&["touch", path_str(&data.join("recovery.signal"))]);
        assert!(signal.status.success(), "recovery.signal");
        cluster.start();
        cluster
    }

    fn empty_dir() -> OwnPostgres {
        let dir = std::env::temp_dir().join(format!("er-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        give_to_postgres(&dir);
        OwnPostgres { dir, port: free_port() }
    }

    fn configure(&self, settings: &[String]) {
        if settings.is_empty() {
            return;
        }
        use std::io::Write;
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .expect("open postgresql.conf");
        writeln!(conf, "\n# added by the test harness\n{}", settings.join("\n")).expect("write postgresql.conf");
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's URL without a database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    pub fn start(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log");
        let started = as_postgres(&[
            &program("pg_ctl"),
            "-D",
            path_str(&self.data()),
            "-o",
            &options,
            "-l",
            path_str(&log),
            "-w",
            "-t",
            "120",
            "start",
        ]);
        assert!(
            started.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// A clean shutdown (`-m fast`).
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    /// The server lost as in a crash (`-m immediate`: no shutdown checkpoint, no last WAL switch).
    pub fn crash(&self) {
        self.pg_ctl_stop("immediate");
    }

    fn pg_ctl_stop(&self, mode: &str) {
        as_postgres(&[&program("pg_ctl"), "-D", path_str(&self.data()), "-m", mode, "-w", "stop"]);
    }

    /// Stop/start on a handle that must not delete the cluster when dropped.
    pub fn stop_without_cleanup(self) {
        self.stop();
        std::mem::forget(self);
    }

    pub fn start_without_cleanup(self) {
        self.start();
        std::mem::forget(self);
    }

    /// Takes a base backup of the running cluster with `pg_basebackup` into `into` (which must not exist;
    /// its parent must belong to `postgres`): plain format, an immediate checkpoint, and the WAL needed to
    /// make it consistent streamed into it, so the backup restores even before that WAL is archived.
    pub fn base_backup(&self, into: &Path) {
        let port = self.port.to_string();
        let backup = as_postgres(&[
            &program("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-D",
            path_str(into),
            "--checkpoint=fast",
            "--wal-method=stream",
            "--no-sync",
        ]);
        assert!(backup.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&backup.stderr));
    }

    /// The first column of each row `sql` returns, as text (simple query protocol), on database `database`.
    pub async fn query(&self, database: &str, sql: &str) -> Vec<Option<String>> {
        let config = format!("host=127.0.0.1 port={} user=postgres dbname={database}", self.port);
        let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .simple_query(sql)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .into_iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            })
            .collect()
    }

    /// The one value `sql` returns.
    pub async fn value(&self, database: &str, sql: &str) -> String {
        let rows = self.query(database, sql).await;
        rows.into_iter().next().flatten().unwrap_or_else(|| panic!("{sql}: no value"))
    }

    /// Whether the server is still replaying WAL (before promotion).
    pub async fn in_recovery(&self) -> bool {
        self.value("postgres", "SELECT pg_is_in_recovery()").await == "t"
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
