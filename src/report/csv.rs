//! CSV for spreadsheets: the folder table for `folders`, the findings for
//! the other commands. Written with the csv crate so quoting is right for
//! names with commas, quotes and line breaks.

use super::Report;
use crate::mailboxes::{ExamineOutcome, Folder};

fn finish(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The report as CSV: one row per folder when there is a tree, else one
/// row per finding.
pub fn render(r: &Report) -> String {
    match &r.tree {
        Some(tree) => folders(&tree.folders),
        None => findings(r),
    }
}

fn findings(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["id", "status", "subject", "message", "predicts", "remedy"]);
    for f in &r.findings {
        let _ = w.write_record([
            f.id.as_str(),
            f.status.as_str(),
            f.subject.as_deref().unwrap_or(""),
            f.message.as_str(),
            f.predicts.as_deref().unwrap_or(""),
            f.remedy.as_deref().unwrap_or(""),
        ]);
    }
    finish(w)
}

/// Column names of the folder table.
pub const FOLDER_COLUMNS: &[&str] = &[
    "name",
    "raw_name",
    "delimiter",
    "depth",
    "attributes",
    "special_use",
    "subscribed",
    "listed",
    "selectable",
    "excluded",
    "messages",
    "unseen",
    "size",
    "uidvalidity",
    "uidnext",
    "examine",
    "examine_text",
    "examine_ms",
];

fn folders(list: &[Folder]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(FOLDER_COLUMNS);
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    for f in list {
        let st = f.status.clone().unwrap_or_default();
        let (examine, text, ms) = match &f.examine {
            None => (String::new(), String::new(), String::new()),
            Some(e) => {
                let (kind, text) = match &e.outcome {
                    ExamineOutcome::Ok { exists, .. } => (
                        "ok",
                        exists.map(|n| format!("{n} exists")).unwrap_or_default(),
                    ),
                    ExamineOutcome::No { code, text } => ("no", with_code(code, text)),
                    ExamineOutcome::Bad { code, text } => ("bad", with_code(code, text)),
                    ExamineOutcome::Bye { text } => ("bye", text.clone()),
                    ExamineOutcome::Fault { text } => ("fault", text.clone()),
                };
                (kind.to_string(), text, e.duration.as_millis().to_string())
            }
        };
        let _ = w.write_record([
            f.name.clone(),
            String::from_utf8_lossy(&f.raw).into_owned(),
            f.delimiter.map(String::from).unwrap_or_default(),
            f.depth().to_string(),
            f.attributes.join(" "),
            f.special_use.clone().unwrap_or_default(),
            f.subscribed.to_string(),
            f.listed.to_string(),
            f.is_selectable().to_string(),
            f.excluded.to_string(),
            opt(st.messages),
            opt(st.unseen),
            opt(st.size),
            opt(st.uidvalidity),
            opt(st.uidnext),
            examine,
            text,
            ms,
        ]);
    }
    finish(w)
}

fn with_code(code: &Option<String>, text: &str) -> String {
    match code {
        Some(c) => format!("[{c}] {text}"),
        None => text.to_string(),
    }
}
