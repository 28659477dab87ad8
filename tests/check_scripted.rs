//! `imapprobe check` against scripted servers whose FETCH responses break
//! the grammar the way real servers have: each fault reported at the right
//! folder, UID and byte, and the sweep going on.

mod common;

use common::run::{against_scripted, Outcome};
use common::scripted::{Mode, ScriptedServer};

/// Login, the folder walk of one folder INBOX holding `n` messages, and
/// the sweep's EXAMINE and SEARCH; what follows is the test's.
fn prefix(n: u32) -> String {
    let uids: Vec<String> = (1..=n).map(|u| u.to_string()).collect();
    format!(
        r#"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
        C: $tag LOGIN "alice" "pw"
        S: $tag OK [CAPABILITY IMAP4rev1] Logged in
        C: $tag LIST "" ""
        S: * LIST (\\Noselect) "/" ""
        S: $tag OK done
        C: $tag LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: $tag OK done
        C: $tag LSUB "" "*"
        S: $tag OK done
        C: $tag STATUS "INBOX" *
        S: * STATUS INBOX (MESSAGES {n})
        S: $tag OK done
        C: $tag EXAMINE "INBOX"
        S: * {n} EXISTS
        S: $tag OK [READ-ONLY] done
        C: $tag EXAMINE "INBOX"
        S: * {n} EXISTS
        S: * OK [UIDVALIDITY 42] ok
        S: $tag OK [READ-ONLY] done
        C: $tag UID SEARCH ALL
        S: * SEARCH {}
        S: $tag OK done
"#,
        uids.join(" ")
    )
}

const LOGOUT: &str = "
    C: $tag LOGOUT
    S: * BYE bye
    S: $tag OK bye
";

/// A 12-byte message: "A: b\r\n\r\nhi\r\n".
const MSG: &str = "A: b\\r\\n\\r\\nhi\\r\\n";

fn check(server: &ScriptedServer) -> Outcome {
    // The compliance probes have their own scripted tests.
    let extra = ["--timeout", "3s", "--quiet", "--no-probes"];
    against_scripted(&["check"], server.port, &extra)
}

fn with_id(out: &Outcome, id: &str) -> Vec<serde_json::Value> {
    out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .cloned()
        .collect()
}

fn message(f: &serde_json::Value) -> &str {
    f["message"].as_str().unwrap()
}

#[test]
fn the_exchange_space_before_paren_is_found_at_folder_uid_and_byte() {
    let script = format!(
        "{}
        C: $tag UID FETCH 1 (UID RFC822.SIZE INTERNALDATE FLAGS)
        S: * 1 FETCH (UID 1 RFC822.SIZE 12 INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" FLAGS (\\\\Seen))
        S: $tag OK done
        C: $tag UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])
        S+ * 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {{12}}\\r\\n{MSG} )\\r\\n
        S: $tag OK done
        {LOGOUT}",
        prefix(1)
    );
    let server = ScriptedServer::start_plain(&script);
    let out = check(&server);
    assert_eq!(out.code, 2, "{out:?}");
    let g = &with_id(&out, "grammar.response")[0];
    assert_eq!(
        g["subject"],
        "folder INBOX UID 1: UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])"
    );
    let head = "* 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {12}\r\n";
    assert!(
        message(g).contains(&format!("at byte {}:", head.len() + 12)),
        "{}",
        message(g)
    );
    assert!(message(g).contains("expected \")\""), "{}", message(g));
    assert!(with_id(&out, "grammar.fetch").is_empty());
    server.assert_no_failures();
}

#[test]
fn a_missing_close_paren_is_found() {
    let script = format!(
        "{}
        C: $tag UID FETCH 1 (UID RFC822.SIZE INTERNALDATE FLAGS)
        S: * 1 FETCH (UID 1 RFC822.SIZE 12 INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" FLAGS ())
        S: $tag OK done
        C: $tag UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])
        S+ * 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {{12}}\\r\\n{MSG}\\r\\n
        S: $tag OK done
        {LOGOUT}",
        prefix(1)
    );
    let server = ScriptedServer::start_plain(&script);
    let out = check(&server);
    let g = &with_id(&out, "grammar.response")[0];
    assert!(
        g["subject"]
            .as_str()
            .unwrap()
            .starts_with("folder INBOX UID 1:"),
        "{g}"
    );
    let head = "* 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {12}\r\n";
    assert!(
        message(g).contains(&format!("at byte {}:", head.len() + 12)),
        "{}",
        message(g)
    );
    server.assert_no_failures();
}

#[test]
fn a_literal_whose_size_disagrees_with_rfc822_size() {
    let script = format!(
        "{}
        C: $tag UID FETCH 1 (UID RFC822.SIZE INTERNALDATE FLAGS)
        S: * 1 FETCH (UID 1 RFC822.SIZE 20 INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" FLAGS ())
        S: $tag OK done
        C: $tag UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])
        S+ * 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {{12}}\\r\\n{MSG})\\r\\n
        S: $tag OK done
        {LOGOUT}",
        prefix(1)
    );
    let server = ScriptedServer::start_plain(&script);
    let out = check(&server);
    assert_eq!(out.code, 2, "{out:?}");
    let f = &with_id(&out, "messages.size-mismatch")[0];
    assert_eq!(f["subject"], "INBOX UID 1");
    assert!(message(f).contains("12 bytes, RFC822.SIZE said 20"), "{f}");
    assert!(with_id(&out, "grammar.response").is_empty(), "{out:?}");
    server.assert_no_failures();
}

#[test]
fn a_non_rfc_internaldate_is_a_grammar_deviation() {
    let script = format!(
        "{}
        C: $tag UID FETCH 1 (UID RFC822.SIZE INTERNALDATE FLAGS)
        S: * 1 FETCH (UID 1 RFC822.SIZE 12 INTERNALDATE \"2018-11-29 10:40:44\" FLAGS ())
        S: $tag OK done
        C: $tag UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])
        S+ * 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {{12}}\\r\\n{MSG})\\r\\n
        S: $tag OK done
        {LOGOUT}",
        prefix(1)
    );
    let server = ScriptedServer::start_plain(&script);
    let out = check(&server);
    let g = &with_id(&out, "grammar.response")[0];
    assert_eq!(
        g["subject"],
        "folder INBOX UID 1: UID FETCH 1 (UID RFC822.SIZE INTERNALDATE FLAGS)"
    );
    // "20" reads as the day; the "-" after it is missing.
    let at = "* 1 FETCH (UID 1 RFC822.SIZE 12 INTERNALDATE \"20".len();
    assert!(message(g).contains("known quirk non-imap-date-format"));
    assert!(
        message(g).contains(&format!("at byte {at}:")),
        "{}",
        message(g)
    );
    server.assert_no_failures();
}

#[test]
fn a_short_literal_then_close_and_a_bye_mid_fetch_are_faults_and_the_sweep_goes_on() {
    // Two messages: UID 1's body stops short and the server closes; on the
    // new connection UID 2's body fetch gets a BYE mid-response.
    let first = format!(
        "{}
        C: $tag UID FETCH 1:2 (UID RFC822.SIZE INTERNALDATE FLAGS)
        S: * 1 FETCH (UID 1 RFC822.SIZE 12 INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" FLAGS ())
        S: * 2 FETCH (UID 2 RFC822.SIZE 12 INTERNALDATE \"30-Nov-2018 10:40:44 +0000\" FLAGS ())
        S: $tag OK done
        C: $tag UID FETCH 1 (INTERNALDATE UID BODY.PEEK[])
        S+ * 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44 +0000\" UID 1 BODY[] {{12}}\\r\\nA: b\\r\\n
        !close",
        prefix(2)
    );
    let second = r#"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
        C: $tag LOGIN "alice" "pw"
        S: $tag OK [CAPABILITY IMAP4rev1] Logged in
        C: $tag EXAMINE "INBOX"
        S: * 2 EXISTS
        S: $tag OK [READ-ONLY] done
        C: $tag UID FETCH 2 (INTERNALDATE UID BODY.PEEK[])
        S: * BYE Server shutting down
        !close"#;
    let server = ScriptedServer::start(Mode::Plain, vec![&first, second, second]);
    let out = check(&server);
    assert_eq!(out.code, 2, "{out:?}");
    let faults = with_id(&out, "messages.fetch-fault");
    assert!(
        faults
            .iter()
            .any(|f| f["subject"] == "INBOX UID 1" && message(f).contains("closed the connection")),
        "{out:?}"
    );
    assert!(
        faults
            .iter()
            .any(|f| f["subject"] == "INBOX UID 2" && message(f).contains("Server shutting down")),
        "{out:?}"
    );
    assert!(!with_id(&out, "folders.reconnect").is_empty());
    // The metadata was read before the faults: the sizes are in the report.
    assert_eq!(out.json()["messages"]["messages"], 2);
    server.assert_no_failures();
}
