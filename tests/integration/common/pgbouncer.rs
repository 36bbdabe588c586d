//! A real pgbouncer in transaction mode in front of the test server, as a child process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::binary::free_port;
use super::database::server_url;

/// Where Debian's package installs it (CI installs the package; see `.ci/run`).
const PGBOUNCER: &str = "/usr/sbin/pgbouncer";

/// A running pgbouncer; killed when dropped.
pub struct Pgbouncer {
    pub port: u16,
    _child: Child,
    dir: PathBuf,
}

impl Drop for Pgbouncer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pgbouncer {
    /// Starts pgbouncer with `pool_size` server connections per database, every database name forwarded
    /// to the test server, trust authentication (as the test server has).
    pub async fn start(pool_size: u32) -> Pgbouncer {
        assert!(
            Path::new(PGBOUNCER).exists(),
            "{PGBOUNCER} is missing: install Debian's pgbouncer package (apt-get install pgbouncer)"
        );
        let server = url::Url::parse(&server_url()).expect("TEST_DATABASE_URL is a URL");
        let (host, server_port) = (server.host_str().unwrap_or("127.0.0.1"), server.port().unwrap_or(5432));
        let user = if server.username().is_empty() { "postgres" } else { server.username() };
        let dir = std::env::temp_dir().join(format!("er-pgbouncer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = free_port();
        let config = format!(
            "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {auth}\n\
             pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n\
             admin_users = {user}\nlog_connections = 0\nlog_disconnections = 0\n",
            auth = dir.join("users.txt").display(),
        );
        std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).expect("auth file");
        std::fs::write(dir.join("pgbouncer.ini"), config).expect("config file");
        let mut command = Command::new(PGBOUNCER);
        // pgbouncer refuses to run as root; as root it may switch to the postgres user.
        if is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start pgbouncer");
        let pgbouncer = Pgbouncer { port, _child: child, dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return pgbouncer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pgbouncer did not listen on port {port}");
    }

    /// The URL of `database` through pgbouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable", self.port)
    }

    /// `SHOW STATS` from the admin console for `database`: transactions and queries pgbouncer forwarded.
    pub async fn stats(&self, database: &str) -> (i64, i64) {
        let admin = format!("host=127.0.0.1 port={} user=postgres dbname=pgbouncer", self.port);
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("admin console");
        tokio::spawn(connection);
        // The console speaks only the simple protocol.
        for message in client.simple_query("SHOW STATS").await.expect("SHOW STATS") {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message
                && row.get("database") == Some(database)
            {
                let number = |column| row.get(column).and_then(|n: &str| n.parse().ok()).expect("a count");
                return (number("total_xact_count"), number("total_query_count"));
            }
        }
        (0, 0)
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
