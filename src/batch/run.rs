//! Running a batch: everything that can make the run impossible (flags,
//! the CSV's columns, the resume and output files, the CA file) is checked
//! before the first connection; then `--concurrency` workers take rows from
//! one queue, each attempt holding one of `--max-connections` permits, and
//! a row that failed transiently is tried again after a backoff (the
//! permit is given back while it waits). The results come back to one
//! writer, which appends each user's JSON line and flushes it at once, so
//! a run killed at any point loses nothing already probed, and `--resume`
//! picks up from there.

use super::args::{BatchArgs, Level};
use super::input::{self, Row};
use super::record::{self, Retried, Sink};
use super::summary::{Outcome, Stopped, Summary};
use super::{resume, retry};
use crate::auth::Credentials;
use crate::cli::{Output, UsageError};
use crate::commands::{probe_with, Depth};
use crate::config::ProbeConfig;
use crate::findings::Status;
use crate::report::{Format, Report, Verdict};
use crate::secret::{redact, Secret};
use crate::tls::TlsClient;
use crate::trace::Trace;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every worker reads.
struct Shared {
    cfg: ProbeConfig,
    level: Level,
    target: crate::targets::Target,
    selection: crate::folders::Selection,
    sweep: crate::sweep::SweepOptions,
    /// The compliance probes of `--level check`.
    probes: Vec<crate::probe::Probe>,
    queue: Mutex<VecDeque<Row>>,
    connections: tokio::sync::Semaphore,
    retries: u32,
    backoff: Duration,
    /// `--trace FILE`: each attempt's conversation, appended whole.
    trace: Option<Mutex<std::fs::File>>,
    /// Rows taken off the queue when the run stopped early, and why.
    unprobed: Mutex<Vec<Row>>,
    stopped: Mutex<Option<Stopped>>,
}

/// Users that must all fail before login, the same way, with none getting
/// a greeting, for the batch to stop (unless --keep-going).
const STOP_AFTER: usize = 3;

impl Shared {
    /// Stops the run: no row is started any more. The first reason stays.
    /// Returns how many rows were left.
    fn stop(&self, why: Stopped) -> usize {
        let left: Vec<Row> = self
            .queue
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default();
        let count = left.len();
        if let Ok(mut rows) = self.unprobed.lock() {
            rows.extend(left);
        }
        if let Ok(mut stopped) = self.stopped.lock() {
            stopped.get_or_insert(why);
        }
        count
    }
}

/// The failure that kept a user from even reaching the login — DNS, TCP,
/// TLS or the greeting — as `id: message`; `None` when the server greeted.
fn failed_before_login(r: &Report) -> Option<(String, String)> {
    r.findings
        .iter()
        .find(|f| {
            f.status == Status::Fail
                && (f.section() == "connect" || f.id == "tls.handshake" || f.id == "imap.greeting")
        })
        .map(|f| (f.id.clone(), format!("{}: {}", f.id, f.message)))
}

/// Watches the first users' results for settings that fail every row.
struct EarlyStop {
    seen: Vec<(String, String)>,
    watching: bool,
}

impl EarlyStop {
    fn new(watching: bool) -> EarlyStop {
        EarlyStop {
            seen: Vec::new(),
            watching,
        }
    }

    /// The reason to stop, once: the first [`STOP_AFTER`] users all failed
    /// before login with the same finding. A user that got a greeting, or
    /// first users that failed in different ways, end the watch.
    fn observe(&mut self, r: &Report) -> Option<String> {
        if !self.watching {
            return None;
        }
        let Some(failure) = failed_before_login(r) else {
            self.watching = false;
            return None;
        };
        self.seen.push(failure);
        if self.seen.len() < STOP_AFTER {
            return None;
        }
        self.watching = false;
        let first = &self.seen[0];
        self.seen
            .iter()
            .all(|(id, _)| *id == first.0)
            .then(|| first.1.clone())
    }
}

/// One row's result, sent from a worker to the writer.
struct Finished {
    row: Row,
    report: Report,
    attempts: u32,
    retried: Vec<Retried>,
    elapsed: Duration,
}

/// A `Write` into memory that a [`Trace`] can own while the probe runs.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn usage(e: impl std::fmt::Display) -> UsageError {
    UsageError(e.to_string())
}

/// Whether two paths name the same file (the second may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Opens `--output`: appended to when it is the `--resume` file (after a
/// line break if a killed run left a torn last line), else created.
fn open_output(args: &BatchArgs, out: &Output) -> Result<(Sink, bool), UsageError> {
    let Some(path) = &args.output else {
        let sink = if out.format == Format::Json {
            Sink::Stdout
        } else {
            Sink::Off
        };
        return Ok((sink, false));
    };
    let cannot = |e: std::io::Error| usage(format!("cannot write {}: {e}", path.display()));
    let append = args.resume.as_deref().is_some_and(|r| same_file(r, path));
    if append {
        let torn = std::fs::read(path)
            .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
            .unwrap_or(false);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(cannot)?;
        if torn {
            f.write_all(b"\n").map_err(cannot)?;
        }
        Ok((Sink::File(f), true))
    } else {
        Ok((
            Sink::File(std::fs::File::create(path).map_err(cannot)?),
            false,
        ))
    }
}

/// Runs the batch; the exit code, or why it could not run (exit 3).
pub async fn run(args: &BatchArgs) -> Result<u8, UsageError> {
    let started_at = crate::trace::timestamp();
    let start = Instant::now();
    args.refuse_single_user_flags()?;
    let (mut cfg, out) = args.check.folders.conn.resolve()?;
    cfg.addresses = Some(Arc::new(crate::transport::AddressCache::new(
        std::time::Duration::from_secs(60),
    )));
    cfg.report_peak_rss = false;
    let bytes = std::fs::read(&args.csv)
        .map_err(|e| usage(format!("cannot read {}: {e}", args.csv.display())))?;
    let input = input::read(&bytes, args.authz_column.as_deref())
        .map_err(|e| usage(format!("{}: {e}", args.csv.display())))?;
    drop(bytes);
    let done = match &args.resume {
        None => resume::Done::default(),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => resume::read(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => resume::Done::default(),
            Err(e) => return Err(usage(format!("cannot read {}: {e}", p.display()))),
        },
    };
    let probes = match args.level {
        Level::Check => args.check.probes()?,
        _ => Vec::new(),
    };
    let tls = TlsClient::new(&cfg.tls).map_err(usage)?;
    let trace = match &cfg.trace {
        None => None,
        Some(p) => Some(Mutex::new(std::fs::File::create(p).map_err(|e| {
            usage(format!("cannot write trace {}: {e}", p.display()))
        })?)),
    };
    let (mut sink, appending) = open_output(args, &out)?;

    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut queue = VecDeque::new();
    for row in input.rows {
        match done.by_key.get(&row.key()) {
            Some(o) => outcomes.push(Outcome {
                line: row.line,
                ..o.clone()
            }),
            None => queue.push_back(row),
        }
    }
    let write_failed = |e: std::io::Error| usage(format!("cannot write the output: {e}"));
    // A resumed file has these already.
    if !appending {
        for p in &input.problems {
            sink.write(&record::line(&record::row(p), &[]))
                .map_err(write_failed)?;
        }
    }
    let quiet = args.check.quiet;
    if out.format != Format::Nagios && out.format != Format::Prometheus {
        for p in &input.problems {
            eprintln!(
                "imapprobe: {} line {}: {} ({}): not run",
                args.csv.display(),
                p.line,
                p.message,
                p.kind
            );
        }
        if !outcomes.is_empty() {
            eprintln!(
                "imapprobe: {} users already in the resumed file: skipped",
                outcomes.len()
            );
        }
    }

    let to_run = queue.len();
    let folders = &args.check.folders;
    let shared = Arc::new(Shared {
        cfg,
        level: args.level,
        target: folders.target,
        selection: folders.selection(),
        sweep: args.check.sweep_options(),
        probes,
        queue: Mutex::new(queue),
        connections: tokio::sync::Semaphore::new(args.max_connections as usize),
        retries: args.retries,
        backoff: args.retry_backoff,
        trace,
        unprobed: Mutex::new(Vec::new()),
        stopped: Mutex::new(None),
    });
    let bar = progress_bar(to_run as u64, quiet);
    if out.format == Format::Csv {
        print_out(&csv_line(
            [
                "line", "user", "email", "authz", "verdict", "failures", "warnings", "login_ms",
                "total_ms", "attempts", "reason",
            ]
            .map(String::from),
        ));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Finished>();
    let local = tokio::task::LocalSet::new();
    let workers = (args.concurrency as usize).min(to_run);
    for _ in 0..workers {
        let (shared, tx, tls) = (shared.clone(), tx.clone(), tls.fork());
        local.spawn_local(async move { worker(shared, tls, tx).await });
    }
    drop(tx);
    let tell = !matches!(out.format, Format::Nagios | Format::Prometheus);
    local.spawn_local(stop_on_signal(shared.clone(), tell));
    let level = args.level;
    let mut tally = [0usize; 3];
    let mut early = EarlyStop::new(!args.keep_going);
    let written: Result<(), UsageError> = local
        .run_until(async {
            while let Some(f) = rx.recv().await {
                let outcome = Outcome::of(&f.row, &f.report, f.attempts);
                if let Some(reason) = early.observe(&f.report) {
                    let left = shared.stop(Stopped::Server {
                        reason: reason.clone(),
                    });
                    if left > 0 && tell {
                        let text = format!(
                            "imapprobe: the first {STOP_AFTER} users all failed before login ({reason}): not starting the other {left} (--keep-going to probe them anyway)"
                        );
                        match &bar {
                            Some(b) => b.suspend(|| eprintln!("{text}")),
                            None => eprintln!("{text}"),
                        }
                    }
                }
                let rec = record::user(
                    &f.row,
                    &outcome,
                    level,
                    &f.retried,
                    f.elapsed.as_millis() as u64,
                    &f.report,
                );
                let secrets = [&f.row.password];
                sink.write(&record::line(&rec, &secrets))
                    .map_err(write_failed)?;
                tally[match outcome.verdict {
                    Verdict::Pass => 0,
                    Verdict::Warn => 1,
                    Verdict::Fail => 2,
                }] += 1;
                let shown = match out.format {
                    Format::Text => Some(user_line(&outcome, &f.report, out.color)),
                    Format::Csv => Some(csv_row(&outcome)),
                    _ => None,
                };
                if let Some(text) = shown {
                    let text = redact(&text, &secrets);
                    match &bar {
                        Some(b) => b.suspend(|| print_out(&text)),
                        None => print_out(&text),
                    }
                }
                if let Some(b) = &bar {
                    b.inc(1);
                    b.set_message(format!(
                        "pass {}  warn {}  fail {}",
                        tally[0], tally[1], tally[2]
                    ));
                }
                outcomes.push(outcome);
            }
            Ok(())
        })
        .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    written?;

    outcomes.sort_by_key(|o| o.line);
    let unprobed = shared.unprobed.lock().map(|r| r.len()).unwrap_or(0);
    let stopped = shared.stopped.lock().ok().and_then(|s| s.clone());
    let summary = Summary {
        csv: args.csv.display().to_string(),
        host: shared.cfg.host.clone(),
        port: shared.cfg.port,
        tls: shared.cfg.tls_mode,
        level: args.level,
        concurrency: args.concurrency,
        max_connections: args.max_connections,
        outcomes,
        not_run: input.problems,
        started_at,
        duration: start.elapsed(),
        slowest: args.slowest,
        peak_rss_kib: crate::connectivity::peak_rss_kib(),
        unprobed,
        stopped,
        output: args.output.as_ref().map(|p| p.display().to_string()),
    };
    let summary_line = record::line(&summary.json(), &[]);
    sink.write(&summary_line).map_err(write_failed)?;
    let stdout_is_sink = matches!(sink, Sink::Stdout);
    let code = match out.format {
        Format::Nagios => {
            let (text, code) = summary.nagios(&out.thresholds);
            print_out(&text);
            code
        }
        Format::Prometheus => {
            print_out(&summary.prometheus());
            summary.exit_code()
        }
        Format::Text => {
            print_out(&summary.text());
            summary.exit_code()
        }
        Format::Json | Format::Csv => {
            if out.format == Format::Json && !stdout_is_sink {
                print_out(&summary_line);
            }
            eprint!("{}", summary.text());
            summary.exit_code()
        }
    };
    Ok(code)
}

/// The first Ctrl-C (SIGINT) or SIGTERM empties the queue: the users in
/// progress finish (each bounded by --timeout), their lines are written and
/// the summary says how many were never probed and how to resume. A second
/// signal stops at once; every line written so far is already flushed.
async fn stop_on_signal(shared: Arc<Shared>, tell: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    let count = shared.stop(Stopped::Interrupted);
    if tell {
        eprintln!(
            "imapprobe: interrupted: {count} users will not be probed; finishing those in progress (again to stop at once)"
        );
    }
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    if tell {
        eprintln!("imapprobe: stopped; the users written so far are in the output");
    }
    std::process::exit(3);
}

/// A worker: rows from the queue until it is empty.
async fn worker(
    shared: Arc<Shared>,
    tls: TlsClient,
    tx: tokio::sync::mpsc::UnboundedSender<Finished>,
) {
    loop {
        let next = shared.queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some(row) = next else { break };
        let started = Instant::now();
        let mut retried = Vec::new();
        let mut attempt = 1u32;
        let report = loop {
            let report = {
                let _permit = shared.connections.acquire().await.ok();
                attempt_once(&shared, &tls, &row, attempt).await
            };
            match retry::transient(&report) {
                Some(reason) if attempt <= shared.retries => {
                    let seed = (row.line as u64) << 8 | attempt as u64;
                    let wait = retry::backoff(shared.backoff, attempt, seed);
                    retried.push(Retried {
                        attempt,
                        reason,
                        wait_ms: wait.as_millis() as u64,
                    });
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => break report,
            }
        };
        let finished = Finished {
            row,
            report,
            attempts: attempt,
            retried,
            elapsed: started.elapsed(),
        };
        if tx.send(finished).is_err() {
            break;
        }
    }
}

/// One probe of one row.
async fn attempt_once(shared: &Shared, tls: &TlsClient, row: &Row, attempt: u32) -> Report {
    let mut cfg = shared.cfg.clone();
    cfg.trace = None;
    if shared.level != Level::Connect {
        cfg.credentials = Some(Credentials {
            user: row.user.clone(),
            authz: row.authz.clone(),
            secret: row.password.clone(),
            is_token: false,
        });
    }
    let buffer = shared.trace.as_ref().map(|_| Buffer::default());
    let trace = match &buffer {
        None => Trace::off(),
        Some(b) => Trace::to_writer(
            Box::new(b.clone()),
            &format!(
                "host={} port={} user={} line={} attempt={attempt}",
                cfg.host, cfg.port, row.user, row.line
            ),
            4096,
        ),
    };
    let depth = match shared.level {
        Level::Connect => Depth::Connect,
        Level::Login => Depth::Login,
        Level::Folders => Depth::Folders {
            target: shared.target,
            selection: &shared.selection,
        },
        Level::Check => Depth::Check {
            target: shared.target,
            selection: &shared.selection,
            sweep: &shared.sweep,
            quiet: true,
            probes: &shared.probes,
        },
    };
    let report = probe_with(&cfg, shared.level.command(), depth, tls, trace).await;
    if let (Some(buffer), Some(file)) = (buffer, &shared.trace) {
        let bytes = buffer.0.lock().map(|v| v.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        // The session redacts already; this is the last line of defence,
        // also for the form the trace escapes a backslash to.
        let escaped = Secret::new(row.password.expose().replace('\\', "\\x5c"));
        let text = redact(&text, &[&row.password, &escaped]);
        if let Ok(mut f) = file.lock() {
            let _ = f.write_all(text.as_bytes());
        }
    }
    report
}

fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// The text line of one user, as it finishes.
fn user_line(o: &Outcome, r: &Report, color: bool) -> String {
    let (word, code) = match o.verdict {
        Verdict::Pass => ("pass", "32"),
        Verdict::Warn => ("warn", "33"),
        Verdict::Fail => ("fail", "31;1"),
    };
    let word = if color {
        format!("\x1b[{code}m{word}\x1b[0m")
    } else {
        word.to_string()
    };
    let what = o.reason.clone().unwrap_or_else(|| {
        r.findings
            .iter()
            .find(|f| f.status == Status::Warn)
            .or_else(|| r.findings.iter().rev().find(|f| f.id == "auth.login"))
            .or_else(|| r.findings.last())
            .map(|f| format!("{}: {}", f.id, f.message))
            .unwrap_or_default()
    });
    let retries = if o.attempts > 1 {
        format!(" ({} attempts)", o.attempts)
    } else {
        String::new()
    };
    format!(
        "{word}  {}  {}{retries}\n",
        o.who(),
        what.replace('\n', " ")
    )
}

/// One CSV record, quoted as needed, with its line end.
fn csv_line<const N: usize>(fields: [String; N]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(&fields);
    String::from_utf8_lossy(&w.into_inner().unwrap_or_default()).into_owned()
}

/// One CSV row per user, as each finishes.
fn csv_row(o: &Outcome) -> String {
    csv_line([
        o.line.to_string(),
        o.user.clone(),
        o.email.clone().unwrap_or_default(),
        o.authz.clone().unwrap_or_default(),
        format!("{:?}", o.verdict).to_lowercase(),
        o.failures.join(" "),
        o.warnings.join(" "),
        o.login_ms.map(|m| m.to_string()).unwrap_or_default(),
        o.total_ms.to_string(),
        o.attempts.to_string(),
        o.reason.clone().unwrap_or_default(),
    ])
}

/// A bar on stderr when it is a terminal and `--quiet` was not given.
fn progress_bar(len: u64, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || len == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} users  {msg}  {elapsed} (ETA {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    Some(bar)
}
