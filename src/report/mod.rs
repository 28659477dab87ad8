//! The report: findings and facts of one run, its verdict and exit code,
//! rendered as text for people or JSON for programs. Never talks to a server.

pub mod csv;
pub mod json;
pub mod monitor;
pub mod nagios;
pub mod prometheus;
pub mod text;

use crate::connectivity::ServerFacts;
use crate::findings::{Finding, Status};
use serde::Serialize;
use std::time::Duration;

/// Bumped when a field changes meaning or disappears; adding fields keeps it.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of a run, worst finding first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    /// Exit codes: 0 pass, 1 warnings only, 2 any failure (3, could not
    /// run, is decided before there is a report).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Warn => 1,
            Verdict::Fail => 2,
        }
    }
    pub fn of(findings: &[Finding]) -> Verdict {
        match findings.iter().map(|f| f.status).max() {
            Some(Status::Fail) => Verdict::Fail,
            Some(Status::Warn) => Verdict::Warn,
            _ => Verdict::Pass,
        }
    }
}

/// What was probed.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub tls: crate::config::TlsMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// What a report is about: a server (with its facts) or an input file.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub target: Option<Target>,
    pub facts: Option<ServerFacts>,
    pub input: Option<String>,
    pub tree: Option<crate::mailboxes::Tree>,
    pub messages: Option<crate::sweep::Sweep>,
    pub compliance: Option<crate::probe::ComplianceSummary>,
}

/// Counts of findings per status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

/// One run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub command: String,
    /// The server probed (absent for `lint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The file read (`lint`); `-` for standard input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdict: Verdict,
    pub exit_code: u8,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<ServerFacts>,
    /// The folder tree (`folders`, `check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<crate::mailboxes::Tree>,
    /// The message sweep (`check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<crate::sweep::Sweep>,
    /// The compliance probes' summary (`check`, `probes --run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<crate::probe::ComplianceSummary>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(
        command: &str,
        subject: Subject,
        started_at: String,
        duration: Duration,
        findings: Vec<Finding>,
    ) -> Report {
        let verdict = Verdict::of(&findings);
        let mut summary = Summary::default();
        for f in &findings {
            match f.status {
                Status::Pass => summary.pass += 1,
                Status::Warn => summary.warn += 1,
                Status::Fail => summary.fail += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: "imapprobe",
            tool_version: env!("CARGO_PKG_VERSION"),
            command: command.to_string(),
            target: subject.target,
            input: subject.input,
            started_at,
            duration_ms: duration.as_millis() as u64,
            verdict,
            exit_code: verdict.exit_code(),
            summary,
            facts: subject.facts,
            tree: subject.tree,
            messages: subject.messages,
            compliance: subject.compliance,
            findings,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    /// One Nagios plugin status line with perfdata (see [`nagios`]).
    Nagios,
    /// Prometheus text exposition (see [`prometheus`]).
    Prometheus,
}

/// Renders a report in `format`; `color` only applies to text. Nagios
/// with the default thresholds here: [`nagios::render`] takes the
/// command line's and gives the plugin exit code.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => json::render(report),
        Format::Csv => csv::render(report),
        Format::Nagios => nagios::render(report, &nagios::Thresholds::default()).0,
        Format::Prometheus => prometheus::render(report),
    }
}
