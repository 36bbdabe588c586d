//! One poll's conversation with an IMAP server: resolve the host (refusing private and reserved addresses
//! unless `WEBHOOK_ALLOW_PRIVATE`), connect (implicit TLS on rustls, or plain for tests), LOGIN, EXAMINE (read
//! only), `UID SEARCH` for new UIDs, `UID FETCH … BODY.PEEK[]` (nothing is marked \Seen), LOGOUT. Every
//! failure becomes a [`PollError`] whose text is what the owner reads.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_imap::error::Error as ImapError;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::cursor;

/// The most of a message read: mail that large is not evidence we read (the inbound webhook's limit too).
const MESSAGE_MAX_BYTES: usize = 1024 * 1024;

/// Why a poll failed, as the owner reads it in `lastError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("{host} resolves only to private or reserved addresses, which a mailbox watcher may not reach")]
    Forbidden { host: String },
    #[error("Could not find the address of {host}")]
    Unresolved { host: String },
    #[error("Could not connect to {host}:{port}: {reason}")]
    Connect { host: String, port: u16, reason: String },
    #[error("Could not start TLS with {host}:{port}: {reason}")]
    Tls { host: String, port: u16, reason: String },
    #[error("The IMAP server refused the user name or app password")]
    Login,
    #[error("Folder '{0}' does not exist")]
    NoFolder(String),
    #[error("Timed out waiting for the IMAP server")]
    Timeout,
    #[error("The stored app password cannot be read; delete this watcher and add it again")]
    Sealed,
    #[error("The IMAP server answered unexpectedly: {0}")]
    Server(String),
}

/// Which command an error answers, for [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Login,
    Examine,
    Other,
}

/// The owner's reading of an IMAP error at `stage`.
pub fn classify(stage: Stage, folder: &str, err: &ImapError) -> PollError {
    match (stage, err) {
        (Stage::Login, ImapError::No(_) | ImapError::Bad(_)) => PollError::Login,
        (Stage::Examine, ImapError::No(_)) => PollError::NoFolder(folder.to_owned()),
        (_, ImapError::Io(io)) => PollError::Server(format!("the connection failed ({})", io_reason(io))),
        (_, ImapError::ConnectionLost) => PollError::Server("the connection was closed".to_owned()),
        (_, other) => PollError::Server(other.to_string().chars().take(200).collect()),
    }
}

/// An I/O error in a few lower-case words.
fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => "unreachable".to_owned(),
        _ => err.to_string().to_lowercase(),
    }
}

/// Where to read mail and as whom.
#[derive(Debug)]
pub struct Target<'a> {
    pub host: &'a str,
    pub port: u16,
    pub tls: bool,
    pub folder: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    /// `WEBHOOK_ALLOW_PRIVATE`: loopback and private addresses may be reached (tests).
    pub allow_private: bool,
}

/// A fetched message.
#[derive(Debug)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
}

/// What one poll read: the folder's UIDVALIDITY, the highest UID now looked at, and the new messages.
#[derive(Debug)]
pub struct Read {
    pub uid_validity: u32,
    pub last_uid: u32,
    pub messages: Vec<Fetched>,
}

/// The connection, plain or TLS, as one type for async-imap.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The addresses of `host` a watcher may reach: all of them with `allow_private`, else the public ones.
/// Connecting only to the addresses checked leaves no room for DNS rebinding.
async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, PollError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| PollError::Unresolved { host: host.to_owned() })?
        .collect();
    if found.is_empty() {
        return Err(PollError::Unresolved { host: host.to_owned() });
    }
    let allowed: Vec<SocketAddr> =
        found.into_iter().filter(|addr| allow_private || !crate::agents::ssrf::is_forbidden(addr.ip())).collect();
    if allowed.is_empty() {
        return Err(PollError::Forbidden { host: host.to_owned() });
    }
    Ok(allowed)
}

fn tls_connector() -> Result<TlsConnector, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Connects to the first address that answers, and starts TLS when asked.
async fn connect(target: &Target<'_>) -> Result<Conn, PollError> {
    let (host, port) = (target.host, target.port);
    let mut last = None;
    let mut tcp = None;
    for addr in resolve(host, port, target.allow_private).await? {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(err) => last = Some(err),
        }
    }
    let Some(tcp) = tcp else {
        let reason = last.map(|err| io_reason(&err)).unwrap_or_else(|| "no address answered".to_owned());
        return Err(PollError::Connect { host: host.to_owned(), port, reason });
    };
    if !target.tls {
        return Ok(Conn::Plain(tcp));
    }
    let tls_error = |reason: String| PollError::Tls { host: host.to_owned(), port, reason };
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|err| tls_error(err.to_string()))?;
    let stream =
        tls_connector().map_err(tls_error)?.connect(name, tcp).await.map_err(|err| tls_error(err.to_string()))?;
    Ok(Conn::Tls(Box::new(stream)))
}

/// Reads the new mail of the target's folder, starting after `stored`, at most `max` messages.
pub async fn read_new(target: &Target<'_>, stored: cursor::Stored, max: usize) -> Result<Read, PollError> {
    let folder = target.folder;
    let mut client = async_imap::Client::new(connect(target).await?);
    match client.read_response().await {
        Ok(Some(_greeting)) => {}
        Ok(None) => return Err(PollError::Server("the server closed the connection at once".to_owned())),
        Err(err) => return Err(classify(Stage::Other, folder, &ImapError::Io(err))),
    }
    let mut session =
        client.login(target.user, target.password).await.map_err(|(err, _)| classify(Stage::Login, folder, &err))?;
    let read = read_folder(&mut session, folder, stored, max).await;
    // Logging out is a courtesy: what was read stands whatever the server says to it.
    let _ = session.logout().await;
    read
}

async fn read_folder(
    session: &mut async_imap::Session<Conn>,
    folder: &str,
    stored: cursor::Stored,
    max: usize,
) -> Result<Read, PollError> {
    let other = |err: ImapError| classify(Stage::Other, folder, &err);
    let mailbox = session.examine(folder).await.map_err(|err| classify(Stage::Examine, folder, &err))?;
    let uid_validity =
        mailbox.uid_validity.ok_or_else(|| PollError::Server("the folder has no UIDVALIDITY".to_owned()))?;
    let after = match cursor::step(stored, uid_validity, mailbox.uid_next) {
        cursor::Step::Baseline { last_uid: Some(last_uid), .. } => {
            return Ok(Read { uid_validity, last_uid, messages: Vec::new() });
        }
        cursor::Step::Baseline { last_uid: None, .. } => {
            let all = session.uid_search("ALL").await.map_err(other)?;
            let last_uid = all.into_iter().max().unwrap_or(0);
            return Ok(Read { uid_validity, last_uid, messages: Vec::new() });
        }
        cursor::Step::After { last_uid, .. } => last_uid,
    };
    let found = session.uid_search(format!("UID {}:*", after.saturating_add(1))).await.map_err(other)?;
    let uids = cursor::batch(found, after, max);
    let Some(&highest) = uids.last() else {
        return Ok(Read { uid_validity, last_uid: after, messages: Vec::new() });
    };
    let query = format!("(UID BODY.PEEK[]<0.{MESSAGE_MAX_BYTES}>)");
    let mut messages = Vec::with_capacity(uids.len());
    let mut fetches = session.uid_fetch(cursor::uid_set(&uids), query).await.map_err(other)?;
    while let Some(fetch) = fetches.next().await {
        let fetch = fetch.map_err(other)?;
        if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
            messages.push(Fetched { uid, raw: body.to_vec() });
        }
    }
    messages.sort_by_key(|m| m.uid);
    Ok(Read { uid_validity, last_uid: highest, messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_what_went_wrong() {
        let no = || ImapError::No("[AUTHENTICATIONFAILED] Authentication failed.".to_owned());
        assert_eq!(classify(Stage::Login, "INBOX", &no()), PollError::Login);
        assert_eq!(
            classify(Stage::Examine, "Receipts", &ImapError::No("Mailbox doesn't exist".to_owned())).to_string(),
            "Folder 'Receipts' does not exist"
        );
        let refused = ImapError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            classify(Stage::Other, "INBOX", &refused).to_string(),
            "The IMAP server answered unexpectedly: the connection failed (connection refused)"
        );
        let connect =
            PollError::Connect { host: "imap.example.com".into(), port: 993, reason: "connection refused".into() };
        assert_eq!(connect.to_string(), "Could not connect to imap.example.com:993: connection refused");
        assert_eq!(PollError::Login.to_string(), "The IMAP server refused the user name or app password");
    }

    #[tokio::test]
    async fn private_addresses_are_refused_unless_allowed() {
        assert_eq!(resolve("127.0.0.1", 993, false).await, Err(PollError::Forbidden { host: "127.0.0.1".into() }));
        assert!(resolve("127.0.0.1", 993, true).await.is_ok());
        assert!(resolve("10.1.2.3", 993, false).await.is_err());
    }
}
