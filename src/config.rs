//! The resolved configuration the rest of the program reads: what to
//! probe, how, and with which limits. Built from the raw flags in `cli`.

use crate::auth::{Credentials, Mechanism};
use crate::tls::TlsSettings;
use std::path::PathBuf;
use std::time::Duration;

/// How TLS is used on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plaintext greeting, then STARTTLS (port 143).
    Starttls,
    /// No TLS at all.
    None,
}

impl TlsMode {
    /// Port 993 means implicit TLS; anything else STARTTLS.
    pub fn default_for_port(port: u16) -> TlsMode {
        if port == 993 {
            TlsMode::Implicit
        } else {
            TlsMode::Starttls
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit TLS",
            TlsMode::Starttls => "STARTTLS",
            TlsMode::None => "no TLS",
        }
    }
}

/// Everything a connection-level probe needs.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub host: String,
    pub port: u16,
    pub tls_mode: TlsMode,
    /// Bound on every network step: resolve, connect, handshake, each response.
    pub timeout: Duration,
    pub tls: TlsSettings,
    /// Warn when the certificate expires in fewer days than this.
    pub cert_warn_days: i64,
    pub credentials: Option<Credentials>,
    pub mechanism: Option<Mechanism>,
    /// Send credentials over a connection without TLS.
    pub allow_plaintext_auth: bool,
    pub trace: Option<PathBuf>,
    /// Longest server line outside literals.
    pub max_line: usize,
    /// Addresses shared by many probes of the same host (`batch` resolves
    /// its one server once a minute, not once per row).
    pub addresses: Option<std::sync::Arc<crate::transport::AddressCache>>,
    /// Put this process's peak memory in the report. Off in `batch`, where
    /// one row's report would show the whole run's, and the summary says it.
    pub report_peak_rss: bool,
}

impl ProbeConfig {
    /// A configuration with defaults, for `host:port`.
    pub fn new(host: &str, port: u16) -> ProbeConfig {
        ProbeConfig {
            host: host.to_string(),
            port,
            tls_mode: TlsMode::default_for_port(port),
            timeout: Duration::from_secs(30),
            tls: TlsSettings::default(),
            cert_warn_days: 14,
            credentials: None,
            mechanism: None,
            allow_plaintext_auth: false,
            trace: None,
            max_line: crate::framing::Limits::default().max_line,
            addresses: None,
            report_peak_rss: true,
        }
    }
}
