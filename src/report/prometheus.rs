//! `--format prometheus`: the text exposition format (version 0.0.4), for
//! node_exporter's textfile collector. One `# HELP` and one `# TYPE` line
//! per metric family, its samples together after them, no label set twice
//! in a family, label values escaped (`\\`, `\"`, `\n`), and a final
//! newline. Every sample carries `host` and `port` (and `user` when there
//! is one), so several probes' files can sit side by side.
//!
//! ```text
//! # HELP imapprobe_probe_success 1 when the probe passed or only warned, 0 when a check failed.
//! # TYPE imapprobe_probe_success gauge
//! imapprobe_probe_success{host="imap.example.org",port="993",user="alice"} 1
//! ```

use super::monitor::Measures;
use super::{Report, Verdict};
use crate::findings::Status;
use std::collections::HashSet;
use std::fmt::Write as _;

/// A label value with `\`, `"` and line feeds escaped.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: integers without a fraction, the special values as
/// the format spells them.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<String>,
    seen: HashSet<String>,
}

/// Metric families in the order they were first used; every family is a
/// gauge (a probe's result is a snapshot, not a running count).
#[derive(Default)]
pub struct Exposition {
    families: Vec<Family>,
}

impl Exposition {
    /// Adds one sample; a label set the family already has is ignored.
    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        v: f64,
    ) {
        let i = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family {
                    name,
                    help,
                    samples: Vec::new(),
                    seen: HashSet::new(),
                });
                self.families.len() - 1
            }
        };
        let fam = &mut self.families[i];
        let mut set = String::new();
        for (k, val) in labels {
            if !set.is_empty() {
                set.push(',');
            }
            let _ = write!(set, "{k}=\"{}\"", escape_label(val));
        }
        if !fam.seen.insert(set.clone()) {
            return;
        }
        let sample = if set.is_empty() {
            format!("{name} {}", value(v))
        } else {
            format!("{name}{{{set}}} {}", value(v))
        };
        fam.samples.push(sample);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(out, "# HELP {} {help}", f.name);
            let _ = writeln!(out, "# TYPE {} gauge", f.name);
            for s in &f.samples {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }
}

/// Check status as a number: what an alert rule compares.
pub fn status_value(s: Status) -> f64 {
    match s {
        Status::Pass => 0.0,
        Status::Warn => 1.0,
        Status::Fail => 2.0,
        Status::Skip => -1.0,
    }
}

pub const SUCCESS_HELP: &str = "1 when the probe passed or only warned, 0 when a check failed.";
pub const CHECK_HELP: &str =
    "Worst status of each check (finding id): 0 pass, 1 warn, 2 fail, -1 skipped.";
pub const PHASE_HELP: &str =
    "Time of each phase of the probe (dns, connect, tls, greeting, login, total) in seconds.";

/// One report as an exposition.
pub fn render(r: &Report) -> String {
    let mut e = Exposition::default();
    let m = Measures::of(r);
    let port;
    let mut base: Vec<(&str, &str)> = Vec::new();
    if let Some(t) = &r.target {
        port = t.port.to_string();
        base.push(("host", &t.host));
        base.push(("port", &port));
        if let Some(u) = &t.user {
            base.push(("user", u));
        }
    } else if let Some(i) = &r.input {
        base.push(("input", i));
    }
    let with = |extra: &[(&'static str, &str)]| -> Vec<(&str, String)> {
        base.iter()
            .map(|(k, v)| (*k, v.to_string()))
            .chain(extra.iter().map(|(k, v)| (*k, v.to_string())))
            .collect()
    };
    let add = |e: &mut Exposition,
               name: &'static str,
               help: &'static str,
               labels: Vec<(&str, String)>,
               v: f64| {
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        e.gauge(name, help, &l, v);
    };
    add(
        &mut e,
        "imapprobe_probe_success",
        SUCCESS_HELP,
        with(&[]),
        if r.verdict == Verdict::Fail { 0.0 } else { 1.0 },
    );
    add(
        &mut e,
        "imapprobe_exit_code",
        "imapprobe's exit code for this run: 0 pass, 1 warnings, 2 failures.",
        with(&[]),
        r.exit_code as f64,
    );
    add(
        &mut e,
        "imapprobe_probe_timestamp_seconds",
        "When the probe finished, Unix seconds (for staleness alerts on the textfile).",
        with(&[]),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as f64)
            .unwrap_or(0.0),
    );
    for (check, status) in &m.checks {
        add(
            &mut e,
            "imapprobe_check_status",
            CHECK_HELP,
            with(&[("check", check)]),
            status_value(*status),
        );
    }
    for (phase, secs) in &m.phases {
        add(
            &mut e,
            "imapprobe_phase_duration_seconds",
            PHASE_HELP,
            with(&[("phase", phase)]),
            *secs,
        );
    }
    if let Some(t) = m.cert_not_after {
        add(
            &mut e,
            "imapprobe_tls_cert_not_after_seconds",
            "The server certificate's notAfter, Unix seconds.",
            with(&[]),
            t as f64,
        );
    }
    if let Some(n) = m.folders {
        add(
            &mut e,
            "imapprobe_mailbox_folders",
            "Folders the server lists for the mailbox.",
            with(&[]),
            n as f64,
        );
    }
    if let Some(n) = m.messages {
        add(
            &mut e,
            "imapprobe_mailbox_messages",
            "Messages in the mailbox (the sweep's count, else the sum of STATUS MESSAGES).",
            with(&[]),
            n as f64,
        );
    }
    if let Some(n) = m.bytes {
        add(
            &mut e,
            "imapprobe_mailbox_bytes",
            "Size of the mailbox in bytes (the sweep's RFC822.SIZE sum, else STATUS SIZE).",
            with(&[]),
            n as f64,
        );
    }
    for (folder, messages, bytes) in &m.per_folder {
        if let Some(n) = messages {
            add(
                &mut e,
                "imapprobe_folder_messages",
                "Messages per folder (STATUS MESSAGES), by decoded folder name.",
                with(&[("folder", folder)]),
                *n as f64,
            );
        }
        if let Some(n) = bytes {
            add(
                &mut e,
                "imapprobe_folder_bytes",
                "Bytes per folder (STATUS SIZE), by decoded folder name.",
                with(&[("folder", folder)]),
                *n as f64,
            );
        }
    }
    e.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd é"), "a\\\\b\\\"c\\nd é");
    }

    #[test]
    fn values_are_written_as_the_format_wants() {
        assert_eq!(value(1.0), "1");
        assert_eq!(value(0.083), "0.083");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(-1.0), "-1");
    }

    #[test]
    fn a_label_set_appears_once_per_family() {
        let mut e = Exposition::default();
        e.gauge("m", "h", &[("a", "1")], 1.0);
        e.gauge("m", "h", &[("a", "1")], 2.0);
        e.gauge("m", "h", &[("a", "2")], 3.0);
        assert_eq!(
            e.render(),
            "# HELP m h\n# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"2\"} 3\n"
        );
    }
}
