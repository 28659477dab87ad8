//! An in-process scripted IMAP server: it plays `S:`/`C:` transcripts so
//! integration tests can make faults a real server never makes (garbage or
//! `BYE` greetings, responses injected before a STARTTLS handshake, hangs,
//! closed connections, `NO` to LOGIN, broken FETCH grammar, ...).
//!
//! It listens on `127.0.0.1` only, on a background thread that owns its own
//! tokio runtime, so it works from plain `#[test]` functions and from
//! `#[tokio::test]` alike. Dropping the [`ScriptedServer`] stops the accept
//! loop and closes every connection.
//!
//! # Script format
//!
//! One step per line; leading spaces and tabs are ignored, and so are blank
//! lines and lines whose first other character is `#`. A malformed script
//! panics in [`ScriptedServer::start`].
//!
//! | step | meaning |
//! | --- | --- |
//! | `S: <text>` | send `text` followed by CRLF |
//! | `S+ <text>` | send `text` with no CRLF (partial lines, bare LF, endless lines) |
//! | `C: <pattern>` | read one client line and match it; a mismatch is a failure |
//! | `C? <pattern>` | optional: if the next client line matches, consume it, else leave it for the next step (this still waits for a line) |
//! | `!starttls` | server-side TLS handshake now (needs a STARTTLS config, see below) |
//! | `!sleep <millis>` | pause |
//! | `!hang` | send nothing more; keep reading (and recording) until the client closes |
//! | `!until-close` | read and record client bytes until the client closes, answer nothing |
//! | `!close` | close the connection now (TLS: `close_notify` first) |
//!
//! When the script runs out, the server reads (and records) until the client
//! closes, then closes.
//!
//! In `S:`/`S+` text: `\r`, `\n`, `\t`, `\\` and `\xHH` are escapes (any other
//! backslash is a script error), and `$tag` is replaced by the tag most recently
//! captured from the client (left as the literal text `$tag` if none was).
//!
//! A `C:` pattern's first token is the tag: `$tag` accepts any valid IMAP tag
//! and captures it; anything else is matched like the rest. The rest matches
//! byte for byte, case-insensitively for the command word (and for the word
//! after `UID`); `*` matches any run of bytes. Escapes: `\*` a literal star,
//! `\r`, `\n`, `\t`, and `\xHH` one byte. Any other backslash stands for
//! itself, and `\\` for two backslashes, so IMAP quoting is written as is:
//! `C: $tag LOGIN "a\"b" "c\\d"` matches a client sending the passwords `a"b`
//! and `c\d` as quoted strings.
//!
//! Literals: a client line ending with `{N}` or `{N+}` is followed by N raw
//! bytes, which may hold spaces, quotes, CRLF and non-ASCII. The reader takes
//! those N bytes plus the rest of the line up to CRLF as the next line, so
//! the script splits the command at each literal:
//!
//! ```text
//! C: $tag LOGIN {7}
//! S: + go ahead
//! C: "q u"é "secret"
//! S: $tag OK logged in
//! ```
//!
//! With `{N+}` (LITERAL+) the client does not wait, so the script just has two
//! `C:` lines in a row. A continuation line is matched as a whole, with no tag
//! and case-sensitively.
//!
//! A client line is at most 64 KiB (not counting literals). If no CRLF comes
//! within that, the client closes, or nothing comes within the read timeout
//! (30 s, see [`ScriptedServer::with_read_timeout`]), a `C:` step records a
//! failure and the connection ends. On a pattern mismatch the server records a
//! failure, sends `* BYE script mismatch` and closes. A TLS client talking to a
//! plain scripted server is best scripted as `S: * OK plain server ready` then
//! `!until-close`.
//!
//! # STARTTLS
//!
//! `!starttls` in a plain-mode script uses the configuration given to
//! [`ScriptedServer::start_with`] or [`ScriptedServer::with_starttls_config`].
//! Whatever the script sends before `!starttls` goes out in plaintext: that is
//! how tests model response injection (`S: $tag OK Begin TLS`,
//! `S: * OK injected`, `!starttls`). A failed handshake (implicit or STARTTLS)
//! ends the connection and is listed by [`ScriptedServer::tls_errors`], not by
//! [`ScriptedServer::failures`], because tests often expect a client to refuse.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Longest client line accepted, not counting literals.
pub const MAX_LINE: usize = 64 * 1024;
/// Largest literal the reader honours; a bigger `{N}` is treated as plain text.
const MAX_LITERAL: usize = 16 * 1024 * 1024;
/// How long a `C:` step or a handshake waits by default.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How accepted connections start.
#[derive(Clone)]
pub enum Mode {
    /// Plaintext; scripts may upgrade with `!starttls`.
    Plain,
    /// TLS handshake right after accept, then the script runs over TLS.
    ImplicitTls(Arc<ServerConfig>),
}

/// A running scripted server on `127.0.0.1:port`.
pub struct ScriptedServer {
    /// The loopback port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScriptedServer {
    /// Starts on `127.0.0.1:0`; the n-th accepted connection plays
    /// `scripts[n]`, and the last script repeats for any further connection.
    pub fn start(mode: Mode, scripts: Vec<&str>) -> ScriptedServer {
        ScriptedServer::start_with(mode, None, scripts)
    }

    /// Like [`start`](Self::start), with the configuration `!starttls` uses.
    pub fn start_with(
        mode: Mode,
        starttls: Option<Arc<ServerConfig>>,
        scripts: Vec<&str>,
    ) -> ScriptedServer {
        assert!(!scripts.is_empty(), "scripted: at least one script");
        let parsed = scripts.iter().map(|s| Arc::new(parse_script(s))).collect();
        ScriptedServer::launch(mode, starttls, parsed)
    }

    /// One plaintext script for every connection.
    pub fn start_plain(script: &str) -> ScriptedServer {
        ScriptedServer::start(Mode::Plain, vec![script])
    }

    /// One script for every connection, over implicit TLS.
    pub fn start_tls(config: Arc<ServerConfig>, script: &str) -> ScriptedServer {
        ScriptedServer::start(Mode::ImplicitTls(config), vec![script])
    }

    /// Sets the configuration `!starttls` uses (read when the step runs).
    pub fn with_starttls_config(self, config: Arc<ServerConfig>) -> ScriptedServer {
        self.state().starttls = Some(config);
        self
    }

    /// Sets how long a `C:` step or a TLS handshake waits for the client.
    pub fn with_read_timeout(self, timeout: Duration) -> ScriptedServer {
        self.state().read_timeout = timeout;
        self
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Every byte clients sent, over all connections, TLS decrypted.
    pub fn received(&self) -> Vec<u8> {
        self.state().received.clone()
    }

    /// Only the bytes clients sent over plaintext streams (before any
    /// STARTTLS handshake; nothing for implicit TLS).
    pub fn received_plaintext_wire(&self) -> Vec<u8> {
        self.state().plaintext.clone()
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// Script failures: mismatches (expected pattern and actual line),
    /// closed connections or overlong lines where a `C:` step wanted a line,
    /// timeouts, `!starttls` without a configuration.
    pub fn failures(&self) -> Vec<String> {
        self.state().failures.clone()
    }

    /// Panics listing the failures, if any.
    pub fn assert_no_failures(&self) {
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "scripted server failures: {failures:#?}"
        );
    }

    /// Failed TLS handshakes (implicit or `!starttls`).
    pub fn tls_errors(&self) -> Vec<String> {
        self.state().tls_errors.clone()
    }

    /// What happened, connection by connection (`S:`/`C:` lines and events),
    /// for debugging a test.
    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// Waits until at least `n` connections have finished their script
    /// (client closed, `!close`, or a failure); false on timeout. Use it
    /// before asserting on [`received`](Self::received) after a client closes.
    pub fn wait_finished(&self, n: usize, timeout: Duration) -> bool {
        let guard = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .shared
            .done
            .wait_timeout_while(guard, timeout, |s| s.finished < n)
            .unwrap_or_else(|e| e.into_inner());
        guard.finished >= n
    }

    /// A free loopback port with nothing listening on it.
    pub fn port_closed() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("local addr").port()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    fn launch(
        mode: Mode,
        starttls: Option<Arc<ServerConfig>>,
        scripts: Vec<Arc<Vec<ScriptLine>>>,
    ) -> ScriptedServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                starttls,
                read_timeout: DEFAULT_READ_TIMEOUT,
                ..State::default()
            }),
            done: Condvar::new(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("scripted-imap-{port}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("scripted server runtime");
                runtime.block_on(accept_loop(listener, mode, scripts, thread_shared, rx));
                // Dropping the runtime here cancels the connection tasks,
                // which closes their sockets.
            })
            .expect("spawn scripted server thread");
        ScriptedServer {
            port,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A server that writes `bytes` to every connection and then sends nothing
/// more, reading until the client closes (a [`ScriptedServer`] underneath).
pub fn raw_tcp_listener_that_speaks(bytes: &[u8]) -> ScriptedServer {
    let script = vec![
        ScriptLine {
            no: 1,
            text: "(raw bytes)".to_string(),
            step: Step::Send(vec![Seg::Bytes(bytes.to_vec())]),
        },
        ScriptLine {
            no: 2,
            text: "!hang".to_string(),
            step: Step::Hang,
        },
    ];
    ScriptedServer::launch(Mode::Plain, None, vec![Arc::new(script)])
}

// ---------------------------------------------------------------------------
// Shared state

#[derive(Default)]
struct State {
    received: Vec<u8>,
    plaintext: Vec<u8>,
    connections: usize,
    finished: usize,
    failures: Vec<String>,
    tls_errors: Vec<String>,
    log: Vec<String>,
    starttls: Option<Arc<ServerConfig>>,
    read_timeout: Duration,
}

struct Shared {
    state: Mutex<State>,
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ---------------------------------------------------------------------------
// Scripts

#[derive(Debug)]
struct ScriptLine {
    /// 1-based line number in the script text.
    no: usize,
    text: String,
    step: Step,
}

#[derive(Debug)]
enum Step {
    Send(Vec<Seg>),
    Expect { pattern: Pattern, optional: bool },
    StartTls,
    Sleep(u64),
    Hang,
    UntilClose,
    Close,
}

#[derive(Debug)]
enum Seg {
    Bytes(Vec<u8>),
    Tag,
}

#[derive(Debug, Clone, Copy)]
enum Pat {
    /// A byte, and whether it matches case-insensitively.
    Byte(u8, bool),
    Any,
}

#[derive(Debug)]
enum TagPat {
    Capture,
    Glob(Vec<Pat>),
}

#[derive(Debug)]
struct Pattern {
    tag: TagPat,
    rest: Vec<Pat>,
    /// The whole pattern, for lines that continue after a literal.
    whole: Vec<Pat>,
}

fn parse_script(script: &str) -> Vec<ScriptLine> {
    let mut steps = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let no = i + 1;
        let line = raw.trim_start_matches([' ', '\t']);
        if line.trim_end().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| -> ! { panic!("scripted: script line {no} ({raw:?}): {why}") };
        let arg = |rest: &str| rest.strip_prefix(' ').unwrap_or(rest).to_string();
        let step = if let Some(rest) = line.strip_prefix("S:") {
            Step::Send(parse_text(&arg(rest), true).unwrap_or_else(|e| bad(&e)))
        } else if let Some(rest) = line.strip_prefix("S+") {
            Step::Send(parse_text(&arg(rest), false).unwrap_or_else(|e| bad(&e)))
        } else if let Some(rest) = line.strip_prefix("C:") {
            Step::Expect {
                pattern: parse_pattern(&arg(rest)),
                optional: false,
            }
        } else if let Some(rest) = line.strip_prefix("C?") {
            Step::Expect {
                pattern: parse_pattern(&arg(rest)),
                optional: true,
            }
        } else {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["!starttls"] => Step::StartTls,
                ["!sleep", ms] => {
                    Step::Sleep(ms.parse().unwrap_or_else(|_| bad("bad milliseconds")))
                }
                ["!hang"] => Step::Hang,
                ["!until-close"] => Step::UntilClose,
                ["!close"] => Step::Close,
                _ => bad("unknown step"),
            }
        };
        steps.push(ScriptLine {
            no,
            text: line.to_string(),
            step,
        });
    }
    steps
}

fn hex_byte(s: &[u8]) -> Option<u8> {
    let hex = std::str::from_utf8(s.get(..2)?).ok()?;
    u8::from_str_radix(hex, 16).ok()
}

/// `S:` text: escapes and `$tag`.
fn parse_text(text: &str, crlf: bool) -> Result<Vec<Seg>, String> {
    let b = text.as_bytes();
    let mut segs = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (byte, len) = match b.get(i + 1) {
                Some(b'r') => (b'\r', 2),
                Some(b'n') => (b'\n', 2),
                Some(b't') => (b'\t', 2),
                Some(b'\\') => (b'\\', 2),
                Some(b'x') => (hex_byte(&b[i + 2..]).ok_or("\\x needs two hex digits")?, 4),
                _ => return Err(format!("unknown escape at byte {i}")),
            };
            cur.push(byte);
            i += len;
        } else if b[i..].starts_with(b"$tag") {
            segs.push(Seg::Bytes(std::mem::take(&mut cur)));
            segs.push(Seg::Tag);
            i += 4;
        } else {
            cur.push(b[i]);
            i += 1;
        }
    }
    if crlf {
        cur.extend_from_slice(b"\r\n");
    }
    segs.push(Seg::Bytes(cur));
    Ok(segs)
}

/// Pattern bytes: `*` any run; `\*`, `\r`, `\n`, `\t`, `\xHH` escapes; `\\`
/// two backslashes; other bytes (and backslashes) literal. Bytes before
/// `ci_end` (in source offsets) match case-insensitively.
fn parse_pats(text: &str, ci_end: usize) -> Vec<Pat> {
    let b = text.as_bytes();
    let mut pats = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let ci = i < ci_end;
        if b[i] == b'*' {
            pats.push(Pat::Any);
            i += 1;
        } else if let (b'\\', Some(b'x'), Some(byte)) =
            (b[i], b.get(i + 1), b.get(i + 2..).and_then(hex_byte))
        {
            pats.push(Pat::Byte(byte, ci));
            i += 4;
        } else if let (b'\\', Some(&next @ (b'*' | b'r' | b'n' | b't' | b'\\'))) =
            (b[i], b.get(i + 1))
        {
            match next {
                b'*' => pats.push(Pat::Byte(b'*', false)),
                b'r' => pats.push(Pat::Byte(b'\r', false)),
                b'n' => pats.push(Pat::Byte(b'\n', false)),
                b't' => pats.push(Pat::Byte(b'\t', false)),
                // `\\` is two backslashes, as IMAP quoting writes one.
                _ => pats.extend([Pat::Byte(b'\\', false); 2]),
            }
            i += 2;
        } else {
            pats.push(Pat::Byte(b[i], ci));
            i += 1;
        }
    }
    pats
}

fn parse_pattern(text: &str) -> Pattern {
    let (tag, rest) = text.split_once(' ').unwrap_or((text, ""));
    let tag = if tag == "$tag" {
        TagPat::Capture
    } else {
        TagPat::Glob(parse_pats(tag, 0))
    };
    // The command word, and the word after UID, match case-insensitively.
    let first_end = rest.find(' ').unwrap_or(rest.len());
    let ci_end = if rest[..first_end].eq_ignore_ascii_case("UID") && first_end < rest.len() {
        rest[first_end + 1..]
            .find(' ')
            .map_or(rest.len(), |n| first_end + 1 + n)
    } else {
        first_end
    };
    Pattern {
        tag,
        rest: parse_pats(rest, ci_end),
        whole: parse_pats(text, 0),
    }
}

fn glob(p: &[Pat], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Pat::Any) => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some(&Pat::Byte(b, ci)) if b == t[ti] || (ci && b.eq_ignore_ascii_case(&t[ti])) => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|x| matches!(x, Pat::Any))
}

/// RFC 9051 `tag`: ASTRING-CHARs except `+`.
fn is_tag_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// `None` on mismatch; `Some(captured tag)` on a match.
fn match_line(pattern: &Pattern, line: &Line) -> Option<Option<Vec<u8>>> {
    if line.continuation {
        return glob(&pattern.whole, &line.bytes).then_some(None);
    }
    let b = &line.bytes;
    let (tag, rest) = match b.iter().position(|&c| c == b' ') {
        Some(n) => (&b[..n], &b[n + 1..]),
        None => (&b[..], &b[b.len()..]),
    };
    let captured = match &pattern.tag {
        TagPat::Capture if !tag.is_empty() && tag.iter().all(|&c| is_tag_char(c)) => {
            Some(tag.to_vec())
        }
        TagPat::Capture => return None,
        TagPat::Glob(p) if glob(p, tag) => None,
        TagPat::Glob(_) => return None,
    };
    glob(&pattern.rest, rest).then_some(captured)
}

/// `{N}` or `{N+}` at the end of a line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&c| c == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (n <= MAX_LITERAL).then_some(n)
}

/// Printable form of client or server bytes.
fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

// ---------------------------------------------------------------------------
// Connections

async fn accept_loop(
    listener: std::net::TcpListener,
    mode: Mode,
    scripts: Vec<Arc<Vec<ScriptLine>>>,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let id = {
                    let mut state = shared.lock();
                    state.connections += 1;
                    let id = state.connections;
                    state.log.push(format!("#{id}: accepted from {peer}"));
                    id
                };
                let script = Arc::clone(&scripts[(id - 1).min(scripts.len() - 1)]);
                tokio::spawn(serve(id, tcp, mode.clone(), script, Arc::clone(&shared)));
            }
        }
    }
}

async fn serve(
    id: usize,
    tcp: TcpStream,
    mode: Mode,
    script: Arc<Vec<ScriptLine>>,
    shared: Arc<Shared>,
) {
    let read_timeout = shared.lock().read_timeout;
    let plain = Rewind {
        pre: Vec::new(),
        pos: 0,
        inner: tcp,
    };
    let stream = match mode {
        Mode::Plain => Some(Stream::Plain(plain)),
        Mode::ImplicitTls(config) => {
            match tokio::time::timeout(read_timeout, TlsAcceptor::from(config).accept(plain)).await
            {
                Ok(Ok(tls)) => Some(Stream::Tls(Box::new(tls))),
                Ok(Err(e)) => {
                    tls_error(&shared, id, format!("implicit TLS handshake failed: {e}"));
                    None
                }
                Err(_) => {
                    tls_error(&shared, id, "implicit TLS handshake timed out".into());
                    None
                }
            }
        }
    };
    if let Some(stream) = stream {
        let mut conn = Conn {
            id,
            stream,
            buf: Vec::new(),
            lookahead: None,
            pending_literal: None,
            tag: None,
            read_timeout,
            shared: Arc::clone(&shared),
        };
        conn.run(&script).await;
        conn.close().await;
    }
    shared.lock().finished += 1;
    shared.done.notify_all();
}

fn tls_error(shared: &Shared, id: usize, msg: String) {
    let mut state = shared.lock();
    state.log.push(format!("#{id}: {msg}"));
    state.tls_errors.push(format!("connection {id}: {msg}"));
}

/// A TCP stream that first replays bytes already read from it (plaintext
/// read ahead of a STARTTLS handshake, e.g. a pipelined ClientHello).
struct Rewind {
    pre: Vec<u8>,
    pos: usize,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.pre.len() {
            let n = buf.remaining().min(this.pre.len() - this.pos);
            buf.put_slice(&this.pre[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

enum Stream {
    Plain(Rewind),
    Tls(Box<tokio_rustls::server::TlsStream<Rewind>>),
    Gone,
}

/// One client line: its bytes without CRLF, and whether it continues a
/// command after a literal (then it starts with the literal's bytes).
#[derive(Clone)]
struct Line {
    bytes: Vec<u8>,
    continuation: bool,
}

enum ReadError {
    Closed(Vec<u8>),
    TooLong,
    TimedOut,
    Io(io::Error),
}

impl ReadError {
    fn describe(&self) -> String {
        match self {
            ReadError::Closed(partial) if partial.is_empty() => "the client closed".into(),
            ReadError::Closed(partial) => {
                format!("the client closed after `{}` (no CRLF)", show(partial))
            }
            ReadError::TooLong => format!("no CRLF within {MAX_LINE} bytes"),
            ReadError::TimedOut => "timed out waiting for a client line".into(),
            ReadError::Io(e) => format!("read error: {e}"),
        }
    }
}

struct Conn {
    id: usize,
    stream: Stream,
    /// Bytes read but not yet framed into lines.
    buf: Vec<u8>,
    /// A line read by a `C?` step that did not match.
    lookahead: Option<Line>,
    /// Set when the last framed line ended in `{N}`/`{N+}`.
    pending_literal: Option<usize>,
    tag: Option<Vec<u8>>,
    read_timeout: Duration,
    shared: Arc<Shared>,
}

impl Conn {
    fn log(&self, msg: String) {
        self.shared.lock().log.push(format!("#{}: {msg}", self.id));
    }

    fn fail(&self, line: &ScriptLine, why: String) {
        let msg = format!(
            "connection {}: script line {} `{}`: {why}",
            self.id, line.no, line.text
        );
        let mut state = self.shared.lock();
        state.log.push(format!("#{}: FAILURE {msg}", self.id));
        state.failures.push(msg);
    }

    async fn run(&mut self, script: &[ScriptLine]) {
        for line in script {
            match &line.step {
                Step::Send(segs) => {
                    let mut bytes = Vec::new();
                    for seg in segs {
                        match (seg, &self.tag) {
                            (Seg::Bytes(b), _) => bytes.extend_from_slice(b),
                            (Seg::Tag, Some(tag)) => bytes.extend_from_slice(tag),
                            (Seg::Tag, None) => bytes.extend_from_slice(b"$tag"),
                        }
                    }
                    self.log(format!("S: {}", show(&bytes)));
                    if let Err(e) = self.send(&bytes).await {
                        self.log(format!("write failed: {e}"));
                        return;
                    }
                }
                Step::Expect { pattern, optional } => {
                    let client = match self.peek_line().await {
                        Ok(l) => l,
                        Err(ReadError::Closed(_)) if *optional => continue,
                        Err(e) => {
                            self.fail(
                                line,
                                format!("expected a client line, but {}", e.describe()),
                            );
                            return;
                        }
                    };
                    match match_line(pattern, &client) {
                        Some(tag) => {
                            self.log(format!("C: {}", show(&client.bytes)));
                            self.lookahead = None;
                            if tag.is_some() {
                                self.tag = tag;
                            }
                        }
                        None if *optional => {}
                        None => {
                            self.log(format!("C: {}", show(&client.bytes)));
                            self.fail(line, format!("got `{}`", show(&client.bytes)));
                            let _ = self.send(b"* BYE script mismatch\r\n").await;
                            return;
                        }
                    }
                }
                Step::StartTls => {
                    if !self.start_tls(line).await {
                        return;
                    }
                }
                Step::Sleep(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
                Step::Hang | Step::UntilClose => break,
                Step::Close => return,
            }
        }
        self.read_until_close().await;
    }

    async fn start_tls(&mut self, line: &ScriptLine) -> bool {
        let config = self.shared.lock().starttls.clone();
        let Some(config) = config else {
            self.fail(line, "no STARTTLS config (use with_starttls_config)".into());
            return false;
        };
        let mut plain = match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(p) => p,
            other => {
                self.stream = other;
                self.fail(line, "the connection is already TLS".into());
                return false;
            }
        };
        // Anything the client sent ahead (say a pipelined ClientHello) goes
        // to the handshake.
        let mut pre = std::mem::take(&mut self.buf);
        pre.extend_from_slice(&plain.pre[plain.pos..]);
        plain.pre = pre;
        plain.pos = 0;
        self.lookahead = None;
        self.pending_literal = None;
        self.log("TLS handshake".into());
        let accept = TlsAcceptor::from(config).accept(plain);
        match tokio::time::timeout(self.read_timeout, accept).await {
            Ok(Ok(tls)) => {
                self.stream = Stream::Tls(Box::new(tls));
                true
            }
            Ok(Err(e)) => {
                tls_error(
                    &self.shared,
                    self.id,
                    format!("STARTTLS handshake failed: {e}"),
                );
                false
            }
            Err(_) => {
                tls_error(&self.shared, self.id, "STARTTLS handshake timed out".into());
                false
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            Stream::Plain(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Reads some bytes into `buf` and records them; 0 at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let (n, tls) = match &mut self.stream {
            Stream::Plain(s) => (s.read(&mut chunk).await?, false),
            Stream::Tls(s) => (s.read(&mut chunk).await?, true),
            Stream::Gone => return Ok(0),
        };
        let data = &chunk[..n];
        self.buf.extend_from_slice(data);
        let mut state = self.shared.lock();
        state.received.extend_from_slice(data);
        if !tls {
            state.plaintext.extend_from_slice(data);
        }
        Ok(n)
    }

    async fn peek_line(&mut self) -> Result<Line, ReadError> {
        if let Some(line) = &self.lookahead {
            return Ok(line.clone());
        }
        let line = match tokio::time::timeout(self.read_timeout, self.read_line()).await {
            Ok(r) => r?,
            Err(_) => return Err(ReadError::TimedOut),
        };
        self.lookahead = Some(line.clone());
        Ok(line)
    }

    async fn read_line(&mut self) -> Result<Line, ReadError> {
        let continuation = self.pending_literal.is_some();
        let mut bytes = Vec::new();
        if let Some(n) = self.pending_literal.take() {
            while self.buf.len() < n {
                if self.fill().await.map_err(ReadError::Io)? == 0 {
                    return Err(ReadError::Closed(std::mem::take(&mut self.buf)));
                }
            }
            bytes.extend(self.buf.drain(..n));
        }
        let mut scan = 0;
        loop {
            if let Some(at) = self.buf[scan..].windows(2).position(|w| w == b"\r\n") {
                let end = scan + at;
                bytes.extend_from_slice(&self.buf[..end]);
                self.buf.drain(..end + 2);
                break;
            }
            if self.buf.len() > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            scan = self.buf.len().saturating_sub(1);
            if self.fill().await.map_err(ReadError::Io)? == 0 {
                bytes.append(&mut self.buf);
                return Err(ReadError::Closed(bytes));
            }
        }
        self.pending_literal = literal_len(&bytes);
        Ok(Line {
            bytes,
            continuation,
        })
    }

    async fn read_until_close(&mut self) {
        loop {
            match self.fill().await {
                Ok(0) | Err(_) => break,
                Ok(_) => self.buf.clear(),
            }
        }
        self.log("client closed".into());
    }

    async fn close(&mut self) {
        match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(mut s) => {
                let _ = s.shutdown().await;
            }
            Stream::Tls(mut s) => {
                let _ = s.shutdown().await;
            }
            Stream::Gone => {}
        }
    }
}
