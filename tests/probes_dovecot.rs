//! The compliance probes (`probes/`) against a real Dovecot: every probe
//! passes, `imapprobe probes` lists the suite, a user's own probe runs
//! from `--probes-dir` without recompiling, and a probe that would write
//! is refused when it is loaded.

mod common;

use common::dovecot::Dovecot;
use common::run::{against_dovecot, imapprobe};
use serde_json::Value;

/// The probes that may skip on this Dovecot, and why: none. The fixture
/// advertises ID, NAMESPACE and ENABLE, INBOX has unseen messages, and
/// `Projects` below is a \Noselect parent.
const MAY_SKIP: &[&str] = &[];

fn results(json: &Value) -> Vec<Value> {
    json["compliance"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn every_probe_passes_on_dovecot_and_user_probes_load_from_a_directory() {
    let d = Dovecot::start_default();
    d.seed_sample_mailbox("alice");
    // A parent that only exists through its child: Dovecot lists it \Noselect.
    d.create_folder("alice", "Projects.Alpha", true);

    let t = std::time::Instant::now();
    let out = against_dovecot(&d, "check", &["--quiet"]);
    eprintln!("check with the suite: {:?}", t.elapsed());
    let json = out.json();
    let compliance = &json["compliance"];
    assert!(compliance.is_object(), "{out:?}");
    for r in results(&json) {
        let id = r["id"].as_str().unwrap();
        match r["status"].as_str().unwrap() {
            "pass" => {}
            "skip" if MAY_SKIP.contains(&id) => {}
            other => panic!("probe {id}: {other}: {}\n{out:?}", r["message"]),
        }
    }
    assert_eq!(compliance["failed"], 0, "{out:?}");
    assert!(compliance["passed"].as_u64().unwrap() >= 16, "{compliance}");
    // One finding per probe, in the report's own section.
    assert_eq!(out.status("probe.status.noselect"), "pass");
    let text = against_dovecot(&d, "check", &["--quiet", "--format", "text"]);
    assert!(
        text.stdout
            .contains("COMPLIANCE PROBES  16 passed, 0 failed, 0 skipped"),
        "{}",
        text.stdout
    );

    // A user's probe, from a directory, with --probe picking it alone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("my-status.probe"),
        "id: my.status-unseen\n\
         title: STATUS UNSEEN is a number\n\
         rfc: RFC 3501 §6.3.10\n\
         > STATUS INBOX (UNSEEN)\n\
         * STATUS INBOX (UNSEEN $unseen)\n\
         check $unseen is number\n\
         check $unseen > 0\n",
    )
    .unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let out = against_dovecot(
        &d,
        "check",
        &[
            "--quiet",
            "--probes-dir",
            dir_arg,
            "--probe",
            "my.status-unseen",
        ],
    );
    let json = out.json();
    let r = results(&json);
    assert_eq!(r.len(), 1, "{out:?}");
    assert_eq!(r[0]["id"], "my.status-unseen");
    assert_eq!(r[0]["status"], "pass", "{out:?}");

    // The listing has the suite and the user's probe.
    let list = imapprobe(&["probes", "--probes-dir", dir_arg], &[]);
    assert_eq!(list.code, 0, "{list:?}");
    for id in [
        "list.delimiter",
        "examine.status",
        "fetch.peek-unseen",
        "logout",
        "my.status-unseen",
    ] {
        assert!(
            list.stdout.contains(id),
            "{id} not listed:\n{}",
            list.stdout
        );
    }
    assert!(list.stdout.contains("RFC 3501 §6.4.5"), "{}", list.stdout);
    assert!(list.stdout.contains("requires ENABLE"), "{}", list.stdout);

    // A probe that writes never gets to the server.
    std::fs::write(
        dir.path().join("evil.probe"),
        "id: evil\ntitle: marks everything read\nrfc: none\nstate: examined\n> STORE 1:* +FLAGS (\\Seen)\n",
    )
    .unwrap();
    let out = against_dovecot(&d, "check", &["--quiet", "--probes-dir", dir_arg]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        out.stderr
            .contains("evil.probe:5: rejected: `STORE 1:* +FLAGS (\\Seen)`"),
        "{}",
        out.stderr
    );
    let list = imapprobe(&["probes", "--probes-dir", dir_arg], &[]);
    assert_eq!(list.code, 3, "{list:?}");
}
