//! `imapprobe lint`: saved transcripts, raw server bytes, and imapprobe's
//! own traces, judged by the same grammar as a live probe.

mod common;

use common::dovecot::{Dovecot, ALICE_PASSWORD};
use common::run::imapprobe;
use common::scripted::ScriptedServer;

const EXCHANGE: &str = "tests/data/transcripts/exchange-space-before-paren.txt";

#[test]
fn the_exchange_fetch_error_is_flagged_at_the_right_byte() {
    let out = imapprobe(&["lint", EXCHANGE, "--format", "json"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("grammar.response");
    // The response starts at its "* 42 FETCH" line; the offending byte is the
    // space after the 43-byte literal.
    let head = "* 42 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0100\" UID 16967 BODY[] {43}\r\n";
    let offset = head.len() + 43;
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(&format!("at byte {offset}:")), "{msg}");
    assert!(msg.contains("expected \")\""), "{msg}");
    assert!(msg.contains("found \" )"), "{msg}");
    assert_eq!(
        f["subject"],
        "line 9 UID 16967: 1 UID FETCH 16967 (INTERNALDATE UID BODY.PEEK[])"
    );
    assert_eq!(f["rule"], "RFC 3501 §9 msg-att");
    let evidence = f["evidence"]["text"].as_str().unwrap();
    assert_eq!(evidence.as_bytes()[offset], b' ');
    assert_eq!(&evidence[offset..], " )\r\n");
    // The caret sits under that space in the text report.
    let text = imapprobe(&["lint", EXCHANGE], &[]);
    let lines: Vec<&str> = text.stdout.lines().collect();
    let caret = lines
        .iter()
        .position(|l| l.trim() == "^")
        .expect("a caret line");
    let col = lines[caret].find('^').unwrap();
    assert_eq!(&lines[caret - 1][col..col + 2], " )", "{}", text.stdout);
}

#[test]
fn a_clean_dovecot_capture_passes() {
    for file in [
        "src/grammar/testdata/dovecot-2.3.19-session.wire",
        "src/grammar/testdata/dovecot-2.3.19-auth-idle.wire",
    ] {
        let out = imapprobe(&["lint", file, "--format", "json"], &[]);
        assert_eq!(out.code, 0, "{file}: {out:?}");
        let summary = out.finding("grammar.summary");
        assert!(summary["message"].as_str().unwrap().ends_with("compliant"));
    }
}

#[test]
fn lint_reads_its_own_traces_of_a_real_dovecot() {
    let d = Dovecot::start_default();
    d.seed_sample_mailbox("alice");
    let trace = tempfile::NamedTempFile::new().unwrap();
    let port = d.imaps_port.to_string();
    let live = imapprobe(
        &[
            "test-server",
            "--host",
            "localhost",
            "--port",
            &port,
            "--tls",
            "implicit",
            "--ca-file",
            d.ca_file.to_str().unwrap(),
            "--user",
            "alice",
            "--password-env",
            "PW",
            "--trace",
            trace.path().to_str().unwrap(),
        ],
        &[("PW", ALICE_PASSWORD)],
    );
    assert_eq!(live.code, 0, "{live:?}");
    let out = imapprobe(
        &["lint", trace.path().to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let msg = out.finding("grammar.summary")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("compliant"), "{msg}");
    // Greeting, ID (data and completion), LOGIN, LOGOUT (BYE and completion).
    let n: usize = msg.split(' ').next().unwrap().parse().unwrap();
    assert!(n >= 6, "{msg}");
    assert!(!out.has_finding("lint.input"), "{out:?}");
}

#[test]
fn a_live_deviation_and_the_lint_of_its_trace_agree() {
    let script = "S: * OK [CAPABILITY IMAP4rev1 ID] ready
        C: $tag ID *
        S: * ID (\"name\" \"Frobozz\" )
        S: $tag OK ID done
        C: $tag LOGOUT
        S: * BYE bye
        S: $tag OK bye";
    let server = ScriptedServer::start_plain(script);
    let port = server.port.to_string();
    let trace = tempfile::NamedTempFile::new().unwrap();
    let live = imapprobe(
        &[
            "test-server",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "none",
            "--format",
            "json",
            "--trace",
            trace.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(live.code, 2, "{live:?}");
    let live_f = live.finding("grammar.response");
    let linted = imapprobe(
        &["lint", trace.path().to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(linted.code, 2, "{linted:?}");
    let lint_f = linted.finding("grammar.response");
    assert_eq!(live_f["rule"], lint_f["rule"]);
    assert_eq!(live_f["evidence"], lint_f["evidence"]);
    let byte = |m: &serde_json::Value| {
        m["message"]
            .as_str()
            .unwrap()
            .split("at byte ")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(byte(&live_f), byte(&lint_f));
    assert_eq!(
        byte(&live_f),
        "22",
        "the space before ')' in {}",
        live_f["evidence"]
    );
    assert!(lint_f["subject"]
        .as_str()
        .unwrap()
        .ends_with("ID (\"name\" \"imapprobe\" \"version\" \"0.1.0\")"));
}

#[test]
fn standard_input_and_unreadable_files() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_imapprobe"))
        .args(["lint", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"* OK hi\r\n* 1 EXISTS\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = imapprobe(&["lint", "/nonexistent/transcript"], &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("cannot read /nonexistent/transcript"));
}

#[test]
fn a_transcript_cut_mid_response_is_a_warning() {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        f.path(),
        "S: * OK hi\nS: * 1 FETCH (BODY[] {100}\nS: short\n",
    )
    .unwrap();
    let out = imapprobe(
        &["lint", f.path().to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.status("grammar.truncated"), "warn");
}
