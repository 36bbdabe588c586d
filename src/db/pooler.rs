//! Named prepared statements through a transaction-mode pooler (pgbouncer before 1.21).
//!
//! tokio-postgres (under diesel-async) prepares every statement by name (`Parse s7`, answered after a
//! `Sync`), then binds it in a second exchange. Outside a transaction, pgbouncer may run those two exchanges
//! on different server connections, where `s7` "does not exist" (or, left over from another client
//! process, "already exists"). This stream sits between tokio-postgres and the socket and makes each use
//! of a named statement self-contained: before a `Bind` of a named statement it parses it again, in the
//! same exchange as the `Bind`, and every statement parsed in an exchange is closed before its `Sync`.
//! The server's answers to what it added (`CloseComplete`, `ParseComplete`) are taken out of the reply
//! stream, so the client sees exactly the answers it expects. The client keeps its statement cache, so a
//! cached statement costs one round trip, with a parse on the server each time; a pooler that tracks
//! statements (pgbouncer ≥ 1.21, `max_prepared_statements`) would save that parse, and works with this too.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// What the client's next `ParseComplete`/`CloseComplete` answers; `Sync` marks the end of an exchange.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    Pass,
    Swallow,
    Sync,
}

/// The socket, rewritten as described above. Plain TCP only: TLS to a pooler is refused by the config.
pub struct PoolerStream<S> {
    inner: S,
    started: bool,
    /// The client's `Parse` message of each statement it has not closed, by name.
    statements: HashMap<Vec<u8>, Vec<u8>>,
    /// Statements parsed in the current exchange, closed again before its `Sync`.
    parsed: Vec<Vec<u8>>,
    expect: VecDeque<Expect>,
    /// Client bytes not yet a whole message; whole messages rewritten, not yet written.
    from_client: Vec<u8>,
    to_server: Vec<u8>,
    /// Server bytes not yet a whole message; messages for the client, not yet read.
    from_server: Vec<u8>,
    to_client: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PoolerStream<S> {
    fn new(inner: S) -> Self {
        PoolerStream {
            inner,
            started: false,
            statements: HashMap::new(),
            parsed: Vec::new(),
            expect: VecDeque::new(),
            from_client: Vec::new(),
            to_server: Vec::new(),
            from_server: Vec::new(),
            to_client: Vec::new(),
        }
    }

    /// Rewrites every whole message the client wrote.
    fn client_messages(&mut self) {
        loop {
            // The startup message alone has no type byte.
            let offset = usize::from(self.started);
            let Some(length) = length_at(&self.from_client, offset) else { return };
            let message: Vec<u8> = self.from_client.drain(..offset + length).collect();
            if !self.started {
                self.started = true;
                self.to_server.extend_from_slice(&message);
                continue;
            }
            self.client_message(message);
        }
    }

    fn client_message(&mut self, message: Vec<u8>) {
        let body = &message[5..];
        match message[0] {
            b'P' => {
                let name = cstr(body).to_vec();
                if !name.is_empty() {
                    self.close(&name);
                    self.statements.insert(name.clone(), message.clone());
                    self.parsed.push(name);
                }
                self.expect.push_back(Expect::Pass);
            }
            b'B' => {
                let statement = cstr(&body[cstr(body).len() + 1..]).to_vec();
                if let Some(parse) = self.statements.get(&statement).cloned() {
                    self.close(&statement);
                    self.to_server.extend_from_slice(&parse);
                    self.expect.push_back(Expect::Swallow);
                    self.parsed.push(statement);
                }
            }
            b'C' => {
                if body.first() == Some(&b'S') {
                    self.statements.remove(cstr(&body[1..]));
                }
                self.expect.push_back(Expect::Pass);
            }
            // Nothing named outlives the exchange on the server connection, which the next exchange may
            // not get: no leftovers pile up there, and no name can clash with another client's.
            b'S' => {
                for name in std::mem::take(&mut self.parsed) {
                    self.close(&name);
                }
                self.expect.push_back(Expect::Sync);
            }
            b'Q' => self.expect.push_back(Expect::Sync),
            _ => {}
        }
        self.to_server.extend_from_slice(&message);
    }

    /// Adds a `Close` of statement `name`, whose answer the client does not expect.
    fn close(&mut self, name: &[u8]) {
        let length = 4 + 1 + name.len() + 1;
        self.to_server.push(b'C');
        self.to_server.extend_from_slice(&(length as u32).to_be_bytes());
        self.to_server.push(b'S');
        self.to_server.extend_from_slice(name);
        self.to_server.push(0);
        self.expect.push_back(Expect::Swallow);
    }

    /// Passes every whole server message on, except the answers to what `client_message` added.
    fn server_messages(&mut self) {
        while let Some(length) = length_at(&self.from_server, 1) {
            let message: Vec<u8> = self.from_server.drain(..1 + length).collect();
            // Each ParseComplete or CloseComplete answers the oldest Parse or Close not yet answered.
            if matches!(message[0], b'1' | b'3') && self.expect.pop_front() == Some(Expect::Swallow) {
                continue;
            }
            match message[0] {
                // After an error the server skips to the exchange's end: what it skipped is not answered.
                b'E' => {
                    while self.expect.front().is_some_and(|e| *e != Expect::Sync) {
                        self.expect.pop_front();
                    }
                }
                b'Z' => {
                    while let Some(expect) = self.expect.pop_front() {
                        if expect == Expect::Sync {
                            break;
                        }
                    }
                }
                _ => {}
            }
            self.to_client.extend_from_slice(&message);
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.to_server.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.to_server))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.to_server.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

/// The length (counting itself) of the message whose length field starts at `offset`, once it is whole.
fn length_at(buffer: &[u8], offset: usize) -> Option<usize> {
    let field: [u8; 4] = buffer.get(offset..offset + 4)?.try_into().ok()?;
    let length = u32::from_be_bytes(field) as usize;
    (buffer.len() >= offset + length).then_some(length)
}

/// The NUL-terminated string at the start of `bytes`, without the NUL.
fn cstr(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|b| *b == 0).map_or(bytes, |end| &bytes[..end])
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PoolerStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while this.to_client.is_empty() {
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.from_server.extend_from_slice(read.filled());
            this.server_messages();
        }
        let n = this.to_client.len().min(buf.remaining());
        buf.put_slice(&this.to_client[..n]);
        this.to_client.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PoolerStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Bounded buffering: what was rewritten goes out before more is taken.
        ready!(this.poll_drain(cx))?;
        this.from_client.extend_from_slice(buf);
        this.client_messages();
        if let Poll::Ready(Err(err)) = this.poll_drain(cx) {
            return Poll::Ready(Err(err));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for PoolerStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// Hands tokio-postgres the socket wrapped in a [`PoolerStream`]. It takes the place of TLS (connect with
/// `sslmode=require` and direct negotiation, so it is called with the bare socket and sends no TLS
/// request).
#[derive(Clone, Copy)]
pub struct Pooler;

impl MakeTlsConnect<Socket> for Pooler {
    type Stream = PoolerStream<Socket>;
    type TlsConnect = Pooler;
    type Error = io::Error;

    fn make_tls_connect(&mut self, _domain: &str) -> Result<Pooler, io::Error> {
        Ok(Pooler)
    }
}

impl TlsConnect<Socket> for Pooler {
    type Stream = PoolerStream<Socket>;
    type Error = io::Error;
    type Future = std::future::Ready<Result<PoolerStream<Socket>, io::Error>>;

    fn connect(self, stream: Socket) -> Self::Future {
        std::future::ready(Ok(PoolerStream::new(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A stream past the startup message; the tests feed and read its buffers directly.
    fn stream() -> PoolerStream<tokio::io::DuplexStream> {
        let mut stream = PoolerStream::new(tokio::io::duplex(64).0);
        stream.started = true;
        stream
    }

    #[test]
    fn a_bind_carries_its_parse_and_the_added_answers_never_reach_the_client() {
        let mut stream = stream();
        let parse = message(b'P', b"s1\0SELECT 1\0\0\0");
        stream.from_client = [parse.clone(), message(b'D', b"Ss1\0"), message(b'S', b"")].concat();
        stream.client_messages();
        let close = message(b'C', b"Ss1\0");
        assert_eq!(
            stream.to_server,
            [close.clone(), parse.clone(), message(b'D', b"Ss1\0"), close.clone(), message(b'S', b"")].concat()
        );

        // The next exchange, perhaps on another server connection: parse again, bind, close before Sync.
        stream.to_server.clear();
        let bind = message(b'B', b"\0s1\0\0\0\0\0\0\0");
        stream.from_client = [bind.clone(), message(b'E', b"\0\0\0\0\0"), message(b'S', b"")].concat();
        stream.client_messages();
        let expected = [close.clone(), parse, bind, message(b'E', b"\0\0\0\0\0"), close, message(b'S', b"")].concat();
        assert_eq!(stream.to_server, expected);

        // Server: answers to the first exchange, then to the second; only the client's own reach it.
        let (parsed, closed, ready) = (message(b'1', b""), message(b'3', b""), message(b'Z', b"I"));
        let described = message(b'n', b"");
        let first = [closed.clone(), parsed.clone(), described.clone(), closed.clone(), ready.clone()].concat();
        let bound = message(b'2', b"");
        let done = message(b'C', b"SELECT 1\0");
        let second = [closed.clone(), parsed.clone(), bound.clone(), done.clone(), closed, ready.clone()].concat();
        stream.from_server = [first, second].concat();
        stream.server_messages();
        assert_eq!(stream.to_client, [parsed, described, ready.clone(), bound, done, ready].concat());
        assert!(stream.expect.is_empty());
    }

    #[test]
    fn after_an_error_the_skipped_answers_are_not_awaited() {
        let mut stream = stream();
        stream.statements.insert(b"s2".to_vec(), message(b'P', b"s2\0SELECT x\0\0\0"));
        stream.from_client = [message(b'B', b"\0s2\0\0\0\0\0\0\0"), message(b'S', b"")].concat();
        stream.client_messages();
        // The Close succeeds, the re-Parse fails: the server skips to Sync.
        let error = message(b'E', b"SERROR\0\0");
        stream.from_server = [message(b'3', b""), error.clone(), message(b'Z', b"I")].concat();
        stream.server_messages();
        assert_eq!(stream.to_client, [error, message(b'Z', b"I")].concat());
        assert!(stream.expect.is_empty());
    }
}
