//! What the monitoring formats (Nagios, Prometheus) measure in a report:
//! phase times, the certificate's end, mailbox counts and sizes, and the
//! worst status of each check. Plain data drawn from the report; the two
//! renderers only differ in how they write it.

use super::Report;
use crate::findings::Status;
use std::collections::BTreeMap;

/// The phases in the order people read them; any other timing follows.
const PHASE_ORDER: &[&str] = &["dns", "connect", "tls", "greeting", "login", "total"];

/// Numbers of one report.
#[derive(Debug, Clone, Default)]
pub struct Measures {
    /// Phase name and seconds, in [`PHASE_ORDER`], then the others by name.
    pub phases: Vec<(String, f64)>,
    /// The leaf certificate's notAfter, Unix seconds.
    pub cert_not_after: Option<i64>,
    pub cert_days_left: Option<i64>,
    /// Folders in the tree (`folders`, `check`).
    pub folders: Option<u64>,
    /// Messages: the sweep's count, else the sum of STATUS MESSAGES.
    pub messages: Option<u64>,
    /// Bytes: the sweep's sum of RFC822.SIZE, else the sum of STATUS SIZE.
    pub bytes: Option<u64>,
    /// Per folder (decoded name): messages and bytes when known.
    pub per_folder: Vec<(String, Option<u64>, Option<u64>)>,
    /// Worst status of each finding id (several findings may share one).
    pub checks: BTreeMap<String, Status>,
}

impl Measures {
    pub fn of(r: &Report) -> Measures {
        let mut m = Measures::default();
        if let Some(facts) = &r.facts {
            let mut known: Vec<(String, f64)> = Vec::new();
            for name in PHASE_ORDER {
                if let Some(ms) = facts.timings_ms.get(*name) {
                    known.push((name.to_string(), *ms as f64 / 1000.0));
                }
            }
            for (name, ms) in &facts.timings_ms {
                if !PHASE_ORDER.contains(&name.as_str()) {
                    known.push((name.clone(), *ms as f64 / 1000.0));
                }
            }
            m.phases = known;
            if let Some(tls) = &facts.tls {
                m.cert_not_after = tls.chain.first().map(|c| c.not_after_unix);
                m.cert_days_left = tls.days_left;
            }
        }
        if let Some(tree) = &r.tree {
            m.folders = Some(tree.folders.len() as u64);
            let mut messages = None::<u64>;
            let mut bytes = None::<u64>;
            for f in &tree.folders {
                let st = f.status.clone().unwrap_or_default();
                if let Some(n) = st.messages {
                    messages = Some(messages.unwrap_or(0) + n);
                }
                if let Some(n) = st.size {
                    bytes = Some(bytes.unwrap_or(0) + n);
                }
                m.per_folder.push((f.name.clone(), st.messages, st.size));
            }
            m.messages = messages;
            m.bytes = bytes;
        }
        if let Some(s) = &r.messages {
            m.messages = Some(s.messages);
            m.bytes = Some(s.bytes);
        }
        for f in &r.findings {
            let worst = m.checks.entry(f.id.clone()).or_insert(f.status);
            *worst = (*worst).max(f.status);
        }
        m
    }

    /// Seconds of one phase.
    pub fn phase(&self, name: &str) -> Option<f64> {
        self.phases.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }
}

/// Milliseconds as seconds.
pub fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
