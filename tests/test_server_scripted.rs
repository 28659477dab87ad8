//! `imapprobe test-server` against an in-process scripted server, for the
//! faults a real server will not produce on demand.

mod common;

use common::certs::{CertKind, TestPki};
use common::run::imapprobe;
use common::scripted::{Mode, ScriptedServer};
use std::time::Duration;

const PASSWORD: &str = "s3cr\"et pw";

/// A plaintext login as alice, the password from $PW, credentials allowed.
const PLAINTEXT_LOGIN: &[&str] = &[
    "--tls",
    "none",
    "--allow-plaintext-auth",
    "--user",
    "alice",
    "--password-env",
    "PW",
];

/// The end every script has: our LOGOUT, answered properly.
const LOGOUT: &str = "
    C: $tag LOGOUT
    S: * BYE Logging out
    S: $tag OK Logout completed.
";

/// `test-server` on the port, JSON out; `extra` may override host and timeout.
fn args<'a>(port: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["test-server", "--port", port, "--format", "json"];
    if !extra.contains(&"--host") {
        v.extend_from_slice(&["--host", "127.0.0.1"]);
    }
    if !extra.contains(&"--timeout") {
        v.extend_from_slice(&["--timeout", "3s"]);
    }
    v.extend_from_slice(extra);
    v
}

#[test]
fn closed_port_fails_with_refused() {
    let port = ScriptedServer::port_closed().to_string();
    let out = imapprobe(&args(&port, &["--tls", "none"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.failed_with("connect.tcp", "refused");
    assert!(f["predicts"]
        .as_str()
        .unwrap()
        .contains("MigrationServerConnectionFailed"));
}

#[test]
fn unresolvable_name_is_a_dns_failure() {
    let out = imapprobe(
        &[
            "test-server",
            "--host",
            "no-such-host.invalid",
            "--format",
            "json",
            "--timeout",
            "5s",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("connect.dns"), "fail");
    assert!(!out.has_finding("connect.tcp"));
}

#[test]
fn tls_spoken_to_a_plaintext_server_is_named() {
    let server = ScriptedServer::start_plain("S: * OK plain server ready\n!until-close");
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "implicit"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.failed_with("tls.handshake", "plaintext");
    assert!(f["evidence"]["text"]
        .as_str()
        .unwrap()
        .starts_with("* OK plain server ready"));
}

#[test]
fn plaintext_spoken_to_a_tls_server_is_named() {
    let pki = TestPki::new(CertKind::Good);
    let server = ScriptedServer::start(
        Mode::ImplicitTls(pki.rustls_server_config()),
        vec!["S: * OK [CAPABILITY IMAP4rev1] tls ready\n!until-close"],
    );
    let port = server.port.to_string();
    let out = imapprobe(
        &args(&port, &["--tls", "starttls", "--timeout", "700ms"]),
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    out.failed_with("imap.greeting", "expects TLS");
}

#[test]
fn bye_greeting_fails_with_the_servers_words() {
    let server = ScriptedServer::start_plain("S: * BYE Too many connections from your IP\n!close");
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "none"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.failed_with("imap.greeting", "Too many connections from your IP");
}

#[test]
fn a_greeting_that_never_comes_fails_at_the_timeout() {
    let server = ScriptedServer::start_plain("!hang");
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "none", "--timeout", "400ms"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.failed_with("imap.greeting", "no greeting");
}

#[test]
fn garbage_greeting_is_not_imap() {
    let server = ScriptedServer::start_plain("S: SSH-2.0-OpenSSH_9.2p1 Debian-2\n!until-close");
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "none"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.failed_with("imap.greeting", "not IMAP");
    assert_eq!(f["evidence"]["text"], "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
}

#[test]
fn no_starttls_on_143_is_a_failure() {
    let script = format!("S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\n{LOGOUT}");
    let server = ScriptedServer::start_plain(&script);
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "starttls"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("tls.starttls"), "fail");
    assert_eq!(out.status("imap.capability"), "pass");
    server.assert_no_failures();
}

#[test]
fn bytes_injected_after_starttls_ok_are_a_failure() {
    let pki = TestPki::new(CertKind::Good);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &pki.ca_pem).unwrap();
    let script = format!(
        "S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
         C: $tag STARTTLS
         S+ $tag OK Begin TLS\\r\\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\\r\\n
         !starttls
         C: $tag CAPABILITY
         S: * CAPABILITY IMAP4rev1 AUTH=PLAIN
         S: $tag OK done
         {LOGOUT}"
    );
    let server =
        ScriptedServer::start_plain(&script).with_starttls_config(pki.rustls_server_config());
    let port = server.port.to_string();
    let out = imapprobe(
        &args(
            &port,
            &[
                "--tls",
                "starttls",
                "--ca-file",
                ca.path().to_str().unwrap(),
            ],
        ),
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("tls.starttls.injection");
    assert_eq!(f["status"], "fail");
    assert!(f["evidence"]["text"].as_str().unwrap().contains("injected"));
}

#[test]
fn login_no_reports_the_servers_text_and_code() {
    let script = format!(
        "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
         C: $tag LOGIN \"alice\" *
         S: $tag NO [AUTHENTICATIONFAILED] Authentication failed.
         {LOGOUT}"
    );
    let server = ScriptedServer::start_plain(&script);
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, PLAINTEXT_LOGIN), &[("PW", PASSWORD)]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("auth.login");
    assert_eq!(f["status"], "fail");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("[AUTHENTICATIONFAILED] Authentication failed."),
        "{msg}"
    );
    assert!(f["predicts"].as_str().unwrap().contains("LoginCommand"));
    out.assert_no_secret(PASSWORD);
    // The password went over the wire quoted, exactly once.
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    let wire = String::from_utf8_lossy(&server.received()).into_owned();
    assert!(wire.contains("LOGIN \"alice\" \"s3cr\\\"et pw\""), "{wire}");
    server.assert_no_failures();
}

#[test]
fn plaintext_credentials_are_refused_without_the_flag() {
    let server = ScriptedServer::start_plain(&format!(
        "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\n{LOGOUT}"
    ));
    let port = server.port.to_string();
    let out = imapprobe(
        &args(
            &port,
            &["--tls", "none", "--user", "alice", "--password-env", "PW"],
        ),
        &[("PW", PASSWORD)],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("auth.plaintext"), "fail");
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    let wire = String::from_utf8_lossy(&server.received()).into_owned();
    assert!(
        !wire.contains("s3cr"),
        "credentials crossed in plaintext: {wire}"
    );
    assert!(!wire.to_ascii_uppercase().contains("LOGIN"), "{wire}");
    server.assert_no_failures();
}

#[test]
fn logindisabled_is_honoured() {
    let server = ScriptedServer::start_plain(&format!(
        "S: * OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\n{LOGOUT}"
    ));
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, PLAINTEXT_LOGIN), &[("PW", PASSWORD)]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("auth.mechanism");
    assert!(f["message"].as_str().unwrap().contains("LOGINDISABLED"));
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    assert!(!String::from_utf8_lossy(&server.received()).contains("s3cr"));
    server.assert_no_failures();
}

#[test]
fn xoauth2_failure_shows_the_json_error_and_never_the_token() {
    let pki = TestPki::new(CertKind::Good);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &pki.ca_pem).unwrap();
    // {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}
    let script = format!(
        "S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready
         C: $tag AUTHENTICATE XOAUTH2 *
         S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==
         C: *
         S: $tag NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)
         {LOGOUT}"
    );
    let server =
        ScriptedServer::start(Mode::ImplicitTls(pki.rustls_server_config()), vec![&script]);
    let port = server.port.to_string();
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), "ya29.TOKEN-VALUE\n").unwrap();
    let trace = tempfile::NamedTempFile::new().unwrap();
    let out = imapprobe(
        &args(
            &port,
            &[
                "--host",
                "localhost",
                "--tls",
                "implicit",
                "--ca-file",
                ca.path().to_str().unwrap(),
                "--user",
                "alice@example.org",
                "--token-file",
                token_file.path().to_str().unwrap(),
                "--trace",
                trace.path().to_str().unwrap(),
            ],
        ),
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("auth.login");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("AUTHENTICATE XOAUTH2"), "{msg}");
    assert!(msg.contains("\"status\":\"401\""), "{msg}");
    out.assert_no_secret("TOKEN-VALUE");
    let traced = std::fs::read_to_string(trace.path()).unwrap();
    assert!(!traced.contains("TOKEN-VALUE"), "{traced}");
    assert!(
        traced.contains("C: a") && traced.contains("AUTHENTICATE XOAUTH2 <redacted>"),
        "{traced}"
    );
    server.assert_no_failures();
}

#[test]
fn an_endless_line_is_cut_at_the_limit_and_reported() {
    let endless = "x".repeat(1_100_000);
    let script = format!("S+ * OK {endless}\n!until-close");
    let server = ScriptedServer::start_plain(&script);
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "none"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("imap.greeting");
    assert!(
        f["message"].as_str().unwrap().contains("longer than"),
        "{out:?}"
    );
}

#[test]
fn the_line_limit_is_configurable() {
    let long = "y".repeat(5000);
    let script = format!("S: * OK {long}\n!until-close");
    let server = ScriptedServer::start_plain(&script);
    let port = server.port.to_string();
    let out = imapprobe(
        &args(&port, &["--tls", "none", "--max-line-bytes", "4096"]),
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let f = out.finding("imap.greeting");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("longer than 4096 bytes"),
        "{out:?}"
    );
    let out = imapprobe(
        &args(&port, &["--tls", "none", "--max-line-bytes", "10"]),
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
}

#[test]
fn a_huge_literal_is_refused_and_the_report_still_comes() {
    let script = "S: * OK [CAPABILITY IMAP4rev1 ID] ready
         C: $tag ID *
         S: * ID (\"name\" {99999999999}
         !until-close";
    let server = ScriptedServer::start_plain(script);
    let port = server.port.to_string();
    let out = imapprobe(&args(&port, &["--tls", "none", "--timeout", "1s"]), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    out.failed_with("imap.id", "99999999999");
    assert_eq!(out.status("imap.greeting"), "pass");
}

/// Runs test-server with implicit TLS against a scripted server presenting `kind`.
fn probe_certificate(kind: CertKind) -> common::run::Outcome {
    let pki = TestPki::new(kind);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &pki.ca_pem).unwrap();
    let script = format!("S: * OK [CAPABILITY IMAP4rev1] ready\n{LOGOUT}");
    let server =
        ScriptedServer::start(Mode::ImplicitTls(pki.rustls_server_config()), vec![&script]);
    let port = server.port.to_string();
    imapprobe(
        &args(
            &port,
            &[
                "--host",
                "localhost",
                "--tls",
                "implicit",
                "--ca-file",
                ca.path().to_str().unwrap(),
            ],
        ),
        &[],
    )
}

#[test]
fn an_expired_certificate_fails_the_handshake_and_says_so() {
    let out = probe_certificate(CertKind::Expired);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.status("tls.handshake"), "fail");
    out.failed_with("tls.certificate.expiry", "expired on 2021-01-01");
}

#[test]
fn a_certificate_expiring_soon_is_a_warning() {
    let out = probe_certificate(CertKind::ExpiresSoon);
    assert_eq!(out.code, 1, "{out:?}");
    let expiry = out.finding("tls.certificate.expiry");
    assert_eq!(expiry["status"], "warn");
    assert!(
        expiry["message"]
            .as_str()
            .unwrap()
            .contains("expires in 5 days"),
        "{out:?}"
    );
    assert_eq!(out.json()["facts"]["tls"]["days_left"], 5);
}

#[test]
fn a_certificate_for_another_name_fails_the_host_check() {
    let out = probe_certificate(CertKind::WrongHost);
    assert_eq!(out.code, 2, "{out:?}");
    out.failed_with("tls.certificate.hostname", "mail.example.invalid");
}

#[test]
fn a_preauth_greeting_counts_as_logged_in() {
    let script =
        format!("S: * PREAUTH [CAPABILITY IMAP4rev1] already logged in as alice\n{LOGOUT}");
    let server = ScriptedServer::start_plain(&script);
    let port = server.port.to_string();
    let out = imapprobe(
        &args(
            &port,
            &["--tls", "none", "--user", "alice", "--password-env", "PW"],
        ),
        &[("PW", PASSWORD)],
    );
    assert_eq!(out.status("imap.greeting"), "pass", "{out:?}");
    let login = out.finding("auth.login");
    assert_eq!(login["status"], "pass");
    assert!(login["message"].as_str().unwrap().contains("PREAUTH"));
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    assert!(!String::from_utf8_lossy(&server.received()).contains("s3cr"));
    server.assert_no_failures();
}

/// A server that answers the ClientHello with a fatal TLS alert, as an old
/// server speaking only TLS 1.0 does (protocol_version) or one with no
/// cipher in common (handshake_failure): the handshake finding names the
/// alert and what it means, and the rest of the report is still written.
#[test]
fn a_tls_alert_is_named_and_explained() {
    for (alert, words) in [
        (
            70u8,
            "protocol_version alert: it likely speaks only TLS 1.0 or 1.1",
        ),
        (
            40u8,
            "handshake_failure alert: no cipher suite or key exchange in common",
        ),
    ] {
        // An alert record: content type 21, TLS 1.0 record version, fatal (2).
        let server = common::scripted::raw_tcp_listener_that_speaks(&[
            0x15, 0x03, 0x01, 0x00, 0x02, 0x02, alert,
        ]);
        let port = server.port.to_string();
        let out = imapprobe(&args(&port, &["--tls", "implicit"]), &[]);
        assert_eq!(out.code, 2, "{out:?}");
        let f = out.failed_with("tls.handshake", words);
        assert!(f["remedy"].as_str().unwrap().contains("TLS 1.2"), "{f}");
        assert_eq!(out.status("connect.tcp"), "pass");
        assert_eq!(out.json()["verdict"], "fail");
    }
}

/// With no --password-env or --password-file, the password is asked for
/// on the terminal, without echo: run under a real pseudo-terminal
/// (util-linux `script`), the password typed at the prompt logs in, and
/// it appears nowhere in what the terminal shows.
#[test]
fn the_password_prompt_reads_the_terminal_without_echo() {
    use std::io::{Read, Write};
    let typed = "typed-at-the-prompt 1";
    let script = format!(
        "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
         C: $tag LOGIN \"alice\" \"{typed}\"
         S: $tag OK [CAPABILITY IMAP4rev1] Logged in
         {LOGOUT}"
    );
    let server = ScriptedServer::start_plain(&script);
    let command = format!(
        "{} test-server --host 127.0.0.1 --port {} --tls none --allow-plaintext-auth --user alice --timeout 5s",
        env!("CARGO_BIN_EXE_imapprobe"),
        server.port
    );
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script (Debian: bsdutils) runs the probe under a pseudo-terminal");
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let shown = shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains("IMAP password for alice: ") {
        assert!(std::time::Instant::now() < deadline, "no prompt");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The prompt is written before echo is turned off; let that happen
    // before typing, as a person would.
    std::thread::sleep(Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{typed}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let shown = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    assert!(!shown.contains(typed), "the password was echoed:\n{shown}");
    assert!(shown.contains("LOGIN as alice"), "{shown}");
    // A plaintext connection warns (exit 1); the login itself passed.
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(server.wait_finished(1, Duration::from_secs(5)));
    server.assert_no_failures();
}
