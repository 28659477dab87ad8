//! Findings are the data every check produces: what was checked, how it
//! went, the server's own bytes as evidence, and what to do about it.
//! Nothing here talks to a server or prints anything.

use base64::Engine as _;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// How a check went. Ordered from best to worst, so `max` gives the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check was not run (a capability is missing, or an earlier step failed).
    Skip,
    /// Works today, but is a risk worth fixing before a migration.
    Warn,
    /// Will break a migration or a client.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// Bytes a server sent. Serialised as `{"text": …}` when they are UTF-8 and
/// `{"bytes": base64}` otherwise, so JSON never loses or mangles evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence(pub Vec<u8>);

impl Evidence {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Evidence {
        Evidence(bytes.into())
    }

    /// A one-line, printable rendering for the text report: CR, LF, NUL and
    /// other control bytes are escaped, long evidence is cut with its size.
    pub fn display(&self, max: usize) -> String {
        let mut out = String::new();
        let text = String::from_utf8_lossy(&self.0);
        for ch in text.chars() {
            if out.len() >= max {
                out.push_str(&format!("… ({} bytes)", self.0.len()));
                break;
            }
            match ch {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        out
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match std::str::from_utf8(&self.0) {
            Ok(text) => map.serialize_entry("text", text)?,
            Err(_) => map.serialize_entry(
                "bytes",
                &base64::engine::general_purpose::STANDARD.encode(&self.0),
            )?,
        }
        map.end()
    }
}

/// One check's outcome. Built with [`Finding::new`] and the `with_*` setters.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable dotted identifier, e.g. `tls.certificate.expiry`.
    pub id: String,
    pub status: Status,
    /// What the finding is about when not the whole server: a folder, a UID, a command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The ABNF rule or RFC section the check enforces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The migration error this finding predicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    #[serde(
        rename = "duration_ms",
        serialize_with = "ser_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
}

fn ser_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

impl Finding {
    pub fn new(id: impl Into<String>, status: Status, message: impl Into<String>) -> Finding {
        Finding {
            id: id.into(),
            status,
            subject: None,
            message: message.into(),
            evidence: None,
            rule: None,
            predicts: None,
            remedy: None,
            duration: None,
        }
    }
    pub fn pass(id: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding::new(id, Status::Pass, message)
    }
    pub fn warn(id: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding::new(id, Status::Warn, message)
    }
    pub fn fail(id: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding::new(id, Status::Fail, message)
    }
    pub fn skip(id: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding::new(id, Status::Skip, message)
    }
    pub fn with_subject(mut self, subject: impl Into<String>) -> Finding {
        self.subject = Some(subject.into());
        self
    }
    pub fn with_evidence(mut self, bytes: impl Into<Vec<u8>>) -> Finding {
        self.evidence = Some(Evidence::new(bytes));
        self
    }
    pub fn with_rule(mut self, rule: impl Into<String>) -> Finding {
        self.rule = Some(rule.into());
        self
    }
    pub fn with_predicts(mut self, predicts: impl Into<String>) -> Finding {
        self.predicts = Some(predicts.into());
        self
    }
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Finding {
        self.remedy = Some(remedy.into());
        self
    }
    pub fn with_duration(mut self, d: Duration) -> Finding {
        self.duration = Some(d);
        self
    }
    /// The report section a finding belongs to, from the first part of its id.
    pub fn section(&self) -> &str {
        self.id.split('.').next().unwrap_or("")
    }
}

/// The migration errors findings predict, worded as the migration service
/// words them (see the knowledge base), so an admin can search for them.
pub mod predicts {
    pub const CONNECTION_FAILED: &str =
        "MigrationServerConnectionFailedException: \"The connection to the server could not be completed\" / \"We were unable to reach your email provider\"";
    pub const CONNECTION_TIMED_OUT: &str =
        "\"The connection to the server timed out\" (MigrationServerConnectionTimeoutException)";
    pub const TLS_FAILED: &str = "\"TLS negotiation failed\" when the migration endpoint connects";
    pub const LOGIN_FAILED: &str =
        "\"Imap server sent NO response to LoginCommand … LOGIN failed\" / \"Unable to log into account\"";
    pub const COULD_NOT_PARSE: &str =
        "ImapCouldNotParseResponse: \"Imap server sent a response that we could not understand\"";
}
