//! The folder walk behind `imapprobe folders`: NAMESPACE, the delimiter,
//! every folder with its attributes, special use and subscription, STATUS
//! of each, a direct LIST of each parent LIST "*" did not return, and
//! EXAMINE (never SELECT) of every selectable folder, one at a time. A BYE
//! or a dropped connection in one folder is recorded and the walk
//! reconnects and goes on, so one broken folder does not hide the rest.

use crate::connectivity::{fault_finding, Recorder};
use crate::findings::Finding;
use crate::grammar::{self, Code, ListAttr, ListItem, Response, Untagged};
use crate::mailboxes::{
    Examine, ExamineOutcome, Folder, FolderStatus, NamespaceEntry, Namespaces, ParentProbe,
    ParentState, Tree,
};
use crate::reconnect::Reconnecting;
use crate::session::{untagged_of, Command, Reply, SessionFault};
use std::collections::HashMap;
use std::time::Instant;

/// Which folders to look into.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only folders matching one of these (all when empty).
    pub include: Vec<String>,
    /// Never folders matching one of these.
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether a decoded folder name is selected.
    pub fn selects(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob(g, name)))
            && !self.exclude.iter().any(|g| glob(g, name))
    }
}

/// `*` matches any run of characters (delimiters included), `?` one
/// character; everything else itself, case-sensitively.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with one backtrack point: linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn attr_name(a: &ListAttr<'_>) -> String {
    let s = match a {
        ListAttr::Noinferiors => "Noinferiors",
        ListAttr::Noselect => "Noselect",
        ListAttr::Marked => "Marked",
        ListAttr::Unmarked => "Unmarked",
        ListAttr::NonExistent => "NonExistent",
        ListAttr::Subscribed => "Subscribed",
        ListAttr::Remote => "Remote",
        ListAttr::HasChildren => "HasChildren",
        ListAttr::HasNoChildren => "HasNoChildren",
        ListAttr::All => "All",
        ListAttr::Archive => "Archive",
        ListAttr::Drafts => "Drafts",
        ListAttr::Flagged => "Flagged",
        ListAttr::Junk => "Junk",
        ListAttr::Sent => "Sent",
        ListAttr::Trash => "Trash",
        ListAttr::Important => "Important",
        ListAttr::Extension(e) => return format!("\\{}", String::from_utf8_lossy(e)),
    };
    format!("\\{s}")
}

fn is_special_use(a: &ListAttr<'_>) -> bool {
    matches!(
        a,
        ListAttr::All
            | ListAttr::Archive
            | ListAttr::Drafts
            | ListAttr::Flagged
            | ListAttr::Junk
            | ListAttr::Sent
            | ListAttr::Trash
            | ListAttr::Important
    )
}

fn folder_from(item: &ListItem<'_>) -> Folder {
    let raw = item.mailbox.as_bytes().to_vec();
    let (name, utf7_error) = match item.mailbox.decoded() {
        Ok(n) => (n, None),
        Err(e) => (
            String::from_utf8_lossy(&raw).into_owned(),
            Some(e.to_string()),
        ),
    };
    Folder {
        raw,
        name,
        utf7_error,
        delimiter: item.delimiter.map(char::from),
        attributes: item.attributes.iter().map(attr_name).collect(),
        special_use: item
            .attributes
            .iter()
            .find(|a| is_special_use(a))
            .map(attr_name),
        subscribed: item
            .attributes
            .iter()
            .any(|a| matches!(a, ListAttr::Subscribed)),
        listed: true,
        ..Folder::default()
    }
}

fn has_cap(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Walks the folder tree of a logged-in session. Findings about the walk
/// itself (a LIST that failed, reconnects) go to `rec`; the tree is returned
/// for the analysis.
pub async fn walk(w: &mut Reconnecting<'_>, selection: &Selection, rec: &mut Recorder) -> Tree {
    let caps = w.caps();
    let gmail = has_cap(&caps, "X-GM-EXT-1");
    let opts = grammar::Options::default();
    let mut tree = Tree {
        gmail,
        ..Tree::default()
    };
    let t = Instant::now();

    if has_cap(&caps, "NAMESPACE") {
        if let Some(Ok(reply)) = w.run(Command::new("NAMESPACE"), rec).await {
            tree.namespaces = namespaces(&reply, &opts);
        }
    }
    match w.run(Command::new("LIST \"\" \"\""), rec).await {
        Some(Ok(reply)) if reply.is_ok() => {
            for u in untagged_of(&reply, &opts) {
                if let Untagged::List(item) = u {
                    tree.delimiter = item.delimiter.map(char::from);
                }
            }
        }
        Some(Ok(reply)) => rec.add(
            Finding::warn(
                "folders.delimiter",
                format!("LIST \"\" \"\" refused: {}", reply.text),
            )
            .with_evidence(reply.tagged.0.clone())
            .with_rule("RFC 3501 §6.3.8: an empty mailbox name returns the delimiter"),
        ),
        Some(Err(e)) => rec.add(fault_finding("folders.delimiter", "LIST \"\" \"\"", &e)),
        None => return tree,
    }

    // All folders, with subscriptions and special use in one go when the
    // server has LIST-EXTENDED; LSUB otherwise.
    let extended = has_cap(&caps, "LIST-EXTENDED");
    let list_cmd = if extended {
        let mut ret = vec!["SUBSCRIBED", "CHILDREN"];
        if has_cap(&caps, "SPECIAL-USE") {
            ret.push("SPECIAL-USE");
        }
        format!("LIST \"\" \"*\" RETURN ({})", ret.join(" "))
    } else {
        "LIST \"\" \"*\"".to_string()
    };
    let reply = match w.run(Command::new(&list_cmd), rec).await {
        Some(Ok(r)) if r.is_ok() => r,
        Some(Ok(r)) => {
            rec.add(
                Finding::fail("folders.list", format!("{list_cmd} refused: {}", r.text))
                    .with_evidence(r.tagged.0.clone()),
            );
            return tree;
        }
        Some(Err(e)) => {
            rec.add(fault_finding("folders.list", &list_cmd, &e));
            return tree;
        }
        None => return tree,
    };
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    for u in untagged_of(&reply, &opts) {
        if let Untagged::List(item) = u {
            let f = folder_from(&item);
            // Listed twice (legal, if odd): keep the first.
            if index.contains_key(&f.raw) {
                continue;
            }
            index.insert(f.raw.clone(), tree.folders.len());
            tree.folders.push(f);
        }
    }
    if !extended {
        if let Some(Ok(reply)) = w.run(Command::new("LSUB \"\" \"*\""), rec).await {
            for u in untagged_of(&reply, &opts) {
                if let Untagged::Lsub(item) = u {
                    if let Some(&i) = index.get(item.mailbox.as_bytes()) {
                        tree.folders[i].subscribed = true;
                    }
                }
            }
        }
    }
    for f in &mut tree.folders {
        f.excluded = !selection.selects(&f.name);
    }
    rec.add(Finding::pass(
        "folders.list",
        format!(
            "{} folders listed in {} ms",
            tree.folders.len(),
            t.elapsed().as_millis()
        ),
    ));

    probe_missing_parents(w, &mut tree, &index, rec).await;
    status_all(w, &mut tree, rec).await;
    examine_all(w, &mut tree, rec).await;

    tree
}

fn namespaces(reply: &Reply, opts: &grammar::Options) -> Option<Namespaces> {
    for u in untagged_of(reply, opts) {
        if let Untagged::Namespace(ns) = u {
            let conv = |list: &Option<Vec<grammar::NamespaceDesc<'_>>>| -> Vec<NamespaceEntry> {
                list.iter()
                    .flatten()
                    .map(|d| NamespaceEntry {
                        prefix: grammar::utf7::decode(&d.prefix)
                            .unwrap_or_else(|_| String::from_utf8_lossy(&d.prefix).into_owned()),
                        delimiter: d.delimiter.map(char::from),
                    })
                    .collect()
            };
            return Some(Namespaces {
                personal: conv(&ns.personal),
                other_users: conv(&ns.other_users),
                shared: conv(&ns.shared),
            });
        }
    }
    None
}

/// For every parent path that LIST "*" did not return, asks for it by name
/// and, when it turns out to be a mailbox, examines it.
async fn probe_missing_parents(
    w: &mut Reconnecting<'_>,
    tree: &mut Tree,
    index: &HashMap<Vec<u8>, usize>,
    rec: &mut Recorder,
) {
    // raw parent name -> children (decoded), in first-seen order.
    let mut missing: Vec<(Vec<u8>, Vec<String>)> = Vec::new();
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    for f in &tree.folders {
        let Some(d) = f.delimiter else { continue };
        let d = d as u8;
        // Every ancestor, not just the direct parent: a.b.c needs a and a.b.
        let mut end = f.raw.len();
        while let Some(pos) = f.raw[..end].iter().rposition(|&b| b == d) {
            end = pos;
            if end == 0 {
                break;
            }
            let parent = &f.raw[..end];
            if index.contains_key(parent) {
                break;
            }
            match seen.get(parent) {
                Some(&i) => missing[i].1.push(f.name.clone()),
                None => {
                    seen.insert(parent.to_vec(), missing.len());
                    missing.push((parent.to_vec(), vec![f.name.clone()]));
                }
            }
        }
    }
    let opts = grammar::Options::default();
    for (raw, children) in missing {
        let name = grammar::utf7::decode(&raw)
            .unwrap_or_else(|_| String::from_utf8_lossy(&raw).into_owned());
        let cmd = Command::new("LIST \"\"").string(&raw);
        let state = match w.run(cmd, rec).await {
            Some(Ok(reply)) if reply.is_ok() => {
                let mut state = ParentState::Absent;
                for u in untagged_of(&reply, &opts) {
                    if let Untagged::List(item) = u {
                        if item.mailbox.as_bytes() == raw.as_slice() {
                            state = if item
                                .attributes
                                .iter()
                                .any(|a| matches!(a, ListAttr::NonExistent))
                            {
                                ParentState::NonExistent
                            } else if item
                                .attributes
                                .iter()
                                .any(|a| matches!(a, ListAttr::Noselect))
                            {
                                ParentState::Noselect
                            } else {
                                ParentState::Selectable
                            };
                        }
                    }
                }
                state
            }
            Some(_) => ParentState::Absent,
            None => return,
        };
        // Hidden parents can hold mail a migration never sees: look.
        let examine = match state {
            ParentState::NonExistent => None,
            _ => examine(w, &raw, rec).await,
        };
        tree.parent_probes.push(ParentProbe {
            name,
            state,
            children,
            examine,
        });
    }
}

/// STATUS of every selectable, selected folder.
async fn status_all(w: &mut Reconnecting<'_>, tree: &mut Tree, rec: &mut Recorder) {
    let size = has_cap(&w.caps(), "STATUS=SIZE");
    let items = if size {
        "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE)"
    } else {
        "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)"
    };
    let opts = grammar::Options::default();
    // Pipelined: STATUS answers name their folder, so the order they come
    // back in does not matter.
    let wanted: Vec<usize> = (0..tree.folders.len())
        .filter(|&i| !tree.folders[i].excluded && tree.folders[i].is_selectable())
        .collect();
    let by_raw: HashMap<Vec<u8>, usize> = wanted
        .iter()
        .map(|&i| (tree.folders[i].raw.clone(), i))
        .collect();
    let cmds: Vec<Command> = wanted
        .iter()
        .map(|&i| {
            Command::new("STATUS")
                .string(&tree.folders[i].raw)
                .raw(&format!(" {items}"))
        })
        .collect();
    let mut start = 0;
    while start < cmds.len() {
        let Some((done, fault)) = w
            .run_pipelined(
                &cmds[start..],
                64,
                u64::MAX,
                &mut crate::session::Discard,
                rec,
            )
            .await
        else {
            return;
        };
        // A folder STATUS refuses will show again, better worded, in EXAMINE.
        for r in done.iter().filter(|r| r.reply.is_ok()) {
            for u in untagged_of(&r.reply, &opts) {
                if let Untagged::StatusData { mailbox, items } = u {
                    let Some(&i) = by_raw.get(mailbox.as_bytes()) else {
                        continue;
                    };
                    let st = tree.folders[i]
                        .status
                        .get_or_insert_with(FolderStatus::default);
                    for (k, v) in items {
                        match k.to_ascii_uppercase().as_slice() {
                            b"MESSAGES" => st.messages = Some(v),
                            b"UNSEEN" => st.unseen = Some(v),
                            b"UIDNEXT" => st.uidnext = Some(v),
                            b"UIDVALIDITY" => st.uidvalidity = Some(v),
                            b"SIZE" => st.size = Some(v),
                            _ => {}
                        }
                    }
                }
            }
        }
        match fault {
            None => break,
            Some(_) if w.gave_up => return,
            Some(_) => start += done.len() + 1,
        }
    }
}

/// EXAMINE of every selectable, selected folder.
async fn examine_all(w: &mut Reconnecting<'_>, tree: &mut Tree, rec: &mut Recorder) {
    for i in 0..tree.folders.len() {
        if tree.folders[i].excluded || !tree.folders[i].is_selectable() {
            continue;
        }
        let raw = tree.folders[i].raw.clone();
        match examine(w, &raw, rec).await {
            Some(e) => tree.folders[i].examine = Some(e),
            None => return,
        }
    }
}

/// EXAMINE one folder; `None` when no session could be had.
async fn examine(w: &mut Reconnecting<'_>, raw: &[u8], rec: &mut Recorder) -> Option<Examine> {
    let t = Instant::now();
    let at = crate::trace::timestamp();
    let cmd = Command::new("EXAMINE").string(raw);
    let r = w.run(cmd, rec).await?;
    if matches!(r, Ok(ref reply) if reply.is_ok()) {
        w.selected = Some(raw.to_vec());
    }
    let opts = grammar::Options::default();
    let outcome = match r {
        Ok(reply) => {
            let code = reply.code.clone();
            let text = reply.text.clone();
            match reply.status {
                grammar::StatusKind::Ok => {
                    let (mut exists, mut uidvalidity, mut uidnext) = (None, None, None);
                    for u in untagged_of(&reply, &opts) {
                        match u {
                            Untagged::Exists(n) => exists = Some(n as u64),
                            Untagged::Status(s) => match s.code {
                                Some(Code::UidValidity(v)) => uidvalidity = Some(v as u64),
                                Some(Code::UidNext(v)) => uidnext = Some(v as u64),
                                _ => {}
                            },
                            _ => {}
                        }
                    }
                    let read_only = matches!(
                        grammar::parse_response(&reply.tagged.0, &opts),
                        Ok((Response::Tagged(t), _)) if matches!(t.status.code, Some(Code::ReadOnly))
                    );
                    ExamineOutcome::Ok {
                        exists,
                        uidvalidity,
                        uidnext,
                        read_only,
                    }
                }
                grammar::StatusKind::No => ExamineOutcome::No { code, text },
                _ => ExamineOutcome::Bad { code, text },
            }
        }
        Err(SessionFault::Bye { response }) => {
            let line = String::from_utf8_lossy(&response);
            let line = line.trim_end();
            // "* BYE text": keep the server's words after the status.
            let text = line.get(6..).filter(|_| line.len() > 6).unwrap_or(line);
            ExamineOutcome::Bye {
                text: text.to_string(),
            }
        }
        Err(e) => ExamineOutcome::Fault {
            text: e.to_string(),
        },
    };
    Some(Examine {
        outcome,
        at,
        duration: t.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("*", "anything.at.all"));
        assert!(glob("[Gmail]*", "[Gmail]/All Mail"));
        assert!(glob("Archive.*", "Archive.2024"));
        assert!(!glob("Archive.*", "Archive"));
        assert!(glob("S?nt", "Sent"));
        assert!(!glob("Sent", "sent"));
        assert!(glob("*Mail*", "Old Mail."));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("a*b*c", "a-b-b-d"));
    }
}
