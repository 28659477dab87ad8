//! The text report: one line per check, grouped in sections, remedies and
//! predictions under the checks that need them, a verdict line last.
//! Colours only when asked (a TTY without NO_COLOR).

use super::{Report, Verdict};
use crate::findings::{Finding, Status};
use std::fmt::Write as _;

const SECTIONS: &[(&str, &[&str])] = &[
    ("CONNECTION", &["connect", "tls", "imap"]),
    ("AUTHENTICATION", &["auth"]),
    ("GRAMMAR", &["grammar"]),
];

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_word(s: Status, color: bool) -> String {
    let (w, c) = match s {
        Status::Pass => ("pass", "32"),
        Status::Warn => ("warn", "33"),
        Status::Fail => ("fail", "31;1"),
        Status::Skip => ("skip", "2"),
    };
    paint(w, c, color)
}

pub fn render(r: &Report, color: bool) -> String {
    let mut out = String::new();
    match (&r.target, &r.input) {
        (Some(t), _) => {
            let user = t
                .user
                .as_ref()
                .map(|u| format!("  user {u}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "imapprobe {}  {}:{} ({}){user}",
                r.command,
                t.host,
                t.port,
                t.tls.describe()
            );
        }
        (None, Some(input)) => {
            let _ = writeln!(out, "imapprobe {}  {input}", r.command);
        }
        (None, None) => {
            let _ = writeln!(out, "imapprobe {}", r.command);
        }
    }
    let width = r
        .findings
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(10)
        .max(18);
    let mut printed = vec![false; r.findings.len()];
    for (title, prefixes) in SECTIONS {
        let members: Vec<usize> = (0..r.findings.len())
            .filter(|&i| prefixes.contains(&r.findings[i].section()))
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for i in members {
            printed[i] = true;
            line(&mut out, &r.findings[i], width, color);
        }
    }
    let rest: Vec<usize> = (0..r.findings.len()).filter(|&i| !printed[i]).collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "\nOTHER");
        for i in rest {
            line(&mut out, &r.findings[i], width, color);
        }
    }
    if let Some(tls) = r.facts.as_ref().and_then(|f| f.tls.as_ref()) {
        if let Some(leaf) = tls.chain.first() {
            let _ = writeln!(
                out,
                "\nTLS  {} {}; certificate {} (SAN {}), valid {} to {}",
                tls.version,
                tls.cipher_suite,
                leaf.subject,
                leaf.sans.join(", "),
                leaf.not_before,
                leaf.not_after
            );
        }
    }
    let verdict = match r.verdict {
        Verdict::Pass => paint("PASS", "32;1", color),
        Verdict::Warn => paint("WARN", "33;1", color),
        Verdict::Fail => paint("FAIL", "31;1", color),
    };
    let _ = writeln!(
        out,
        "\nVERDICT  {verdict} — {} failures, {} warnings (exit {})   total {}",
        r.summary.fail,
        r.summary.warn,
        r.exit_code,
        humantime::format_duration(std::time::Duration::from_millis(r.duration_ms))
    );
    out
}

fn line(out: &mut String, f: &Finding, width: usize, color: bool) {
    let indent = " ".repeat(2 + 4 + 2 + width + 2);
    let subject = f
        .subject
        .as_ref()
        .map(|s| format!("[{s}] "))
        .unwrap_or_default();
    let mut lines = f.message.lines();
    let _ = writeln!(
        out,
        "  {}  {:<width$}  {subject}{}",
        status_word(f.status, color),
        f.id,
        lines.next().unwrap_or("")
    );
    for l in lines {
        let _ = writeln!(out, "{indent}{l}");
    }
    if matches!(f.status, Status::Fail | Status::Warn) {
        if let Some(ev) = &f.evidence {
            let _ = writeln!(out, "{indent}server said: {}", ev.display(160));
        }
        if let Some(p) = &f.predicts {
            let _ = writeln!(out, "{indent}predicts: {p}");
        }
        if let Some(rm) = &f.remedy {
            let _ = writeln!(out, "{indent}remedy: {rm}");
        }
    }
}
