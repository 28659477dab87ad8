//! Each compliance probe against a scripted server that breaks exactly the
//! rule the probe is about: the probe fails, and says why. The hidden
//! `imapprobe probes run` logs in and runs only the chosen probe, so each
//! script is the login, the probe's own commands and the LOGOUT.

mod common;

use common::run::{against_scripted, Outcome};
use common::scripted::{Mode, ScriptedServer};

/// The greeting and the login; capabilities after the login are `caps`
/// (ID, NAMESPACE, ENABLE there only, so the connection set-up sends no ID).
fn login(caps: &str) -> String {
    format!(
        r#"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
        C: $tag LOGIN "alice" "pw"
        S: $tag OK [CAPABILITY IMAP4rev1{caps}] Logged in
"#,
        caps = if caps.is_empty() {
            String::new()
        } else {
            format!(" {caps}")
        }
    )
}

const LOGOUT: &str = "
    C: $tag LOGOUT
    S: * BYE bye
    S: $tag OK bye
";

/// The examined state's EXAMINE, with `n` messages.
fn examine(n: u32) -> String {
    format!(
        r#"C: $tag EXAMINE "INBOX"
        S: * FLAGS (\\Seen)
        S: * {n} EXISTS
        S: * OK [UIDVALIDITY 7] ok
        S: * OK [UIDNEXT 10] ok
        S: $tag OK [READ-ONLY] done
"#
    )
}

/// Runs probe `id` alone against `scripts` (one per connection).
fn run(id: &str, scripts: Vec<String>) -> (Outcome, ScriptedServer) {
    let server = ScriptedServer::start(Mode::Plain, scripts.iter().map(String::as_str).collect());
    let out = against_scripted(
        &["probes", "run", "--probe", id],
        server.port,
        &["--timeout", "3s"],
    );
    (out, server)
}

/// Asserts the probe failed (status `status`) with `why` in its message.
fn failed(id: &str, scripts: Vec<String>, status: &str, why: &str) -> Outcome {
    let (out, server) = run(id, scripts);
    server.assert_no_failures();
    let f = out.finding(&format!("probe.{id}"));
    assert_eq!(f["status"], status, "{out:?}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(why), "{why:?} not in {message:?}");
    assert!(f["rule"].as_str().is_some_and(|r| r.contains("RFC")), "{f}");
    let json = out.json();
    assert_eq!(json["compliance"]["failed"], 1, "{}", json["compliance"]);
    assert_eq!(out.code, if status == "fail" { 2 } else { 1 }, "{out:?}");
    out
}

#[test]
fn a_two_character_delimiter_fails_list_delimiter() {
    let s = format!(
        r#"{}
        C: $tag LIST "" ""
        S: * LIST (\\Noselect) "//" ""
        S: $tag OK done
        {LOGOUT}"#,
        login("")
    );
    let out = failed(
        "list.delimiter",
        vec![s],
        "fail",
        "breaks RFC 3501 §9 rule mailbox-list at byte 21: expected DQUOTE (the delimiter is one character)",
    );
    let f = out.finding("probe.list.delimiter");
    let evidence = f["evidence"]["text"].as_str().unwrap();
    assert!(
        evidence.contains("C: a2 LIST \"\" \"\"\r\nS: * LIST (\\Noselect) \"//\" \"\""),
        "{evidence}"
    );
    assert!(f["remedy"].is_string() && f["predicts"].is_string(), "{f}");
}

#[test]
fn a_noselect_inbox_fails_list_inbox() {
    let s = format!(
        r#"{}
        C: $tag LIST "" INBOX
        S: * LIST (\\Noselect) "/" INBOX
        S: $tag OK done
        {LOGOUT}"#,
        login("")
    );
    failed(
        "list.inbox",
        vec![s],
        "fail",
        "`! LIST (... \\Noselect ...) * INBOX` must not appear",
    );
}

#[test]
fn exists_that_disagrees_with_status_fails_examine_status() {
    let s = format!(
        r#"{}
        C: $tag STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)
        S: * STATUS INBOX (MESSAGES 3 UIDNEXT 10 UIDVALIDITY 7)
        S: $tag OK done
        C: $tag EXAMINE INBOX
        S: * FLAGS (\\Seen)
        S: * 2 EXISTS
        S: * 0 RECENT
        S: * OK [UIDVALIDITY 7] ok
        S: * OK [UIDNEXT 10] ok
        S: * OK [PERMANENTFLAGS ()] ok
        S: $tag OK [READ-ONLY] done
        {LOGOUT}"#,
        login("")
    );
    failed(
        "examine.status",
        vec![s],
        "fail",
        "expected `* $exists EXISTS` (with $exists = 3)",
    );
}

#[test]
fn bad_for_a_noselect_folder_fails_status_noselect() {
    let s = format!(
        r#"{}
        C: $tag LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\Noselect \\HasChildren) "/" Projects
        S: $tag OK done
        C: $tag STATUS Projects (MESSAGES)
        S: $tag BAD no such thing
        {LOGOUT}"#,
        login("")
    );
    failed(
        "status.noselect",
        vec![s],
        "fail",
        "expected `= NO`, the server answered `a3 BAD no such thing`",
    );
}

#[test]
fn uids_out_of_order_fail_search_all() {
    let s = format!(
        "{}{}
        C: $tag UID SEARCH ALL
        S: * SEARCH 5 3 9
        S: $tag OK done
        {LOGOUT}",
        login(""),
        examine(3)
    );
    failed(
        "search.all",
        vec![s],
        "fail",
        "check `ascending $uids` does not hold ($uids = (5 3 9))",
    );
}

#[test]
fn all_without_envelope_fails_fetch_macros() {
    let s = format!(
        r#"{}{}
        C: $tag FETCH 1 ALL
        S: * 1 FETCH (FLAGS () INTERNALDATE "01-Jan-2024 10:00:00 +0000" RFC822.SIZE 12)
        S: $tag OK done
        {LOGOUT}"#,
        login(""),
        examine(1)
    );
    failed(
        "fetch.macros",
        vec![s],
        "fail",
        "check `keys($all) == (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)` does not hold",
    );
}

#[test]
fn a_nine_field_envelope_fails_fetch_envelope() {
    let s = format!(
        r#"{}{}
        C: $tag FETCH 1 (ENVELOPE)
        S: * 1 FETCH (ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "hi" NIL NIL NIL NIL NIL NIL "<1@example.test>"))
        S: $tag OK done
        {LOGOUT}"#,
        login(""),
        examine(1)
    );
    failed("fetch.envelope", vec![s], "fail", "breaks RFC 3501 §9 rule");
}

#[test]
fn a_partial_fetch_without_its_origin_fails_fetch_partial() {
    let s = format!(
        r#"{}{}
        C: $tag FETCH 1 (BODY.PEEK[]<0.100>)
        S: * 1 FETCH (BODY[] "A: b")
        S: $tag OK done
        {LOGOUT}"#,
        login(""),
        examine(1)
    );
    failed(
        "fetch.partial",
        vec![s],
        "fail",
        "expected `* 1 FETCH (BODY[]<0> $part)`",
    );
}

#[test]
fn a_size_that_changes_fails_fetch_stable() {
    let bs = r#"("TEXT" "PLAIN" NIL NIL NIL "7BIT" 4 1)"#;
    let s = format!(
        r#"{}{}
        C: $tag FETCH 1 (RFC822.SIZE INTERNALDATE BODYSTRUCTURE)
        S: * 1 FETCH (RFC822.SIZE 12 INTERNALDATE "01-Jan-2024 10:00:00 +0000" BODYSTRUCTURE {bs})
        S: $tag OK done
        C: $tag FETCH 1 (RFC822.SIZE INTERNALDATE BODYSTRUCTURE)
        S: * 1 FETCH (RFC822.SIZE 13 INTERNALDATE "01-Jan-2024 10:00:00 +0000" BODYSTRUCTURE {bs})
        S: $tag OK done
        {LOGOUT}"#,
        login(""),
        examine(1)
    );
    failed("fetch.stable", vec![s], "fail", "(with $size = 12,");
}

#[test]
fn seen_set_by_body_peek_fails_fetch_peek_unseen() {
    let s = format!(
        r#"{}{}
        C: $tag UID SEARCH UNSEEN
        S: * SEARCH 4
        S: $tag OK done
        C: $tag UID FETCH 4 (FLAGS)
        S: * 1 FETCH (UID 4 FLAGS ())
        S: $tag OK done
        C: $tag UID FETCH 4 (BODY.PEEK[])
        S: * 1 FETCH (UID 4 BODY[] "A: b" FLAGS (\\Seen))
        S: $tag OK done
        {LOGOUT}"#,
        login(""),
        examine(1)
    );
    let out = failed(
        "fetch.peek-unseen",
        vec![s],
        "fail",
        "`! * FETCH (FLAGS (... \\Seen ...))` must not appear",
    );
    assert_eq!(
        out.finding("probe.fetch.peek-unseen")["subject"],
        "UID FETCH 4 (BODY.PEEK[])"
    );
}

#[test]
fn bad_for_a_reversed_range_fails_sequence_sets() {
    let s = format!(
        r#"{}{}
        C: $tag FETCH *:1 (UID)
        S: $tag BAD Invalid messageset
        {LOGOUT}"#,
        login(""),
        examine(3)
    );
    failed(
        "sequence-sets",
        vec![s],
        "fail",
        "expected `= OK`, the server answered `a3 BAD Invalid messageset`",
    );
}

#[test]
fn an_id_without_pairs_fails_id() {
    let s = format!(
        r#"{}
        C: $tag ID NIL
        S: * ID ("name")
        S: $tag OK done
        {LOGOUT}"#,
        login("ID")
    );
    failed("id", vec![s], "fail", "breaks RFC 3501 §9 rule");
}

#[test]
fn a_namespace_with_one_list_fails_namespace() {
    let s = format!(
        r#"{}
        C: $tag NAMESPACE
        S: * NAMESPACE (("" "/"))
        S: $tag OK done
        {LOGOUT}"#,
        login("NAMESPACE")
    );
    failed("namespace", vec![s], "fail", "NAMESPACE");
}

#[test]
fn enable_without_enabled_fails_enable() {
    let main = format!("{}{LOGOUT}", login("ENABLE"));
    let own = format!(
        r#"{}
        C: $tag ENABLE CONDSTORE
        S: $tag OK enabled
        {LOGOUT}"#,
        login("ENABLE")
    );
    let (out, server) = run("enable", vec![main.clone(), own.clone()]);
    server.assert_no_failures();
    assert_eq!(
        server.connections(),
        2,
        "ENABLE runs on a connection of its own"
    );
    let f = out.finding("probe.enable");
    assert_eq!(f["status"], "fail", "{out:?}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("expected `* ENABLED ...`"),
        "{f}"
    );
}

#[test]
fn noop_refused_before_login_fails_noop_capability() {
    let main = format!("{}{LOGOUT}", login(""));
    let own = format!(
        "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
        C: $tag NOOP
        S: $tag BAD log in first
        {LOGOUT}"
    );
    failed(
        "noop-capability",
        vec![main, own],
        "fail",
        "`NOOP`: expected `= OK`, the server answered `a1 BAD log in first`",
    );
}

#[test]
fn logout_without_bye_warns_logout() {
    let main = format!("{}{LOGOUT}", login(""));
    let own = format!(
        "{}
        C: $tag LOGOUT
        S: $tag OK bye",
        login("")
    );
    failed("logout", vec![main, own], "warn", "expected `* BYE ...`");
}

#[test]
fn a_passing_probe_run_has_its_summary() {
    let s = format!(
        r#"{}
        C: $tag LIST "" ""
        S: * LIST (\\Noselect) "/" ""
        S: $tag OK done
        {LOGOUT}"#,
        login("")
    );
    let (out, server) = run("list.delimiter", vec![s]);
    server.assert_no_failures();
    // 1: --tls none is a warning of its own.
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.status("probe.list.delimiter"), "pass");
    let c = &out.json()["compliance"];
    assert_eq!(
        (
            c["passed"].as_u64(),
            c["failed"].as_u64(),
            c["skipped"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
}

#[test]
fn a_missing_capability_skips() {
    let s = format!("{}{LOGOUT}", login(""));
    let (out, server) = run("namespace", vec![s]);
    server.assert_no_failures();
    assert_eq!(out.status("probe.namespace"), "skip", "{out:?}");
    assert!(out.finding("probe.namespace")["message"]
        .as_str()
        .unwrap()
        .contains("does not advertise NAMESPACE"));
    assert_eq!(out.json()["compliance"]["skipped"], 1);
}

#[test]
fn a_probe_with_nothing_to_test_skips_with_its_reason() {
    let s = format!(
        r#"{}
        C: $tag LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: $tag OK done
        {LOGOUT}"#,
        login("")
    );
    let (out, server) = run("status.noselect", vec![s]);
    server.assert_no_failures();
    assert_eq!(out.status("probe.status.noselect"), "skip", "{out:?}");
    let message = out.finding("probe.status.noselect")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.ends_with("skipped, no \\Noselect folder in this account to try it on"),
        "{message}"
    );
    // The reason is the probe file's words, not its condition.
    assert!(!message.contains("$noselect"), "{message}");
}
