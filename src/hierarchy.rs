//! The mailbox tree judged against a migration target: which folders will
//! break the migration, the error the migration service will report for
//! each, and what to do about it. Pure analysis of a [`Tree`] that `folders`
//! filled in; no I/O, no IMAP.
//!
//! Every check looks only at folders the migration would see: listed by
//! `LIST "" "*"` and not excluded. Excluded folders still count as present
//! parents, and probed-but-unlisted parents only appear in
//! `hierarchy.hidden-parent`.
//!
//! Cost: a few hash maps (name → folder, parent → children, collision key →
//! folders) built in one pass each, so the analysis is linear in the number
//! of folders (times the name length); there is no pairwise comparison.

use crate::findings::{Finding, Status};
use crate::mailboxes::{Examine, ExamineOutcome, Folder, ParentState, Tree};
use crate::targets::{Limits, Target};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// The stable ids of the findings this module produces.
pub mod ids {
    pub const SUMMARY: &str = "hierarchy.summary";
    pub const HIDDEN_PARENT: &str = "hierarchy.hidden-parent";
    pub const NOSELECT_PARENT: &str = "hierarchy.noselect-parent";
    pub const NOSELECT_LEAF: &str = "hierarchy.noselect-leaf";
    pub const SLASH_IN_NAME: &str = "hierarchy.slash-in-name";
    pub const INVALID_NAME: &str = "hierarchy.invalid-name";
    pub const CASE_COLLISION: &str = "hierarchy.case-collision";
    pub const NIL_DELIMITER: &str = "hierarchy.nil-delimiter";
    pub const NAMESPACE_PREFIX: &str = "hierarchy.namespace-prefix";
    pub const LIMITS_FOLDERS: &str = "hierarchy.limits.folders";
    pub const LIMITS_DEPTH: &str = "hierarchy.limits.depth";
    pub const LIMITS_SUBFOLDERS: &str = "hierarchy.limits.subfolders";
    pub const LIMITS_ITEMS_PER_FOLDER: &str = "hierarchy.limits.items-per-folder";
    pub const LIMITS_ITEMS_PER_MAILBOX: &str = "hierarchy.limits.items-per-mailbox";
    pub const RESERVED_NAME: &str = "hierarchy.reserved-name";
    pub const GMAIL_VIRTUAL: &str = "hierarchy.gmail-virtual";
    pub const EXAMINE_FAILED: &str = "hierarchy.examine-failed";
    pub const EXAMINE_SERVER_BUG: &str = "hierarchy.examine-server-bug";
    pub const COUNT_MISMATCH: &str = "hierarchy.count-mismatch";
}

/// The migration service's words (migration-failures.md and the support
/// article it cites), so an admin can search the batch report for them.
mod predicts {
    pub const MULTIPLE_ROOTS: &str =
        "\"Mailbox folder hierarchy contains multiple roots\" (FolderHierarchyContainsMultipleRootsTransientException)";
    pub const RESERVED: &str = "\"NO Folder name is reserved\"";
    pub const MAILBOX_FULL: &str = "\"This mailbox is full\"";
    pub const TRANSIENT: &str = "transient failures on SelectCommand; enough of them end the job with \"encountered too many transient failures\"";

    pub fn select_no(code: Option<&str>, text: &str) -> String {
        format!(
            "\"Imap server sent NO response to SelectCommand. Response code: '{}', message: '{}'\"",
            code.unwrap_or(""),
            text
        )
    }

    pub fn select_bug(text: &str) -> String {
        format!("\"Imap server reported an error during SelectCommand indicating that it encountered some bug: '{text}'\"")
    }
}

const RULE_NAMING: &str = "RFC 3501 §5.1 (mailbox naming)";
const RULE_HIERARCHY: &str = "RFC 3501 §5.1.1 (one hierarchy delimiter per name)";
const RULE_UTF7: &str = "RFC 3501 §5.1.3 (modified UTF-7)";
const RULE_LIST: &str = "RFC 3501 §6.3.8 (LIST), §7.2.2 (LIST response)";
const RULE_EXAMINE: &str = "RFC 3501 §6.3.2 (EXAMINE)";
const RULE_NAMESPACE: &str = "RFC 2342 (NAMESPACE)";
const RULE_GMAIL: &str = "RFC 6154 (special-use: \\All, \\Flagged, \\Important)";

/// Judge the tree against `target`. The first finding is always the pass
/// `hierarchy.summary`; the rest follow, failures first.
pub fn analyse(tree: &Tree, target: Target) -> Vec<Finding> {
    analyse_with(tree, target, &target.limits())
}

fn analyse_with(tree: &Tree, target: Target, limits: &Limits) -> Vec<Finding> {
    let view = View::new(tree);
    let mut out = Vec::new();

    hidden_parents(&view, &mut out);
    // A folder whose name is already reported carries its EXAMINE failure in
    // that finding instead of a second one.
    let named = names(&view, target, limits, &mut out);
    examines(&view, &named, &mut out);
    reserved_names(&view, target, limits, &mut out);
    collisions(&view, target, limits, &mut out);
    limit_checks(&view, target, limits, &mut out);
    gmail_virtual(&view, target, &mut out);
    noselect(&view, &mut out);
    nil_delimiters(&view, &mut out);
    namespace_prefix(&view, target, &mut out);
    count_mismatches(&view, &mut out);

    out.sort_by_key(|f| std::cmp::Reverse(f.status));
    out.insert(0, summary(&view, target, &out));
    out
}

/// The folders to leave out of the migration batch so that it passes, one
/// per line, each as a path from the mailbox root with `/` between levels.
///
/// Exchange Online's `-ExcludeFolders` takes folder names "relative to the
/// IMAP root" of the source, and the migration service writes source paths
/// with `/` (its errors say `Invalid mailbox name: Junk/` and
/// `SomeHiddenFolder/ Folder1`), so a `.`-delimited `Old.Stuff` is written
/// `Old/Stuff`. Gmail and generic targets use `/` too. A NIL-delimited name
/// is written as it is.
///
/// Chosen: every folder a failing finding names and an exclusion cures
/// (invalid or `/`-carrying names, failed EXAMINE, reserved names, too deep
/// or too full folders, the children of a hidden parent, all but one of
/// colliding names), the `[Gmail]` virtual folders (duplicates, not errors),
/// and every listed descendant of those, because a child left without its
/// parent is exactly the multiple-roots failure again. LIST order.
pub fn suggested_excludes(tree: &Tree, findings: &[Finding]) -> Vec<String> {
    let view = View::new(tree);
    let mut chosen: Vec<usize> = Vec::new();
    let mut collision_groups: Option<HashMap<String, Vec<usize>>> = None;

    for finding in findings {
        let Some(subject) = finding.subject.as_deref() else {
            continue;
        };
        let failing = finding.status == Status::Fail;
        match finding.id.as_str() {
            ids::INVALID_NAME
            | ids::SLASH_IN_NAME
            | ids::EXAMINE_FAILED
            | ids::EXAMINE_SERVER_BUG
            | ids::RESERVED_NAME
            | ids::LIMITS_DEPTH
            | ids::LIMITS_ITEMS_PER_FOLDER
                if failing =>
            {
                chosen.extend(view.migrated_index(subject));
            }
            ids::GMAIL_VIRTUAL => chosen.extend(view.migrated_index(subject)),
            ids::HIDDEN_PARENT if failing => {
                chosen.extend(view.migrated_children(subject));
            }
            ids::CASE_COLLISION if failing => {
                // The finding names the folder to keep; the group is found
                // again with the widest key (case folded, '/'), which holds
                // every group any target reports.
                let groups = collision_groups
                    .get_or_insert_with(|| group_by(&view, |f| collision_key(f, '/', true)));
                let Some(keep) = view.migrated_index(subject) else {
                    continue;
                };
                let key = collision_key(&tree.folders[keep], '/', true);
                if let Some(members) = groups.get(&key) {
                    chosen.extend(members.iter().copied().filter(|&i| i != keep));
                }
            }
            _ => {}
        }
    }

    let mut seen: HashSet<usize> = HashSet::new();
    let mut stack = chosen;
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(view.migrated_children(&tree.folders[i].name));
        }
    }
    let mut picked: Vec<usize> = seen.into_iter().collect();
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|i| slash_path(&tree.folders[i]))
        .collect()
}

/// Lookups over the listed folders, built once.
struct View<'t> {
    tree: &'t Tree,
    /// Listed folders by decoded name; the first wins if a server lists a name twice.
    listed: HashMap<&'t str, usize>,
    /// Listed folders by their parent's decoded name ("" for roots).
    children: HashMap<&'t str, Vec<usize>>,
}

impl<'t> View<'t> {
    fn new(tree: &'t Tree) -> View<'t> {
        let mut listed = HashMap::with_capacity(tree.folders.len());
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in tree.folders.iter().enumerate() {
            if !f.listed {
                continue;
            }
            listed.entry(f.name.as_str()).or_insert(i);
            children
                .entry(f.parent().unwrap_or(""))
                .or_default()
                .push(i);
        }
        View {
            tree,
            listed,
            children,
        }
    }

    /// Folders the migration will see: listed and not excluded, in LIST order.
    fn migrated(&self) -> impl Iterator<Item = (usize, &'t Folder)> + '_ {
        self.tree
            .folders
            .iter()
            .enumerate()
            .filter(|(_, f)| f.listed && !f.excluded)
    }

    fn migrated_index(&self, name: &str) -> Option<usize> {
        let i = *self.listed.get(name)?;
        (!self.tree.folders[i].excluded).then_some(i)
    }

    fn migrated_children(&self, name: &str) -> impl Iterator<Item = usize> + '_ {
        self.children
            .get(name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| !self.tree.folders[i].excluded)
    }

    fn has_children(&self, f: &Folder) -> bool {
        self.children.contains_key(f.name.as_str()) || f.has_attr("\\HasChildren")
    }
}

// ---------------------------------------------------------------- hidden parents

fn hidden_parents(view: &View, out: &mut Vec<Finding>) {
    let tree = view.tree;
    // parent name → its children on the way down, in LIST order.
    let mut hidden: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (i, f) in view.migrated() {
        let Some(d) = f.delimiter else { continue };
        // A name listed twice is walked once; an invalid name is
        // `hierarchy.invalid-name`'s to report.
        if view.listed.get(f.name.as_str()) != Some(&i) || !invalid_name_reasons(f).is_empty() {
            continue;
        }
        let mut child = f.name.as_str();
        // Walk up to the first listed ancestor (it walks on by itself, or is
        // excluded, and then being present is all that matters) or to a
        // hidden one already seen (whose ancestors are done): each name is
        // visited once, so the walk stays linear.
        while let Some(cut) = child.rfind(d) {
            let parent = &child[..cut];
            if view.listed.contains_key(parent) {
                break;
            }
            match hidden.entry(parent) {
                Entry::Occupied(mut kids) => {
                    kids.get_mut().push(child);
                    break;
                }
                Entry::Vacant(slot) => {
                    order.push(parent);
                    slot.insert(vec![child]);
                }
            }
            child = parent;
        }
    }
    if order.is_empty() {
        return;
    }
    let probes: HashMap<&str, _> = tree
        .parent_probes
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let unlisted: HashMap<&str, &Folder> = tree
        .folders
        .iter()
        .filter(|f| !f.listed)
        .map(|f| (f.name.as_str(), f))
        .collect();

    for parent in order {
        if unlisted.get(parent).is_some_and(|f| f.excluded) {
            continue;
        }
        let kids = &hidden[parent];
        let probe = probes.get(parent);
        let mut message = format!(
            "{} (parent of {}) is not returned by LIST \"*\"",
            show(parent),
            list_names(kids.iter().copied())
        );
        let mut evidence = Vec::new();
        let mut stranded = None;
        match probe {
            Some(p) => {
                let said = match p.state {
                    ParentState::Absent => "returns nothing".to_string(),
                    ParentState::NonExistent => "says \\NonExistent".to_string(),
                    ParentState::Noselect => "says \\Noselect".to_string(),
                    ParentState::Selectable => {
                        "returns it as a selectable mailbox (hidden from \"*\" only)".to_string()
                    }
                };
                let _ = write!(message, "; LIST \"\" \"{parent}\" {said}");
                if let Some(f) = unlisted.get(parent) {
                    evidence.extend(list_line(f));
                }
                if let Some(e) = &p.examine {
                    let _ = write!(message, "; EXAMINE {parent}: {}", examine_summary(e));
                    push_line(&mut evidence, examine_evidence(e).as_bytes());
                    if let ExamineOutcome::Ok {
                        exists: Some(n), ..
                    } = e.outcome
                    {
                        if n > 0 {
                            stranded = Some(n);
                        }
                    }
                }
            }
            None => message.push_str("; its own LIST was not probed"),
        }
        for kid in kids {
            if let Some(&i) = view.listed.get(kid) {
                push_line(&mut evidence, &list_line(&tree.folders[i]));
            }
        }
        let mut predicted = predicts::MULTIPLE_ROOTS.to_string();
        if let Some(n) = stranded {
            let _ = write!(predicted, "; those {} would not move", count(n, "message"));
        }
        let remedy = match probe.map(|p| &p.state) {
            Some(ParentState::Selectable) => format!(
                "make {p} visible to LIST \"*\" (on most servers: grant the user the lookup right on it), or create a new selectable folder and move {p}'s mail and subfolders into it",
                p = show(parent)
            ),
            _ => format!(
                "make {p} a selectable folder on the server, or create a new selectable folder and move {kids} under it (the migration cannot create a parent the server does not list)",
                p = show(parent),
                kids = list_names(kids.iter().copied())
            ),
        };
        let mut finding = Finding::fail(ids::HIDDEN_PARENT, message)
            .with_subject(parent)
            .with_rule(RULE_LIST)
            .with_predicts(predicted)
            .with_remedy(remedy);
        if !evidence.is_empty() {
            finding = finding.with_evidence(evidence);
        }
        out.push(finding);
    }
}

// ---------------------------------------------------------------- names

/// Why a name is not a valid mailbox name anywhere; empty when it is.
fn invalid_name_reasons(f: &Folder) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(e) = &f.utf7_error {
        reasons.push(format!("is not valid modified UTF-7 ({e})"));
    }
    if f.name.is_empty() {
        reasons.push("is empty".to_string());
        return reasons;
    }
    if let Some(d) = f.delimiter {
        if f.name.ends_with(d) {
            reasons.push(format!("ends with the delimiter \"{d}\""));
        }
        if f.name.starts_with(d) {
            reasons.push(format!("starts with the delimiter \"{d}\""));
        }
        if f.name.contains(&format!("{d}{d}")) {
            reasons.push(format!("has an empty level (\"{d}{d}\")"));
        }
    }
    if let Some(level) = f.components().into_iter().find(|c| {
        !c.is_empty() && (c.starts_with(char::is_whitespace) || c.ends_with(char::is_whitespace))
    }) {
        reasons.push(format!("has leading or trailing spaces in \"{level}\""));
    }
    if f.name.chars().any(char::is_control) {
        reasons.push("contains control characters".to_string());
    }
    reasons
}

/// Name checks; returns the folders they reported (by index).
fn names(view: &View, target: Target, limits: &Limits, out: &mut Vec<Finding>) -> HashSet<usize> {
    let mut reported = HashSet::new();
    let td = limits.delimiter;
    for (i, f) in view.migrated() {
        let reasons = invalid_name_reasons(f);
        let examine_note = failed_examine(f).map(|e| format!("; EXAMINE: {}", examine_summary(e)));
        if !reasons.is_empty() {
            let rule = if f.utf7_error.is_some() {
                RULE_UTF7
            } else {
                RULE_NAMING
            };
            out.push(
                Finding::fail(
                    ids::INVALID_NAME,
                    format!(
                        "{} {}{}",
                        show(&f.name),
                        reasons.join(", "),
                        examine_note.as_deref().unwrap_or("")
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(rule)
                .with_predicts(predicts::select_no(None, &format!("Invalid mailbox name: {}", slash_path(f))))
                .with_remedy(format!(
                    "rename {} on the server (for example in a mail client), or exclude it from the batch",
                    show(&f.name)
                )),
            );
            reported.insert(i);
            continue;
        }
        // The target splits names at its delimiter; the source does not.
        if f.delimiter != Some(td) && f.name.contains(td) {
            let how = match f.delimiter {
                Some(d) => format!("the delimiter is \"{d}\""),
                None => "the delimiter is NIL".to_string(),
            };
            out.push(
                Finding::fail(
                    ids::SLASH_IN_NAME,
                    format!(
                        "{} contains \"{td}\" while {how}: the migration to {} writes folder paths with \"{td}\" and takes it for a level separator{}",
                        show(&f.name),
                        target.label(),
                        examine_note.as_deref().unwrap_or("")
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_HIERARCHY)
                .with_predicts(predicts::select_no(
                    None,
                    &format!("Invalid mailbox name: {}", slash_path(f)),
                ))
                .with_remedy(format!(
                    "rename {} without \"{td}\" (e.g. \"{}\"), or exclude it from the batch",
                    show(&f.name),
                    f.name.replace(td, "-")
                )),
            );
            reported.insert(i);
            continue;
        }
        // The reverse only matters where the target's own separator is not
        // known: Exchange Online and Gmail both split at '/' and accept '.'.
        if target == Target::Generic && f.delimiter == Some('/') && f.name.contains('.') {
            out.push(
                Finding::warn(
                    ids::SLASH_IN_NAME,
                    format!(
                        "{} contains \".\" and the delimiter is \"/\": a target that separates levels with \".\" (Courier, Cyrus, Dovecot with Maildir++) turns it into {} nested folders",
                        show(&f.name),
                        f.name.split(['.', '/']).count()
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_HIERARCHY)
                .with_remedy("check the target's delimiter (LIST \"\" \"\" there); if it is \".\", rename the folder or map the name in the copy tool"),
            );
        }
    }
    reported
}

// ---------------------------------------------------------------- EXAMINE

fn failed_examine(f: &Folder) -> Option<&Examine> {
    f.examine
        .as_ref()
        .filter(|e| !matches!(e.outcome, ExamineOutcome::Ok { .. }))
}

fn is_server_bug(code: Option<&str>, text: &str) -> bool {
    // RFC 5530's SERVERBUG, or the wording of the article's example.
    code.is_some_and(|c| c.eq_ignore_ascii_case("SERVERBUG"))
        || text.to_ascii_lowercase().contains("internal error")
}

fn examines(view: &View, already: &HashSet<usize>, out: &mut Vec<Finding>) {
    for (i, f) in view.migrated() {
        if already.contains(&i) || !f.is_selectable() {
            continue;
        }
        let Some(e) = failed_examine(f) else { continue };
        let ms = e.duration.as_millis();
        let (bug, predicted) = match &e.outcome {
            ExamineOutcome::No { code, text } | ExamineOutcome::Bad { code, text }
                if is_server_bug(code.as_deref(), text) =>
            {
                (true, predicts::select_bug(text))
            }
            ExamineOutcome::No { code, text } => {
                (false, predicts::select_no(code.as_deref(), text))
            }
            ExamineOutcome::Bad { text, .. } => (
                false,
                format!("a SelectCommand error quoting the server's BAD: '{text}'"),
            ),
            ExamineOutcome::Bye { text } if is_server_bug(None, text) => {
                (true, predicts::select_bug(text))
            }
            ExamineOutcome::Bye { .. } | ExamineOutcome::Fault { .. } => {
                (false, predicts::TRANSIENT.to_string())
            }
            ExamineOutcome::Ok { .. } => continue,
        };
        let message = format!(
            "{} is listed as selectable, but EXAMINE answered after {ms} ms: {}",
            show(&f.name),
            examine_summary(e)
        );
        let finding = if bug {
            Finding::fail(ids::EXAMINE_SERVER_BUG, message).with_remedy(format!(
                "a server-side fault on this folder: look in the server's log around {}, repair the folder (e.g. doveadm force-resync on Dovecot, reconstruct on Cyrus), and exclude {} from the batch until it opens",
                if e.at.is_empty() { "the time of this run" } else { e.at.as_str() },
                show(&f.name)
            ))
        } else {
            Finding::fail(ids::EXAMINE_FAILED, message).with_remedy(format!(
                "the migration opens every listed folder: repair or rename {} on the server, or exclude it from the batch",
                show(&f.name)
            ))
        };
        out.push(
            finding
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_EXAMINE)
                .with_predicts(predicted)
                .with_duration(e.duration),
        );
    }
}

fn count_mismatches(view: &View, out: &mut Vec<Finding>) {
    for (_, f) in view.migrated() {
        let Some(ExamineOutcome::Ok {
            exists: Some(exists),
            ..
        }) = f.examine.as_ref().map(|e| &e.outcome)
        else {
            continue;
        };
        let Some(messages) = f.status.as_ref().and_then(|s| s.messages) else {
            continue;
        };
        if *exists == messages {
            continue;
        }
        out.push(
            Finding::warn(
                ids::COUNT_MISMATCH,
                format!(
                    "{}: EXAMINE says {exists} EXISTS, STATUS said {messages} MESSAGES",
                    show(&f.name)
                ),
            )
            .with_subject(&f.name)
            .with_evidence(folder_evidence(f))
            .with_rule("RFC 3501 §6.3.10 (STATUS), §7.3.1 (EXISTS)")
            .with_remedy("mail may have arrived between the two commands; if the numbers stay apart on a second run, the server's index is stale: rebuild it (e.g. doveadm force-resync) so the migration counts and copies the same messages"),
        );
    }
}

// ---------------------------------------------------------------- target names

fn reserved_names(view: &View, target: Target, limits: &Limits, out: &mut Vec<Finding>) {
    if limits.reserved_names.is_empty() {
        return;
    }
    // Reserved names are the target's own root folders; nested, they are free.
    for i in view.migrated_children("") {
        let f = &view.tree.folders[i];
        let Some(reserved) = limits
            .reserved_names
            .iter()
            .find(|r| r.eq_ignore_ascii_case(&f.name))
        else {
            continue;
        };
        out.push(
            Finding::fail(
                ids::RESERVED_NAME,
                format!("{} is a reserved folder name on {}", show(&f.name), target.label()),
            )
            .with_subject(&f.name)
            .with_evidence(folder_evidence(f))
            .with_predicts(predicts::RESERVED)
            .with_remedy(format!(
                "rename {} on the server (e.g. \"{reserved} (old)\") before the migration, or exclude it",
                show(&f.name)
            )),
        );
    }
}

/// The folder's path as the target will name it, normalised for comparison:
/// levels joined by `delimiter` (so `a` › `b` and a literal `a/b` meet), a
/// root INBOX in any case as INBOX (RFC 3501 §5.1), and the rest case-folded
/// when `fold_case`.
fn collision_key(f: &Folder, delimiter: char, fold_case: bool) -> String {
    let mut key = String::with_capacity(f.name.len());
    for (n, level) in f.components().into_iter().enumerate() {
        if n > 0 {
            key.push(delimiter);
        }
        if n == 0 && level.eq_ignore_ascii_case("INBOX") {
            key.push_str("INBOX");
        } else if fold_case {
            key.push_str(&level.to_lowercase());
        } else {
            key.push_str(level);
        }
    }
    key
}

fn group_by(view: &View, key: impl Fn(&Folder) -> String) -> HashMap<String, Vec<usize>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in view.migrated() {
        groups.entry(key(f)).or_default().push(i);
    }
    groups
}

fn collisions(view: &View, target: Target, limits: &Limits, out: &mut Vec<Finding>) {
    let folders = &view.tree.folders;
    let groups = group_by(view, |f| collision_key(f, limits.delimiter, true));
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_unstable();

    for members in groups {
        // Fail when the names really meet on the target: always for INBOX
        // and for delimiter translation, for case alone only when the target
        // ignores case. A case-sensitive target keeps Sent and sent apart,
        // but clients on case-insensitive file systems do not: a warning.
        let exact: HashSet<String> = members
            .iter()
            .map(|&i| collision_key(&folders[i], limits.delimiter, limits.case_insensitive))
            .collect();
        let fails = exact.len() < members.len();
        let keep = members
            .iter()
            .copied()
            .find(|&i| folders[i].name == "INBOX")
            .unwrap_or(members[0]);
        let lowered: HashSet<String> = members
            .iter()
            .map(|&i| folders[i].name.to_lowercase())
            .collect();
        let inbox = folders[keep].components()[0].eq_ignore_ascii_case("INBOX")
            && folders[keep].depth() == 1;
        let why = if inbox {
            "INBOX is one mailbox in any case (RFC 3501 §5.1)".to_string()
        } else if lowered.len() == 1 {
            format!(
                "they differ only in case, and {} {}",
                target.label(),
                if limits.case_insensitive {
                    "ignores case"
                } else {
                    "keeps case, but clients on case-insensitive file systems do not"
                }
            )
        } else {
            format!(
                "they become one path once levels and \"{d}\" inside names are both written \"{d}\"",
                d = limits.delimiter
            )
        };
        let names = list_names(members.iter().map(|&i| folders[i].name.as_str()));
        let others = list_names(
            members
                .iter()
                .filter(|&&i| i != keep)
                .map(|&i| folders[i].name.as_str()),
        );
        let mut evidence = Vec::new();
        for &i in &members {
            push_line(&mut evidence, &list_line(&folders[i]));
        }
        let message = format!("{names} are one folder on {}: {why}", target.label());
        let finding = if fails {
            Finding::fail(ids::CASE_COLLISION, message).with_predicts(predicts::MULTIPLE_ROOTS)
        } else {
            Finding::warn(ids::CASE_COLLISION, message)
        };
        out.push(
            finding
                .with_subject(&folders[keep].name)
                .with_evidence(evidence)
                .with_rule(RULE_NAMING)
                .with_remedy(format!(
                    "rename {others}, or merge the mail into {}, before the migration; excluding leaves that mail behind",
                    show(&folders[keep].name)
                )),
        );
    }

    // INBOX inside INBOX: one level apart on the target as it stands, but a
    // tool that strips an "INBOX." prefix merges it into INBOX.
    for (_, f) in view.migrated() {
        let levels = f.components();
        if levels.len() == 2 && levels.iter().all(|l| l.eq_ignore_ascii_case("INBOX")) {
            out.push(
                Finding::warn(
                    ids::CASE_COLLISION,
                    format!(
                        "{} is an INBOX inside INBOX: a copy that strips the \"INBOX{}\" prefix merges it into INBOX",
                        show(&f.name),
                        f.delimiter.unwrap_or('.')
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_NAMING)
                .with_remedy(format!("rename {} (e.g. \"Old Inbox\")", show(&f.name))),
            );
        }
    }
}

// ---------------------------------------------------------------- limits

fn items(f: &Folder) -> Option<u64> {
    f.status
        .as_ref()
        .and_then(|s| s.messages)
        .or(match f.examine.as_ref().map(|e| &e.outcome) {
            Some(ExamineOutcome::Ok { exists, .. }) => *exists,
            _ => None,
        })
}

fn limit_checks(view: &View, target: Target, limits: &Limits, out: &mut Vec<Finding>) {
    let on = target.label();
    let mut folders = 0u64;
    let mut total = 0u64;
    let mut uncounted = 0u64;
    for (_, f) in view.migrated() {
        folders += 1;
        match items(f) {
            Some(n) => total += n,
            None => uncounted += 1,
        }
        let depth = f.depth() as u64;
        if let Some(max) = limits.max_depth.filter(|&max| depth > max) {
            out.push(
                Finding::fail(
                    ids::LIMITS_DEPTH,
                    format!(
                        "{} is {depth} levels deep; {on} allows {max}",
                        show_long(&f.name)
                    ),
                )
                .with_subject(&f.name)
                .with_predicts(format!(
                    "{on} cannot create folders deeper than {max} levels"
                ))
                .with_remedy("move the folder higher up the tree, or exclude it"),
            );
        }
        if let (Some(max), Some(n)) = (limits.max_items_per_folder, items(f)) {
            if n > max {
                out.push(
                    Finding::fail(
                        ids::LIMITS_ITEMS_PER_FOLDER,
                        format!(
                            "{} holds {} messages; {on} allows {} per folder",
                            show(&f.name),
                            thousands(n),
                            thousands(max)
                        ),
                    )
                    .with_subject(&f.name)
                    .with_evidence(folder_evidence(f))
                    .with_predicts(format!(
                        "{on} stops accepting items in the folder at {}",
                        thousands(max)
                    ))
                    .with_remedy(format!(
                        "split {} into several folders (e.g. by year) before the migration",
                        show(&f.name)
                    )),
                );
            }
        }
    }

    if let Some(max) = limits.max_subfolders_per_folder {
        let mut parents: Vec<(&str, u64)> = view
            .children
            .keys()
            .map(|&p| (p, view.migrated_children(p).count() as u64))
            .filter(|&(_, n)| n > max)
            .collect();
        parents.sort_unstable();
        for (parent, n) in parents {
            let (what, subject) = if parent.is_empty() {
                ("The mailbox root".to_string(), None)
            } else {
                (show(parent), Some(parent))
            };
            let mut finding = Finding::fail(
                ids::LIMITS_SUBFOLDERS,
                format!(
                    "{what} has {} subfolders; {on} allows {}",
                    thousands(n),
                    thousands(max)
                ),
            )
            .with_predicts(format!(
                "{on} cannot create more than {} subfolders in one folder",
                thousands(max)
            ))
            .with_remedy(
                "group the subfolders under a few new intermediate folders before the migration",
            );
            if let Some(s) = subject {
                finding = finding.with_subject(s);
            }
            out.push(finding);
        }
    }

    if let Some(max) = limits.max_folders.filter(|&max| folders > max) {
        out.push(
            Finding::warn(
                ids::LIMITS_FOLDERS,
                format!(
                    "{} folders; {on} recommends at most {}",
                    thousands(folders),
                    thousands(max)
                ),
            )
            .with_remedy(
                "merge folders before the migration; many folders slow the copy and the clients",
            ),
        );
    }

    if let Some(max) = limits.max_items_per_mailbox.filter(|&max| total > max) {
        let at_least = if uncounted > 0 { "at least " } else { "" };
        out.push(
            Finding::fail(
                ids::LIMITS_ITEMS_PER_MAILBOX,
                format!(
                    "the folders to migrate hold {at_least}{} messages; {on} migrates at most {} per mailbox",
                    thousands(total),
                    thousands(max)
                ),
            )
            .with_predicts(format!("the migration of this mailbox cannot complete: more than {} items", thousands(max)))
            .with_remedy("archive or delete old mail, or exclude large folders and move them separately (e.g. by PST import)"),
        );
    }
}

// ---------------------------------------------------------------- Gmail

fn gmail_virtual(view: &View, target: Target, out: &mut Vec<Finding>) {
    let tree = view.tree;
    for (_, f) in view.migrated() {
        let levels = f.components();
        let gmail_root = matches!(levels[0], "[Gmail]" | "[Google Mail]");
        if !(tree.gmail || gmail_root) {
            continue;
        }
        let attr = |a: &str| {
            f.has_attr(a)
                || f.special_use
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(a))
        };
        let last = levels[levels.len() - 1];
        let what = if attr("\\All") || (gmail_root && last == "All Mail") {
            "a copy of every message (each label is a second copy of the same mail)"
        } else if attr("\\Flagged") || (gmail_root && last == "Starred") {
            "the starred messages, already in their own folders"
        } else if attr("\\Important") || (gmail_root && last == "Important") {
            "the messages Gmail marks important, already in their own folders"
        } else {
            continue;
        };
        let n = items(f)
            .map(|n| format!(" ({})", count(n, "message")))
            .unwrap_or_default();
        out.push(
            Finding::warn(
                ids::GMAIL_VIRTUAL,
                format!("{}{n} is a Gmail view holding {what}", show(&f.name)),
            )
            .with_subject(&f.name)
            .with_evidence(folder_evidence(f))
            .with_rule(RULE_GMAIL)
            .with_predicts(format!("{}: the same messages copied once per label to {}", predicts::MAILBOX_FULL, target.label()))
            .with_remedy(format!(
                "exclude {} from the batch; mail that is only archived (no label) lives nowhere else, so label it first if it must move",
                show(&f.name)
            )),
        );
    }
}

// ---------------------------------------------------------------- \Noselect, NIL, namespace

fn noselect(view: &View, out: &mut Vec<Finding>) {
    let tree = view.tree;
    for (_, f) in view.migrated() {
        if f.is_selectable() {
            continue;
        }
        let attr = if f.has_attr("\\NonExistent") {
            "\\NonExistent"
        } else {
            "\\Noselect"
        };
        if view.has_children(f) {
            // Gmail's own container is always \Noselect and holds no mail.
            if tree.gmail && matches!(f.name.as_str(), "[Gmail]" | "[Google Mail]") {
                continue;
            }
            let kids: Vec<&str> = view
                .children
                .get(f.name.as_str())
                .into_iter()
                .flatten()
                .map(|&i| tree.folders[i].name.as_str())
                .collect();
            out.push(
                Finding::warn(
                    ids::NOSELECT_PARENT,
                    format!(
                        "{} is {attr} with subfolders{}: the target gets an empty folder in its place",
                        show(&f.name),
                        if kids.is_empty() { String::new() } else { format!(" ({})", list_names(kids.into_iter())) }
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_LIST)
                .with_remedy(format!(
                    "nothing to do unless the server keeps mail \"in\" {} that IMAP cannot show; if it does, move that mail into a selectable folder first",
                    show(&f.name)
                )),
            );
        } else {
            out.push(
                Finding::warn(
                    ids::NOSELECT_LEAF,
                    format!(
                        "{} is {attr} and has no subfolders: a name without a mailbox",
                        show(&f.name)
                    ),
                )
                .with_subject(&f.name)
                .with_evidence(folder_evidence(f))
                .with_rule(RULE_LIST)
                .with_predicts("a SelectCommand error if the migration tries to open it")
                .with_remedy(format!(
                    "delete the empty name {} on the server, or exclude it",
                    show(&f.name)
                )),
            );
        }
    }
}

fn nil_delimiters(view: &View, out: &mut Vec<Finding>) {
    let tree = view.tree;
    let real = tree.delimiter.or_else(|| {
        tree.folders
            .iter()
            .filter(|f| f.listed)
            .find_map(|f| f.delimiter)
    });
    let Some(real) = real else { return };
    for (_, f) in view.migrated() {
        if f.delimiter.is_some() {
            continue;
        }
        out.push(
            Finding::warn(
                ids::NIL_DELIMITER,
                format!(
                    "{} has a NIL delimiter while the rest of the tree uses \"{real}\"",
                    show(&f.name)
                ),
            )
            .with_subject(&f.name)
            .with_evidence(folder_evidence(f))
            .with_rule(RULE_LIST)
            .with_remedy(format!(
                "usually a mailbox from another store (shared, public, a plug-in); migration tools take one delimiter per mailbox, so check that {} arrives where expected, or exclude it",
                show(&f.name)
            )),
        );
    }
}

fn namespace_prefix(view: &View, target: Target, out: &mut Vec<Finding>) {
    let tree = view.tree;
    let declared = tree
        .namespaces
        .as_ref()
        .and_then(|ns| ns.personal.first())
        .filter(|ns| !ns.prefix.is_empty());
    let (prefix, guessed) = match declared {
        Some(ns) => (ns.prefix.clone(), false),
        None => {
            // No prefix declared, but everything lives under INBOX anyway.
            let Some(d) = tree.delimiter else { return };
            let prefix = format!("INBOX{d}");
            let mut others = view
                .migrated()
                .filter(|(_, f)| !f.name.eq_ignore_ascii_case("INBOX"))
                .peekable();
            if others.peek().is_none() || !others.all(|(_, f)| f.name.starts_with(&prefix)) {
                return;
            }
            (prefix, true)
        }
    };
    let total = view.migrated().count();
    let under = view
        .migrated()
        .filter(|(_, f)| f.name.starts_with(&prefix))
        .count();
    if under == 0 {
        return;
    }
    let parent = prefix.trim_end_matches(|c| Some(c) == tree.delimiter);
    let how = if guessed {
        "no personal namespace prefix is declared, but"
    } else {
        "the personal namespace prefix is declared and"
    };
    let mut finding = Finding::warn(
        ids::NAMESPACE_PREFIX,
        format!(
            "{how} {under} of {total} folders live under \"{prefix}\" (Courier/Cyrus style)"
        ),
    )
    .with_subject(&prefix)
    .with_rule(RULE_NAMESPACE)
    .with_predicts(format!(
        "the names are copied as they are, so {} nests them under {parent} ({parent}/Sent, {parent}/Drafts …) instead of beside it, and Sent, Drafts and Trash may not land in its own Sent Items, Drafts and Deleted Items",
        target.label()
    ));
    finding = finding.with_remedy(match target {
        Target::ExchangeOnline => format!(
            "the Exchange Online IMAP endpoint has no prefix setting that we know of: either accept the nesting and move the folders out of Inbox afterwards, or copy with a tool that strips the prefix (imapsync --prefix1 \"{prefix}\" --prefix2 \"\")"
        ),
        _ => format!(
            "strip the prefix in the copy tool (imapsync --prefix1 \"{prefix}\" and the target's own --prefix2), or move the folders afterwards"
        ),
    });
    if let Some(ns) = declared {
        let d = ns
            .delimiter
            .map(|d| format!("\"{d}\""))
            .unwrap_or_else(|| "NIL".into());
        finding = finding.with_evidence(format!("* NAMESPACE ((\"{}\" {d})) ...", ns.prefix));
    }
    out.push(finding);
}

// ---------------------------------------------------------------- summary

fn summary(view: &View, target: Target, findings: &[Finding]) -> Finding {
    let tree = view.tree;
    let listed = tree.folders.iter().filter(|f| f.listed).count();
    let excluded = tree
        .folders
        .iter()
        .filter(|f| f.listed && f.excluded)
        .count();
    let delimiter = tree
        .delimiter
        .map(|d| format!("\"{d}\""))
        .unwrap_or_else(|| "NIL".into());
    let namespace = tree
        .namespaces
        .as_ref()
        .and_then(|ns| ns.personal.first())
        .map(|ns| format!("\"{}\"", ns.prefix))
        .unwrap_or_else(|| "not declared".into());
    let breaking: HashSet<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.subject.as_deref().unwrap_or(""))
        .collect();
    let excluded_note = if excluded > 0 {
        format!(" ({excluded} excluded)")
    } else {
        String::new()
    };
    let verdict = match breaking.len() {
        0 => "none will break the migration".to_string(),
        n => format!("{n} will break the migration"),
    };
    Finding::pass(
        ids::SUMMARY,
        format!(
            "{} folders{excluded_note}, delimiter {delimiter}, namespace {namespace} — {verdict} to {}",
            thousands(listed as u64),
            target.label()
        ),
    )
}

// ---------------------------------------------------------------- rendering

/// A LIST response re-serialised from what the walk kept (attributes,
/// delimiter, raw name): the server's meaning, not necessarily its bytes.
fn list_line(f: &Folder) -> Vec<u8> {
    let mut v = b"* LIST (".to_vec();
    v.extend_from_slice(f.attributes.join(" ").as_bytes());
    v.extend_from_slice(b") ");
    match f.delimiter {
        Some(d) => {
            let mut buf = [0u8; 4];
            v.push(b'"');
            if d == '"' || d == '\\' {
                v.push(b'\\');
            }
            v.extend_from_slice(d.encode_utf8(&mut buf).as_bytes());
            v.push(b'"');
        }
        None => v.extend_from_slice(b"NIL"),
    }
    v.push(b' ');
    let raw = if f.raw.is_empty() {
        f.name.as_bytes()
    } else {
        f.raw.as_slice()
    };
    v.push(b'"');
    for &b in raw {
        if b == b'"' || b == b'\\' {
            v.push(b'\\');
        }
        v.push(b);
    }
    v.push(b'"');
    v
}

/// The tagged (or untagged) answer to EXAMINE, tag left out.
fn examine_evidence(e: &Examine) -> String {
    let coded = |kind: &str, code: &Option<String>, text: &str| match code {
        Some(c) => format!("{kind} [{c}] {text}"),
        None => format!("{kind} {text}"),
    };
    match &e.outcome {
        ExamineOutcome::Ok { exists, .. } => match exists {
            Some(n) => format!("* {n} EXISTS"),
            None => "OK (no EXISTS)".to_string(),
        },
        ExamineOutcome::No { code, text } => coded("NO", code, text),
        ExamineOutcome::Bad { code, text } => coded("BAD", code, text),
        ExamineOutcome::Bye { text } => format!("* BYE {text}"),
        ExamineOutcome::Fault { text } => format!("(no answer: {text})"),
    }
}

fn examine_summary(e: &Examine) -> String {
    match &e.outcome {
        ExamineOutcome::Ok {
            exists: Some(n), ..
        } => format!("finds {}", count(*n, "message")),
        ExamineOutcome::Ok { exists: None, .. } => "OK".to_string(),
        _ => examine_evidence(e),
    }
}

fn folder_evidence(f: &Folder) -> Vec<u8> {
    let mut v = list_line(f);
    if let Some(s) = &f.status {
        let mut items = Vec::new();
        if let Some(n) = s.messages {
            items.push(format!("MESSAGES {n}"));
        }
        if let Some(n) = s.size {
            items.push(format!("SIZE {n}"));
        }
        if !items.is_empty() {
            push_line(
                &mut v,
                format!("* STATUS {} ({})", show(&f.name), items.join(" ")).as_bytes(),
            );
        }
    }
    if let Some(e) = &f.examine {
        push_line(&mut v, examine_evidence(e).as_bytes());
    }
    v
}

fn push_line(v: &mut Vec<u8>, line: &[u8]) {
    if !v.is_empty() {
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(line);
}

/// The path with `/` between levels, as the migration batch names folders.
fn slash_path(f: &Folder) -> String {
    match f.delimiter {
        Some('/') | None => f.name.clone(),
        Some(_) => f.components().join("/"),
    }
}

/// A name as printed in a sentence: quoted when spaces at its ends or
/// emptiness would otherwise vanish.
fn show(name: &str) -> String {
    if name.is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        format!("{name:?}")
    } else {
        name.to_string()
    }
}

fn show_long(name: &str) -> String {
    const MAX: usize = 60;
    if name.chars().count() <= MAX {
        return show(name);
    }
    let head: String = name.chars().take(MAX).collect();
    format!("{head}…")
}

/// Names for a sentence; a long list is cut after ten with a count.
fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    const MAX: usize = 10;
    let mut shown = Vec::new();
    let mut more = 0usize;
    for name in names {
        if shown.len() < MAX {
            shown.push(show(name));
        } else {
            more += 1;
        }
    }
    let mut out = shown.join(", ");
    if more > 0 {
        let _ = write!(out, " and {} more", thousands(more as u64));
    }
    out
}

fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{} {what}s", thousands(n))
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailboxes::{FolderStatus, ParentState};
    use crate::mailboxes::{NamespaceEntry, Namespaces, ParentProbe};
    use std::time::Duration;

    fn folder_d(name: &str, delimiter: Option<char>) -> Folder {
        Folder {
            raw: name.as_bytes().to_vec(),
            name: name.to_string(),
            delimiter,
            listed: true,
            subscribed: true,
            ..Default::default()
        }
    }

    fn folder(name: &str) -> Folder {
        folder_d(name, Some('.'))
    }

    fn tree(folders: Vec<Folder>) -> Tree {
        Tree {
            delimiter: Some('.'),
            folders,
            ..Default::default()
        }
    }

    fn tree_of(names: &[&str]) -> Tree {
        tree(names.iter().map(|n| folder(n)).collect())
    }

    fn ok(n: u64) -> ExamineOutcome {
        ExamineOutcome::Ok {
            exists: Some(n),
            uidvalidity: Some(1),
            uidnext: Some(n + 1),
            read_only: true,
        }
    }

    fn no(code: Option<&str>, text: &str) -> ExamineOutcome {
        ExamineOutcome::No {
            code: code.map(str::to_string),
            text: text.to_string(),
        }
    }

    trait Build {
        fn attr(self, a: &str) -> Self;
        fn messages(self, n: u64) -> Self;
        fn examined(self, outcome: ExamineOutcome) -> Self;
        fn excluded(self) -> Self;
    }

    impl Build for Folder {
        fn attr(mut self, a: &str) -> Folder {
            self.attributes.push(a.to_string());
            self
        }
        fn messages(mut self, n: u64) -> Folder {
            self.status = Some(FolderStatus {
                messages: Some(n),
                ..Default::default()
            });
            self
        }
        fn examined(mut self, outcome: ExamineOutcome) -> Folder {
            self.examine = Some(Examine {
                outcome,
                at: "2026-11-25T20:00:00.000Z".into(),
                duration: Duration::from_millis(12),
            });
            self
        }
        fn excluded(mut self) -> Folder {
            self.excluded = true;
            self
        }
    }

    fn with_id<'a>(findings: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        findings.iter().filter(|f| f.id == id).collect()
    }

    fn one<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
        let found = with_id(findings, id);
        assert_eq!(found.len(), 1, "expected one {id}: {findings:#?}");
        found[0]
    }

    fn none(findings: &[Finding], id: &str) {
        assert!(
            with_id(findings, id).is_empty(),
            "unexpected {id}: {findings:#?}"
        );
    }

    fn assert_clean(tree: &Tree, target: Target) {
        let findings = analyse(tree, target);
        assert_eq!(findings.len(), 1, "{target}: {findings:#?}");
        assert_eq!(findings[0].id, ids::SUMMARY);
        assert_eq!(findings[0].status, Status::Pass);
    }

    fn clean() -> Tree {
        let mut t = tree(
            [
                "INBOX",
                "Sent",
                "Drafts",
                "Trash",
                "Archive",
                "Archive.2020",
                "Archive.2021",
            ]
            .iter()
            .enumerate()
            .map(|(i, n)| folder(n).messages(i as u64).examined(ok(i as u64)))
            .collect(),
        );
        t.namespaces = Some(Namespaces {
            personal: vec![NamespaceEntry {
                prefix: String::new(),
                delimiter: Some('.'),
            }],
            ..Default::default()
        });
        t
    }

    #[test]
    fn clean_tree_yields_only_the_summary() {
        for target in [Target::ExchangeOnline, Target::Gmail, Target::Generic] {
            assert_clean(&clean(), target);
        }
        let findings = analyse(&clean(), Target::ExchangeOnline);
        assert_eq!(
            findings[0].message,
            "7 folders, delimiter \".\", namespace \"\" — none will break the migration to Exchange Online"
        );
    }

    #[test]
    fn summary_counts_the_folders_that_break() {
        let t = tree_of(&["INBOX", "Junk.", "Files", "Sent"]);
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(findings[0].id, ids::SUMMARY);
        assert!(
            findings[0].message.contains("2 will break"),
            "{}",
            findings[0].message
        );
        assert!(findings[1..].iter().all(|f| f.status == Status::Fail));
    }

    // The support article's case: SomeHiddenFolder is not in LIST "*", its
    // children are, and the migration sees two roots.
    #[test]
    fn hidden_parent_lists_children_probe_and_stranded_mail() {
        let mut t = tree_of(&["INBOX", "Hidden.Folder1", "Hidden.Folder2"]);
        let mut parent = folder("Hidden").attr("\\Noselect");
        parent.listed = false;
        t.folders.push(parent);
        t.parent_probes.push(ParentProbe {
            name: "Hidden".into(),
            state: ParentState::Selectable,
            children: vec!["Hidden.Folder1".into(), "Hidden.Folder2".into()],
            examine: Some(Examine {
                outcome: ok(10),
                at: String::new(),
                duration: Duration::from_millis(3),
            }),
        });
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::HIDDEN_PARENT);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("Hidden"));
        assert!(
            f.message
                .contains("parent of Hidden.Folder1, Hidden.Folder2"),
            "{}",
            f.message
        );
        assert!(f.message.contains("selectable"), "{}", f.message);
        assert!(f.message.contains("finds 10 messages"), "{}", f.message);
        let p = f.predicts.as_deref().unwrap();
        assert!(p.contains("Mailbox folder hierarchy contains multiple roots"));
        assert!(p.contains("those 10 messages would not move"));
        assert!(f
            .evidence
            .as_ref()
            .unwrap()
            .display(500)
            .contains("* 10 EXISTS"));
    }

    #[test]
    fn hidden_parent_says_what_the_direct_list_found() {
        for (state, said) in [
            (ParentState::Absent, "returns nothing"),
            (ParentState::NonExistent, "\\NonExistent"),
            (ParentState::Noselect, "\\Noselect"),
        ] {
            let mut t = tree_of(&["INBOX", "Hidden.A"]);
            t.parent_probes.push(ParentProbe {
                name: "Hidden".into(),
                state,
                children: vec!["Hidden.A".into()],
                examine: None,
            });
            let findings = analyse(&t, Target::ExchangeOnline);
            let f = one(&findings, ids::HIDDEN_PARENT);
            assert!(f.message.contains(said), "{}", f.message);
            assert!(!f.predicts.as_deref().unwrap().contains("would not move"));
        }
    }

    #[test]
    fn every_missing_level_is_its_own_hidden_parent() {
        let t = tree_of(&["INBOX", "a.b.c"]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let hidden: Vec<_> = with_id(&findings, ids::HIDDEN_PARENT)
            .into_iter()
            .map(|f| f.subject.clone().unwrap())
            .collect();
        assert_eq!(hidden, ["a.b", "a"]);
    }

    #[test]
    fn listed_or_excluded_parents_are_not_hidden() {
        assert_clean(
            &tree_of(&["INBOX", "Hidden", "Hidden.A"]),
            Target::ExchangeOnline,
        );
        // An excluded parent is still a parent.
        let t = tree(vec![folder("Hidden").excluded(), folder("Hidden.A")]);
        assert_clean(&t, Target::ExchangeOnline);
        // Excluded children do not move, so their parent cannot break anything.
        let t = tree(vec![folder("INBOX"), folder("Hidden.A").excluded()]);
        assert_clean(&t, Target::ExchangeOnline);
    }

    #[test]
    fn noselect_parent_and_leaf() {
        let t = tree(vec![
            folder("INBOX"),
            folder("Shelf").attr("\\Noselect").attr("\\HasChildren"),
            folder("Shelf.Books"),
            folder("Gone").attr("\\NonExistent"),
            folder("Gone.Child"),
            folder("Empty").attr("\\Noselect"),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let parents = with_id(&findings, ids::NOSELECT_PARENT);
        assert_eq!(parents.len(), 2, "{findings:#?}");
        assert!(parents.iter().all(|f| f.status == Status::Warn));
        assert!(parents[0].message.contains("Shelf.Books"));
        assert!(parents[1].message.contains("\\NonExistent"));
        let leaf = one(&findings, ids::NOSELECT_LEAF);
        assert_eq!(leaf.subject.as_deref(), Some("Empty"));
        none(&findings, ids::HIDDEN_PARENT);
        none(&findings, ids::EXAMINE_FAILED);
    }

    #[test]
    fn selectable_parents_and_gmails_container_are_not_noselect_findings() {
        assert_clean(
            &tree_of(&["INBOX", "Shelf", "Shelf.Books"]),
            Target::ExchangeOnline,
        );
        let mut t = tree(vec![
            folder_d("INBOX", Some('/')),
            folder_d("[Gmail]", Some('/'))
                .attr("\\Noselect")
                .attr("\\HasChildren"),
            folder_d("[Gmail]/Sent Mail", Some('/')).attr("\\Sent"),
        ]);
        t.delimiter = Some('/');
        t.gmail = true;
        assert_clean(&t, Target::ExchangeOnline);
    }

    #[test]
    fn slash_in_a_dot_delimited_name_fails() {
        let t = tree(vec![
            folder("INBOX"),
            folder("Reports/Q1"),
            folder_d("Sales/2020", None),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let slash = with_id(&findings, ids::SLASH_IN_NAME);
        assert_eq!(slash.len(), 2, "{findings:#?}");
        assert!(slash.iter().all(|f| f.status == Status::Fail));
        assert_eq!(slash[0].subject.as_deref(), Some("Reports/Q1"));
        assert!(slash[0]
            .predicts
            .as_deref()
            .unwrap()
            .contains("Imap server sent NO response to SelectCommand"));
        assert!(slash[0]
            .predicts
            .as_deref()
            .unwrap()
            .contains("Invalid mailbox name: Reports/Q1"));
        assert!(slash[1].message.contains("NIL"));
    }

    #[test]
    fn dots_under_a_slash_delimiter_only_warn_where_the_target_is_unknown() {
        let mut t = tree(vec![
            folder_d("INBOX", Some('/')),
            folder_d("v1.2", Some('/')),
        ]);
        t.delimiter = Some('/');
        let findings = analyse(&t, Target::Generic);
        let f = one(&findings, ids::SLASH_IN_NAME);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("Maildir++"));
        // Exchange Online and Gmail split at '/' only.
        assert_clean(&t, Target::ExchangeOnline);
        assert_clean(&t, Target::Gmail);
        assert_clean(
            &tree_of(&["INBOX", "Reports", "Reports.Q1"]),
            Target::ExchangeOnline,
        );
    }

    #[test]
    fn invalid_names_fail_one_finding_each() {
        let mut utf7 = folder("Gr&APY-&");
        utf7.utf7_error = Some("unterminated base64 run".into());
        let cases = [
            (folder("Old Mail."), "ends with the delimiter"),
            (folder(".Hidden"), "starts with the delimiter"),
            (folder("a..b"), "empty level"),
            (folder(" Lead"), "leading or trailing spaces"),
            (folder("Archive.Trail "), "leading or trailing spaces"),
            (folder("Bell\u{7}"), "control characters"),
            (utf7, "modified UTF-7"),
        ];
        for (bad, reason) in cases {
            let name = bad.name.clone();
            let t = tree(vec![folder("INBOX"), folder("Archive"), bad]);
            let findings = analyse(&t, Target::ExchangeOnline);
            assert_eq!(findings.len(), 2, "{name:?}: {findings:#?}");
            let f = one(&findings, ids::INVALID_NAME);
            assert_eq!(f.status, Status::Fail);
            assert_eq!(f.subject.as_deref(), Some(name.as_str()));
            assert!(f.message.contains(reason), "{name:?}: {}", f.message);
            assert!(f.predicts.as_deref().unwrap().contains("SelectCommand"));
        }
        assert_clean(&tree_of(&["INBOX", "Old Mail"]), Target::ExchangeOnline);
    }

    #[test]
    fn invalid_name_carries_its_examine_failure() {
        let t = tree(vec![
            folder("INBOX"),
            folder("Old Mail.").examined(no(Some("CANNOT"), "Invalid mailbox name")),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::INVALID_NAME);
        assert!(
            f.message
                .contains("EXAMINE: NO [CANNOT] Invalid mailbox name"),
            "{}",
            f.message
        );
        assert!(f
            .predicts
            .as_deref()
            .unwrap()
            .contains("Invalid mailbox name: Old Mail/"));
        none(&findings, ids::EXAMINE_FAILED);
    }

    #[test]
    fn case_collisions_fail_on_a_case_insensitive_target() {
        let t = tree_of(&["INBOX", "Sent", "sent", "SENT", "Drafts"]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::CASE_COLLISION);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("Sent"));
        assert!(
            f.message.starts_with("Sent, sent, SENT are one folder"),
            "{}",
            f.message
        );
        assert!(f.predicts.as_deref().unwrap().contains("multiple roots"));

        let findings = analyse(&t, Target::Generic);
        assert_eq!(one(&findings, ids::CASE_COLLISION).status, Status::Warn);
    }

    #[test]
    fn inbox_look_alikes() {
        // INBOX is case-insensitive everywhere, so this fails even on a
        // case-sensitive target.
        let t = tree_of(&["Inbox", "INBOX", "Sent"]);
        let findings = analyse(&t, Target::Generic);
        let f = one(&findings, ids::CASE_COLLISION);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("INBOX"));
        assert!(f.message.contains("INBOX is one mailbox"));

        let t = tree_of(&["INBOX", "INBOX.INBOX", "Sent"]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::CASE_COLLISION);
        assert_eq!(f.status, Status::Warn);
        assert_eq!(f.subject.as_deref(), Some("INBOX.INBOX"));

        // A root "Inbox" alone is the server's INBOX spelt its way.
        assert_clean(&tree_of(&["Inbox", "Sent"]), Target::ExchangeOnline);
    }

    #[test]
    fn names_that_meet_after_delimiter_translation_collide() {
        let t = tree_of(&["INBOX", "a", "a.b", "a/b"]);
        let findings = analyse(&t, Target::Generic);
        let f = one(&findings, ids::CASE_COLLISION);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("a.b"));
        assert!(f.message.contains("one path"), "{}", f.message);
        assert_eq!(
            one(&findings, ids::SLASH_IN_NAME).subject.as_deref(),
            Some("a/b")
        );
    }

    #[test]
    fn nil_delimiter_mixed_with_a_real_one_warns() {
        let t = tree(vec![
            folder("INBOX"),
            folder_d("Archive", None),
            folder("Sent"),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::NIL_DELIMITER);
        assert_eq!(f.status, Status::Warn);
        assert_eq!(f.subject.as_deref(), Some("Archive"));
        assert!(f
            .evidence
            .as_ref()
            .unwrap()
            .display(200)
            .contains("NIL \"Archive\""));

        let mut flat = tree(vec![folder_d("INBOX", None), folder_d("Archive", None)]);
        flat.delimiter = None;
        assert_clean(&flat, Target::ExchangeOnline);
    }

    #[test]
    fn namespace_prefix_declared_or_evident() {
        let mut t = tree_of(&["INBOX", "INBOX.Sent", "INBOX.Drafts"]);
        t.namespaces = Some(Namespaces {
            personal: vec![NamespaceEntry {
                prefix: "INBOX.".into(),
                delimiter: Some('.'),
            }],
            ..Default::default()
        });
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::NAMESPACE_PREFIX);
        assert_eq!(f.status, Status::Warn);
        assert_eq!(f.subject.as_deref(), Some("INBOX."));
        assert!(f.message.contains("2 of 3 folders"), "{}", f.message);
        assert!(f.predicts.as_deref().unwrap().contains("INBOX/Sent"));
        assert!(f.remedy.as_deref().unwrap().contains("--prefix1"));

        t.namespaces = None;
        let findings = analyse(&t, Target::ExchangeOnline);
        assert!(one(&findings, ids::NAMESPACE_PREFIX)
            .message
            .contains("no personal namespace prefix is declared"));

        assert_clean(&clean(), Target::ExchangeOnline);
        assert_clean(&tree_of(&["INBOX"]), Target::ExchangeOnline);
    }

    #[test]
    fn depth_limit() {
        let mut names = Vec::new();
        let mut name = String::from("d");
        for _ in 0..301 {
            names.push(name.clone());
            name.push_str(".d");
        }
        let t = tree(names.iter().map(|n| folder(n)).collect());
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::LIMITS_DEPTH);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some(names[300].as_str()));
        assert!(f
            .message
            .contains("301 levels deep; Exchange Online allows 300"));

        let t = tree(names[..300].iter().map(|n| folder(n)).collect());
        assert_clean(&t, Target::ExchangeOnline);
    }

    #[test]
    fn item_limits_per_folder_and_per_mailbox() {
        let t = tree(vec![
            folder("INBOX").messages(1_000_001),
            folder("Sent").messages(5),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::LIMITS_ITEMS_PER_FOLDER);
        assert_eq!(f.subject.as_deref(), Some("INBOX"));
        assert!(f.message.contains("1,000,001 messages"), "{}", f.message);
        let m = one(&findings, ids::LIMITS_ITEMS_PER_MAILBOX);
        assert_eq!(m.status, Status::Fail);
        assert!(m.message.contains("1,000,006"), "{}", m.message);

        let t = tree(vec![
            folder("INBOX").messages(300_000),
            folder("Sent").messages(250_000),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        none(&findings, ids::LIMITS_ITEMS_PER_FOLDER);
        one(&findings, ids::LIMITS_ITEMS_PER_MAILBOX);

        let t = tree(vec![folder("INBOX").messages(1_000_000), folder("Sent")]);
        let findings = analyse(&t, Target::ExchangeOnline);
        none(&findings, ids::LIMITS_ITEMS_PER_FOLDER);
        assert!(one(&findings, ids::LIMITS_ITEMS_PER_MAILBOX)
            .message
            .contains("at least"));

        let t = tree(vec![
            folder("INBOX").messages(250_000),
            folder("Sent").messages(250_000),
        ]);
        assert_clean(&t, Target::ExchangeOnline);
    }

    #[test]
    fn subfolder_and_folder_count_limits() {
        let many = |n: usize| {
            let mut t = tree_of(&["INBOX", "Box"]);
            t.folders
                .extend((0..n).map(|i| folder(&format!("Box.{i}"))));
            t
        };
        let findings = analyse(&many(10_001), Target::ExchangeOnline);
        let f = one(&findings, ids::LIMITS_SUBFOLDERS);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("Box"));
        assert!(f.message.contains("10,001 subfolders"));
        assert_clean(&many(10_000), Target::ExchangeOnline);

        // Gmail's 500 labels are advice: a warning.
        let findings = analyse(&many(499), Target::Gmail);
        assert_eq!(one(&findings, ids::LIMITS_FOLDERS).status, Status::Warn);
        assert_clean(&many(498), Target::Gmail);
    }

    #[test]
    fn reserved_root_names_fail_on_exchange_online_only() {
        let t = tree_of(&["INBOX", "Files", "Projects", "Projects.Files"]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::RESERVED_NAME);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.subject.as_deref(), Some("Files"));
        assert_eq!(
            f.predicts.as_deref(),
            Some("\"NO Folder name is reserved\"")
        );
        assert_eq!(
            one(
                &analyse(&tree_of(&["files"]), Target::ExchangeOnline),
                ids::RESERVED_NAME
            )
            .subject
            .as_deref(),
            Some("files")
        );
        assert_clean(&t, Target::Generic);
        assert_clean(
            &tree_of(&["INBOX", "Projects", "Projects.Files"]),
            Target::ExchangeOnline,
        );
    }

    fn gmail() -> Tree {
        let g = |n: &str| folder_d(n, Some('/'));
        Tree {
            delimiter: Some('/'),
            gmail: true,
            folders: vec![
                g("INBOX").messages(10),
                g("Work").messages(3),
                g("[Gmail]").attr("\\Noselect").attr("\\HasChildren"),
                g("[Gmail]/All Mail").attr("\\All").messages(40),
                g("[Gmail]/Sent Mail").attr("\\Sent").messages(5),
                g("[Gmail]/Starred").attr("\\Flagged"),
                g("[Gmail]/Important").attr("\\Important"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn gmail_virtual_folders_warn() {
        let findings = analyse(&gmail(), Target::ExchangeOnline);
        let virt: Vec<_> = with_id(&findings, ids::GMAIL_VIRTUAL)
            .into_iter()
            .map(|f| f.subject.clone().unwrap())
            .collect();
        assert_eq!(
            virt,
            ["[Gmail]/All Mail", "[Gmail]/Starred", "[Gmail]/Important"]
        );
        let all = with_id(&findings, ids::GMAIL_VIRTUAL)[0];
        assert_eq!(all.status, Status::Warn);
        assert!(all.message.contains("(40 messages)"));
        assert!(all
            .predicts
            .as_deref()
            .unwrap()
            .contains("This mailbox is full"));
        assert_eq!(findings.len(), 4, "{findings:#?}");
    }

    #[test]
    fn gmail_names_without_attributes_and_lookalikes_elsewhere() {
        // Older Gmail or a UK account: no special-use, "[Google Mail]".
        let mut t = tree(vec![
            folder_d("INBOX", Some('/')),
            folder_d("[Google Mail]", Some('/')).attr("\\Noselect"),
            folder_d("[Google Mail]/All Mail", Some('/')),
        ]);
        t.delimiter = Some('/');
        t.gmail = true;
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(
            one(&findings, ids::GMAIL_VIRTUAL).subject.as_deref(),
            Some("[Google Mail]/All Mail")
        );
        // Not Gmail: a folder called Starred is just a folder.
        assert_clean(
            &tree_of(&["INBOX", "Starred", "Important"]),
            Target::ExchangeOnline,
        );
    }

    #[test]
    fn examine_failures_quote_the_server() {
        let t = tree(vec![
            folder("INBOX").examined(ok(3)),
            folder("R&D").examined(no(Some("CANNOT"), "Invalid mailbox name")),
            folder("Broken").examined(no(
                None,
                "Internal error occurred. Refer to server log for more information. [2018-11-29 10:40:44]",
            )),
            folder("Flaky").examined(ExamineOutcome::Bye {
                text: "Disconnected for inactivity".into(),
            }),
            folder("Bugged").examined(no(Some("SERVERBUG"), "Oops")),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let failed = with_id(&findings, ids::EXAMINE_FAILED);
        assert_eq!(failed.len(), 2, "{findings:#?}");
        assert_eq!(failed[0].subject.as_deref(), Some("R&D"));
        assert!(
            failed[0]
                .message
                .contains("after 12 ms: NO [CANNOT] Invalid mailbox name"),
            "{}",
            failed[0].message
        );
        assert_eq!(
            failed[0].predicts.as_deref(),
            Some("\"Imap server sent NO response to SelectCommand. Response code: 'CANNOT', message: 'Invalid mailbox name'\"")
        );
        assert_eq!(failed[0].duration, Some(Duration::from_millis(12)));
        assert!(failed[1]
            .predicts
            .as_deref()
            .unwrap()
            .contains("too many transient failures"));

        let bugs = with_id(&findings, ids::EXAMINE_SERVER_BUG);
        assert_eq!(bugs.len(), 2);
        assert!(bugs.iter().all(|f| f.status == Status::Fail));
        assert!(bugs[0]
            .predicts
            .as_deref()
            .unwrap()
            .starts_with("\"Imap server reported an error during SelectCommand indicating that it encountered some bug: 'Internal error occurred."));
        assert!(bugs[0].remedy.as_deref().unwrap().contains("server's log"));
    }

    #[test]
    fn successful_or_unattempted_examines_are_quiet() {
        let t = tree(vec![
            folder("INBOX").examined(ok(0)),
            folder("Sent"),
            folder("Shelf")
                .attr("\\Noselect")
                .examined(no(None, "Mailbox is not selectable")),
            folder("Shelf.Books"),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        none(&findings, ids::EXAMINE_FAILED);
        none(&findings, ids::EXAMINE_SERVER_BUG);
    }

    #[test]
    fn count_mismatch_warns() {
        let t = tree(vec![folder("INBOX").messages(12).examined(ok(10))]);
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::COUNT_MISMATCH);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("10 EXISTS, STATUS said 12 MESSAGES"));
        assert_clean(
            &tree(vec![folder("INBOX").messages(10).examined(ok(10))]),
            Target::ExchangeOnline,
        );
    }

    #[test]
    fn excluded_folders_have_no_findings_of_their_own() {
        let t = tree(vec![
            folder("INBOX"),
            folder("Old Mail.").excluded(),
            folder("Files").excluded(),
            folder("Sent").excluded(),
            folder("sent"),
            folder("Broken")
                .examined(no(None, "Internal error occurred"))
                .excluded(),
            folder("Big").messages(2_000_000).excluded(),
            folder_d("Flat", None).excluded(),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0].message.contains("(6 excluded)"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn suggested_excludes_are_exactly_the_broken_and_the_duplicating() {
        let mut t = gmail();
        t.folders.insert(2, folder_d("Old Mail/", Some('/')));
        t.folders.insert(
            3,
            folder_d("Broken", Some('/')).examined(no(Some("CANNOT"), "Invalid mailbox name")),
        );
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(
            suggested_excludes(&t, &findings),
            [
                "Old Mail/",
                "Broken",
                "[Gmail]/All Mail",
                "[Gmail]/Starred",
                "[Gmail]/Important"
            ]
        );
        assert!(suggested_excludes(&gmail(), &[]).is_empty());
        assert!(
            suggested_excludes(&clean(), &analyse(&clean(), Target::ExchangeOnline)).is_empty()
        );
    }

    #[test]
    fn suggested_excludes_take_children_descendants_and_duplicates() {
        let t = tree(vec![
            folder("INBOX"),
            folder("Hidden.A"),
            folder("Hidden.A.Deep"),
            folder("Sent"),
            folder("sent"),
            folder("sent.2019"),
            folder("Reports/Q1"),
            folder("Empty").attr("\\Noselect"),
        ]);
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(
            suggested_excludes(&t, &findings),
            [
                "Hidden/A",
                "Hidden/A/Deep",
                "sent",
                "sent/2019",
                "Reports/Q1"
            ]
        );
        // On a case-sensitive target Sent and sent are a warning: not excluded.
        let findings = analyse(&t, Target::Generic);
        assert_eq!(
            suggested_excludes(&t, &findings),
            ["Hidden/A", "Hidden/A/Deep", "Reports/Q1"]
        );
    }

    // 20,000 folders in 200 branches: every check goes through hash maps
    // (name → folder, parent → children, key → colliding folders), so this
    // runs in linear time; a pairwise check would be 2·10^8 comparisons and
    // visibly slow even in a debug build.
    #[test]
    fn twenty_thousand_folders_stay_linear() {
        let mut folders = vec![folder("INBOX").messages(1).examined(ok(1))];
        for b in 0..200 {
            folders.push(folder(&format!("Branch{b}")).messages(1));
            for l in 0..99 {
                folders.push(
                    folder(&format!("Branch{b}.Leaf{l}"))
                        .messages(2)
                        .examined(ok(2)),
                );
            }
        }
        let t = tree(folders);
        assert_eq!(t.folders.len(), 20_001);
        let findings = analyse(&t, Target::ExchangeOnline);
        assert_eq!(
            findings.len(),
            1,
            "{:#?}",
            &findings[..findings.len().min(5)]
        );
        assert!(findings[0].message.starts_with("20,001 folders"));
        assert!(suggested_excludes(&t, &findings).is_empty());
    }

    #[test]
    fn a_hidden_parent_of_many_children_is_one_short_finding() {
        let mut t = tree_of(&["INBOX"]);
        t.folders
            .extend((0..20_000).map(|i| folder(&format!("Hidden.F{i}"))));
        let findings = analyse(&t, Target::ExchangeOnline);
        let f = one(&findings, ids::HIDDEN_PARENT);
        assert!(
            f.message.contains("Hidden.F9 and 19,990 more"),
            "{}",
            f.message
        );
        assert_eq!(suggested_excludes(&t, &findings).len(), 20_000);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_000_001), "1,000,001");
    }
}
