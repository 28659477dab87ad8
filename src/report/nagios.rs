//! `--format nagios`: one status line with performance data, as the
//! Monitoring Plugins development guidelines describe it, and the plugin
//! exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN):
//!
//! ```text
//! IMAP OK - imap.example.org:993 LOGIN as alice in 22 ms, TLS 1.3, certificate 87 days left | dns=0.001s;;;0 connect=0.018s;;;0 tls=0.041s;;;0 login=0.022s;;;0 time=0.083s;1.000;5.000;0 cert_days=87;14:;7:
//! ```
//!
//! The status is the worst of the report's verdict, the total time against
//! `--warn-time`/`--crit-time` and the days of certificate left against
//! `--cert-warn-days`/`--cert-crit-days`. Perfdata labels are plain words
//! (never quoted), values carry a unit of measure the guidelines allow
//! (`s`, `B`, none), thresholds use the guidelines' range syntax (`14:`
//! alerts below 14).

use super::monitor::Measures;
use super::{Report, Verdict};
use crate::findings::Status;
use std::fmt::Write as _;
use std::time::Duration;

/// The alert thresholds from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// WARNING when a run (for `batch`: a user's) takes longer.
    pub warn_time: Option<Duration>,
    /// CRITICAL when a run takes longer.
    pub crit_time: Option<Duration>,
    /// WARNING with fewer days of certificate left (`--cert-warn-days`).
    pub cert_warn_days: i64,
    /// CRITICAL with fewer days of certificate left (`--cert-crit-days`).
    pub cert_crit_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn_time: None,
            crit_time: None,
            cert_warn_days: 14,
            cert_crit_days: 7,
        }
    }
}

/// A plugin state; [`State::worst`] combines two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }
    /// CRITICAL outranks UNKNOWN: a known failure is worth more than a gap.
    pub fn worst(self, other: State) -> State {
        let rank = |s: State| match s {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
    fn of(v: Verdict) -> State {
        match v {
            Verdict::Pass => State::Ok,
            Verdict::Warn => State::Warning,
            Verdict::Fail => State::Critical,
        }
    }
}

/// Status text may not contain `|` (it starts the perfdata) nor line breaks.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Perfdata, one `label=value[UOM];[warn];[crit];[min];[max]` each.
#[derive(Default)]
pub struct Perf(Vec<String>);

impl Perf {
    /// A time in seconds with the time thresholds.
    pub fn seconds(&mut self, label: &str, s: f64, warn: Option<Duration>, crit: Option<Duration>) {
        let t = |d: Option<Duration>| d.map(|d| format!("{:.3}", d.as_secs_f64()));
        self.push(
            label,
            format!("{s:.3}s"),
            t(warn).unwrap_or_default(),
            t(crit).unwrap_or_default(),
            "0",
        );
    }
    /// A count (no unit), never negative.
    pub fn count(&mut self, label: &str, n: u64) {
        self.push(label, n.to_string(), String::new(), String::new(), "0");
    }
    /// Bytes.
    pub fn bytes(&mut self, label: &str, n: u64) {
        self.push(label, format!("{n}B"), String::new(), String::new(), "0");
    }
    /// Days of certificate left, alerting below the thresholds (`N:`).
    pub fn cert_days(&mut self, days: i64, t: &Thresholds) {
        self.push(
            "cert_days",
            days.to_string(),
            format!("{}:", t.cert_warn_days),
            format!("{}:", t.cert_crit_days),
            "",
        );
    }
    fn push(&mut self, label: &str, value: String, warn: String, crit: String, min: &str) {
        let mut s = format!("{label}={value};{warn};{crit};{min}");
        while s.ends_with(';') {
            s.pop();
        }
        self.0.push(s);
    }
    pub fn render(&self) -> String {
        self.0.join(" ")
    }
}

/// The state the time thresholds give for `secs`, with the reason.
pub fn time_state(secs: f64, t: &Thresholds, what: &str) -> (State, Option<String>) {
    let over = |d: Option<Duration>| d.is_some_and(|d| secs > d.as_secs_f64());
    let say = |d: Duration, flag: &str| {
        format!(
            "{what} {:.3} s over {} ({flag})",
            secs,
            humantime::format_duration(d)
        )
    };
    if over(t.crit_time) {
        (State::Critical, t.crit_time.map(|d| say(d, "--crit-time")))
    } else if over(t.warn_time) {
        (State::Warning, t.warn_time.map(|d| say(d, "--warn-time")))
    } else {
        (State::Ok, None)
    }
}

/// One report as a status line; returns the text (ending in a newline)
/// and the plugin exit code.
pub fn render(r: &Report, t: &Thresholds) -> (String, u8) {
    let m = Measures::of(r);
    let mut state = State::of(r.verdict);
    let mut reasons: Vec<String> = Vec::new();
    // Failures first, then warnings, each with its id: what an operator reads.
    for want in [Status::Fail, Status::Warn] {
        for f in r.findings.iter().filter(|f| f.status == want) {
            reasons.push(format!("{}: {}", f.id, f.message));
        }
    }
    let total = m.phase("total").unwrap_or(r.duration_ms as f64 / 1000.0);
    let (time_state, why) = time_state(total, t, "total time");
    state = state.worst(time_state);
    reasons.extend(why);
    if let Some(days) = m.cert_days_left {
        if days < t.cert_crit_days {
            state = state.worst(State::Critical);
            reasons.push(format!(
                "certificate has {days} days left (--cert-crit-days {})",
                t.cert_crit_days
            ));
        } else if days < t.cert_warn_days {
            state = state.worst(State::Warning);
        }
    }
    let where_ = match (&r.target, &r.input) {
        (Some(tg), _) => format!("{}:{} ", tg.host, tg.port),
        (None, Some(i)) => format!("{i} "),
        _ => String::new(),
    };
    let text = if reasons.is_empty() {
        format!("{where_}{}", healthy_summary(r, &m))
    } else {
        let shown: Vec<&str> = reasons.iter().take(3).map(String::as_str).collect();
        let more = reasons.len().saturating_sub(3);
        let mut s = format!("{where_}{}", shown.join("; "));
        if more > 0 {
            let _ = write!(s, "; and {more} more");
        }
        s
    };
    let mut perf = Perf::default();
    for (name, secs) in &m.phases {
        if name == "total" {
            continue;
        }
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            perf.seconds(name, *secs, None, None);
        }
    }
    perf.seconds("time", total, t.warn_time, t.crit_time);
    if let Some(days) = m.cert_days_left {
        perf.cert_days(days, t);
    }
    if let Some(n) = m.folders {
        perf.count("folders", n);
    }
    if let Some(n) = m.messages {
        perf.count("messages", n);
    }
    if let Some(n) = m.bytes {
        perf.bytes("size", n);
    }
    (line("IMAP", state, &text, &perf), state.exit_code())
}

/// `SERVICE STATE - text | perfdata` and a newline.
pub fn line(service: &str, state: State, text: &str, perf: &Perf) -> String {
    let mut s = format!("{service} {} - {}", state.word(), clean(text));
    // Plugins' first line should stay short: cut the text, never the perfdata.
    if s.len() > 3000 {
        let mut cut = 3000;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    let p = perf.render();
    if !p.is_empty() {
        s.push_str(" | ");
        s.push_str(&p);
    }
    s.push('\n');
    s
}

/// The words for a run with nothing to complain about.
fn healthy_summary(r: &Report, m: &Measures) -> String {
    let mut parts = Vec::new();
    if let Some(login) = r.findings.iter().find(|f| f.id == "auth.login") {
        if login.status == Status::Pass {
            parts.push(login.message.clone());
        }
    }
    if let Some(tls) = r.facts.as_ref().and_then(|f| f.tls.as_ref()) {
        parts.push(tls.version.clone());
    }
    if let Some(days) = m.cert_days_left {
        parts.push(format!("certificate {days} days left"));
    }
    if let Some(n) = m.folders {
        parts.push(format!("{n} folders"));
    }
    if let Some(n) = m.messages {
        parts.push(format!("{n} messages"));
    }
    if parts.is_empty() {
        parts.push(format!("{} checks passed", r.summary.pass));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_the_line_one_line_without_pipes() {
        assert_eq!(clean("a | b\r\nc\td"), "a / b c d");
    }

    #[test]
    fn perf_drops_trailing_empty_fields() {
        let mut p = Perf::default();
        p.count("folders", 3);
        p.seconds("time", 0.0834, Some(Duration::from_secs(1)), None);
        p.cert_days(
            87,
            &Thresholds {
                cert_warn_days: 14,
                cert_crit_days: 7,
                ..Thresholds::default()
            },
        );
        assert_eq!(
            p.render(),
            "folders=3;;;0 time=0.083s;1.000;;0 cert_days=87;14:;7:"
        );
    }

    #[test]
    fn critical_outranks_unknown() {
        assert_eq!(State::Unknown.worst(State::Critical), State::Critical);
        assert_eq!(State::Warning.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
    }
}
