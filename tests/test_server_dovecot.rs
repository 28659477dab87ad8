//! `imapprobe test-server` against a real Dovecot that the fixture
//! configures in a temp dir and starts on free loopback ports.

mod common;

use common::certs::CertKind;
use common::dovecot::{Dovecot, ALICE_PASSWORD};
use common::run::{imapprobe, Outcome};

const ADMIN_PASSWORD: &str = "adm1n-Secret";

fn run(d: &Dovecot, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Outcome {
    let port = port.to_string();
    let ca = d.ca_file.to_str().unwrap().to_string();
    let mut args = vec![
        "test-server",
        "--host",
        "localhost",
        "--port",
        &port,
        "--format",
        "json",
        "--timeout",
        "10s",
    ];
    // The fixture's ports are not 993: say which one speaks implicit TLS.
    if port == d.imaps_port.to_string() && !extra.contains(&"--tls") {
        args.extend_from_slice(&["--tls", "implicit"]);
    }
    if !extra.contains(&"--no-ca") {
        args.extend_from_slice(&["--ca-file", &ca]);
    }
    args.extend(extra.iter().filter(|a| **a != "--no-ca"));
    imapprobe(&args, env)
}

fn assert_all_pass(out: &Outcome) {
    let json = out.json();
    for f in json["findings"].as_array().unwrap() {
        assert!(
            f["status"] == "pass" || f["status"] == "skip",
            "unexpected finding {f}\n{out:?}"
        );
    }
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json["verdict"], "pass");
}

#[test]
fn implicit_tls_passes_with_the_ca_file_and_logs_in() {
    let d = Dovecot::start_default();
    let out = run(
        &d,
        d.imaps_port,
        &["--user", "alice", "--password-env", "PW"],
        &[("PW", ALICE_PASSWORD)],
    );
    assert_all_pass(&out);
    let json = out.json();
    assert_eq!(json["schema_version"], 1);
    assert!(json["facts"]["tls"]["version"]
        .as_str()
        .unwrap()
        .starts_with("TLS 1."));
    assert_eq!(json["facts"]["tls"]["host_matches"], true);
    assert_eq!(json["facts"]["server_id"]["name"], "Dovecot");
    assert!(json["facts"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "IMAP4rev1"));
    // Dovecot's password has a quote, a backslash, a space and non-ASCII:
    // it only works if the client sent it as a literal.
    assert_eq!(out.status("auth.login"), "pass");
    out.assert_no_secret(ALICE_PASSWORD);
}

#[test]
fn implicit_tls_without_the_ca_file_is_untrusted() {
    let d = Dovecot::start_default();
    let out = run(&d, d.imaps_port, &["--no-ca"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("tls.handshake"), "fail");
    out.failed_with("tls.certificate.trust", "not trusted");
}

#[test]
fn insecure_goes_on_but_warns() {
    let d = Dovecot::start_default();
    let out = run(&d, d.imaps_port, &["--no-ca", "--insecure"], &[]);
    assert_eq!(out.code, 2, "untrusted is still a failure: {out:?}");
    assert_eq!(out.status("tls.handshake"), "pass");
    assert_eq!(out.status("tls.insecure"), "warn");
    assert_eq!(out.status("imap.greeting"), "pass");
}

#[test]
fn starttls_passes_and_reports_capability_changes() {
    let d = Dovecot::start_default();
    let trace = tempfile::NamedTempFile::new().unwrap();
    let out = run(
        &d,
        d.imap_port,
        &[
            "--tls",
            "starttls",
            "--user",
            "alice",
            "--password-file",
            "/dev/stdin",
            "--trace",
            trace.path().to_str().unwrap(),
        ],
        &[],
    );
    // /dev/stdin is null here: an empty secret is a usage error (exit 3).
    assert_eq!(out.code, 3, "{out:?}");

    let pwfile = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pwfile.path(), format!("{ALICE_PASSWORD}\n")).unwrap();
    let out = run(
        &d,
        d.imap_port,
        &[
            "--tls",
            "starttls",
            "--user",
            "alice",
            "--password-file",
            pwfile.path().to_str().unwrap(),
            "--trace",
            trace.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_all_pass(&out);
    let starttls = out.finding("tls.starttls");
    assert!(starttls["message"]
        .as_str()
        .unwrap()
        .contains("capabilities"));
    let json = out.json();
    let before = json["facts"]["capabilities_before_tls"].as_array().unwrap();
    assert!(before.iter().any(|c| c == "STARTTLS"));
    let traced = std::fs::read_to_string(trace.path()).unwrap();
    assert!(traced.contains("S: * OK"), "{traced}");
    assert!(traced.contains("<redacted>"), "{traced}");
    assert!(!traced.contains(ALICE_PASSWORD), "{traced}");
    assert!(!traced.contains("wörd"), "{traced}");
    out.assert_no_secret(ALICE_PASSWORD);
}

#[test]
fn wrong_password_fails_with_the_servers_text() {
    let d = Dovecot::start_default();
    let out = run(
        &d,
        d.imaps_port,
        &["--user", "alice", "--password-env", "PW"],
        &[("PW", "not-the-password")],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("auth.login");
    assert_eq!(f["status"], "fail");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("[AUTHENTICATIONFAILED] Authentication failed."),
        "{msg}"
    );
    assert!(f["evidence"]["text"]
        .as_str()
        .unwrap()
        .contains("AUTHENTICATIONFAILED"));
    out.assert_no_secret("not-the-password");
}

#[test]
fn plaintext_auth_is_refused_without_the_flag_and_sent_with_it() {
    let d = Dovecot::start_default();
    let out = run(
        &d,
        d.imap_port,
        &["--tls", "none", "--user", "alice", "--password-env", "PW"],
        &[("PW", ALICE_PASSWORD)],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("auth.plaintext"), "fail");
    assert!(!out.has_finding("auth.login"));
    // Dovecot's log shows no login attempt at all.
    assert!(!d.log().contains("user=<alice>"), "{}", d.log());

    let out = run(
        &d,
        d.imap_port,
        &[
            "--tls",
            "none",
            "--allow-plaintext-auth",
            "--user",
            "alice",
            "--password-env",
            "PW",
        ],
        &[("PW", ALICE_PASSWORD)],
    );
    assert_eq!(out.status("auth.login"), "pass", "{out:?}");
    assert_eq!(out.status("tls.none"), "warn");
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn admin_login_with_an_authorization_identity() {
    let d = Dovecot::builder()
        .user("alice", ALICE_PASSWORD)
        .master_user("admin", ADMIN_PASSWORD)
        .start();
    let env = [("PW", ADMIN_PASSWORD)];
    let out = run(
        &d,
        d.imaps_port,
        &[
            "--user",
            "admin",
            "--authz-user",
            "alice",
            "--password-env",
            "PW",
        ],
        &env,
    );
    assert_all_pass(&out);
    let login = out.finding("auth.login");
    assert!(login["message"]
        .as_str()
        .unwrap()
        .contains("AUTHENTICATE PLAIN as admin for alice"));

    // Dovecot's user*master form through plain LOGIN works too.
    let out = run(
        &d,
        d.imaps_port,
        &[
            "--user",
            "alice*admin",
            "--auth",
            "login",
            "--password-env",
            "PW",
        ],
        &env,
    );
    assert_all_pass(&out);
    out.assert_no_secret(ADMIN_PASSWORD);
}

#[test]
fn a_self_signed_ca_certificate_is_explained() {
    let d = Dovecot::builder().cert(CertKind::SelfSignedCa).start();
    let out = run(&d, d.imaps_port, &[], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let trust = out.finding("tls.certificate.trust");
    assert!(
        trust["message"]
            .as_str()
            .unwrap()
            .contains("CA certificate"),
        "{out:?}"
    );
}

#[test]
fn the_text_report_is_readable() {
    let d = Dovecot::start_default();
    let port = d.imaps_port.to_string();
    let out = imapprobe(
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
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("imapprobe test-server  localhost:"),
        "{out:?}"
    );
    assert!(out.stdout.contains("\nCONNECTION\n"));
    assert!(out.stdout.contains("  pass  tls.handshake"));
    assert!(out.stdout.contains("VERDICT  PASS"), "{out:?}");
    assert!(!out.stdout.contains('\x1b'), "no colour without a TTY");
}
