//! The subcommands, each composing checks into one report.

use crate::config::ProbeConfig;
use crate::connectivity::{self, Recorder};
use crate::report::{Report, Target};
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

fn target(cfg: &ProbeConfig) -> Target {
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

/// `test-server`: connect, TLS, greeting, capabilities, ID, login, logout.
pub async fn test_server(cfg: &ProbeConfig) -> Result<Report, CouldNotRun> {
    let started_at = crate::trace::timestamp();
    let start = Instant::now();
    let tls = TlsClient::new(&cfg.tls).map_err(|e| CouldNotRun(e.to_string()))?;
    let trace = open_trace(cfg)?;
    let mut rec = Recorder::default();
    if let Some(mut opened) = connectivity::open(cfg, &tls, trace.clone(), &mut rec).await {
        connectivity::log_in(cfg, &mut opened, &mut rec).await;
        connectivity::log_out(&mut opened.session, &mut rec).await;
        connectivity::grammar_findings(&opened.session, &mut rec);
    }
    trace.flush();
    rec.facts
        .timings_ms
        .insert("total".into(), start.elapsed().as_millis() as u64);
    Ok(Report::new(
        "test-server",
        target(cfg),
        started_at,
        start.elapsed(),
        rec.facts,
        rec.findings,
    ))
}
