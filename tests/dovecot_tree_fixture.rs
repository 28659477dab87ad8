//! Proves the folder-tree part of the Dovecot fixture on the real server,
//! with plain `std::net` IMAP on the plaintext port (read-only: EXAMINE,
//! STATUS, LIST, MYRIGHTS; never SELECT): every fact in
//! `PATHOLOGICAL_TREE` holds, and `CLEAN_TREE` shows none of its
//! pathologies.

mod common;

use common::dovecot::{
    Dovecot, Pathology, TreeFolder, ALICE_PASSWORD, CLEAN_TREE, INVISIBLE_ROOT_INBOX_DIR,
    INVISIBLE_ROOT_INBOX_MESSAGES, NO_SERVERBUG, PATHOLOGICAL_TREE,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An ASCII password with a quote, a backslash and a space: sent as a
/// quoted string (alice's non-ASCII one goes as a literal).
const BOB_PASSWORD: &str = "b\"o\\b pw";

struct Imap {
    s: TcpStream,
    n: u32,
}

/// Tagged status and text of a completed command, plus its untagged lines.
struct Reply {
    untagged: Vec<String>,
    status: String,
    text: String,
}

impl Imap {
    fn connect(port: u16) -> Imap {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut c = Imap { s, n: 0 };
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "{greeting:?}");
        c
    }

    fn line(&mut self) -> String {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            let n = self.s.read(&mut b).expect("read from server");
            assert!(n == 1, "server closed the connection after {line:?}");
            line.push(b[0]);
            if line.ends_with(b"\r\n") {
                line.truncate(line.len() - 2);
                return String::from_utf8(line).expect("server sent UTF-8");
            }
        }
    }

    fn next_tag(&mut self) -> String {
        self.n += 1;
        format!("t{}", self.n)
    }

    fn finish(&mut self, tag: &str) -> Reply {
        let mut untagged = Vec::new();
        loop {
            let line = self.line();
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
                return Reply {
                    untagged,
                    status: status.to_string(),
                    text: text.to_string(),
                };
            }
            assert!(
                !line.contains('{'),
                "a literal in {line:?}: not expected from this tree"
            );
            untagged.push(line);
        }
    }

    fn cmd(&mut self, command: &str) -> Reply {
        let tag = self.next_tag();
        self.s
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        self.finish(&tag)
    }

    /// LOGIN with the password as a literal (`{N}` + continuation).
    fn login_literal(&mut self, user: &str, password: &str) {
        let tag = self.next_tag();
        self.s
            .write_all(format!("{tag} LOGIN {user} {{{}}}\r\n", password.len()).as_bytes())
            .unwrap();
        let cont = self.line();
        assert!(cont.starts_with('+'), "expected continuation, got {cont:?}");
        self.s.write_all(password.as_bytes()).unwrap();
        self.s.write_all(b"\r\n").unwrap();
        let r = self.finish(&tag);
        assert_eq!(r.status, "OK", "LOGIN {user}: {}", r.text);
    }

    fn login_quoted(&mut self, user: &str, password: &str) {
        let r = self.cmd(&format!("LOGIN {user} {}", quote(password)));
        assert_eq!(r.status, "OK", "LOGIN {user}: {}", r.text);
    }

    /// `LIST "" pattern`: `(raw name, attributes)` in server order, after
    /// checking the delimiter. `\Marked`/`\UnMarked` are dropped.
    fn list(&mut self, pattern: &str) -> Vec<(String, Vec<String>)> {
        let r = self.cmd(&format!("LIST \"\" {}", quote(pattern)));
        assert_eq!(r.status, "OK", "LIST {pattern:?}: {}", r.text);
        r.untagged.iter().map(|l| parse_list(l)).collect()
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `* LIST (attrs) "." name` (name an atom or a quoted string).
fn parse_list(line: &str) -> (String, Vec<String>) {
    let rest = line
        .strip_prefix("* LIST (")
        .unwrap_or_else(|| panic!("not a LIST line: {line:?}"));
    let (attrs, rest) = rest.split_once(") ").unwrap();
    let rest = rest
        .strip_prefix("\".\" ")
        .unwrap_or_else(|| panic!("delimiter is not \".\": {line:?}"));
    let name = match rest.strip_prefix('"') {
        Some(q) => {
            let q = q.strip_suffix('"').expect("closing quote");
            let mut out = String::new();
            let mut chars = q.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap() } else { c });
            }
            out
        }
        None => rest.to_string(),
    };
    let attrs = attrs
        .split_whitespace()
        .filter(|a| !a.eq_ignore_ascii_case("\\Marked") && !a.eq_ignore_ascii_case("\\UnMarked"))
        .map(str::to_string)
        .collect();
    (name, attrs)
}

fn exists(r: &Reply) -> usize {
    r.untagged
        .iter()
        .find_map(|l| l.strip_prefix("* ")?.strip_suffix(" EXISTS")?.parse().ok())
        .unwrap_or_else(|| panic!("no EXISTS in {:?}", r.untagged))
}

/// `(0.001 + 0.000 secs).` and, for SERVERBUG, ` [2026-11-25 21:17:53]`:
/// what Dovecot appends to a NO text.
fn assert_no_text(what: &str, r: &Reply, expected: &str) {
    assert_eq!(r.status, "NO", "{what}: {} {}", r.status, r.text);
    let rest = r
        .text
        .strip_prefix(expected)
        .unwrap_or_else(|| panic!("{what}: NO {:?} does not start with {expected:?}", r.text));
    let rest = if expected == NO_SERVERBUG {
        let stamp = rest.get(..22).unwrap_or("");
        assert!(
            stamp.starts_with(" [") && stamp.ends_with(']') && stamp.as_bytes()[6] == b'-',
            "{what}: no timestamp after the SERVERBUG text: {:?}",
            r.text
        );
        &rest[22..]
    } else {
        rest
    };
    assert!(
        rest.starts_with(" (") && rest.ends_with(" secs)."),
        "{what}: unexpected tail {rest:?} in {:?}",
        r.text
    );
}

/// Everything the folder checks should see, computed from what the server
/// says (LIST "*", LIST of each missing parent, EXAMINE). Returns the set
/// of pathologies found, with the folders that show them.
fn diagnose(c: &mut Imap) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut found: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut add = |k: &'static str, name: &str| {
        found.entry(k).or_default().insert(name.to_string());
    };
    let listed = c.list("*");
    let names: BTreeSet<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    let mut lower: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, attrs) in &listed {
        lower
            .entry(name.to_lowercase())
            .or_default()
            .push(name.clone());
        if attrs.iter().any(|a| a == "\\Noselect") {
            add("noselect", name);
        }
        if name.contains('/') {
            add("foreign delimiter", name);
        }
        if name.ends_with('.') || name.contains("..") || name.starts_with('.') {
            add("invalid name", name);
        }
        if name.ends_with(' ') || name.starts_with(' ') {
            add("trailing space", name);
        }
        if name.contains('&') {
            add("non-ASCII", name);
        }
        if name.split('.').count() > 5 {
            add("deep", name);
        }
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 1 && parts.iter().any(|p| p.eq_ignore_ascii_case("INBOX"))
            || (name != "INBOX" && name.eq_ignore_ascii_case("INBOX"))
        {
            add("INBOX lookalike", name);
        }
        // A parent that LIST "*" does not return.
        let mut prefix = String::new();
        for part in &parts[..parts.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if !names.contains(&prefix) {
                add("missing parent", &prefix);
            }
        }
        if !attrs.iter().any(|a| a == "\\Noselect") {
            let r = c.cmd(&format!("EXAMINE {}", quote(name)));
            if r.status != "OK" {
                add("EXAMINE fails", name);
            }
        }
    }
    for group in lower.values().filter(|g| g.len() > 1) {
        for n in group {
            add("case collision", n);
        }
    }
    found
}

fn start() -> Dovecot {
    Dovecot::builder()
        .pathological_tree_plugins()
        .user("alice", ALICE_PASSWORD)
        .user("bob", BOB_PASSWORD)
        .start()
}

#[test]
fn the_pathological_tree_is_what_the_description_says() {
    let d = start();
    d.seed_pathological_tree("alice");
    let mut c = Imap::connect(d.imap_port);
    c.login_literal("alice", ALICE_PASSWORD);

    // LIST "" "*": exactly the listed entries, with their attributes.
    let listed = c.list("*");
    let got: BTreeMap<String, Vec<String>> = listed.iter().cloned().collect();
    assert_eq!(got.len(), listed.len(), "duplicates in {listed:?}");
    let want: BTreeMap<String, Vec<String>> = PATHOLOGICAL_TREE
        .iter()
        .filter(|f| f.listed)
        .map(|f| {
            (
                f.raw.to_string(),
                f.attributes.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(got, want, "LIST \"\" \"*\"");

    // LIST "" "<name>" for each folder, including the hidden one.
    for f in PATHOLOGICAL_TREE {
        let one = c.list(f.raw);
        let attrs: Vec<String> = f.attributes.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            one,
            vec![(f.raw.to_string(), attrs)],
            "LIST \"\" {:?}",
            f.raw
        );
    }
    let hidden = PATHOLOGICAL_TREE
        .iter()
        .find(|f| f.pathology == Pathology::HiddenParent)
        .unwrap();
    assert_eq!(
        (hidden.raw, hidden.listed, hidden.attributes),
        ("Hidden", false, &["\\Noselect", "\\HasChildren"][..])
    );
    // LIST "" "" gives the delimiter.
    assert_eq!(
        c.list(""),
        vec![(String::new(), vec!["\\Noselect".to_string()])]
    );
    // LIST "" "%" shows the hidden parent as a \Noselect placeholder.
    assert!(c.list("%").contains(&(
        "Hidden".to_string(),
        vec!["\\Noselect".into(), "\\HasChildren".into()]
    )));
    // The ACL is what hides it.
    let r = c.cmd("MYRIGHTS Hidden");
    assert_eq!(r.status, "OK", "{}", r.text);
    assert_eq!(
        r.untagged,
        vec!["* MYRIGHTS Hidden rwstipekxcd".to_string()]
    );
    let r = c.cmd("MYRIGHTS Hidden.Folder1");
    assert!(
        r.untagged[0].starts_with("* MYRIGHTS Hidden.Folder1 l"),
        "{:?}",
        r.untagged
    );

    // STATUS first (no mailbox selected), then EXAMINE each folder.
    for f in PATHOLOGICAL_TREE {
        let what = format!("STATUS {:?}", f.raw);
        let r = c.cmd(&format!("STATUS {} (MESSAGES)", quote(f.raw)));
        match f.examine_no {
            None => {
                assert_eq!(r.status, "OK", "{what}: {}", r.text);
                let quoted = if f.raw.contains(' ') {
                    quote(f.raw)
                } else {
                    f.raw.to_string()
                };
                assert_eq!(
                    r.untagged,
                    vec![format!("* STATUS {quoted} (MESSAGES {})", f.messages)],
                    "{what}"
                );
            }
            Some(no) => assert_no_text(&what, &r, no),
        }
    }
    for f in PATHOLOGICAL_TREE {
        let what = format!("EXAMINE {:?}", f.raw);
        let r = c.cmd(&format!("EXAMINE {}", quote(f.raw)));
        match f.examine_no {
            None => {
                assert_eq!(r.status, "OK", "{what}: {}", r.text);
                assert!(r.text.starts_with("[READ-ONLY] "), "{what}: {}", r.text);
                assert_eq!(exists(&r), f.messages, "{what}");
            }
            Some(no) => assert_no_text(&what, &r, no),
        }
    }

    // The root Inbox lookalike exists on disk but IMAP never shows it.
    let lookalike = d
        .maildir("alice")
        .join(INVISIBLE_ROOT_INBOX_DIR)
        .join("cur");
    assert_eq!(
        std::fs::read_dir(&lookalike).unwrap().count(),
        INVISIBLE_ROOT_INBOX_MESSAGES
    );
    assert_eq!(
        c.list("Inbox"),
        vec![("INBOX".to_string(), vec!["\\HasChildren".to_string()])]
    );
    let inbox = PATHOLOGICAL_TREE.iter().find(|f| f.raw == "INBOX").unwrap();
    assert_eq!(exists(&c.cmd("EXAMINE Inbox")), inbox.messages);
    assert_ne!(inbox.messages, INVISIBLE_ROOT_INBOX_MESSAGES);

    // On disk: the escaped '/', the missing Projects directory.
    let root = d.maildir("alice");
    assert!(root.join(".Reports\\2fQ1").join("cur").is_dir());
    assert!(!root.join(".Projects").exists());
    assert!(root.join(".Gr&APYA3w-e").is_dir());

    // Every kind of pathology is present, and the diagnosis from the
    // server's answers finds each one.
    // (An exhaustive match: a new variant must be added here.)
    let ordinal = |p: Pathology| match p {
        Pathology::None => 0,
        Pathology::HiddenParent => 1,
        Pathology::ChildOfHiddenParent => 2,
        Pathology::NoselectParent => 3,
        Pathology::ForeignDelimiter => 4,
        Pathology::CaseCollision => 5,
        Pathology::InboxLookalike => 6,
        Pathology::NonAscii => 7,
        Pathology::DeepChain => 8,
        Pathology::InvalidName => 9,
        Pathology::Unreadable => 10,
        Pathology::TrailingSpace => 11,
    };
    let kinds: BTreeSet<u8> = PATHOLOGICAL_TREE
        .iter()
        .map(|f| ordinal(f.pathology))
        .collect();
    assert_eq!(kinds, (0..=11).collect(), "every pathology occurs");
    let found = diagnose(&mut c);
    let names = |k: &str| -> Vec<&str> {
        found
            .get(k)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    assert_eq!(names("missing parent"), ["Hidden"], "{found:?}");
    assert_eq!(
        names("noselect"),
        ["Broken", "Broken.", "Old Mail", "Old Mail.", "Projects"]
    );
    assert_eq!(names("foreign delimiter"), ["Reports/Q1"]);
    assert_eq!(
        names("invalid name"),
        ["Broken.", "Broken..X", "Old Mail.", "Old Mail.."]
    );
    assert_eq!(names("trailing space"), ["Trailing "]);
    assert_eq!(names("non-ASCII"), ["Entw&APw-rfe", "Gr&APYA3w-e"]);
    assert_eq!(names("case collision"), ["Sent", "sent"]);
    assert_eq!(names("INBOX lookalike"), ["INBOX.INBOX"]);
    assert_eq!(
        names("EXAMINE fails"),
        ["Broken..X", "Old Mail..", "Unreadable"]
    );
    assert!(names("deep").contains(&"Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9.L10"));
    let pathologies_of = |p: Pathology| -> Vec<&TreeFolder> {
        PATHOLOGICAL_TREE
            .iter()
            .filter(|f| f.pathology == p)
            .collect()
    };
    assert_eq!(pathologies_of(Pathology::DeepChain).len(), 11);

    c.cmd("LOGOUT");
    let log = d.log();
    assert!(
        log.contains("opendir(") && log.contains(".Unreadable/cur) failed: Permission denied"),
        "{log}"
    );
}

#[test]
fn the_clean_tree_has_none_of_the_pathologies() {
    let d = start();
    d.seed_clean_tree("bob");
    let mut c = Imap::connect(d.imap_port);
    c.login_quoted("bob", BOB_PASSWORD);

    let listed = c.list("*");
    let got: BTreeMap<String, Vec<String>> = listed.iter().cloned().collect();
    let want: BTreeMap<String, Vec<String>> = CLEAN_TREE
        .iter()
        .map(|f| {
            (
                f.raw.to_string(),
                f.attributes.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(got, want, "LIST \"\" \"*\"");
    assert_eq!(got.len(), listed.len());
    assert!(CLEAN_TREE
        .iter()
        .all(|f| f.listed && f.examinable() && f.pathology == Pathology::None && f.raw == f.name));

    for f in CLEAN_TREE {
        let r = c.cmd(&format!("STATUS {} (MESSAGES)", quote(f.raw)));
        assert_eq!(
            r.untagged,
            vec![format!("* STATUS {} (MESSAGES {})", f.raw, f.messages)]
        );
    }
    for f in CLEAN_TREE {
        let r = c.cmd(&format!("EXAMINE {}", quote(f.raw)));
        assert_eq!(r.status, "OK", "EXAMINE {}: {}", f.raw, r.text);
        assert_eq!(exists(&r), f.messages, "EXAMINE {}", f.raw);
    }
    let r = c.cmd("LIST (SUBSCRIBED) \"\" \"*\"");
    let subscribed: BTreeSet<String> = r.untagged.iter().map(|l| parse_list(l).0).collect();
    let all_but_inbox: BTreeSet<String> = CLEAN_TREE
        .iter()
        .filter(|f| f.raw != "INBOX")
        .map(|f| f.raw.to_string())
        .collect();
    assert_eq!(subscribed, all_but_inbox);

    let found = diagnose(&mut c);
    assert!(found.is_empty(), "the clean tree shows {found:?}");
    c.cmd("LOGOUT");
}

#[test]
fn defaults_have_no_tree_plugins() {
    let d = Dovecot::start_default();
    assert!(!d.acl && !d.listescape);
    let conf = std::fs::read_to_string(&d.conf).unwrap();
    assert!(!conf.contains("mail_plugins"), "{conf}");
    let mut c = Imap::connect(d.imap_port);
    c.login_literal("alice", ALICE_PASSWORD);
    // Without listescape a '/' cannot be in a name under the '.' delimiter.
    let r = c.cmd("STATUS \"Reports/Q1\" (MESSAGES)");
    assert_eq!(r.status, "NO", "{}", r.text);
    c.cmd("LOGOUT");
}
