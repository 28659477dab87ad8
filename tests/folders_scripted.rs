//! `imapprobe folders` against scripted servers: the folder faults a real
//! server will not produce on demand.

mod common;

use common::run::{against_scripted, Outcome};
use common::scripted::ScriptedServer;
use std::time::Duration;

/// Greeting and LOGIN as `folders` sends them (plaintext, flag given).
const LOGIN: &str = "
    S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
    C: $tag LOGIN \"alice\" \"pw\"
    S: $tag OK [CAPABILITY IMAP4rev1] Logged in
";

const LOGOUT: &str = "
    C: $tag LOGOUT
    S: * BYE bye
    S: $tag OK bye
";

fn folders(server: &ScriptedServer, extra: &[&str]) -> Outcome {
    against_scripted(&["folders"], server.port, extra)
}

/// The findings with this id.
fn findings(out: &Outcome, id: &str) -> Vec<serde_json::Value> {
    out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .cloned()
        .collect()
}

#[test]
fn a_hidden_parent_is_found_and_confirmed() {
    let script = format!(
        "{LOGIN}
        C: $tag LIST \"\" \"\"
        S: * LIST (\\\\Noselect) \".\" \"\"
        S: $tag OK done
        C: $tag LIST \"\" \"*\"
        S: * LIST (\\\\HasNoChildren) \".\" INBOX
        S: * LIST (\\\\HasNoChildren) \".\" Hidden.Folder1
        S: * LIST (\\\\HasNoChildren) \".\" Hidden.Folder2
        S: $tag OK done
        C: $tag LSUB \"\" \"*\"
        S: $tag OK done
        C: $tag LIST \"\" \"Hidden\"
        S: $tag OK done
        C: $tag EXAMINE \"Hidden\"
        S: * FLAGS (\\\\Seen)
        S: * 10 EXISTS
        S: * OK [UIDVALIDITY 7] ok
        S: * OK [UIDNEXT 11] ok
        S: $tag OK [READ-ONLY] done
        C: $tag STATUS \"INBOX\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)
        S: * STATUS INBOX (MESSAGES 1 UNSEEN 0 UIDNEXT 2 UIDVALIDITY 1)
        S: $tag OK done
        C: $tag STATUS \"Hidden.Folder1\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)
        S: * STATUS Hidden.Folder1 (MESSAGES 0 UNSEEN 0 UIDNEXT 1 UIDVALIDITY 2)
        S: $tag OK done
        C: $tag STATUS \"Hidden.Folder2\" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)
        S: * STATUS Hidden.Folder2 (MESSAGES 0 UNSEEN 0 UIDNEXT 1 UIDVALIDITY 3)
        S: $tag OK done
        C: $tag EXAMINE \"INBOX\"
        S: * 1 EXISTS
        S: $tag OK [READ-ONLY] done
        C: $tag EXAMINE \"Hidden.Folder1\"
        S: * 0 EXISTS
        S: $tag OK [READ-ONLY] done
        C: $tag EXAMINE \"Hidden.Folder2\"
        S: * 0 EXISTS
        S: $tag OK [READ-ONLY] done
        {LOGOUT}"
    );
    let server = ScriptedServer::start_plain(&script);
    let out = folders(&server, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let hidden = findings(&out, "hierarchy.hidden-parent");
    assert_eq!(hidden.len(), 1, "{out:?}");
    let msg = hidden[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("Hidden.Folder1") && msg.contains("Hidden.Folder2"),
        "{msg}"
    );
    assert!(
        msg.contains("10"),
        "the 10 hidden messages are named: {msg}"
    );
    assert!(hidden[0]["predicts"]
        .as_str()
        .unwrap()
        .contains("multiple roots"));
    let tree = &out.json()["tree"];
    assert_eq!(tree["parent_probes"][0]["name"], "Hidden");
    assert_eq!(tree["parent_probes"][0]["state"], "absent");
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    server.assert_no_failures();
}

/// A tree of three folders where EXAMINE of the second answers `answer`.
fn examine_script(answer: &str) -> String {
    format!(
        "{LOGIN}
        C: $tag LIST \"\" \"\"
        S: * LIST (\\\\Noselect) \"/\" \"\"
        S: $tag OK done
        C: $tag LIST \"\" \"*\"
        S: * LIST () \"/\" INBOX
        S: * LIST () \"/\" Broken
        S: * LIST () \"/\" Archive
        S: $tag OK done
        C: $tag LSUB \"\" \"*\"
        S: $tag OK done
        C: $tag STATUS \"INBOX\" *
        S: $tag OK done
        C: $tag STATUS \"Broken\" *
        S: $tag OK done
        C: $tag STATUS \"Archive\" *
        S: $tag OK done
        C: $tag EXAMINE \"INBOX\"
        S: * 3 EXISTS
        S: $tag OK [READ-ONLY] done
        C: $tag EXAMINE \"Broken\"
        {answer}
        C: $tag EXAMINE \"Archive\"
        S: * 2 EXISTS
        S: $tag OK [READ-ONLY] done
        {LOGOUT}"
    )
}

#[test]
fn examine_no_cannot_invalid_mailbox_name_fails_the_folder() {
    let server = ScriptedServer::start_plain(&examine_script(
        "S: $tag NO [CANNOT] Invalid mailbox name: Ends with hierarchy separator",
    ));
    let out = folders(&server, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = &findings(&out, "hierarchy.examine-failed")[0];
    assert_eq!(f["subject"], "Broken");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Invalid mailbox name"),
        "{f}"
    );
    assert!(f["predicts"].as_str().unwrap().contains("SelectCommand"));
    // The folders after it were still examined.
    let tree = &out.json()["tree"]["folders"];
    assert_eq!(tree[2]["examine"]["result"], "ok");
    server.assert_no_failures();
}

#[test]
fn examine_internal_error_is_a_server_bug() {
    let server = ScriptedServer::start_plain(&examine_script(
        "S: $tag NO [SERVERBUG] Internal error occurred. Refer to server log for more information. [2026-11-25 20:00:00]",
    ));
    let out = folders(&server, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = &findings(&out, "hierarchy.examine-server-bug")[0];
    assert_eq!(f["subject"], "Broken");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("Internal error occurred"));
    assert!(f["predicts"].as_str().unwrap().contains("bug"));
    server.assert_no_failures();
}

#[test]
fn a_bye_in_the_middle_of_the_walk_reconnects_and_goes_on() {
    let first = examine_script("S: * BYE Internal error, closing\n!close");
    // The second connection logs in again and examines what is left.
    let second = format!(
        "{LOGIN}
        C: $tag EXAMINE \"Archive\"
        S: * 2 EXISTS
        S: $tag OK [READ-ONLY] done
        {LOGOUT}"
    );
    let server = ScriptedServer::start(common::scripted::Mode::Plain, vec![&first, &second]);
    let out = folders(&server, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(findings(&out, "folders.reconnect")[0]["status"], "warn");
    // "Internal error" in the server's words makes it a server bug.
    let f = &findings(&out, "hierarchy.examine-server-bug")[0];
    assert_eq!(f["subject"], "Broken");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Internal error, closing"),
        "{f}"
    );
    let tree = &out.json()["tree"]["folders"];
    assert_eq!(tree[2]["name"], "Archive");
    assert_eq!(tree[2]["examine"]["result"], "ok");
    assert_eq!(tree[2]["examine"]["exists"], 2);
    assert_eq!(server.connections(), 2);
    server.assert_no_failures();
}

#[test]
fn a_nil_delimiter_mixed_with_a_real_one_is_reported() {
    let script = format!(
        "{LOGIN}
        C: $tag LIST \"\" \"\"
        S: * LIST (\\\\Noselect) \"/\" \"\"
        S: $tag OK done
        C: $tag LIST \"\" \"*\"
        S: * LIST () \"/\" INBOX
        S: * LIST () NIL Archive
        S: $tag OK done
        C: $tag LSUB \"\" \"*\"
        S: $tag OK done
        C: $tag STATUS \"INBOX\" *
        S: $tag OK done
        C: $tag STATUS \"Archive\" *
        S: $tag OK done
        C: $tag EXAMINE \"INBOX\"
        S: $tag OK [READ-ONLY] done
        C: $tag EXAMINE \"Archive\"
        S: $tag OK [READ-ONLY] done
        {LOGOUT}"
    );
    let server = ScriptedServer::start_plain(&script);
    let out = folders(&server, &[]);
    assert!(
        !findings(&out, "hierarchy.nil-delimiter").is_empty(),
        "{out:?}"
    );
    assert_eq!(
        out.json()["tree"]["folders"][1]["delimiter"],
        serde_json::Value::Null
    );
    server.assert_no_failures();
}

#[test]
fn twenty_thousand_folders_are_listed_and_written_as_csv() {
    let mut list = String::new();
    for i in 0..20_000 {
        list.push_str(&format!(
            "S: * LIST (\\\\HasNoChildren) \".\" \"Folder.F{i:05}\"\n"
        ));
    }
    let script = format!(
        "{LOGIN}
        C: $tag LIST \"\" \"\"
        S: * LIST (\\\\Noselect) \".\" \"\"
        S: $tag OK done
        C: $tag LIST \"\" \"*\"
        S: * LIST (\\\\HasChildren) \".\" Folder
        {list}
        S: $tag OK done
        C: $tag LSUB \"\" \"*\"
        S: $tag OK done
        {LOGOUT}"
    );
    let server = ScriptedServer::start_plain(&script);
    // Examining 20,000 folders is the server's time, not the walk's: the
    // test is about listing, analysing and writing them all.
    let out = folders(&server, &["--exclude", "Folder*", "--format", "csv"]);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 1 + 20_001, "{}", &out.stderr);
    assert!(rows[0].starts_with("name,raw_name,delimiter,depth,"));
    assert!(rows.iter().any(|r| r.starts_with("Folder.F19999,")));
    server.assert_no_failures();
}
