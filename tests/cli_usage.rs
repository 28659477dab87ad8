//! Usage problems stop the run before any connection, with exit code 3 and
//! a message that says what to fix.

mod common;

use common::run::imapprobe;
use common::scripted::ScriptedServer;

#[test]
fn an_unreadable_password_file_could_not_run() {
    let port = ScriptedServer::port_closed().to_string();
    let out = imapprobe(
        &[
            "test-server",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            "alice",
            "--password-file",
            "/nonexistent/pw",
        ],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot read secret file /nonexistent/pw"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_password_variable_could_not_run() {
    let out = imapprobe(
        &[
            "test-server",
            "--host",
            "127.0.0.1",
            "--user",
            "alice",
            "--password-env",
            "IMAPPROBE_UNSET_VAR",
        ],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("IMAPPROBE_UNSET_VAR is not set"),
        "{out:?}"
    );
}

#[test]
fn no_password_source_and_no_terminal_could_not_run() {
    let out = imapprobe(
        &["test-server", "--host", "127.0.0.1", "--user", "alice"],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("not a terminal"), "{out:?}");
}

#[test]
fn a_bad_timeout_or_tls_mode_is_a_usage_error() {
    for args in [
        &["test-server", "--host", "h", "--timeout", "soon"][..],
        &["test-server", "--host", "h", "--timeout", "0s"][..],
        &["test-server", "--host", "h", "--tls", "maybe"][..],
        &["test-server"][..],
    ] {
        let out = imapprobe(args, &[]);
        assert_eq!(out.code, 3, "{args:?}: {out:?}");
    }
}

#[test]
fn an_unusable_ca_file_could_not_run() {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let port = ScriptedServer::port_closed().to_string();
    let out = imapprobe(
        &[
            "test-server",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--ca-file",
            empty.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("no PEM certificate"), "{out:?}");
}

#[test]
fn help_lists_the_exit_codes() {
    let out = imapprobe(&["--help"], &[]);
    assert_eq!(out.code, 0);
    assert!(out
        .stdout
        .contains("Exit codes: 0 pass, 1 warnings only, 2 failures, 3 could not run."));
}

#[test]
fn a_monitor_gets_an_unknown_line_when_the_run_cannot_start() {
    // A bad flag value, and a missing secret: both exit 3 with one
    // "IMAP UNKNOWN - …" status line on stdout, as the plugin guidelines want.
    let bad = imapprobe(
        &[
            "test-server",
            "--host",
            "h",
            "--timeout",
            "soon",
            "--format",
            "nagios",
        ],
        &[],
    );
    assert_eq!(bad.code, 3, "{bad:?}");
    assert_eq!(bad.stdout.lines().count(), 1, "{bad:?}");
    assert!(
        bad.stdout
            .starts_with("IMAP UNKNOWN - invalid value 'soon'"),
        "{bad:?}"
    );
    let missing = imapprobe(
        &[
            "test-server",
            "--host",
            "h",
            "--user",
            "a",
            "--password-env",
            "IMAPPROBE_UNSET_VAR",
            "--format=nagios",
        ],
        &[],
    );
    assert_eq!(missing.code, 3, "{missing:?}");
    assert_eq!(
        missing.stdout,
        "IMAP UNKNOWN - environment variable IMAPPROBE_UNSET_VAR is not set\n"
    );
    // Without Nagios output, stdout stays empty.
    let plain = imapprobe(&["test-server", "--host", "h", "--timeout", "soon"], &[]);
    assert!(plain.stdout.is_empty(), "{plain:?}");
}

/// `batch` takes users and passwords from the CSV: its help does not offer
/// the one-mailbox flags it shares with `check`, and giving one anyway is
/// a usage error that says where the credentials come from.
#[test]
fn batch_help_leaves_out_the_one_mailbox_flags_and_refuses_them() {
    let help = imapprobe(&["batch", "--help"], &[]);
    assert_eq!(help.code, 0, "{help:?}");
    for flag in [
        "--user ",
        "--password-env",
        "--password-file",
        "--token-env",
        "--authz-user",
    ] {
        assert!(!help.stdout.contains(flag), "{flag} in:\n{}", help.stdout);
    }
    assert!(help.stdout.contains("--authz-column"), "{}", help.stdout);
    let check = imapprobe(&["check", "--help"], &[]);
    assert!(check.stdout.contains("--password-env"), "{}", check.stdout);

    let out = imapprobe(
        &[
            "batch",
            "--csv",
            "users.csv",
            "--host",
            "127.0.0.1",
            "--password-env",
            "PW",
        ],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains(
            "--password-env is for one mailbox: batch takes user names and passwords from the CSV"
        ),
        "{out:?}"
    );
}
