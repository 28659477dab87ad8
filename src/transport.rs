//! Bytes to and from a server: name resolution, TCP connect, implicit TLS
//! and the STARTTLS upgrade, each step with its own timeout and its own
//! failure kind. Everything read and written passes through the trace.
//! This module knows nothing of IMAP beyond "a line ends in LF".

use crate::tls::{describe_rustls_error, TlsClient};
use crate::trace::{Dir, Trace};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Why a connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    NameNotFound { host: String, detail: String },
    DnsTimedOut { host: String, after: Duration },
    Refused { addr: SocketAddr },
    Unreachable { addr: SocketAddr, detail: String },
    TimedOut { addr: SocketAddr, after: Duration },
    Other { addr: SocketAddr, detail: String },
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::NameNotFound { host, detail } => {
                write!(f, "the name {host} does not resolve ({detail})")
            }
            ConnectError::DnsTimedOut { host, after } => write!(
                f,
                "resolving {host} timed out after {}",
                humantime::format_duration(*after)
            ),
            ConnectError::Refused { addr } => write!(f, "connection to {addr} refused"),
            ConnectError::Unreachable { addr, detail } => {
                write!(f, "{addr} is unreachable ({detail})")
            }
            ConnectError::TimedOut { addr, after } => write!(
                f,
                "connecting to {addr} timed out after {}",
                humantime::format_duration(*after)
            ),
            ConnectError::Other { addr, detail } => write!(f, "connecting to {addr}: {detail}"),
        }
    }
}

/// `host` as an address literal (`192.0.2.1`, `::1`, `[::1]`), if it is one.
fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port))
}

/// Resolves `host` (a name or an address literal) to socket addresses.
pub async fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, ConnectError> {
    if let Some(addr) = literal(host, port) {
        return Ok(vec![addr]);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await {
        Err(_) => Err(ConnectError::DnsTimedOut {
            host: host.to_string(),
            after: timeout,
        }),
        Ok(Err(e)) => Err(ConnectError::NameNotFound {
            host: host.to_string(),
            detail: e.to_string(),
        }),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(ConnectError::NameNotFound {
                    host: host.to_string(),
                    detail: "no addresses".into(),
                })
            } else {
                Ok(addrs)
            }
        }
    }
}

/// One host's addresses, resolved once and reused for `ttl`, for a run that
/// opens many connections to the same server (`batch`). Each lookup by the
/// system resolver reads its configuration files again; a thousand rows
/// need one answer, refreshed now and then so that a long run follows a
/// DNS change.
#[derive(Debug)]
pub struct AddressCache {
    ttl: Duration,
    entry: std::sync::Mutex<Option<Resolved>>,
}

#[derive(Debug)]
struct Resolved {
    at: std::time::Instant,
    host: String,
    port: u16,
    addrs: Vec<SocketAddr>,
}

impl AddressCache {
    pub fn new(ttl: Duration) -> AddressCache {
        AddressCache {
            ttl,
            entry: std::sync::Mutex::new(None),
        }
    }

    /// The addresses of `host`, and whether they came from the cache. A
    /// failed lookup is not cached: the next probe asks again.
    pub async fn resolve(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<(Vec<SocketAddr>, bool), ConnectError> {
        if let Some(addr) = literal(host, port) {
            return Ok((vec![addr], false));
        }
        if let Ok(entry) = self.entry.lock() {
            if let Some(r) = entry.as_ref() {
                if r.at.elapsed() < self.ttl && r.host == host && r.port == port {
                    return Ok((r.addrs.clone(), true));
                }
            }
        }
        let addrs = resolve(host, port, timeout).await?;
        if let Ok(mut entry) = self.entry.lock() {
            *entry = Some(Resolved {
                at: std::time::Instant::now(),
                host: host.to_string(),
                port,
                addrs: addrs.clone(),
            });
        }
        Ok((addrs, false))
    }
}

/// Connects to the first address that answers, each attempt bounded by
/// `timeout`. The error is the last attempt's.
pub async fn connect(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let mut last = None;
    for &addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok((s, addr));
            }
            Ok(Err(e)) => {
                last = Some(match e.kind() {
                    io::ErrorKind::ConnectionRefused => ConnectError::Refused { addr },
                    io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                        ConnectError::Unreachable {
                            addr,
                            detail: e.to_string(),
                        }
                    }
                    _ => ConnectError::Other {
                        addr,
                        detail: e.to_string(),
                    },
                })
            }
            Err(_) => {
                last = Some(ConnectError::TimedOut {
                    addr,
                    after: timeout,
                })
            }
        }
    }
    Err(last.unwrap_or(ConnectError::Other {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        detail: "no address to connect to".into(),
    }))
}

/// A reader that keeps the first bytes it reads, so that a failed TLS
/// handshake can say what the server sent instead of TLS.
pub struct Sniff<T> {
    inner: T,
    seen: Vec<u8>,
}

const SNIFF_CAP: usize = 256;

impl<T> Sniff<T> {
    fn new(inner: T) -> Sniff<T> {
        Sniff {
            inner,
            seen: Vec::new(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Sniff<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let room = SNIFF_CAP.saturating_sub(self.seen.len());
            let new = &buf.filled()[before..];
            let take = new.len().min(room);
            let chunk = new[..take].to_vec();
            self.seen.extend_from_slice(&chunk);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Sniff<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

type TlsStream = tokio_rustls::client::TlsStream<Sniff<TcpStream>>;

/// A plaintext or TLS byte stream.
pub enum Stream {
    Plain(Sniff<TcpStream>),
    Tls(Box<TlsStream>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A fault while reading or writing on an established connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoFault {
    /// Nothing (more) arrived within the timeout; `partial` is what had.
    TimedOut { after: Duration, partial: Vec<u8> },
    /// The server closed the connection; `partial` is an unfinished line.
    Closed { partial: Vec<u8> },
    /// A socket or TLS error.
    Broken { detail: String },
}

impl std::fmt::Display for IoFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoFault::TimedOut { after, .. } => {
                write!(f, "no answer within {}", humantime::format_duration(*after))
            }
            IoFault::Closed { partial } if partial.is_empty() => {
                write!(f, "the server closed the connection")
            }
            IoFault::Closed { .. } => write!(f, "the server closed the connection mid-response"),
            IoFault::Broken { detail } => write!(f, "connection broken: {detail}"),
        }
    }
}

/// Why a TLS handshake failed, with what the server sent instead.
#[derive(Debug, Clone)]
pub struct HandshakeFailure {
    pub reason: String,
    /// The first bytes the server sent during the handshake.
    pub received: Vec<u8>,
    pub timed_out: bool,
}

impl HandshakeFailure {
    /// True when the server answered with plain text (an IMAP greeting or
    /// response) where a TLS record should have come.
    pub fn server_spoke_plaintext(&self) -> bool {
        let first = self.received.first().copied();
        !self.received.is_empty() && !matches!(first, Some(0x14..=0x17))
    }
}

/// A connection to one server: a stream, a read buffer and the trace.
pub struct Connection {
    stream: Option<Stream>,
    buf: Vec<u8>,
    pub peer: SocketAddr,
    pub timeout: Duration,
    pub trace: Trace,
}

impl Connection {
    pub fn new(tcp: TcpStream, peer: SocketAddr, timeout: Duration, trace: Trace) -> Connection {
        Connection {
            stream: Some(Stream::Plain(Sniff::new(tcp))),
            buf: Vec::new(),
            peer,
            timeout,
            trace,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// The bytes read but not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Drops the first `n` buffered bytes.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Takes everything buffered, e.g. bytes that arrived after a STARTTLS OK.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Reads at least one more byte into the buffer, waiting until `deadline`.
    pub async fn fill(&mut self, deadline: Instant) -> Result<usize, IoFault> {
        let stream = self.stream.as_mut().ok_or(IoFault::Closed {
            partial: Vec::new(),
        })?;
        let mut chunk = [0u8; 16 * 1024];
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
            Err(_) => Err(IoFault::TimedOut {
                after: self.timeout,
                partial: self.buf.clone(),
            }),
            Ok(Ok(0)) => {
                self.stream = None;
                Err(IoFault::Closed {
                    partial: self.buf.clone(),
                })
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Ok(Err(e)) => {
                self.stream = None;
                Err(IoFault::Broken {
                    detail: e.to_string(),
                })
            }
        }
    }

    /// Writes `bytes`; the trace gets `trace_as` instead when given (for
    /// lines that carry a secret).
    pub async fn write(&mut self, bytes: &[u8], trace_as: Option<&[u8]>) -> Result<(), IoFault> {
        self.trace.record(Dir::Client, trace_as.unwrap_or(bytes));
        let timeout = self.timeout;
        let stream = self.stream.as_mut().ok_or(IoFault::Closed {
            partial: Vec::new(),
        })?;
        let io = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(timeout, io).await {
            Err(_) => Err(IoFault::TimedOut {
                after: timeout,
                partial: Vec::new(),
            }),
            Ok(Err(e)) => {
                self.stream = None;
                Err(IoFault::Broken {
                    detail: e.to_string(),
                })
            }
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Upgrades the connection to TLS (implicit TLS right after connect, or
    /// after a STARTTLS OK). Buffered plaintext must have been taken first.
    pub async fn start_tls(&mut self, tls: &TlsClient, host: &str) -> Result<(), HandshakeFailure> {
        let fail = |reason: String, received: Vec<u8>, timed_out| HandshakeFailure {
            reason,
            received,
            timed_out,
        };
        let mut sniff = match self.stream.take() {
            Some(Stream::Plain(s)) => s,
            Some(other) => {
                self.stream = Some(other);
                return Err(fail("already TLS".into(), Vec::new(), false));
            }
            None => return Err(fail("connection closed".into(), Vec::new(), false)),
        };
        sniff.seen.clear();
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = match rustls::pki_types::ServerName::try_from(name.to_string()) {
            Ok(n) => n,
            Err(e) => {
                return Err(fail(
                    format!("invalid host name for TLS: {e}"),
                    Vec::new(),
                    false,
                ))
            }
        };
        tls.reset_record();
        self.trace.note("TLS handshake");
        let connector = tokio_rustls::TlsConnector::from(tls.config());
        // The fallible form hands the socket back on failure, so the report
        // can quote what the server sent instead of a TLS record.
        let handshake = connector.connect(server_name, sniff).into_fallible();
        match tokio::time::timeout(self.timeout, handshake).await {
            Err(_) => Err(fail(
                format!(
                    "no TLS handshake within {}",
                    humantime::format_duration(self.timeout)
                ),
                Vec::new(),
                true,
            )),
            Ok(Err((e, sniff))) => {
                let reason = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .map(describe_rustls_error)
                    .unwrap_or_else(|| e.to_string());
                Err(fail(reason, sniff.seen, false))
            }
            Ok(Ok(s)) => {
                self.stream = Some(Stream::Tls(Box::new(s)));
                self.trace.note("TLS established");
                Ok(())
            }
        }
    }

    /// The rustls connection, once TLS is up.
    pub fn tls_connection(&self) -> Option<&rustls::ClientConnection> {
        match &self.stream {
            Some(Stream::Tls(s)) => Some(s.get_ref().1),
            _ => None,
        }
    }

    /// Closes the connection without waiting for the server.
    pub async fn shutdown(&mut self) {
        if let Some(mut s) = self.stream.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), s.shutdown()).await;
        }
    }
}

#[cfg(test)]
mod address_cache_tests {
    use super::*;

    #[tokio::test]
    async fn a_name_is_looked_up_once_per_ttl_and_port() {
        let cache = AddressCache::new(Duration::from_secs(60));
        let t = Duration::from_secs(5);
        let (first, cached) = cache.resolve("localhost", 993, t).await.unwrap();
        assert!(!cached);
        assert!(first
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 993));
        let (again, cached) = cache.resolve("localhost", 993, t).await.unwrap();
        assert!(cached);
        assert_eq!(again, first);
        // Another port or host is another question.
        assert!(!cache.resolve("localhost", 143, t).await.unwrap().1);
        assert!(!cache.resolve("LOCALHOST", 143, t).await.unwrap().1);
        // A literal is never looked up, so never "cached".
        let (lit, cached) = cache.resolve("[::1]", 993, t).await.unwrap();
        assert!(!cached);
        assert_eq!(lit, vec!["[::1]:993".parse().unwrap()]);
        // An expired entry is looked up again.
        let stale = AddressCache::new(Duration::ZERO);
        stale.resolve("localhost", 993, t).await.unwrap();
        assert!(!stale.resolve("localhost", 993, t).await.unwrap().1);
    }
}
