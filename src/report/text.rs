//! The text report: one line per check, grouped in sections, remedies and
//! predictions under the checks that need them, a verdict line last.
//! Colours only when asked (a TTY without NO_COLOR).

use super::{Report, Verdict};
use crate::findings::{Finding, Status};
use std::fmt::Write as _;

const SECTIONS: &[(&str, &[&str])] = &[
    ("CONNECTION", &["connect", "tls", "imap"]),
    ("AUTHENTICATION", &["auth"]),
    ("HIERARCHY", &["hierarchy", "folders"]),
    ("MESSAGES", &["messages"]),
    ("GRAMMAR", &["grammar", "lint"]),
    ("ESTIMATE", &["estimate"]),
    ("COMPLIANCE PROBES", &["probe"]),
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
        match (&r.compliance, *title) {
            (Some(c), "COMPLIANCE PROBES") => {
                let _ = writeln!(out, "\n{title}  {c}");
            }
            _ => {
                let _ = writeln!(out, "\n{title}");
            }
        }
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
    if let Some(tree) = &r.tree {
        folder_tree(&mut out, tree);
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

/// Sizes for people: 1.2 MiB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The folder tree, indented by depth, one line per folder: attributes
/// that matter, counts, size, subscription and how EXAMINE went.
fn folder_tree(out: &mut String, tree: &crate::mailboxes::Tree) {
    use crate::mailboxes::ExamineOutcome;
    let mut order: Vec<&crate::mailboxes::Folder> = tree.folders.iter().collect();
    order.sort_by(|a, b| a.components().cmp(&b.components()));
    let _ = writeln!(
        out,
        "\nFOLDERS  {} folders, delimiter {}",
        tree.folders.len(),
        tree.delimiter
            .map(|d| format!("\"{d}\""))
            .unwrap_or_else(|| "NIL".into())
    );
    let listed: std::collections::HashSet<&str> =
        tree.folders.iter().map(|f| f.name.as_str()).collect();
    let mut shown_missing = std::collections::HashSet::new();
    for f in order {
        // Parents LIST "*" did not return, shown where they belong.
        if let Some(d) = f.delimiter {
            let comps = f.components();
            for depth in 1..comps.len() {
                let parent = comps[..depth].join(&d.to_string());
                if !listed.contains(parent.as_str()) && shown_missing.insert(parent.clone()) {
                    let state = tree
                        .parent_probes
                        .iter()
                        .find(|p| p.name == parent)
                        .map(|p| format!("{:?}", p.state).to_lowercase())
                        .unwrap_or_else(|| "not probed".into());
                    let _ = writeln!(
                        out,
                        "  {}{}  (not in LIST \"*\": {state})",
                        "  ".repeat(depth - 1),
                        shown(comps[depth - 1])
                    );
                }
            }
        }
        let depth = f.depth();
        let leaf = shown(f.components().last().copied().unwrap_or(""));
        let mut cols = Vec::new();
        let notable: Vec<&str> = f
            .attributes
            .iter()
            .map(String::as_str)
            .filter(|a| {
                !a.eq_ignore_ascii_case("\\HasChildren")
                    && !a.eq_ignore_ascii_case("\\HasNoChildren")
                    && !a.eq_ignore_ascii_case("\\Subscribed")
            })
            .collect();
        if !notable.is_empty() {
            cols.push(notable.join(" "));
        }
        if let Some(st) = &f.status {
            if let Some(m) = st.messages {
                cols.push(format!("{m} {}", if m == 1 { "msg" } else { "msgs" }));
            }
            if let Some(u) = st.unseen.filter(|&u| u > 0) {
                cols.push(format!("{u} unseen"));
            }
            if let Some(sz) = st.size {
                cols.push(human_size(sz));
            }
        }
        if f.subscribed {
            cols.push("subscribed".into());
        }
        if f.excluded {
            cols.push("excluded".into());
        }
        match f.examine.as_ref().map(|e| &e.outcome) {
            Some(ExamineOutcome::Ok { .. }) | None => {}
            Some(ExamineOutcome::No { code, text }) | Some(ExamineOutcome::Bad { code, text }) => {
                cols.push(format!(
                    "EXAMINE: {}{text}",
                    code.as_ref().map(|c| format!("[{c}] ")).unwrap_or_default()
                ))
            }
            Some(ExamineOutcome::Bye { text }) | Some(ExamineOutcome::Fault { text }) => {
                cols.push(format!("EXAMINE: {text}"))
            }
        }
        let name = format!("{}{leaf}", "  ".repeat(depth.saturating_sub(1)));
        let _ = writeln!(out, "  {name:<32}  {}", cols.join(", "));
    }
}

/// A name level as shown in the tree: quoted when it is empty or has
/// spaces at either end, which would be invisible otherwise.
fn shown(level: &str) -> String {
    if level.is_empty() || level.starts_with(' ') || level.ends_with(' ') {
        format!("\"{level}\"")
    } else {
        level.to_string()
    }
}
