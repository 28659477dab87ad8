//! What a batch comes to: users passed, warned, failed and not run,
//! failures grouped by finding id, the slowest logins; as a table for
//! people, a JSON record, a Nagios status line and a Prometheus
//! exposition. Plain data: nothing here talks to a server.

use super::args::Level;
use super::input::Problem;
use crate::config::TlsMode;
use crate::findings::Status;
use crate::report::nagios::{self, Perf, State, Thresholds};
use crate::report::prometheus::{self, Exposition};
use crate::report::{Report, Verdict};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// One user's result, as the summary keeps it (also read back from an
/// earlier run's output by `--resume`).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub line: usize,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authz: Option<String>,
    pub verdict: Verdict,
    /// Ids of the failed findings, each once, in report order.
    pub failures: Vec<String>,
    /// Ids of the findings that warned.
    pub warnings: Vec<String>,
    /// The first failure's words, for the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_ms: Option<u64>,
    /// The last attempt's duration.
    pub total_ms: u64,
    pub attempts: u32,
    /// Taken from the `--resume` file, not probed in this run.
    #[serde(skip)]
    pub resumed: bool,
}

impl Outcome {
    /// The outcome of a probed row: `report` is its last attempt.
    pub fn of(row: &super::input::Row, report: &Report, attempts: u32) -> Outcome {
        let ids = |s: Status| {
            let mut v: Vec<String> = Vec::new();
            for f in report.findings.iter().filter(|f| f.status == s) {
                if !v.contains(&f.id) {
                    v.push(f.id.clone());
                }
            }
            v
        };
        Outcome {
            line: row.line,
            user: row.user.clone(),
            email: row.email.clone(),
            authz: row.authz.clone(),
            verdict: report.verdict,
            failures: ids(Status::Fail),
            warnings: ids(Status::Warn),
            reason: report
                .findings
                .iter()
                .find(|f| f.status == Status::Fail)
                .map(|f| format!("{}: {}", f.id, f.message)),
            login_ms: report
                .facts
                .as_ref()
                .and_then(|f| f.timings_ms.get("login").copied()),
            total_ms: report.duration_ms,
            attempts,
            resumed: false,
        }
    }

    /// `alice (line 4)`, with the mailbox an admin acts for.
    pub fn who(&self) -> String {
        match &self.authz {
            Some(a) => format!("{} for {a} (line {})", self.user, self.line),
            None => format!("{} (line {})", self.user, self.line),
        }
    }
}

/// Users per result.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub rows: usize,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    pub not_run: usize,
    /// Of the above, taken from the `--resume` file.
    pub resumed: usize,
    /// Rows never probed because the run stopped early (see [`Stopped`]);
    /// not counted in `not_run`, which is about the CSV.
    pub unprobed: usize,
}

/// Why a batch stopped before probing every row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Stopped {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The first users all failed before login in the same way: the
    /// connection settings are wrong for every row (`--keep-going` goes on).
    Server { reason: String },
}

/// The whole batch.
#[derive(Debug, Clone)]
pub struct Summary {
    pub csv: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub level: Level,
    pub concurrency: u32,
    pub max_connections: u32,
    pub outcomes: Vec<Outcome>,
    pub not_run: Vec<Problem>,
    pub started_at: String,
    pub duration: Duration,
    pub slowest: usize,
    /// The whole run's peak resident memory (Linux), in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Rows never probed because the run stopped early, and why.
    pub unprobed: usize,
    pub stopped: Option<Stopped>,
    /// Where this run's JSON Lines went, for the `--resume` hint.
    pub output: Option<String>,
}

impl Summary {
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            rows: self.outcomes.len() + self.not_run.len() + self.unprobed,
            not_run: self.not_run.len(),
            unprobed: self.unprobed,
            ..Counts::default()
        };
        for o in &self.outcomes {
            match o.verdict {
                Verdict::Pass => c.passed += 1,
                Verdict::Warn => c.warned += 1,
                Verdict::Fail => c.failed += 1,
            }
            c.resumed += usize::from(o.resumed);
        }
        c
    }

    /// Failed users per finding id, most common first.
    pub fn failures_by_id(&self) -> Vec<(String, Vec<&Outcome>)> {
        let mut groups: Vec<(String, Vec<&Outcome>)> = Vec::new();
        for o in self.outcomes.iter().filter(|o| o.verdict == Verdict::Fail) {
            for id in &o.failures {
                match groups.iter_mut().find(|(g, _)| g == id) {
                    Some((_, users)) => users.push(o),
                    None => groups.push((id.clone(), vec![o])),
                }
            }
        }
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        groups
    }

    /// The slowest logins, slowest first.
    pub fn slowest_logins(&self) -> Vec<&Outcome> {
        let mut v: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.login_ms.is_some())
            .collect();
        v.sort_by(|a, b| b.login_ms.cmp(&a.login_ms).then(a.line.cmp(&b.line)));
        v.truncate(self.slowest);
        v
    }

    /// The process's exit code: the verdict's, or 3 when the run was
    /// interrupted (its results are incomplete).
    pub fn exit_code(&self) -> u8 {
        match self.stopped {
            Some(Stopped::Interrupted) => 3,
            _ => self.verdict().exit_code(),
        }
    }

    /// What the run did not do, and what to do about it.
    fn stopped_text(&self) -> Option<String> {
        let n = self.unprobed;
        Some(match self.stopped.as_ref()? {
            Stopped::Interrupted => {
                let hint = match &self.output {
                    Some(file) => format!("run again with --resume {file} --output {file}"),
                    None => "next time write --output FILE, then --resume FILE picks up".into(),
                };
                format!("interrupted: {n} users were not probed: {hint}")
            }
            Stopped::Server { reason } => format!(
                "the first users all failed before login ({reason}): the connection settings fail for every user, so the other {n} were not probed; fix --port, --tls or --ca-file (test-server shows the details) and run the batch again, not with --resume (the users written so far failed only for this reason), or --keep-going to probe every row anyway"
            ),
        })
    }

    /// When every user probed this run (three or more) failed to log in,
    /// the cause is rarely each mailbox: say where to look.
    fn every_login_failed_hint(&self) -> Option<&'static str> {
        let probed: Vec<&Outcome> = self.outcomes.iter().filter(|o| !o.resumed).collect();
        let all = probed.len() >= 3
            && probed
                .iter()
                .all(|o| o.failures.iter().any(|id| id == "auth.login"));
        all.then_some(
            "every user failed to log in: look at what the rows share before the mailboxes — the user name format the server expects (full address or local part; user*master or domain/admin/user for an admin login, with --authz-column), or passwords mangled when the CSV was saved; test-server --user shows one login's whole conversation with --trace",
        )
    }

    /// Fail when a user failed; warn when one warned or a row was not run.
    pub fn verdict(&self) -> Verdict {
        let c = self.counts();
        if c.failed > 0 {
            Verdict::Fail
        } else if c.warned > 0 || c.not_run > 0 {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }

    /// The summary record of the JSON Lines.
    pub fn json(&self) -> serde_json::Value {
        let verdict = self.verdict();
        serde_json::json!({
            "type": "summary",
            "data": {
                "schema_version": crate::report::SCHEMA_VERSION,
                "tool": "imapprobe",
                "tool_version": env!("CARGO_PKG_VERSION"),
                "command": "batch",
                "csv": self.csv,
                "target": {"host": self.host, "port": self.port, "tls": self.tls},
                "level": self.level,
                "concurrency": self.concurrency,
                "max_connections": self.max_connections,
                "started_at": self.started_at,
                "duration_ms": self.duration.as_millis() as u64,
                "peak_rss_kib": self.peak_rss_kib,
                "stopped": self.stopped,
                "verdict": verdict,
                "exit_code": self.exit_code(),
                "counts": self.counts(),
                "failures_by_id": self.failures_by_id().iter().map(|(id, users)| {
                    serde_json::json!({
                        "id": id,
                        "users": users.iter().map(|o| &o.user).collect::<Vec<_>>(),
                    })
                }).collect::<Vec<_>>(),
                "slowest_logins": self.slowest_logins().iter().map(|o| {
                    serde_json::json!({"user": o.user, "line": o.line, "login_ms": o.login_ms})
                }).collect::<Vec<_>>(),
                "not_run": self.not_run,
            }
        })
    }

    /// The table for people.
    pub fn text(&self) -> String {
        let c = self.counts();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nimapprobe batch  {}  {}:{} ({}), level {}",
            self.csv,
            self.host,
            self.port,
            self.tls.describe(),
            self.level.as_str()
        );
        let _ = writeln!(
            out,
            "  {} rows: {} passed, {} warned, {} failed, {} not run{}  in {}",
            c.rows,
            c.passed,
            c.warned,
            c.failed,
            c.not_run,
            if c.resumed > 0 {
                format!(" ({} from the resumed file)", c.resumed)
            } else {
                String::new()
            },
            humantime::format_duration(Duration::from_millis(self.duration.as_millis() as u64))
        );
        let groups = self.failures_by_id();
        if !groups.is_empty() {
            let _ = writeln!(out, "\nFAILURES BY CHECK");
            let width = groups.iter().map(|(id, _)| id.len()).max().unwrap_or(10);
            for (id, users) in &groups {
                let names: Vec<String> = users.iter().take(5).map(|o| o.who()).collect();
                let more = users.len().saturating_sub(5);
                let _ = writeln!(
                    out,
                    "  {id:width$}  {:>4}  {}{}",
                    users.len(),
                    names.join(", "),
                    if more > 0 {
                        format!(", and {more} more")
                    } else {
                        String::new()
                    }
                );
            }
            // One example of the words per check: what to fix.
            let _ = writeln!(out);
            for (id, users) in &groups {
                if let Some(reason) = users.iter().find_map(|o| {
                    o.reason
                        .as_ref()
                        .filter(|r| r.starts_with(&format!("{id}:")))
                }) {
                    let _ = writeln!(out, "  e.g. {}", reason.replace('\n', " "));
                }
            }
            if let Some(hint) = self.every_login_failed_hint() {
                let _ = writeln!(out, "  {hint}");
            }
        }
        if !self.not_run.is_empty() {
            let _ = writeln!(out, "\nNOT RUN");
            for p in &self.not_run {
                let _ = writeln!(out, "  line {}: {} ({})", p.line, p.message, p.kind);
            }
        }
        if let Some(text) = self.stopped_text() {
            let _ = writeln!(out, "\nSTOPPED EARLY\n  {text}");
        }
        let slow = self.slowest_logins();
        if !slow.is_empty() {
            let _ = writeln!(out, "\nSLOWEST LOGINS");
            for o in slow {
                let _ = writeln!(out, "  {:>6} ms  {}", o.login_ms.unwrap_or(0), o.who());
            }
        }
        let verdict = self.verdict();
        let _ = writeln!(
            out,
            "\nverdict: {}{} (exit {})",
            match verdict {
                Verdict::Pass => "pass",
                Verdict::Warn => "warn",
                Verdict::Fail => "fail",
            },
            match self.stopped {
                Some(Stopped::Interrupted) => " so far, interrupted",
                Some(Stopped::Server { .. }) => ", stopped early",
                None => "",
            },
            self.exit_code()
        );
        out
    }

    /// One Nagios status line for the whole batch, and its exit code:
    /// CRITICAL when a user failed or the slowest user is over
    /// `--crit-time`, WARNING when one warned, a row was not run or the
    /// slowest is over `--warn-time`.
    pub fn nagios(&self, t: &Thresholds) -> (String, u8) {
        let c = self.counts();
        let mut state = match self.verdict() {
            Verdict::Pass => State::Ok,
            Verdict::Warn => State::Warning,
            Verdict::Fail => State::Critical,
        };
        let mut text = format!(
            "batch {}:{} level {}: {} of {} users passed",
            self.host,
            self.port,
            self.level.as_str(),
            c.passed,
            c.rows
        );
        if c.failed > 0 {
            let groups: Vec<String> = self
                .failures_by_id()
                .iter()
                .map(|(id, users)| format!("{id} {}", users.len()))
                .collect();
            let _ = write!(text, ", {} failed ({})", c.failed, groups.join(", "));
        }
        if c.warned > 0 {
            let _ = write!(text, ", {} warned", c.warned);
        }
        if c.not_run > 0 {
            let _ = write!(text, ", {} not run", c.not_run);
        }
        match &self.stopped {
            Some(Stopped::Interrupted) => {
                let _ = write!(text, ", interrupted with {} not probed", c.unprobed);
            }
            Some(Stopped::Server { reason }) => {
                let _ = write!(
                    text,
                    ", stopped with {} not probed: every user fails before login ({reason})",
                    c.unprobed
                );
            }
            None => {}
        }
        let slowest = self.outcomes.iter().map(|o| o.total_ms).max();
        if let Some(ms) = slowest {
            let (s, why) = nagios::time_state(ms as f64 / 1000.0, t, "slowest user");
            state = state.worst(s);
            if let Some(why) = why {
                let _ = write!(text, "; {why}");
            }
        }
        let mut perf = Perf::default();
        perf.count("users", c.rows as u64);
        perf.count("passed", c.passed as u64);
        perf.count("warned", c.warned as u64);
        perf.count("failed", c.failed as u64);
        perf.count("not_run", c.not_run as u64);
        if self.stopped.is_some() {
            perf.count("unprobed", c.unprobed as u64);
        }
        let logins: Vec<u64> = self.outcomes.iter().filter_map(|o| o.login_ms).collect();
        if let Some(max) = logins.iter().max() {
            let avg = logins.iter().sum::<u64>() as f64 / logins.len() as f64;
            perf.seconds("login_avg", avg / 1000.0, None, None);
            perf.seconds("login_max", *max as f64 / 1000.0, None, None);
        }
        if let Some(ms) = slowest {
            perf.seconds(
                "user_time_max",
                ms as f64 / 1000.0,
                t.warn_time,
                t.crit_time,
            );
        }
        perf.seconds("time", self.duration.as_secs_f64(), None, None);
        if self.stopped == Some(Stopped::Interrupted) {
            // Incomplete data is UNKNOWN, whatever was seen so far.
            state = State::Unknown;
        }
        (nagios::line("IMAP", state, &text, &perf), state.exit_code())
    }

    /// The batch as a Prometheus exposition: totals, and per user its
    /// success, login and total time, and the checks that did not pass.
    pub fn prometheus(&self) -> String {
        let mut e = Exposition::default();
        let port = self.port.to_string();
        let base = [("host", self.host.as_str()), ("port", port.as_str())];
        let c = self.counts();
        for (result, n) in [
            ("passed", c.passed),
            ("warned", c.warned),
            ("failed", c.failed),
            ("not_run", c.not_run),
            ("unprobed", c.unprobed),
        ] {
            let mut l = base.to_vec();
            l.push(("result", result));
            e.gauge(
                "imapprobe_batch_users",
                "Users of the batch per result: passed, warned, failed, not_run (malformed or duplicate rows), unprobed (the run stopped early).",
                &l,
                n as f64,
            );
        }
        e.gauge(
            "imapprobe_batch_duration_seconds",
            "Wall time of the whole batch in seconds.",
            &base,
            self.duration.as_secs_f64(),
        );
        e.gauge(
            "imapprobe_probe_timestamp_seconds",
            "When the probe finished, Unix seconds (for staleness alerts on the textfile).",
            &base,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as f64)
                .unwrap_or(0.0),
        );
        for (id, users) in self.failures_by_id() {
            let mut l = base.to_vec();
            l.push(("check", &id));
            e.gauge(
                "imapprobe_batch_failures",
                "Users whose check (finding id) failed.",
                &l,
                users.len() as f64,
            );
        }
        for o in &self.outcomes {
            let user = match &o.authz {
                Some(a) => format!("{} (for {a})", o.user),
                None => o.user.clone(),
            };
            let mut l = base.to_vec();
            l.push(("user", &user));
            e.gauge(
                "imapprobe_probe_success",
                prometheus::SUCCESS_HELP,
                &l,
                if o.verdict == Verdict::Fail { 0.0 } else { 1.0 },
            );
        }
        for o in &self.outcomes {
            let user = match &o.authz {
                Some(a) => format!("{} (for {a})", o.user),
                None => o.user.clone(),
            };
            for (ids, status) in [(&o.failures, Status::Fail), (&o.warnings, Status::Warn)] {
                for id in ids {
                    let mut l = base.to_vec();
                    l.push(("user", &user));
                    l.push(("check", id));
                    e.gauge(
                        "imapprobe_check_status",
                        prometheus::CHECK_HELP,
                        &l,
                        prometheus::status_value(status),
                    );
                }
            }
        }
        for o in &self.outcomes {
            let user = match &o.authz {
                Some(a) => format!("{} (for {a})", o.user),
                None => o.user.clone(),
            };
            let mut phases = vec![("total", o.total_ms)];
            if let Some(ms) = o.login_ms {
                phases.insert(0, ("login", ms));
            }
            for (phase, ms) in phases {
                let mut l = base.to_vec();
                l.push(("user", &user));
                l.push(("phase", phase));
                e.gauge(
                    "imapprobe_phase_duration_seconds",
                    prometheus::PHASE_HELP,
                    &l,
                    ms as f64 / 1000.0,
                );
            }
        }
        e.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(unprobed: usize, stopped: Option<Stopped>, failed: bool) -> Summary {
        let outcome = Outcome {
            line: 2,
            user: "alice".into(),
            email: None,
            authz: None,
            verdict: if failed { Verdict::Fail } else { Verdict::Pass },
            failures: if failed {
                vec!["auth.login".into()]
            } else {
                vec![]
            },
            warnings: vec![],
            reason: failed.then(|| "auth.login: NO".to_string()),
            login_ms: Some(12),
            total_ms: 30,
            attempts: 1,
            resumed: false,
        };
        Summary {
            csv: "users.csv".into(),
            host: "imap.example.org".into(),
            port: 993,
            tls: TlsMode::Implicit,
            level: Level::Login,
            concurrency: 8,
            max_connections: 8,
            outcomes: vec![outcome],
            not_run: vec![],
            started_at: "2026-11-25T00:00:00Z".into(),
            duration: Duration::from_secs(1),
            slowest: 5,
            peak_rss_kib: Some(8000),
            unprobed,
            stopped,
            output: Some("out.jsonl".into()),
        }
    }

    #[test]
    fn an_interrupted_batch_is_unknown_and_says_how_to_resume() {
        for failed in [false, true] {
            let s = summary(7, Some(Stopped::Interrupted), failed);
            assert_eq!(s.exit_code(), 3);
            assert_eq!(s.counts().rows, 8);
            assert_eq!(s.counts().unprobed, 7);
            let (line, code) = s.nagios(&Thresholds::default());
            assert_eq!(code, 3, "{line}");
            assert!(line.starts_with("IMAP UNKNOWN - "), "{line}");
            assert!(line.contains("interrupted with 7 not probed"), "{line}");
            assert!(line.contains("unprobed=7;;;0"), "{line}");
            let text = s.text();
            assert!(text.contains("7 users were not probed"), "{text}");
            assert!(
                text.contains("--resume out.jsonl --output out.jsonl"),
                "{text}"
            );
            assert!(text.contains("interrupted (exit 3)"), "{text}");
            assert_eq!(s.json()["data"]["stopped"]["kind"], "interrupted");
            assert!(s.prometheus().contains(r#"result="unprobed"} 7"#));
        }
        let whole = summary(0, None, true);
        assert_eq!(whole.exit_code(), 2);
        assert!(whole
            .nagios(&Thresholds::default())
            .0
            .starts_with("IMAP CRITICAL"));
        assert!(whole.json()["data"]["stopped"].is_null());
    }

    #[test]
    fn every_login_failing_gets_a_hint_and_some_failing_does_not() {
        let mut s = summary(0, None, true);
        assert!(!s.text().contains("every user failed to log in"));
        let one = s.outcomes[0].clone();
        s.outcomes = (2..5)
            .map(|line| Outcome {
                line,
                ..one.clone()
            })
            .collect();
        assert!(
            s.text().contains("every user failed to log in"),
            "{}",
            s.text()
        );
        s.outcomes.push(Outcome {
            line: 9,
            verdict: Verdict::Pass,
            failures: vec![],
            reason: None,
            ..one
        });
        assert!(!s.text().contains("every user failed to log in"));
    }

    #[test]
    fn a_batch_stopped_by_the_server_fails_and_says_what_to_fix() {
        let reason = "imap.greeting: no greeting within 30s".to_string();
        let s = summary(40, Some(Stopped::Server { reason }), true);
        assert_eq!(s.exit_code(), 2);
        let (line, code) = s.nagios(&Thresholds::default());
        assert_eq!(code, 2, "{line}");
        assert!(
            line.contains("stopped with 40 not probed: every user fails before login (imap.greeting: no greeting within 30s)"),
            "{line}"
        );
        let text = s.text();
        assert!(text.contains("the other 40 were not probed"), "{text}");
        assert!(text.contains("--keep-going"), "{text}");
        assert_eq!(s.json()["data"]["stopped"]["kind"], "server");
        assert_eq!(
            s.json()["data"]["stopped"]["reason"],
            "imap.greeting: no greeting within 30s"
        );
    }
}
