//! The subcommands, each composing checks into one report.

use crate::config::ProbeConfig;
use crate::connectivity::{self, Recorder};
use crate::reconnect::Reconnecting;
use crate::report::{Report, Subject, Target};
use crate::tls::TlsClient;
use crate::trace::Trace;
use std::time::Instant;

/// Why a command could not run at all (exit 3).
#[derive(Debug)]
pub struct CouldNotRun(pub String);

impl std::fmt::Display for CouldNotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn target_of(cfg: &ProbeConfig) -> Target {
    Target {
        host: cfg.host.clone(),
        port: cfg.port,
        tls: cfg.tls_mode,
        user: cfg.credentials.as_ref().map(|c| match &c.authz {
            Some(z) => format!("{} (for {z})", c.user),
            None => c.user.clone(),
        }),
    }
}

fn open_trace(cfg: &ProbeConfig) -> Result<Trace, CouldNotRun> {
    match &cfg.trace {
        None => Ok(Trace::off()),
        Some(p) => Trace::to_file(p, &format!("host={} port={}", cfg.host, cfg.port))
            .map_err(|e| CouldNotRun(format!("cannot write trace {}: {e}", p.display()))),
    }
}

/// How far a run against a server goes.
#[derive(Debug, Clone, Copy)]
pub enum Depth<'a> {
    /// Connect, TLS, greeting, capabilities; no login.
    Connect,
    /// And log in (when credentials were given): `test-server`.
    Login,
    /// And walk and judge the folder tree: `folders`.
    Folders {
        target: crate::targets::Target,
        selection: &'a crate::folders::Selection,
    },
    /// And sweep the messages: `check`.
    Check {
        target: crate::targets::Target,
        selection: &'a crate::folders::Selection,
        sweep: &'a crate::sweep::SweepOptions,
        quiet: bool,
        /// The compliance probes run after the sweep (none: no summary).
        probes: &'a [crate::probe::Probe],
    },
    /// Log in and run only these compliance probes: `probes --run`.
    Probes(&'a [crate::probe::Probe]),
}

/// Runs the checks `depth` asks for against the server of `cfg`; `command`
/// names the report.
pub async fn probe(
    cfg: &ProbeConfig,
    command: &str,
    depth: Depth<'_>,
) -> Result<Report, CouldNotRun> {
    let tls = TlsClient::new(&cfg.tls).map_err(|e| CouldNotRun(e.to_string()))?;
    Ok(probe_with(cfg, command, depth, &tls, open_trace(cfg)?).await)
}

/// [`probe`] with the TLS client and the trace given: `batch` loads the
/// roots once for many probes (see [`TlsClient::fork`]) and keeps each
/// user's conversation apart.
pub async fn probe_with(
    cfg: &ProbeConfig,
    command: &str,
    depth: Depth<'_>,
    tls: &TlsClient,
    trace: Trace,
) -> Report {
    let started_at = crate::trace::timestamp();
    let start = Instant::now();
    let mut rec = Recorder::default();
    let (mut tree, mut messages, mut compliance) = (None, None, None);
    if let Some(mut opened) = connectivity::open(cfg, tls, trace.clone(), &mut rec).await {
        let logged_in = match depth {
            Depth::Connect => false,
            _ => connectivity::log_in(cfg, &mut opened, &mut rec).await,
        };
        // What to do past the login: the tree, and maybe the sweep.
        let plan = match depth {
            Depth::Connect | Depth::Login => None,
            Depth::Probes(probes) if logged_in => {
                let mut session = Reconnecting::new(cfg, tls, trace.clone(), opened);
                let caps = session.caps();
                compliance = Some(crate::probe::run(&mut session, probes, &caps, &mut rec).await);
                session.finish(&mut rec).await;
                trace.flush();
                return report_of(
                    cfg,
                    command,
                    started_at,
                    start,
                    rec,
                    (None, None, compliance),
                );
            }
            Depth::Probes(_) => None,
            Depth::Folders { target, selection } => Some((target, selection, None)),
            Depth::Check {
                target,
                selection,
                sweep,
                quiet,
                ..
            } => Some((target, selection, Some((sweep, quiet)))),
        };
        if let (true, Some((target, selection, sweep))) = (logged_in, plan) {
            let mut session = Reconnecting::new(cfg, tls, trace.clone(), opened);
            let t = crate::folders::walk(&mut session, selection, &mut rec).await;
            let mut swept = None;
            if let Some((opts, quiet)) = sweep {
                let n = t
                    .folders
                    .iter()
                    .filter(|f| !f.excluded && f.is_selectable())
                    .count();
                let progress = crate::progress::Progress::new(n as u64, quiet);
                let s = crate::sweep::sweep(&mut session, &t, opts, &progress, &mut rec).await;
                swept = Some((s, opts));
            }
            if let Depth::Check { probes, .. } = depth {
                if !probes.is_empty() {
                    let caps = session.caps();
                    compliance =
                        Some(crate::probe::run(&mut session, probes, &caps, &mut rec).await);
                }
            }
            session.finish(&mut rec).await;
            rec.findings.extend(crate::hierarchy::analyse(&t, target));
            if let Some((s, opts)) = swept {
                let deviations = rec
                    .findings
                    .iter()
                    .filter(|f| f.id == "grammar.response")
                    .count();
                crate::sweep::findings(&s, opts, deviations, &mut rec);
                messages = Some(s);
            }
            tree = Some(t);
        } else {
            connectivity::log_out(&mut opened.session, &mut rec).await;
            connectivity::grammar_findings(&opened.session, &mut rec);
        }
    }
    trace.flush();
    report_of(
        cfg,
        command,
        started_at,
        start,
        rec,
        (tree, messages, compliance),
    )
}

/// The report of a run against a server, with what it found.
fn report_of(
    cfg: &ProbeConfig,
    command: &str,
    started_at: String,
    start: Instant,
    mut rec: Recorder,
    (tree, messages, compliance): (
        Option<crate::mailboxes::Tree>,
        Option<crate::sweep::Sweep>,
        Option<crate::probe::ComplianceSummary>,
    ),
) -> Report {
    rec.facts
        .timings_ms
        .insert("total".into(), start.elapsed().as_millis() as u64);
    if cfg.report_peak_rss {
        rec.facts.peak_rss_kib = crate::connectivity::peak_rss_kib();
    }
    let subject = Subject {
        target: Some(target_of(cfg)),
        facts: Some(rec.facts),
        input: None,
        tree,
        messages,
        compliance,
    };
    Report::new(command, subject, started_at, start.elapsed(), rec.findings)
}

/// `test-server`: connect, TLS, greeting, capabilities, ID, login, logout.
pub async fn test_server(cfg: &ProbeConfig) -> Result<Report, CouldNotRun> {
    probe(cfg, "test-server", Depth::Login).await
}

/// `folders`: connect and log in as `test-server` does, walk the folder
/// tree, and judge it for `target`.
pub async fn folders(
    cfg: &ProbeConfig,
    target: crate::targets::Target,
    selection: &crate::folders::Selection,
) -> Result<Report, CouldNotRun> {
    probe(cfg, "folders", Depth::Folders { target, selection }).await
}

/// `check`: everything — connection, TLS, login, the folder tree, and the
/// message sweep — in one report.
pub async fn check(
    cfg: &ProbeConfig,
    target: crate::targets::Target,
    selection: &crate::folders::Selection,
    sweep: &crate::sweep::SweepOptions,
    quiet: bool,
    probes: &[crate::probe::Probe],
) -> Result<Report, CouldNotRun> {
    let depth = Depth::Check {
        target,
        selection,
        sweep,
        quiet,
        probes,
    };
    probe(cfg, "check", depth).await
}

/// `probes --run`: log in and run only `probes` (tests and probe authors:
/// no folder walk, no sweep).
pub async fn run_probes(
    cfg: &ProbeConfig,
    probes: &[crate::probe::Probe],
) -> Result<Report, CouldNotRun> {
    probe(cfg, "probes", Depth::Probes(probes)).await
}

/// `lint`: checks every server response in a saved transcript (or raw
/// server bytes) against the grammar, as a live probe would have.
pub fn lint(input_name: &str, input: &[u8], utf8_accept: bool) -> Report {
    use crate::findings::Finding;
    use crate::framing::{scan, Limits, Scan};
    use crate::grammar::{self, ParseError};
    use crate::verdicts::{deviation_finding, Origin};

    let started_at = crate::trace::timestamp();
    let start = Instant::now();
    let t = crate::transcript::parse(input);
    let mut findings = Vec::new();
    if t.other_lines > 0 {
        findings.push(Finding::warn(
            "lint.input",
            format!(
                "{} lines are neither S:, C: nor comments; they were ignored",
                t.other_lines
            ),
        ));
    }
    // The whole input is in memory already: no limits beyond its size.
    let limits = Limits {
        max_line: usize::MAX,
        max_literal: u64::MAX,
    };
    let mut opts = grammar::Options {
        utf8_accept,
        ..grammar::Options::default()
    };
    let (mut pos, mut responses, mut deviations) = (0usize, 0usize, 0usize);
    while pos < t.server.len() {
        let rest = &t.server[pos..];
        let len = match scan(rest, &limits) {
            Scan::Complete { len } => len,
            _ => {
                findings.push(
                    Finding::warn(
                        "grammar.truncated",
                        format!(
                            "the input ends in the middle of a response ({} bytes from line {})",
                            rest.len(),
                            t.line_of(pos).unwrap_or(1)
                        ),
                    )
                    .with_evidence(rest[..rest.len().min(512)].to_vec()),
                );
                break;
            }
        };
        let response = &rest[..len];
        responses += 1;
        let is_greeting = pos == 0 && t.client.first().is_none_or(|c| c.server_offset > 0);
        let parsed = if is_greeting {
            grammar::parse_greeting(response, &opts).map(|_| ())
        } else {
            grammar::parse_response(response, &opts).map(|(r, _)| {
                if let grammar::Response::Untagged(grammar::Untagged::Enabled(caps)) = r {
                    if caps.iter().any(|c| c.eq_ignore_ascii_case(b"UTF8=ACCEPT")) {
                        opts.utf8_accept = true;
                    }
                }
            })
        };
        let deviation = match parsed {
            Ok(()) => None,
            Err(ParseError::Invalid(d)) => Some(d),
            Err(ParseError::Incomplete { .. }) => Some(grammar::Deviation {
                offset: response.len(),
                rule: "response",
                expected: "the rest of the response".into(),
                found: Vec::new(),
            }),
        };
        if let Some(d) = deviation {
            deviations += 1;
            let origin = Origin {
                command: command_for(&t, pos, response),
                location: t.line_of(pos).map(|l| format!("line {l}")),
                wire_offset: None,
            };
            findings.push(deviation_finding(response, &d, &origin));
        }
        pos += len;
    }
    let elided = if t.elided_bytes > 0 {
        format!(
            "; {} literal bytes the trace elided were not checked",
            t.elided_bytes
        )
    } else {
        String::new()
    };
    let summary = format!(
        "{responses} responses, {} bytes checked against RFC 3501 §9: {}{elided}",
        t.server.len(),
        if deviations == 0 {
            "compliant".to_string()
        } else {
            format!("{deviations} deviate")
        }
    );
    let status = if deviations == 0 {
        crate::findings::Status::Pass
    } else {
        crate::findings::Status::Fail
    };
    findings.insert(0, Finding::new("grammar.summary", status, summary));
    let subject = Subject {
        input: Some(input_name.to_string()),
        ..Subject::default()
    };
    Report::new("lint", subject, started_at, start.elapsed(), findings)
}

/// The client command a response answers: by tag when tagged, else the
/// last command sent before it.
fn command_for(t: &crate::transcript::Transcript, pos: usize, response: &[u8]) -> Option<String> {
    let sent = t.client.partition_point(|c| c.server_offset <= pos);
    let before = &t.client[..sent];
    if !response.starts_with(b"* ") && !response.starts_with(b"+") {
        let tag = response.split(|&b| b == b' ').next().unwrap_or(b"");
        let tag = String::from_utf8_lossy(tag);
        if let Some(c) = before
            .iter()
            .rev()
            .find(|c| c.text.split(' ').next() == Some(tag.as_ref()))
        {
            return Some(c.text.clone());
        }
    }
    before.last().map(|c| c.text.clone())
}
