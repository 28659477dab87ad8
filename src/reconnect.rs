//! A session that survives the server: when a command ends in a BYE, a
//! reset or a timeout, the fault is recorded (transient or permanent, as a
//! migration service counts them), and the next command gets a new
//! connection, logged in again, with the folder that was examined examined
//! again. Too many faults in a row and it gives up, saying so.

use crate::config::ProbeConfig;
use crate::connectivity::{self, Opened, Recorder};
use crate::findings::{Finding, Status};
use crate::session::{
    Command, Discard, LiteralSink, PipelineSink, Reply, Session, SessionFault, StreamedReply,
};
use crate::tls::TlsClient;
use crate::trace::Trace;
use crate::transport::IoFault;
use serde::Serialize;
use std::time::Instant;

/// Faults in a row after which the run stops.
pub const MAX_CONSECUTIVE_FAULTS: usize = 3;

/// One fault the session met.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// The command it happened in (secrets redacted).
    pub command: String,
    /// BYE, resets and timeouts pass; a server that refuses a reconnect does not.
    pub transient: bool,
    pub text: String,
    pub at: String,
}

/// A logged-in session that reconnects.
pub struct Reconnecting<'a> {
    cfg: &'a ProbeConfig,
    tls: &'a TlsClient,
    trace: Trace,
    opened: Option<Opened>,
    consecutive: usize,
    /// Every fault so far.
    pub faults: Vec<Fault>,
    /// The folder examined last (raw name), examined again after a reconnect.
    pub selected: Option<Vec<u8>>,
    /// Set once the faults in a row reached the limit: nothing more is sent.
    pub gave_up: bool,
    /// Where the session is (e.g. "folder Junk"), for grammar findings.
    context: Option<String>,
}

impl<'a> Reconnecting<'a> {
    /// Wraps a session that is logged in already.
    pub fn new(cfg: &'a ProbeConfig, tls: &'a TlsClient, trace: Trace, opened: Opened) -> Self {
        Reconnecting {
            cfg,
            tls,
            trace,
            opened: Some(opened),
            consecutive: 0,
            faults: Vec::new(),
            selected: None,
            gave_up: false,
            context: None,
        }
    }

    /// Says where the next commands run (e.g. "folder Junk"): grammar
    /// findings carry it.
    pub fn set_context(&mut self, context: Option<String>) {
        self.context = context.clone();
        if let Some(o) = self.opened.as_mut() {
            o.session.context = context;
        }
    }

    /// What a connection of its own needs (a compliance probe that must
    /// not disturb this session): the configuration, TLS client and trace.
    pub fn endpoint(&self) -> (&'a ProbeConfig, &'a TlsClient, Trace) {
        (self.cfg, self.tls, self.trace.clone())
    }

    /// The capabilities of the current (or last) connection.
    pub fn caps(&self) -> Vec<String> {
        self.opened
            .as_ref()
            .map(|o| o.caps.clone())
            .unwrap_or_default()
    }

    /// The live session, reconnecting when it was lost; the folder examined
    /// before is examined again when `needs_folder` (FETCH, SEARCH).
    async fn session(&mut self, rec: &mut Recorder, needs_folder: bool) -> Option<&mut Session> {
        if self.gave_up {
            return None;
        }
        if self.opened.is_none() {
            let t = Instant::now();
            let mut scratch = Recorder::default();
            let mut opened =
                connectivity::open(self.cfg, self.tls, self.trace.clone(), &mut scratch).await;
            let logged_in = match opened.as_mut() {
                Some(o) => connectivity::log_in(self.cfg, o, &mut scratch).await,
                None => false,
            };
            if !logged_in {
                let why = scratch
                    .findings
                    .iter()
                    .find(|f| f.status == Status::Fail)
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| "login failed".into());
                self.faults.push(Fault {
                    command: "reconnect".into(),
                    transient: false,
                    text: why.clone(),
                    at: crate::trace::timestamp(),
                });
                rec.add(Finding::fail(
                    "folders.reconnect",
                    format!("could not reconnect: {why}"),
                ));
                self.gave_up = true;
                return None;
            }
            let mut opened = opened?;
            match self.selected.clone() {
                Some(raw) if needs_folder => {
                    let examine = Command::new("EXAMINE").string(&raw);
                    let _ = opened.session.run(examine).await;
                }
                _ => self.selected = None,
            }
            opened.session.context = self.context.clone();
            rec.add(
                Finding::warn(
                    "folders.reconnect",
                    format!(
                        "the connection was lost; reconnected in {} ms and went on",
                        t.elapsed().as_millis()
                    ),
                )
                .with_remedy("see the fault it followed: a folder or message makes the server drop the session"),
            );
            self.opened = Some(opened);
        }
        self.opened.as_mut().map(|o| &mut o.session)
    }

    /// Runs a command; `None` when no session could be had.
    pub async fn run(
        &mut self,
        cmd: Command,
        rec: &mut Recorder,
    ) -> Option<Result<Reply, SessionFault>> {
        self.run_streaming(cmd, u64::MAX, &mut Discard, rec)
            .await
            .map(|r| r.map(|s| s.reply))
    }

    /// Runs a command whose large literals go to `sink`.
    pub async fn run_streaming(
        &mut self,
        cmd: Command,
        stream_over: u64,
        sink: &mut dyn LiteralSink,
        rec: &mut Recorder,
    ) -> Option<Result<StreamedReply, SessionFault>> {
        let label = cmd.traced_text();
        let upper = label.to_ascii_uppercase();
        let needs_folder = ["UID ", "FETCH ", "SEARCH "]
            .iter()
            .any(|p| upper.starts_with(p));
        let session = self.session(rec, needs_folder).await?;
        let r = session.run_streaming(cmd, stream_over, sink).await;
        match &r {
            Err(SessionFault::Refused(_)) => {}
            Err(e) => self.lost(&label, e, rec).await,
            Ok(_) => self.consecutive = 0,
        }
        Some(r)
    }

    /// Runs `cmds` pipelined (see [`Session::run_pipelined`]). Returns the
    /// replies completed and, when a fault cut the pipeline short, the
    /// fault (recorded like any other); the next command then reconnects.
    /// `None` when no session could be had.
    pub async fn run_pipelined(
        &mut self,
        cmds: &[Command],
        window: usize,
        stream_over: u64,
        sink: &mut dyn PipelineSink,
        rec: &mut Recorder,
    ) -> Option<(Vec<StreamedReply>, Option<SessionFault>)> {
        let session = self.session(rec, true).await?;
        match session.run_pipelined(cmds, window, stream_over, sink).await {
            Ok(done) => {
                self.consecutive = 0;
                Some((done, None))
            }
            Err((done, e)) => {
                if !done.is_empty() {
                    self.consecutive = 0;
                }
                if !matches!(e, SessionFault::Refused(_)) {
                    let label = cmds
                        .get(done.len())
                        .map(Command::traced_text)
                        .unwrap_or_default();
                    self.lost(&label, &e, rec).await;
                }
                Some((done, Some(e)))
            }
        }
    }

    /// Records a fault and drops the connection for the next command.
    async fn lost(&mut self, command: &str, e: &SessionFault, rec: &mut Recorder) {
        self.faults.push(Fault {
            command: command.to_string(),
            transient: matches!(
                e,
                SessionFault::Bye { .. }
                    | SessionFault::Io(IoFault::TimedOut { .. })
                    | SessionFault::Io(IoFault::Closed { .. })
                    | SessionFault::Io(IoFault::Broken { .. })
            ),
            text: e.to_string(),
            at: crate::trace::timestamp(),
        });
        self.consecutive += 1;
        if let Some(mut o) = self.opened.take() {
            connectivity::grammar_findings(&o.session, rec);
            o.session.conn.shutdown().await;
        }
        if self.consecutive >= MAX_CONSECUTIVE_FAULTS {
            self.gave_up = true;
            rec.add(
                Finding::fail(
                    "messages.faults",
                    format!(
                        "stopped after {} faults in a row (last: {e}); what follows was not checked",
                        self.consecutive
                    ),
                )
                .with_predicts("the migration job \"encountered too many transient failures\"")
                .with_remedy("investigate the server's load and logs at these times; lower the migration's concurrency"),
            );
        }
    }

    /// Logs out (when still connected) and reports what the session saw.
    pub async fn finish(mut self, rec: &mut Recorder) -> Vec<Fault> {
        if let Some(mut o) = self.opened.take() {
            connectivity::log_out(&mut o.session, rec).await;
            connectivity::grammar_findings(&o.session, rec);
        }
        self.faults
    }
}
