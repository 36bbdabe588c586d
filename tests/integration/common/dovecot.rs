//! A real dovecot IMAP server for the IMAP watcher tests, as a child process: plaintext IMAP on loopback at a
//! free port, users and passwords from a passwd-file, maildirs under a temp dir, logs in `dovecot.log` there.
//! Killed when dropped (its children exit when the master's pipe closes).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::binary::free_port;

/// Where Debian's dovecot-imapd installs it (CI installs the package; see `.ci/run`).
const DOVECOT: &str = "/usr/sbin/dovecot";

/// A running dovecot; killed and its directory removed when dropped.
pub struct Dovecot {
    pub port: u16,
    _child: Child,
    dir: PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

impl Dovecot {
    /// Starts dovecot with `users` (name, password) and an empty INBOX each.
    pub async fn start(users: &[(&str, &str)]) -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "{DOVECOT} is missing: install Debian's dovecot-imapd package (apt-get install dovecot-imapd)"
        );
        let dir = std::env::temp_dir().join(format!("er-dovecot-{}", uuid::Uuid::new_v4().simple()));
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).expect("temp dir");
        // Dovecot refuses to run its login and mail processes as root, and mail as uid 0 at all. As root the
        // package's own users take those parts, and the maildirs must be theirs to write; as anyone else every
        // part runs as that user.
        let (internal, login, uid, gid) = if command_output("id", &["-u"]) == "0" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o777)).expect("chmod");
            ("dovecot".to_owned(), "dovenull".to_owned(), "dovecot".to_owned(), "dovecot".to_owned())
        } else {
            let me = command_output("id", &["-un"]);
            (me.clone(), me, command_output("id", &["-u"]), command_output("id", &["-g"]))
        };
        let port = free_port();
        let passwd: String = users.iter().map(|(user, password)| format!("{user}:{{PLAIN}}{password}\n")).collect();
        std::fs::write(dir.join("users"), passwd).expect("passwd file");
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             log_path = {d}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             auth_failure_delay = 0\nfirst_valid_uid = 1\ndefault_internal_user = {internal}\ndefault_login_user = {login}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n",
            d = dir.display(),
        );
        std::fs::write(dir.join("dovecot.conf"), config).expect("config file");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start dovecot");
        let dovecot = Dovecot { port, _child: child, dir };
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return dovecot;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(dovecot.dir.join("dovecot.log")).unwrap_or_default();
        panic!("dovecot did not listen on port {port}:\n{log}");
    }

    /// A logged-in session of `user`.
    pub async fn session(&self, user: &str, password: &str) -> async_imap::Session<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect to dovecot");
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.expect("greeting").expect("a greeting");
        client.login(user, password).await.map_err(|(err, _)| err).expect("login")
    }

    /// Delivers `raw` to `user`'s `folder` with IMAP APPEND; `internal_date` (`"01-Jan-2026 09:00:00 +0000"`)
    /// dates it, as mail that arrived then.
    pub async fn append(&self, user: &str, password: &str, folder: &str, raw: &str, internal_date: Option<&str>) {
        let mut session = self.session(user, password).await;
        let date = internal_date.map(|d| format!("\"{d}\""));
        if let Err(err) = session.append(folder, None, date.as_deref(), raw.replace('\n', "\r\n")).await {
            panic!("APPEND: {err}\n{}", self.log());
        }
        session.logout().await.expect("LOGOUT");
    }

    /// Messages in `user`'s `folder` not marked \Seen, to check the watcher only peeks.
    pub async fn unseen(&self, user: &str, password: &str, folder: &str) -> usize {
        let mut session = self.session(user, password).await;
        session.examine(folder).await.expect("EXAMINE");
        let found = session.search("UNSEEN").await.expect("SEARCH");
        session.logout().await.expect("LOGOUT");
        found.len()
    }

    /// The server's log, for a failure message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }
}
