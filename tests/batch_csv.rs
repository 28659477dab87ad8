//! The migration CSV `batch` reads: a missing column stops the run before
//! any connection (exit 3); a BOM, header names in any case and quoted
//! fields are read; malformed rows (broken quoting, wrong field counts,
//! empty passwords) and duplicate users are reported with their line
//! numbers, skipped, and never quoted with their passwords.

mod common;

use common::run::{imapprobe_owned, scripted_batch_args, Outcome};
use common::scripted::ScriptedServer;
use serde_json::Value;
use std::path::Path;

/// Accepts any LOGIN.
const ACCEPT: &str = "
    S: * OK [CAPABILITY IMAP4rev1] scripted ready
    C: $tag LOGIN *
    S: $tag OK [CAPABILITY IMAP4rev1] Logged in
    C: $tag LOGOUT
    S: * BYE Logging out
    S: $tag OK Logout completed.
";

fn batch(port: u16, csv: &Path, extra: &[&str]) -> Outcome {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(extra);
    imapprobe_owned(&scripted_batch_args(port, csv, &all))
}

fn records(stdout: &str, kind: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["type"] == kind)
        .map(|v| v["data"].clone())
        .collect()
}

#[test]
fn a_missing_column_is_a_usage_error_before_any_connection() {
    let server = ScriptedServer::start_plain(ACCEPT);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "EmailAddress,Login,Password\na@x,alice,pw\n").unwrap();
    let out = batch(server.port, &csv, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("no UserName column"), "{out:?}");
    assert!(
        out.stderr.contains("EmailAddress, Login, Password"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");

    std::fs::write(&csv, "UserName,Password\nalice,pw\n").unwrap();
    let out = batch(server.port, &csv, &["--authz-column", "Mailbox"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("no Mailbox column"), "{out:?}");

    std::fs::write(&csv, "UserName;Password\nalice;pw\n").unwrap();
    let out = batch(server.port, &csv, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("';'"), "{out:?}");
    assert_eq!(server.connections(), 0, "a connection was made");
}

#[test]
fn bom_quoting_and_bad_rows() {
    let server = ScriptedServer::start_plain(ACCEPT);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    // Line numbers: 1 header (after a BOM, in other cases), 2 a quoted
    // password with a comma and a quote, 3 an unclosed quote, 4 a stray
    // quote, 5 too few fields, 6 blank, 7 an empty password, 8 a duplicate
    // (other case), 9 an admin-style name, 10 too many fields.
    let text = "\u{feff}emailaddress,USERNAME,Password\r\n\
                alice@x,alice,\"pa,ss\"\"1\"\r\n\
                bob@x,bob,\"s3cret-open\r\n\
                carol@x,carol,se\"cret-stray\r\n\
                dave@x,dave\r\n\
                \r\n\
                erin@x,erin,\r\n\
                ALICE@x,Alice,other-pw\r\n\
                frank@x,example.org/admin/frank,adm-pw\r\n\
                gina@x,gina,pw,extra\r\n";
    std::fs::write(&csv, text).unwrap();
    let out = batch(server.port, &csv, &[]);
    assert_eq!(
        out.code, 1,
        "not-run rows make the batch a warning: {out:?}"
    );
    let users: Vec<(u64, String)> = records(&out.stdout, "user")
        .iter()
        .map(|u| {
            (
                u["line"].as_u64().unwrap(),
                u["user"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = users.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            (2, "alice".to_string()),
            (9, "example.org/admin/frank".to_string())
        ]
    );
    let rows: Vec<(u64, String)> = records(&out.stdout, "row")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (3, "malformed"),
        (4, "malformed"),
        (5, "malformed"),
        (7, "malformed"),
        (8, "duplicate"),
        (10, "malformed"),
    ];
    assert_eq!(
        rows,
        expect.map(|(l, k)| (l, k.to_string())),
        "{}",
        out.stdout
    );
    let row_text = out.stdout.clone() + &out.stderr;
    assert!(row_text.contains("not closed"), "{out:?}");
    assert!(
        row_text.contains("a quote inside an unquoted field"),
        "{out:?}"
    );
    assert!(
        row_text.contains("alice is already on line 2")
            || row_text.contains("Alice is already on line 2"),
        "{out:?}"
    );
    assert!(out.stderr.contains("line 3:"), "{out:?}");
    // The server got exactly the two good logins, passwords as written.
    let received = String::from_utf8_lossy(&server.received()).into_owned();
    assert_eq!(received.matches("LOGIN").count(), 2, "{received}");
    assert!(received.contains(r#""pa,ss\"1""#), "{received}");
    assert!(received.contains("example.org/admin/frank"), "{received}");
    for secret in [
        "pa,ss",
        "s3cret-open",
        "se\"cret-stray",
        "other-pw",
        "adm-pw",
    ] {
        out.assert_no_secret(secret);
    }
    let summary = records(&out.stdout, "summary");
    assert_eq!(summary[0]["counts"]["not_run"], 6);
    let counts = &summary[0]["counts"];
    assert_eq!(
        counts["passed"].as_u64().unwrap() + counts["warned"].as_u64().unwrap(),
        2
    );
}

#[test]
fn authz_column_sends_an_admin_login_for_each_mailbox() {
    let server = ScriptedServer::start_plain(
        "
        S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] scripted ready
        C: $tag AUTHENTICATE PLAIN *
        S: $tag OK [CAPABILITY IMAP4rev1] Logged in
        C: $tag LOGOUT
        S: * BYE Logging out
        S: $tag OK Logout completed.
    ",
    );
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "EmailAddress,UserName,Password,Mailbox\nbob@x,admin,adm-pw,bob\ncarol@x,admin,adm-pw,carol\n",
    )
    .unwrap();
    let out = batch(server.port, &csv, &["--authz-column", "mailbox"]);
    // --tls none warns (tls.none) for every user: exit 1, not a failure.
    assert_eq!(out.code, 1, "{out:?}");
    let users = records(&out.stdout, "user");
    assert_eq!(users.len(), 2, "same admin, two mailboxes: not duplicates");
    let mut authz: Vec<&str> = users.iter().map(|u| u["authz"].as_str().unwrap()).collect();
    authz.sort();
    assert_eq!(authz, ["bob", "carol"]);
    server.assert_no_failures();
    out.assert_no_secret("adm-pw");
}
