//! An IMAP session: tags, command encoding (quoting and literals), the
//! read-only allowlist, and collecting a command's responses up to its
//! tagged completion. Each response is checked against the grammar as it
//! arrives; deviations are kept, not fatal, so one bad line does not end
//! a probe.

use crate::framing::{next_line, Limits, LineScan};
use crate::grammar::{self, Response, StatusKind, Untagged};
use crate::readonly;
use crate::secret::Secret;
use crate::trace::{Dir, ELIDED_PREFIX, REDACTED};
use crate::transport::{Connection, IoFault};
use std::time::{Duration, Instant};

/// Why a command could not be completed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionFault {
    Io(IoFault),
    /// A line longer than the limit: `start` is its beginning.
    LineTooLong {
        limit: usize,
        start: Vec<u8>,
    },
    /// A literal larger than the limit: `line` announced it.
    LiteralTooLarge {
        size: u64,
        limit: u64,
        line: Vec<u8>,
    },
    /// The read-only allowlist refused the command; nothing was sent.
    Refused(readonly::Refusal),
    /// The server said BYE before completing the command.
    Bye {
        response: Vec<u8>,
    },
}

impl std::fmt::Display for SessionFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionFault::Io(e) => e.fmt(f),
            SessionFault::LineTooLong { limit, .. } => {
                write!(f, "the server sent a line longer than {limit} bytes")
            }
            SessionFault::LiteralTooLarge { size, limit, .. } => write!(
                f,
                "the server announced a literal of {size} bytes (limit {limit})"
            ),
            SessionFault::Refused(r) => r.fmt(f),
            SessionFault::Bye { response } => write!(
                f,
                "the server closed the session: {}",
                String::from_utf8_lossy(response).trim_end()
            ),
        }
    }
}

impl From<IoFault> for SessionFault {
    fn from(e: IoFault) -> Self {
        SessionFault::Io(e)
    }
}

impl SessionFault {
    /// The server's own bytes that go with the fault, for evidence.
    pub fn evidence(&self) -> Vec<u8> {
        match self {
            SessionFault::Io(IoFault::Closed { partial })
            | SessionFault::Io(IoFault::TimedOut { partial, .. }) => partial.clone(),
            SessionFault::LineTooLong { start, .. } => start.clone(),
            SessionFault::LiteralTooLarge { line, .. } => line.clone(),
            SessionFault::Bye { response } => response.clone(),
            _ => Vec::new(),
        }
    }
}

/// One part of a command line: text, or a string sent as a literal.
#[derive(Clone)]
enum Part {
    Text(String),
    Literal(Vec<u8>),
}

/// A command, built up from its parts. Strings are quoted or sent as
/// literals as their bytes require; secret parts are redacted in the trace.
#[derive(Clone, Default)]
pub struct Command {
    /// Each part, and whether it is secret.
    parts: Vec<(Part, bool)>,
}

impl Command {
    /// A command whose text is given verbatim, e.g. `LIST "" "*"`.
    pub fn new(text: &str) -> Command {
        Command::default().raw(text)
    }

    /// Appends verbatim text.
    pub fn raw(mut self, text: &str) -> Command {
        self.parts.push((Part::Text(text.to_string()), false));
        self
    }

    /// Appends SP and `value` as an astring: quoted when it can be, a
    /// literal when it has CR, LF, NUL or 8-bit bytes.
    pub fn string(mut self, value: &[u8]) -> Command {
        self.parts.push((Part::Text(" ".into()), false));
        self.parts.push((encode_string(value), false));
        self
    }

    /// Appends SP and a secret, encoded like [`Command::string`] but shown
    /// in the trace as the redaction marker.
    pub fn secret(mut self, value: &Secret) -> Command {
        self.parts.push((Part::Text(" ".into()), false));
        self.parts
            .push((encode_string(value.expose().as_bytes()), true));
        self
    }

    /// Appends SP and a secret already in its wire form (a base64 SASL
    /// initial response), redacted in the trace.
    pub fn secret_atom(mut self, wire: &str) -> Command {
        self.parts.push((Part::Text(" ".into()), false));
        self.parts.push((Part::Text(wire.to_string()), true));
        self
    }

    /// The text the allowlist judges: literals stand as `{N}`.
    fn checked_text(&self) -> String {
        let mut s = String::new();
        for (p, _) in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Literal(l) => s.push_str(&format!("{{{}}}", l.len())),
            }
        }
        s
    }

    /// The command as the trace shows it, secrets replaced by the marker.
    pub fn traced_text(&self) -> String {
        let mut s = String::new();
        for (p, secret) in &self.parts {
            match (p, secret) {
                (_, true) => s.push_str(REDACTED),
                (Part::Text(t), false) => s.push_str(t),
                (Part::Literal(l), false) => {
                    s.push_str(&format!("{{{}}}\r\n", l.len()));
                    s.push_str(&String::from_utf8_lossy(l));
                }
            }
        }
        s
    }
}

/// Quoted string when every byte may be quoted (RFC 3501 §9 `quoted`:
/// 7-bit TEXT-CHARs, `"` and `\` escaped), otherwise a literal.
fn encode_string(value: &[u8]) -> Part {
    let quotable = value
        .iter()
        .all(|&b| (0x01..=0x7f).contains(&b) && b != b'\r' && b != b'\n');
    if quotable {
        let mut s = String::with_capacity(value.len() + 2);
        s.push('"');
        for &b in value {
            if b == b'"' || b == b'\\' {
                s.push('\\');
            }
            s.push(b as char);
        }
        s.push('"');
        Part::Text(s)
    } else {
        Part::Literal(value.to_vec())
    }
}

/// Receives the bodies of literals too large to keep.
pub trait LiteralSink {
    /// A streamed literal starts; `head` is the response up to and
    /// including its announcement (e.g. `* 3 FETCH (UID 7 BODY[] {5000}`).
    fn begin(&mut self, _head: &[u8]) {}
    /// The next bytes of streamed literal number `index` (0-based within
    /// the response), in order.
    fn chunk(&mut self, index: usize, bytes: &[u8]);
}

/// Receives the large literals of pipelined commands, and says which
/// command an untagged response answers when the server interleaves them
/// (Dovecot runs pipelined FETCH commands side by side).
pub trait PipelineSink {
    /// The command (index into the pipelined slice) that `response` — or
    /// its start, up to a literal — answers, if the sink can tell (by UID).
    fn owner(&mut self, _response: &[u8]) -> Option<usize> {
        None
    }
    /// The next bytes of a streamed literal of command number `command`.
    fn chunk(&mut self, command: usize, bytes: &[u8]);
}

/// Sends a response's literal chunks to the command being answered.
struct Routed<'a> {
    sink: &'a mut dyn PipelineSink,
    /// The command assumed when the sink cannot tell.
    index: usize,
}

impl LiteralSink for Routed<'_> {
    fn begin(&mut self, head: &[u8]) {
        if let Some(i) = self.sink.owner(head) {
            self.index = i;
        }
    }
    fn chunk(&mut self, _literal: usize, bytes: &[u8]) {
        self.sink.chunk(self.index, bytes);
    }
}

/// A sink that drops what it is given (the bytes are still counted and checked).
pub struct Discard;

impl LiteralSink for Discard {
    fn chunk(&mut self, _index: usize, _bytes: &[u8]) {}
}

impl PipelineSink for Discard {
    fn chunk(&mut self, _command: usize, _bytes: &[u8]) {}
}

/// A literal that was streamed instead of kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedLiteral {
    /// Where its stand-in (`{0}` or `{0+}`) starts in the skeleton.
    pub skeleton_offset: usize,
    /// Length of the stand-in.
    pub stand_in_len: usize,
    /// Length of the original announcement, `{N}` or `{N+}`.
    pub announced_len: usize,
    pub size: u64,
    /// Offset in the response, on the wire, of the literal's first byte.
    pub body_offset: u64,
    /// Offset in the response, on the wire, of its first NUL byte, if any.
    pub nul_offset: Option<u64>,
}

/// A response read with [`Session::read_response_streaming`].
#[derive(Debug, Clone, Default)]
pub struct Streamed {
    /// The response with each streamed literal replaced by an empty one.
    pub skeleton: Vec<u8>,
    pub literals: Vec<StreamedLiteral>,
    /// How many bytes the response had on the wire.
    pub wire_len: u64,
}

impl Streamed {
    /// The offset on the wire of skeleton offset `at` (for deviations).
    pub fn wire_offset(&self, at: usize) -> u64 {
        wire_offset(&self.literals, at)
    }
}

/// The wire offset of skeleton offset `at`, given the literals streamed out
/// of the response before it.
fn wire_offset(literals: &[StreamedLiteral], at: usize) -> u64 {
    let shift: u64 = literals
        .iter()
        .filter(|l| l.skeleton_offset < at)
        .map(|l| (l.announced_len - l.stand_in_len) as u64 + l.size)
        .sum();
    at as u64 + shift
}

/// What [`Session::run_streaming`] got back.
#[derive(Debug, Clone)]
pub struct StreamedReply {
    pub reply: Reply,
    /// (index into `reply.untagged`, the literals streamed out of it).
    pub streamed: Vec<(usize, Vec<StreamedLiteral>)>,
}

/// One complete server response as received (literals included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse(pub Vec<u8>);

/// A grammar deviation seen in a response, with the command it answered.
#[derive(Debug, Clone)]
pub struct SeenDeviation {
    /// The command as sent (secrets redacted).
    pub command: String,
    /// The response; streamed literals stand as `{0}` in it.
    pub response: Vec<u8>,
    /// Offsets in `deviation` are into `response`.
    pub deviation: grammar::Deviation,
    /// The offending byte's offset on the wire, when literals were streamed
    /// out of `response` before it.
    pub wire_offset: Option<u64>,
    /// Where the session was, e.g. "folder Junk".
    pub context: Option<String>,
}

/// What a command got back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub tag: String,
    pub untagged: Vec<RawResponse>,
    /// The tagged completion line.
    pub tagged: RawResponse,
    pub status: StatusKind,
    /// The response code's name (e.g. `AUTHENTICATIONFAILED`), if any.
    pub code: Option<String>,
    /// The human-readable text after the status and code.
    pub text: String,
    pub elapsed: Duration,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.status == StatusKind::Ok
    }
}

/// Loose facts about a tagged line that failed the grammar, so the session
/// can go on: the status word and the text after it.
fn loose_status(line: &[u8]) -> (StatusKind, Option<String>, String) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\r', '\n']);
    let mut it = text.splitn(3, ' ');
    let _tag = it.next();
    let kind = match it.next().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("OK") => StatusKind::Ok,
        Some("NO") => StatusKind::No,
        Some("BYE") => StatusKind::Bye,
        _ => StatusKind::Bad,
    };
    let rest = it.next().unwrap_or("").to_string();
    let (code, rest) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((code, after)) => (
            code.split(' ').next().map(|c| c.to_ascii_uppercase()),
            after.trim_start().to_string(),
        ),
        None => (None, rest),
    };
    (kind, code, rest)
}

/// An IMAP session over a [`Connection`].
pub struct Session {
    pub conn: Connection,
    pub limits: Limits,
    pub grammar: grammar::Options,
    next_tag: u32,
    /// LITERAL+ or LITERAL- advertised: client literals need no continuation.
    pub literal_plus: bool,
    /// Every grammar deviation seen so far, in order.
    pub deviations: Vec<SeenDeviation>,
    /// Untagged responses that arrived outside any command (after the greeting).
    pub unsolicited: Vec<RawResponse>,
    /// Where the session is (e.g. "folder Junk"), carried by deviations.
    pub context: Option<String>,
}

impl Session {
    pub fn new(conn: Connection) -> Session {
        Session {
            conn,
            limits: Limits::default(),
            grammar: grammar::Options::default(),
            next_tag: 1,
            literal_plus: false,
            deviations: Vec::new(),
            unsolicited: Vec::new(),
            context: None,
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.conn.timeout
    }

    /// Reads one complete response within the timeout; traced. Literals
    /// are held in memory up to the limit; a larger one is refused.
    pub async fn read_response(&mut self) -> Result<RawResponse, SessionFault> {
        let streamed = self.read_response_streaming(u64::MAX, &mut Discard).await?;
        Ok(RawResponse(streamed.skeleton))
    }

    /// Reads one complete response; literals larger than `stream_over`
    /// bytes are not kept but handed to `sink` chunk by chunk, counted and
    /// checked for NUL, so a 150 MB message passes in constant memory. In
    /// the returned skeleton such a literal stands as an empty one (`{0}`).
    /// The timeout is per step: it starts again whenever literal bytes arrive.
    pub async fn read_response_streaming(
        &mut self,
        stream_over: u64,
        sink: &mut dyn LiteralSink,
    ) -> Result<Streamed, SessionFault> {
        let mut deadline = self.deadline();
        let mut out = Streamed::default();
        // The bytes for the trace: like the skeleton, but with each streamed
        // literal's real announcement, written out before its marker.
        let mut traced: Vec<u8> = Vec::new();
        loop {
            let (len, literal) = match next_line(self.conn.buffered(), self.limits.max_line) {
                LineScan::Incomplete => {
                    self.conn.fill(deadline).await?;
                    continue;
                }
                LineScan::TooLong => {
                    let limit = self.limits.max_line;
                    let start = self.conn.buffered()[..256.min(limit)].to_vec();
                    self.conn.trace.record(Dir::Server, &start);
                    self.conn
                        .trace
                        .note(&format!("line longer than {limit} bytes; reading stopped"));
                    return Err(SessionFault::LineTooLong { limit, start });
                }
                LineScan::Line { len, literal } => (len, literal),
            };
            let Some(size) = literal else {
                out.skeleton.extend_from_slice(&self.conn.buffered()[..len]);
                traced.extend_from_slice(&self.conn.buffered()[..len]);
                self.conn.consume(len);
                out.wire_len += len as u64;
                break;
            };
            if size > stream_over {
                let line = self.conn.buffered()[..len].to_vec();
                self.conn.consume(len);
                self.stream_literal(&line, size, &mut out, &mut traced, sink, &mut deadline)
                    .await?;
                continue;
            }
            if size > self.limits.max_literal {
                let line = self.conn.buffered()[..len.min(4096)].to_vec();
                self.conn.trace.record(Dir::Server, &line);
                return Err(SessionFault::LiteralTooLarge {
                    size,
                    limit: self.limits.max_literal,
                    line,
                });
            }
            let whole = len + size as usize;
            while self.conn.buffered().len() < whole {
                self.conn.fill(deadline).await?;
            }
            out.skeleton
                .extend_from_slice(&self.conn.buffered()[..whole]);
            traced.extend_from_slice(&self.conn.buffered()[..whole]);
            self.conn.consume(whole);
            out.wire_len += whole as u64;
        }
        self.conn.trace.record_response(Dir::Server, &traced);
        Ok(out)
    }

    /// Passes one literal's body to `sink`; `line` is the line announcing it.
    async fn stream_literal(
        &mut self,
        line: &[u8],
        size: u64,
        out: &mut Streamed,
        traced: &mut Vec<u8>,
        sink: &mut dyn LiteralSink,
        deadline: &mut Instant,
    ) -> Result<(), SessionFault> {
        let open = line.iter().rposition(|&b| b == b'{').unwrap_or(0);
        let close = line
            .iter()
            .rposition(|&b| b == b'}')
            .map_or(line.len(), |i| i + 1);
        let stand_in: &[u8] = if line[open..close].contains(&b'+') {
            b"{0+}"
        } else {
            b"{0}"
        };
        out.skeleton.extend_from_slice(&line[..open]);
        let skeleton_offset = out.skeleton.len();
        out.skeleton.extend_from_slice(stand_in);
        out.skeleton.extend_from_slice(&line[close..]);
        out.wire_len += line.len() as u64;
        traced.extend_from_slice(line);
        sink.begin(traced);
        self.conn.trace.record(Dir::Server, traced);
        traced.clear();
        let index = out.literals.len();
        let mut literal = StreamedLiteral {
            skeleton_offset,
            stand_in_len: stand_in.len(),
            announced_len: close - open,
            size,
            body_offset: out.wire_len,
            nul_offset: None,
        };
        let mut done: u64 = 0;
        while done < size {
            if self.conn.buffered().is_empty() {
                self.conn.fill(*deadline).await?;
                *deadline = self.deadline();
            }
            let take = (size - done).min(self.conn.buffered().len() as u64) as usize;
            let chunk = &self.conn.buffered()[..take];
            // NUL is not a CHAR8: a strict reader must look at every byte.
            if literal.nul_offset.is_none() && chunk.contains(&0) {
                let at = chunk.iter().position(|&b| b == 0).unwrap_or(0);
                literal.nul_offset = Some(literal.body_offset + done + at as u64);
            }
            sink.chunk(index, chunk);
            self.conn.consume(take);
            done += take as u64;
        }
        out.wire_len += size;
        self.conn.trace.record(
            Dir::Server,
            format!("{ELIDED_PREFIX}{size} bytes elided>").as_bytes(),
        );
        out.literals.push(literal);
        Ok(())
    }

    /// Parses a response, recording a deviation against `command`.
    pub fn check_grammar(&mut self, command: &str, raw: &RawResponse) {
        self.check_grammar_mapped(command, raw, &[]);
    }

    /// Like [`Session::check_grammar`] for a response whose `literals` were
    /// streamed out: offsets are mapped back to the wire, and a NUL found in
    /// a streamed literal is a deviation too (NUL is not a CHAR8).
    fn check_grammar_mapped(
        &mut self,
        command: &str,
        raw: &RawResponse,
        literals: &[StreamedLiteral],
    ) {
        let wire = |at: usize| (!literals.is_empty()).then(|| wire_offset(literals, at));
        let deviation = match grammar::parse_response(&raw.0, &self.grammar) {
            Ok(_) => None,
            Err(grammar::ParseError::Invalid(d)) => Some(d),
            Err(grammar::ParseError::Incomplete { .. }) => Some(grammar::Deviation {
                offset: raw.0.len(),
                rule: "response",
                expected: "the rest of the response".into(),
                found: Vec::new(),
            }),
        };
        if let Some(deviation) = deviation {
            self.deviations.push(SeenDeviation {
                command: command.to_string(),
                response: raw.0.clone(),
                wire_offset: wire(deviation.offset),
                deviation,
                context: self.context.clone(),
            });
        }
        for l in literals {
            if let Some(nul) = l.nul_offset {
                self.deviations.push(SeenDeviation {
                    command: command.to_string(),
                    response: raw.0.clone(),
                    deviation: grammar::Deviation {
                        offset: l.skeleton_offset,
                        rule: "literal",
                        expected: "CHAR8 (any byte but NUL)".into(),
                        found: vec![0],
                    },
                    wire_offset: Some(nul),
                    context: self.context.clone(),
                });
            }
        }
    }

    fn take_tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Sends `cmd` (after the allowlist) and collects responses up to its
    /// tagged completion.
    pub async fn run(&mut self, cmd: Command) -> Result<Reply, SessionFault> {
        Ok(self.run_streaming(cmd, u64::MAX, &mut Discard).await?.reply)
    }

    /// Like [`Session::run`], but literals larger than `stream_over` go to
    /// `sink` instead of memory (see [`Session::read_response_streaming`]).
    /// The reply's untagged responses are then skeletons; `streamed` says
    /// which of them had literals taken out, and what those held.
    pub async fn run_streaming(
        &mut self,
        cmd: Command,
        stream_over: u64,
        sink: &mut dyn LiteralSink,
    ) -> Result<StreamedReply, SessionFault> {
        let text = cmd.checked_text();
        readonly::check(&text).map_err(SessionFault::Refused)?;
        let tag = self.take_tag();
        let started = Instant::now();
        let label = cmd.traced_text();
        let mut untagged = Vec::new();
        self.send_parts(&tag, &cmd, &label, &mut untagged).await?;
        let mut streamed = Vec::new();
        loop {
            let s = self.read_response_streaming(stream_over, sink).await?;
            let raw = RawResponse(s.skeleton);
            self.check_grammar_mapped(&label, &raw, &s.literals);
            if !s.literals.is_empty() {
                streamed.push((untagged.len(), s.literals));
            }
            if let Some(reply) =
                self.finish_if_tagged(&tag, &label, &raw, &mut untagged, started)?
            {
                return Ok(StreamedReply { reply, streamed });
            }
        }
    }

    /// Runs `cmds` pipelined: up to `window` commands are in flight at once,
    /// so the server never waits for a round trip. Each must be plain text
    /// (no literals). Untagged responses belong to the oldest command in
    /// flight (servers answer FETCH and SEARCH in order); large literals go
    /// to `sink` with the index of their command. Returns the replies in
    /// command order; on a fault, the replies completed before it and the
    /// fault (the command in flight at that moment is the next index).
    pub async fn run_pipelined(
        &mut self,
        cmds: &[Command],
        window: usize,
        stream_over: u64,
        sink: &mut dyn PipelineSink,
    ) -> Result<Vec<StreamedReply>, (Vec<StreamedReply>, SessionFault)> {
        for c in cmds {
            if let Err(r) = readonly::check(&c.checked_text()) {
                return Err((Vec::new(), SessionFault::Refused(r)));
            }
        }
        struct InFlight {
            /// Index into `cmds`.
            index: usize,
            tag: String,
            label: String,
            untagged: Vec<RawResponse>,
            streamed: Vec<(usize, Vec<StreamedLiteral>)>,
            started: Instant,
        }
        // Completed replies by command index; returned in order.
        let mut slots: Vec<Option<StreamedReply>> = vec![None; cmds.len()];
        let mut completed = 0;
        let mut flight: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
        let mut next = 0;
        let window = window.max(1);
        let in_order = |slots: &mut Vec<Option<StreamedReply>>| -> Vec<StreamedReply> {
            slots.iter_mut().map_while(Option::take).collect()
        };
        while completed < cmds.len() {
            // Keep the window full: one write for all the commands that fit.
            let mut batch = Vec::new();
            let mut traced = Vec::new();
            while next < cmds.len() && flight.len() < window {
                let tag = self.take_tag();
                let label = cmds[next].traced_text();
                let text = cmds[next].checked_text();
                batch.extend_from_slice(format!("{tag} {text}\r\n").as_bytes());
                traced.extend_from_slice(format!("{tag} {label}\r\n").as_bytes());
                flight.push_back(InFlight {
                    index: next,
                    tag,
                    label,
                    untagged: Vec::new(),
                    streamed: Vec::new(),
                    started: Instant::now(),
                });
                next += 1;
            }
            if !batch.is_empty() {
                if let Err(e) = self.conn.write(&batch, Some(&traced)).await {
                    return Err((in_order(&mut slots), e.into()));
                }
            }
            let index = flight.front().map_or(next, |f| f.index);
            let mut routed = Routed { sink, index };
            let s = match self.read_response_streaming(stream_over, &mut routed).await {
                Ok(s) => s,
                Err(e) => return Err((in_order(&mut slots), e)),
            };
            let raw = RawResponse(s.skeleton);
            let position = flight.iter().position(|f| {
                raw.0.len() > f.tag.len()
                    && raw.0[..f.tag.len()].eq_ignore_ascii_case(f.tag.as_bytes())
                    && raw.0[f.tag.len()] == b' '
            });
            // Tagged: by tag. Untagged: as the sink says (by UID), else the
            // oldest command in flight.
            let owner = position
                .or_else(|| {
                    let i = routed.sink.owner(&raw.0)?;
                    flight.iter().position(|f| f.index == i)
                })
                .unwrap_or(0);
            let Some(f) = flight.get_mut(owner) else {
                continue;
            };
            let (tag, label) = (f.tag.clone(), f.label.clone());
            self.check_grammar_mapped(&label, &raw, &s.literals);
            if !s.literals.is_empty() {
                f.streamed.push((f.untagged.len(), s.literals));
            }
            let started = f.started;
            let mut untagged = std::mem::take(&mut f.untagged);
            match self.finish_if_tagged(&tag, &label, &raw, &mut untagged, started) {
                Ok(Some(reply)) => {
                    if let Some(f) = flight.remove(owner) {
                        slots[f.index] = Some(StreamedReply {
                            reply,
                            streamed: f.streamed,
                        });
                        completed += 1;
                    }
                }
                Ok(None) => {
                    if let Some(f) = flight.get_mut(owner) {
                        f.untagged = untagged;
                    }
                }
                Err(e) => return Err((in_order(&mut slots), e)),
            }
        }
        Ok(in_order(&mut slots))
    }

    /// Runs a SASL exchange: `AUTHENTICATE <mech> [initial]`, then answers
    /// each continuation with `respond(challenge)` (base64 in, base64 out).
    /// All client payloads are redacted in the trace.
    pub async fn authenticate(
        &mut self,
        mechanism: &str,
        initial: Option<&str>,
        mut respond: impl FnMut(&[u8]) -> String,
    ) -> Result<Reply, SessionFault> {
        let mut cmd = Command::new(&format!("AUTHENTICATE {mechanism}"));
        if let Some(ir) = initial {
            cmd = cmd.secret_atom(ir);
        }
        let text = cmd.checked_text();
        readonly::check(&text).map_err(SessionFault::Refused)?;
        let tag = self.take_tag();
        let started = Instant::now();
        let label = format!("AUTHENTICATE {mechanism}");
        let mut untagged = Vec::new();
        self.send_parts(&tag, &cmd, &label, &mut untagged).await?;
        loop {
            let raw = self.read_response().await?;
            if raw.0.starts_with(b"+") {
                let challenge = raw.0[1..].trim_ascii();
                let answer = respond(challenge);
                let line = format!("{answer}\r\n");
                self.conn
                    .write(line.as_bytes(), Some(REDACTED.as_bytes()))
                    .await?;
                continue;
            }
            if let Some(reply) =
                self.finish_if_tagged(&tag, &label, &raw, &mut untagged, started)?
            {
                return Ok(reply);
            }
        }
    }

    async fn send_parts(
        &mut self,
        tag: &str,
        cmd: &Command,
        label: &str,
        untagged: &mut Vec<RawResponse>,
    ) -> Result<(), SessionFault> {
        // Split at literals: each literal's announcement ends a line; without
        // LITERAL+ the server must say `+` before the literal's bytes go out.
        let mut line = format!("{tag} ").into_bytes();
        let mut trace_line = line.clone();
        for (part, secret) in &cmd.parts {
            match (part, secret) {
                (Part::Text(t), false) => {
                    line.extend_from_slice(t.as_bytes());
                    trace_line.extend_from_slice(t.as_bytes());
                }
                (Part::Text(t), true) => {
                    line.extend_from_slice(t.as_bytes());
                    trace_line.extend_from_slice(REDACTED.as_bytes());
                }
                (Part::Literal(bytes), secret) => {
                    let plus = if self.literal_plus { "+" } else { "" };
                    let ann = format!("{{{}{plus}}}\r\n", bytes.len());
                    line.extend_from_slice(ann.as_bytes());
                    if *secret {
                        // Not even the length of a secret goes to the trace.
                        trace_line.extend_from_slice(REDACTED.as_bytes());
                    } else {
                        trace_line.extend_from_slice(ann.as_bytes());
                    }
                    self.conn.write(&line, Some(&trace_line)).await?;
                    if !self.literal_plus {
                        self.await_continuation(tag, label, untagged).await?;
                    }
                    line = bytes.clone();
                    trace_line = if *secret { Vec::new() } else { bytes.clone() };
                }
            }
        }
        line.extend_from_slice(b"\r\n");
        trace_line.extend_from_slice(b"\r\n");
        self.conn.write(&line, Some(&trace_line)).await?;
        Ok(())
    }

    async fn await_continuation(
        &mut self,
        tag: &str,
        label: &str,
        untagged: &mut Vec<RawResponse>,
    ) -> Result<(), SessionFault> {
        loop {
            let raw = self.read_response().await?;
            if raw.0.starts_with(b"+") {
                self.check_grammar(label, &raw);
                return Ok(());
            }
            if raw.0.starts_with(format!("{tag} ").as_bytes()) {
                // The server refused the literal: treat as the completion.
                return Err(SessionFault::Bye { response: raw.0 });
            }
            self.check_grammar(label, &raw);
            if is_bye(&raw.0) {
                return Err(SessionFault::Bye { response: raw.0 });
            }
            untagged.push(raw);
        }
    }

    /// Files one response; returns the reply when it is the tagged completion.
    fn finish_if_tagged(
        &mut self,
        tag: &str,
        label: &str,
        raw: &RawResponse,
        untagged: &mut Vec<RawResponse>,
        started: Instant,
    ) -> Result<Option<Reply>, SessionFault> {
        let tagged_prefix = format!("{tag} ");
        if raw.0.len() >= tagged_prefix.len()
            && raw.0[..tagged_prefix.len()].eq_ignore_ascii_case(tagged_prefix.as_bytes())
        {
            let (status, code, text) = match grammar::parse_response(&raw.0, &self.grammar) {
                Ok((Response::Tagged(t), _)) => (
                    t.status.kind,
                    t.status.code.as_ref().map(|c| c.name()),
                    String::from_utf8_lossy(t.status.text).into_owned(),
                ),
                _ => loose_status(&raw.0),
            };
            return Ok(Some(Reply {
                tag: tag.to_string(),
                untagged: std::mem::take(untagged),
                tagged: raw.clone(),
                status,
                code,
                text,
                elapsed: started.elapsed(),
            }));
        }
        if is_bye(&raw.0) && !label.eq_ignore_ascii_case("LOGOUT") {
            return Err(SessionFault::Bye {
                response: raw.0.clone(),
            });
        }
        untagged.push(raw.clone());
        Ok(None)
    }
}

/// Whether a response is an untagged BYE.
pub fn is_bye(raw: &[u8]) -> bool {
    raw.len() >= 5 && raw[..5].eq_ignore_ascii_case(b"* BYE")
}

/// Typed access to untagged responses a command collected.
pub fn untagged_of<'a>(reply: &'a Reply, opts: &grammar::Options) -> Vec<Untagged<'a>> {
    reply
        .untagged
        .iter()
        .filter_map(|r| match grammar::parse_response(&r.0, opts) {
            Ok((Response::Untagged(u), _)) => Some(u),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_or_literal_as_needed() {
        let quoted = |v: &[u8]| match encode_string(v) {
            Part::Text(t) => Some(t),
            Part::Literal(_) => None,
        };
        assert_eq!(quoted(b"alice").as_deref(), Some("\"alice\""));
        assert_eq!(quoted(b"p\"a\\ss w").as_deref(), Some("\"p\\\"a\\\\ss w\""));
        assert_eq!(quoted("wörd".as_bytes()), None);
        assert_eq!(quoted(b"a\r\nb"), None);
        assert_eq!(quoted(b"a\0b"), None);
    }

    #[test]
    fn secrets_never_reach_the_trace_parts() {
        let cmd = Command::new("LOGIN")
            .string(b"alice")
            .secret(&Secret::new("s3cret"));
        assert_eq!(cmd.traced_text(), "LOGIN \"alice\" <redacted>");
        let literal = Command::new("LOGIN")
            .string(b"alice")
            .secret(&Secret::new("w\u{f6}rd"));
        assert_eq!(literal.traced_text(), "LOGIN \"alice\" <redacted>");
    }

    #[test]
    fn loose_status_reads_broken_tagged_lines() {
        let (k, code, text) =
            loose_status(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
        assert_eq!(k, StatusKind::No);
        assert_eq!(code.as_deref(), Some("AUTHENTICATIONFAILED"));
        assert_eq!(text, "Authentication failed.");
    }
}
