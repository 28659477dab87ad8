//! `imapprobe folders` against a real Dovecot whose folder tree was built
//! through the mail store the way broken real servers end up: every
//! pathology is found, a clean tree yields nothing, and nothing changes.

mod common;

use common::dovecot::{Dovecot, Pathology, ALICE_PASSWORD, CLEAN_TREE, PATHOLOGICAL_TREE};
use common::run::{against_dovecot, Outcome};
use serde_json::Value;

fn folders(d: &Dovecot, extra: &[&str]) -> Outcome {
    against_dovecot(d, "folders", extra)
}

fn with_id(out: &Outcome, id: &str) -> Vec<Value> {
    out.with_id(id)
}

fn about(out: &Outcome, id: &str, folder: &str) -> bool {
    with_id(out, id).iter().any(|f| f["subject"] == folder)
}

/// Flags and UIDs of every message, as Dovecot itself reports them.
fn snapshot(d: &Dovecot) -> String {
    // The broken folders make doveadm exit non-zero; the rest is listed.
    let out = d.doveadm(&["fetch", "-u", "alice", "mailbox uid flags", "ALL"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("mailbox: INBOX"), "{text}");
    // doveadm's own session marks messages \Recent; that is not ours to judge.
    text.replace("\\Recent", "")
}

#[test]
fn the_pathological_tree_is_found_and_nothing_changes() {
    let d = Dovecot::builder()
        .user("alice", ALICE_PASSWORD)
        .pathological_tree_plugins()
        .start();
    d.seed_pathological_tree("alice");
    let before = snapshot(&d);
    let excludes = tempfile::NamedTempFile::new().unwrap();
    let out = folders(
        &d,
        &["--suggest-excludes", excludes.path().to_str().unwrap()],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let json = out.json();

    // Every folder LIST "*" shows is in the tree, decoded.
    let tree = json["tree"]["folders"].as_array().unwrap();
    for tf in PATHOLOGICAL_TREE.iter().filter(|t| t.listed) {
        assert!(
            tree.iter()
                .any(|f| f["name"] == tf.name && f["raw"] == tf.raw),
            "{} missing from the tree",
            tf.name
        );
    }
    assert_eq!(json["tree"]["delimiter"], ".");

    // Each pathology has its finding, on the right folder.
    assert!(about(&out, "hierarchy.hidden-parent", "Hidden"), "{out:?}");
    let hidden = &with_id(&out, "hierarchy.hidden-parent")[0];
    let msg = hidden["message"].as_str().unwrap();
    assert!(
        msg.contains("Hidden.Folder1") && msg.contains("Hidden.Folder2"),
        "{msg}"
    );
    assert!(msg.contains('3'), "the 3 messages only Hidden holds: {msg}");
    assert_eq!(json["tree"]["parent_probes"][0]["state"], "noselect");
    assert!(
        about(&out, "hierarchy.noselect-parent", "Projects"),
        "{out:?}"
    );
    assert!(
        about(&out, "hierarchy.slash-in-name", "Reports/Q1"),
        "{out:?}"
    );
    let collisions = with_id(&out, "hierarchy.case-collision");
    assert!(
        collisions.iter().any(|f| {
            let m = f["message"].as_str().unwrap();
            m.contains("Sent") && m.contains("sent")
        }),
        "{out:?}"
    );
    assert!(
        collisions
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("INBOX.INBOX")),
        "{out:?}"
    );
    // Listed, then refused by EXAMINE: one finding each, with the server's words.
    for name in ["Old Mail..", "Broken..X"] {
        let invalid = with_id(&out, "hierarchy.invalid-name");
        let f = invalid.iter().find(|f| f["subject"] == name).expect(name);
        let msg = f["message"].as_str().unwrap();
        assert!(msg.contains("NO [CANNOT] Invalid mailbox name"), "{f}");
    }
    assert!(
        about(&out, "hierarchy.invalid-name", "Old Mail."),
        "{out:?}"
    );
    assert!(
        about(&out, "hierarchy.invalid-name", "Trailing "),
        "{out:?}"
    );
    let bug = with_id(&out, "hierarchy.examine-server-bug");
    assert_eq!(bug.len(), 1, "{out:?}");
    assert_eq!(bug[0]["subject"], "Unreadable");
    assert!(bug[0]["message"]
        .as_str()
        .unwrap()
        .contains("Internal error occurred"));

    // Healthy folders, non-ASCII and deep ones included, draw no finding.
    for tf in PATHOLOGICAL_TREE {
        if matches!(
            tf.pathology,
            Pathology::None | Pathology::NonAscii | Pathology::DeepChain
        ) {
            let named: Vec<&Value> = json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["subject"] == tf.name && f["id"] != "hierarchy.summary")
                .collect();
            assert!(named.is_empty(), "{}: {named:?}", tf.name);
        }
    }

    // The excludes are the folders that cannot move, one per line, named
    // as Exchange's migration batch expects them ('/' as the separator).
    let excludes = std::fs::read_to_string(excludes.path()).unwrap();
    let lines: Vec<&str> = excludes.lines().collect();
    for must in [
        "Unreadable",
        "Broken//X",
        "Old Mail//",
        "Reports/Q1",
        "Trailing ",
    ] {
        assert!(lines.contains(&must), "{must} not in {lines:?}");
    }
    for never in ["INBOX", "Sent", "Projects.2023", "Entwürfe"] {
        assert!(!lines.contains(&never), "{never} in {lines:?}");
    }

    // Read-only: every flag and UID as before.
    assert_eq!(before, snapshot(&d));
    out.assert_no_secret(ALICE_PASSWORD);
}

#[test]
fn a_clean_tree_has_no_hierarchy_findings_and_renders_as_text_and_csv() {
    let d = Dovecot::start_default();
    d.seed_clean_tree("alice");
    let out = folders(&d, &[]);
    let json = out.json();
    for f in json["findings"].as_array().unwrap() {
        assert!(
            f["status"] == "pass" || f["status"] == "skip",
            "unexpected finding {f}"
        );
    }
    assert_eq!(out.code, 0, "{out:?}");
    let tree = json["tree"]["folders"].as_array().unwrap();
    assert_eq!(tree.len(), CLEAN_TREE.len());
    for tf in CLEAN_TREE {
        let f = tree.iter().find(|f| f["name"] == tf.name).expect(tf.name);
        assert_eq!(f["status"]["messages"], tf.messages as u64, "{}", tf.name);
        assert_eq!(f["examine"]["result"], "ok");
        assert_eq!(f["examine"]["exists"], tf.messages as u64);
        // The fixture subscribes every folder but INBOX.
        assert_eq!(f["subscribed"], tf.name != "INBOX", "{}", tf.name);
    }

    let text = folders(&d, &["--format", "text"]);
    assert!(text.stdout.contains("\nHIERARCHY\n"), "{text:?}");
    assert!(text.stdout.contains("\nFOLDERS  "), "{text:?}");
    assert!(
        text.stdout.contains("\n    2024"),
        "Archive.2024 indented under Archive: {text:?}"
    );

    let csv = folders(&d, &["--format", "csv"]);
    let rows: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(rows.len(), 1 + CLEAN_TREE.len(), "{csv:?}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("Archive.2024,Archive.2024,.,2,")),
        "{csv:?}"
    );
}

#[test]
fn include_and_exclude_select_folders() {
    let d = Dovecot::start_default();
    d.seed_clean_tree("alice");
    let out = folders(&d, &["--exclude", "Projects*", "--exclude", "Trash"]);
    let tree = out.json()["tree"]["folders"].as_array().unwrap().clone();
    for f in &tree {
        let name = f["name"].as_str().unwrap();
        let excluded = name.starts_with("Projects") || name == "Trash";
        assert_eq!(f["excluded"], excluded, "{name}");
        assert_eq!(f["examine"].is_null(), excluded, "{name}");
    }
    let out = folders(&d, &["--include", "Archive*"]);
    let tree = out.json()["tree"]["folders"].as_array().unwrap().clone();
    let examined: Vec<&str> = tree
        .iter()
        .filter(|f| !f["examine"].is_null())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(examined, ["Archive", "Archive.2024"]);
}
