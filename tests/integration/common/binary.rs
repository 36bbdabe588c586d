//! The real binary as a child process, with its log lines captured for assertions.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `escalating-reminders` process.
pub struct BinaryProcess {
    pub child: Child,
    pub port: Option<u16>,
    lines: Arc<Mutex<Vec<String>>>,
    /// The tasks copying stdout and stderr into `lines`; they end when the process closes its pipes.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl BinaryProcess {
    /// Starts the binary with `args` and exactly `env` (plus PATH), capturing stderr and stdout lines.
    /// Without `PORT` in `env` the process gets a free one: every role listens (health and metrics).
    pub fn start(args: &[&str], env: &HashMap<String, String>) -> BinaryProcess {
        escalating_reminders::install_crypto_provider();
        let mut env = env.clone();
        env.entry("PORT".to_owned()).or_insert_with(|| free_port().to_string());
        let mut command = Command::new(env!("CARGO_BIN_EXE_escalating-reminders"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the binary");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = Arc::clone(&lines);
            readers.push(tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().expect("log buffer").push(line);
                }
            }));
        }
        let port = env.get("PORT").and_then(|p| p.parse().ok());
        BinaryProcess { child, port, lines, readers }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().expect("log buffer").clone()
    }

    /// Waits until a printed line contains `needle`; returns that line.
    pub async fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.output().into_iter().find(|l| l.contains(needle)) {
                return Some(line);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `GET path` answers (any status) and returns the status.
    pub async fn wait_for_http(&self, path: &str, timeout: Duration) -> Option<u16> {
        let port = self.port?;
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Ok(res) = client.get(format!("http://127.0.0.1:{port}{path}")).send().await {
                return Some(res.status().as_u16());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Waits until `GET /health/ready` answers 200; false after `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let Some(port) = self.port else { return false };
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Ok(res) = reqwest::get(format!("http://127.0.0.1:{port}/health/ready")).await
                && res.status().is_success()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub fn pid(&self) -> i32 {
        self.child.id().map(|id| id as i32).unwrap_or(-1)
    }

    /// Sends a signal (`libc`-free: through the `kill` command).
    pub async fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().await;
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} failed");
    }

    /// Waits for exit and returns the exit code, once everything the process printed has been read.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => return None,
        };
        // The last lines a process prints just before it exits may still be in the pipe: read them to the end
        // so `output()` holds everything it printed.
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }
}
