//! The compliance probe suite: short scripted conversations with
//! expectations, kept as data in `probes/` (the format is described in
//! `probes/README.md`) and compiled into the binary, so nothing is needed
//! at run time. A user's own probes load from `--probes-dir`. Every
//! command a probe sends passes the read-only allowlist when the file is
//! loaded and again when it is sent: the suite is safe on production.

pub mod check;
pub mod format;
pub mod runner;
pub mod value;

pub use self::format::{Probe, Severity, State};
pub use self::runner::run;

use crate::findings::Status;
use serde::Serialize;
use std::path::Path;

/// The suite, one file per probe, in the order they run.
const BUILTIN: &[(&str, &str)] = &[
    (
        "list-delimiter.probe",
        include_str!("../../probes/list-delimiter.probe"),
    ),
    (
        "list-inbox.probe",
        include_str!("../../probes/list-inbox.probe"),
    ),
    (
        "examine-status.probe",
        include_str!("../../probes/examine-status.probe"),
    ),
    (
        "status-noselect.probe",
        include_str!("../../probes/status-noselect.probe"),
    ),
    (
        "search-all.probe",
        include_str!("../../probes/search-all.probe"),
    ),
    (
        "fetch-macros.probe",
        include_str!("../../probes/fetch-macros.probe"),
    ),
    (
        "fetch-envelope.probe",
        include_str!("../../probes/fetch-envelope.probe"),
    ),
    (
        "fetch-partial.probe",
        include_str!("../../probes/fetch-partial.probe"),
    ),
    (
        "fetch-stable.probe",
        include_str!("../../probes/fetch-stable.probe"),
    ),
    (
        "fetch-peek-unseen.probe",
        include_str!("../../probes/fetch-peek-unseen.probe"),
    ),
    (
        "sequence-sets.probe",
        include_str!("../../probes/sequence-sets.probe"),
    ),
    ("id.probe", include_str!("../../probes/id.probe")),
    (
        "namespace.probe",
        include_str!("../../probes/namespace.probe"),
    ),
    ("enable.probe", include_str!("../../probes/enable.probe")),
    (
        "noop-capability.probe",
        include_str!("../../probes/noop-capability.probe"),
    ),
    ("logout.probe", include_str!("../../probes/logout.probe")),
];

/// The compiled-in suite.
pub fn builtin() -> Vec<Probe> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            format::parse(&format!("builtin:{name}"), text)
                .unwrap_or_else(|e| panic!("the built-in probe {name} does not load: {e}"))
        })
        .collect()
}

/// Every `*.probe` file in `dir`, by file name. Any file that does not
/// load (a syntax error, a command the allowlist refuses) fails the lot.
pub fn load_dir(dir: &Path) -> Result<Vec<Probe>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the probes directory {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "probe"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        out.push(format::parse(&p.display().to_string(), &text)?);
    }
    Ok(out)
}

/// The probes a run uses: the suite plus `dir`'s, narrowed to `only` when
/// given. Unknown ids and ids defined twice are errors.
pub fn select(only: &[String], dir: Option<&Path>) -> Result<Vec<Probe>, String> {
    let mut all = builtin();
    if let Some(d) = dir {
        for p in load_dir(d)? {
            if let Some(twin) = all.iter().find(|q| q.id == p.id) {
                return Err(format!(
                    "probe id {} is defined twice: {} and {}",
                    p.id, twin.source, p.source
                ));
            }
            all.push(p);
        }
    }
    if only.is_empty() {
        return Ok(all);
    }
    for id in only {
        if !all.iter().any(|p| &p.id == id) {
            return Err(format!(
                "no probe with id {id} (`imapprobe probes` lists them)"
            ));
        }
    }
    Ok(all.into_iter().filter(|p| only.contains(&p.id)).collect())
}

/// The suite as a table, for `imapprobe probes`.
pub fn list(probes: &[Probe]) -> String {
    let w = probes.iter().map(|p| p.id.len()).max().unwrap_or(2).max(2);
    let mut out = format!("{:w$}  TITLE\n", "ID");
    for p in probes {
        out.push_str(&format!("{:w$}  {}\n", p.id, p.title));
        let mut facts = vec![p.rfc.clone(), format!("state {}", p.state.describe())];
        if !p.requires.is_empty() {
            facts.push(format!("requires {}", p.requires.join(" ")));
        }
        if p.own_connection {
            facts.push("own connection".into());
        }
        if !p.source.starts_with("builtin:") {
            facts.push(p.source.clone());
        }
        out.push_str(&format!("{:w$}  {}\n", "", facts.join("; ")));
    }
    out.push_str(&format!("\n{} probes\n", probes.len()));
    out
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub id: String,
    pub title: String,
    pub rfc: String,
    /// pass, fail (or warn, for a probe of severity warn), skip.
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
}

/// What the suite found, like imaptest's closing line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ComplianceSummary {
    pub passed: usize,
    /// Probes that failed, whatever their severity.
    pub failed: usize,
    /// Probes skipped: a capability missing, nothing to look at (an empty
    /// INBOX, no \Noselect folder), or PREAUTH.
    pub skipped: usize,
    pub results: Vec<ProbeResult>,
}

impl std::fmt::Display for ComplianceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_loads_with_unique_ids() {
        let all = builtin();
        assert!(all.len() >= 16);
        let mut ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn selection_narrows_and_refuses_unknown_ids() {
        let one = select(&["list.delimiter".into()], None).unwrap();
        assert_eq!(one.len(), 1);
        assert!(select(&["no.such".into()], None).is_err());
    }
}
