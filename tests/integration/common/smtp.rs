//! A tiny SMTP server for tests: speaks EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT on loopback,
//! answers the end of DATA as scripted per recipient, and keeps every message it accepted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl Received {
    /// The unfolded value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match (line.starts_with([' ', '\t']), unfolded.last_mut()) {
                (true, Some(last)) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded.into_iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// The decoded body of a single-part message.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        match self.header("Content-Transfer-Encoding") {
            Some(encoding) if encoding.eq_ignore_ascii_case("quoted-printable") => decode_quoted_printable(body),
            _ => body.to_owned(),
        }
    }

    /// The decoded body of the MIME part whose content type starts with `content_type`.
    pub fn part(&self, content_type: &str) -> Option<String> {
        // Split on the message's own boundary: a quoted-printable line of a part may itself start with "--"
        // (an action link's token wrapped at a dash).
        let boundary = self.header("Content-Type")?.split("boundary=").nth(1)?.trim_matches('"').to_owned();
        self.data.split(&format!("\r\n--{boundary}")).find_map(|part| {
            let (head, body) = part.split_once("\r\n\r\n")?;
            let head = head.to_ascii_lowercase();
            if !head.contains(&format!("content-type: {content_type}")) {
                return None;
            }
            let body = body.trim_end_matches(['\r', '\n']);
            Some(if head.contains("quoted-printable") { decode_quoted_printable(body) } else { body.to_owned() })
        })
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Shared {
    /// Replies to the end of DATA for a recipient, used in order; afterwards `250`.
    scripts: HashMap<String, Vec<String>>,
    /// How many times DATA was completed for each recipient, whatever the reply.
    attempts: HashMap<String, usize>,
    received: Vec<Received>,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, serving.clone()));
            }
        });
        SmtpSink { addr, shared }
    }

    /// `SMTP_URL` for this sink (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Answers the end of DATA for messages to `rcpt` with `replies` in order (`451 …`, `550 …`).
    pub fn script(&self, rcpt: &str, replies: &[&str]) {
        let replies = replies.iter().map(|r| (*r).to_owned()).collect();
        self.shared.lock().unwrap().scripts.insert(rcpt.to_owned(), replies);
    }

    /// How many messages to `rcpt` were offered (accepted or not).
    pub fn attempts(&self, rcpt: &str) -> usize {
        self.shared.lock().unwrap().attempts.get(rcpt).copied().unwrap_or(0)
    }

    /// Accepted messages to `rcpt`.
    pub fn received_by(&self, rcpt: &str) -> Vec<Received> {
        self.shared.lock().unwrap().received.iter().filter(|m| m.rcpt_to.iter().any(|r| r == rcpt)).cloned().collect()
    }
}

/// The address inside `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn path_of(line: &str) -> String {
    line.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(a, _)| a.to_owned()).unwrap_or_default()
}

async fn converse(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut rcpt_to: Vec<String> = Vec::new();
    if write.write_all(b"220 sink ESMTP test\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") || upper.starts_with("MAIL FROM") {
            "250 OK".to_owned()
        } else if upper.starts_with("RSET") {
            rcpt_to.clear();
            "250 OK".to_owned()
        } else if upper.starts_with("RCPT TO") {
            rcpt_to.push(path_of(&line));
            "250 OK".to_owned()
        } else if upper.starts_with("DATA") {
            if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let Ok(Some(line)) = lines.next_line().await else { return };
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            let mut shared = shared.lock().unwrap();
            let mut reply = "250 2.0.0 queued".to_owned();
            for rcpt in &rcpt_to {
                *shared.attempts.entry(rcpt.clone()).or_default() += 1;
                if let Some(script) = shared.scripts.get_mut(rcpt)
                    && !script.is_empty()
                {
                    reply = script.remove(0);
                }
            }
            if reply.starts_with('2') {
                shared.received.push(Received { rcpt_to: std::mem::take(&mut rcpt_to), data });
            }
            rcpt_to.clear();
            reply
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 not implemented".to_owned()
        };
        if write.write_all(format!("{reply}\r\n").as_bytes()).await.is_err() {
            return;
        }
    }
}
