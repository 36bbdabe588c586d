//! A real CalDAV server (Radicale, Debian's package) as a child process: htpasswd users, storage in a temp
//! dir, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::binary::free_port;

const RADICALE: &str = "/usr/bin/radicale";

pub struct Radicale {
    pub base: String,
    _child: Child,
    dir: PathBuf,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Radicale {
    /// Starts Radicale with `users` (name, password) and waits until it answers.
    pub async fn start(users: &[(&str, &str)]) -> Radicale {
        assert!(Path::new(RADICALE).exists(), "{RADICALE} is missing: install Debian's radicale package");
        let dir = std::env::temp_dir().join(format!("er-radicale-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("collections")).expect("temp dir");
        let htpasswd = dir.join("users");
        let lines: Vec<String> = users.iter().map(|(user, password)| format!("{user}:{password}")).collect();
        std::fs::write(&htpasswd, lines.join("\n") + "\n").expect("htpasswd");
        let port = free_port();
        let log = std::fs::File::create(dir.join("radicale.log")).expect("log file");
        let child = Command::new(RADICALE)
            .args(["--config", ""])
            .arg(format!("--server-hosts=127.0.0.1:{port}"))
            .arg(format!("--storage-filesystem-folder={}", dir.join("collections").display()))
            .args(["--auth-type=htpasswd", "--auth-htpasswd-encryption=plain"])
            .arg(format!("--auth-htpasswd-filename={}", htpasswd.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("radicale starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/.web/")).send().await.is_ok() {
                return Radicale { base, _child: child, dir };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(dir.join("radicale.log")).unwrap_or_default();
        panic!("radicale did not start on {port}: {log}");
    }

    /// Creates `user`'s calendar `name` and puts `events` (whole VCALENDAR documents) in it; returns its URL.
    pub async fn calendar(&self, user: &str, password: &str, name: &str, events: &[String]) -> String {
        let client = reqwest::Client::new();
        let url = format!("{}/{user}/{name}/", self.base);
        let mkcalendar = reqwest::Method::from_bytes(b"MKCALENDAR").expect("method");
        let made = client.request(mkcalendar, &url).basic_auth(user, Some(password)).send().await.expect("MKCALENDAR");
        assert!(made.status().is_success(), "MKCALENDAR {url}: {}", made.status());
        for (i, event) in events.iter().enumerate() {
            let put = client
                .put(format!("{url}event-{i}.ics"))
                .basic_auth(user, Some(password))
                .header("Content-Type", "text/calendar; charset=utf-8")
                .body(event.clone())
                .send()
                .await
                .expect("PUT");
            assert!(
                put.status().is_success(),
                "PUT event {i}: {} {}",
                put.status(),
                put.text().await.unwrap_or_default()
            );
        }
        url
    }
}
