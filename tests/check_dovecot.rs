//! `imapprobe check` against a real Dovecot with ordinary mail, a 36 MB and
//! a 151 MB message: the large items found by UID and size, no grammar
//! finding on Dovecot's output, memory bounded, and nothing changed.

mod common;

use common::dovecot::{Dovecot, ALICE_PASSWORD};
use common::run::{against_dovecot, Outcome};
use serde_json::Value;

fn check(d: &Dovecot, extra: &[&str]) -> Outcome {
    against_dovecot(d, "check", extra)
}

fn with_id(out: &Outcome, id: &str) -> Vec<Value> {
    out.with_id(id)
}

/// Every message's flags and UID, and every folder's UIDVALIDITY and
/// UIDNEXT, as Dovecot itself reports them (\Recent left out: doveadm's own
/// session claims it).
fn snapshot(d: &Dovecot) -> String {
    let flags = d.doveadm_ok(&["fetch", "-u", "alice", "mailbox uid flags", "ALL"]);
    let status = d.doveadm_ok(&[
        "mailbox",
        "status",
        "-u",
        "alice",
        "messages uidvalidity uidnext unseen",
        "*",
    ]);
    format!("{flags}\n{status}").replace("\\Recent", "")
}

#[test]
fn large_items_are_found_memory_stays_bounded_and_nothing_changes() {
    let d = Dovecot::start_default();
    d.seed_sample_mailbox("alice");
    let large = d.seed_large_items("alice");
    let before = snapshot(&d);
    assert!(before.contains("\\Seen"), "{before}");

    let out = check(&d, &["--full", "--quiet"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "nothing on stderr with --quiet: {}",
        out.stderr
    );
    let json = out.json();

    // Both large items, by UID and size; the 151 MB one above the maximum.
    let items = json["messages"]["large_items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["folder"], "Large");
    assert_eq!(items[0]["uid"], large.large_36m.uid);
    assert_eq!(items[0]["size"], large.large_36m.size);
    assert_eq!(items[1]["uid"], large.large_151m.uid);
    assert_eq!(items[1]["size"], large.large_151m.size);
    let f = &with_id(&out, "messages.large-item")[0];
    assert_eq!(f["status"], "fail");
    assert_eq!(f["predicts"], "TooManyLargeItemsPermanentException");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("Large UID 2 (36.0 MiB)"), "{msg}");
    assert!(
        msg.contains("Large UID 3 (151.0 MiB, above the maximum: cannot move)"),
        "{msg}"
    );

    // Every message fetched whole, the 151 MB one included, and Dovecot's
    // output is clean.
    let swept = &json["messages"];
    assert_eq!(swept["biggest"]["uid"], large.large_151m.uid);
    assert!(swept["body_bytes"].as_u64().unwrap() >= large.total_bytes());
    assert!(with_id(&out, "grammar.response").is_empty(), "{out:?}");
    assert_eq!(with_id(&out, "grammar.fetch")[0]["status"], "pass");
    assert!(
        with_id(&out, "messages.size-mismatch").is_empty(),
        "{out:?}"
    );
    let large_folder = swept["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["folder"] == "Large")
        .unwrap();
    assert_eq!(large_folder["messages"], 4);
    assert_eq!(large_folder["probed"], 4);
    assert_eq!(large_folder["searched"], 4);

    // Memory: the 151 MB literal streamed, never held.
    let peak = json["facts"]["peak_rss_kib"]
        .as_u64()
        .expect("peak RSS reported");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");

    // Read-only: flags, \Seen, UIDs, UIDVALIDITY, UIDNEXT as before — after
    // a check, and after a second one.
    assert_eq!(before, snapshot(&d));
    let again = check(&d, &["--quiet"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert_eq!(before, snapshot(&d));
    out.assert_no_secret(ALICE_PASSWORD);
}

#[test]
fn an_ordinary_mailbox_passes_with_sizes_dates_and_an_estimate() {
    let d = Dovecot::start_default();
    d.seed_sample_mailbox("alice");
    let out = check(&d, &["--quiet", "--target-rate", "1MB/h"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let swept = &json["messages"];
    let inbox = swept["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["folder"] == "INBOX")
        .unwrap();
    assert_eq!(inbox["messages"], 5);
    assert_eq!(inbox["exists"], 5);
    assert!(inbox["oldest"].as_str().is_some() && inbox["newest"].as_str().is_some());
    assert_eq!(
        inbox["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        5
    );
    let est = &swept["estimate"];
    assert_eq!(est["mailbox_bytes"], swept["bytes"]);
    // At 1 MB/h, a few KiB take a few seconds.
    let secs = est["at_target_rate_s"].as_u64().unwrap();
    let expected = (swept["bytes"].as_f64().unwrap() / (1e6 / 3600.0)).ceil() as u64;
    assert_eq!(secs, expected);
    assert!(with_id(&out, "estimate.time")[0]["message"]
        .as_str()
        .unwrap()
        .contains("at 1 MB/h"));

    let text = check(&d, &["--quiet", "--format", "text"]);
    for section in [
        "\nCONNECTION\n",
        "\nHIERARCHY\n",
        "\nMESSAGES\n",
        "\nGRAMMAR\n",
        "\nESTIMATE\n",
    ] {
        assert!(text.stdout.contains(section), "{section}: {}", text.stdout);
    }
}
