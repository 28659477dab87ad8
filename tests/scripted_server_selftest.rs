//! Tests of the scripted IMAP server fixture itself, with bare std and tokio
//! clients (no imapprobe code).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::certs::{CertKind, TestPki};
use common::scripted::{raw_tcp_listener_that_speaks, Mode, ScriptedServer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

const WAIT: Duration = Duration::from_secs(5);

/// A blocking line client.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(server: &ScriptedServer) -> Client {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read line");
        line
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Reads to end of stream.
    fn rest(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).expect("read to end");
        rest
    }
}

fn client_tls_config(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pki.ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn greeting_and_tag_capture_round_trip() {
    let server = ScriptedServer::start_plain(
        "
        # a comment
        S: * OK [CAPABILITY IMAP4rev1] scripted ready
        C: $tag CAPABILITY
        S: * CAPABILITY IMAP4rev1 STARTTLS
        S: $tag OK done
        C: $tag logout
        S: * BYE see you
        S: $tag OK bye
        ",
    );
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK [CAPABILITY IMAP4rev1] scripted ready\r\n");
    c.send(b"x7 CAPABILITY\r\n");
    assert_eq!(c.line(), "* CAPABILITY IMAP4rev1 STARTTLS\r\n");
    assert_eq!(c.line(), "x7 OK done\r\n");
    c.send(b"A.8 LOGOUT\r\n");
    assert_eq!(c.line(), "* BYE see you\r\n");
    assert_eq!(c.line(), "A.8 OK bye\r\n");
    drop(c);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
    assert_eq!(server.received(), b"x7 CAPABILITY\r\nA.8 LOGOUT\r\n");
    assert_eq!(server.connections(), 1);
}

#[test]
fn literal_login_and_literal_plus() {
    let server = ScriptedServer::start_plain(
        r#"
        S: * OK ready
        C: $tag LOGIN {7}
        S: + go ahead
        C: "q u"é "secret"
        S: $tag OK logged in
        C: $tag APPEND INBOX {6+}
        C: a\r\nb c *
        S: $tag OK appended
        "#,
    );
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK ready\r\n");
    c.send(b"a1 LOGIN {7}\r\n");
    assert_eq!(c.line(), "+ go ahead\r\n");
    c.send("\"q u\"é \"secret\"\r\n".as_bytes());
    assert_eq!(c.line(), "a1 OK logged in\r\n");
    // LITERAL+: no continuation request; the literal holds a CRLF.
    c.send(b"a2 APPEND INBOX {6+}\r\na\r\nb c (\\Seen)\r\n");
    assert_eq!(c.line(), "a2 OK appended\r\n");
    drop(c);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
}

#[test]
fn quoted_strings_and_wildcards_in_patterns() {
    let server = ScriptedServer::start_plain(
        r#"
        S: * OK ready
        C: $tag login "a\"b" "c\\d"
        S: $tag OK in
        C: * uid fetch 1:\* (*)
        S: $tag OK fetched
        "#,
    );
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK ready\r\n");
    c.send(b"L1 LOGIN \"a\\\"b\" \"c\\\\d\"\r\n");
    assert_eq!(c.line(), "L1 OK in\r\n");
    c.send(b"F2 UID FETCH 1:* (FLAGS UID)\r\n");
    assert_eq!(c.line(), "L1 OK fetched\r\n", "a `*` tag captures nothing");
    drop(c);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
}

#[test]
fn optional_steps_and_scripts_per_connection() {
    let server = ScriptedServer::start(
        Mode::Plain,
        vec![
            "S: * OK first\nC? $tag ID *\nS: * ID NIL\nS: $tag OK id\nC: $tag NOOP\nS: $tag OK noop",
            "S: * OK later\nC? $tag ID *\nC: $tag NOOP\nS: $tag OK noop\nS+ * partial\\x00\\n",
        ],
    );
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK first\r\n");
    c.send(b"i1 ID NIL\r\n");
    assert_eq!(c.line(), "* ID NIL\r\n");
    assert_eq!(c.line(), "i1 OK id\r\n");
    c.send(b"n1 NOOP\r\n");
    assert_eq!(c.line(), "n1 OK noop\r\n");
    drop(c);
    for _ in 0..2 {
        let mut c = Client::connect(&server);
        assert_eq!(c.line(), "* OK later\r\n");
        c.send(b"n2 noop\r\n");
        assert_eq!(c.line(), "n2 OK noop\r\n");
        assert_eq!(c.line(), "* partial\0\n");
    }
    assert!(server.wait_finished(3, WAIT));
    server.assert_no_failures();
    assert_eq!(server.connections(), 3);
}

#[test]
fn mismatch_is_recorded_and_answered_with_bye() {
    let server = ScriptedServer::start_plain("S: * OK ready\nC: $tag NOOP\nS: $tag OK noop");
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK ready\r\n");
    c.send(b"a1 STORE 1 +FLAGS (\\Deleted)\r\n");
    assert_eq!(c.line(), "* BYE script mismatch\r\n");
    assert!(c.rest().is_empty(), "the server closes after the BYE");
    assert!(server.wait_finished(1, WAIT));
    let failures = server.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("C: $tag NOOP"), "{failures:?}");
    assert!(failures[0].contains("a1 STORE 1 +FLAGS"), "{failures:?}");
}

#[test]
fn client_closing_where_a_line_is_expected_is_a_failure() {
    let server = ScriptedServer::start_plain("S: * OK ready\nC: $tag LOGIN *");
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK ready\r\n");
    c.send(b"a1 LOG");
    drop(c);
    assert!(server.wait_finished(1, WAIT));
    let failures = server.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("a1 LOG"), "{failures:?}");
}

#[test]
fn tls_client_on_plain_server_is_recorded() {
    let server = ScriptedServer::start_plain("S: * OK plain server ready\n!until-close");
    let mut c = Client::connect(&server);
    c.send(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
    assert_eq!(c.line(), "* OK plain server ready\r\n");
    drop(c);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
    assert!(server.received_plaintext_wire().starts_with(&[0x16, 0x03]));
}

#[tokio::test]
async fn implicit_tls_round_trip() {
    let pki = TestPki::new(CertKind::Good);
    let server = ScriptedServer::start_tls(
        pki.rustls_server_config(),
        "S: * OK tls ready\nC: $tag LOGIN user secret\nS: $tag OK welcome",
    );
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let tls = TlsConnector::from(client_tls_config(&pki))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("handshake");
    let mut tls = tokio::io::BufReader::new(tls);
    let mut line = String::new();
    tls.read_line(&mut line).await.unwrap();
    assert_eq!(line, "* OK tls ready\r\n");
    tls.write_all(b"t1 LOGIN user secret\r\n").await.unwrap();
    line.clear();
    tls.read_line(&mut line).await.unwrap();
    assert_eq!(line, "t1 OK welcome\r\n");
    drop(tls);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
    assert!(contains(&server.received(), b"secret"));
    assert!(server.received_plaintext_wire().is_empty());
}

#[tokio::test]
async fn starttls_with_injection_and_plaintext_wire() {
    let pki = TestPki::new(CertKind::Good);
    let server = ScriptedServer::start_plain(
        "
        S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
        C: $tag STARTTLS
        S: $tag OK Begin TLS
        S: * OK injected
        !starttls
        C: $tag LOGIN user secret
        S: $tag OK welcome
        ",
    )
    .with_starttls_config(pki.rustls_server_config());
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    // Plaintext part, read without buffering past what the server sent.
    let mut plain = Vec::new();
    let mut chunk = [0u8; 512];
    while !plain.ends_with(b"ready\r\n") {
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        plain.extend_from_slice(&chunk[..n]);
    }
    tcp.write_all(b"s1 STARTTLS\r\n").await.unwrap();
    plain.clear();
    while !plain.ends_with(b"* OK injected\r\n") {
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        plain.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(plain, b"s1 OK Begin TLS\r\n* OK injected\r\n");
    let tls = TlsConnector::from(client_tls_config(&pki))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("handshake");
    let mut tls = tokio::io::BufReader::new(tls);
    tls.write_all(b"s2 LOGIN user secret\r\n").await.unwrap();
    let mut line = String::new();
    tls.read_line(&mut line).await.unwrap();
    assert_eq!(line, "s2 OK welcome\r\n");
    drop(tls);
    assert!(server.wait_finished(1, WAIT));
    server.assert_no_failures();
    assert_eq!(server.received_plaintext_wire(), b"s1 STARTTLS\r\n");
    assert_eq!(
        server.received(),
        b"s1 STARTTLS\r\ns2 LOGIN user secret\r\n"
    );
    assert!(server.tls_errors().is_empty());
}

#[test]
fn starttls_without_config_is_a_failure() {
    let server = ScriptedServer::start_plain("S: * OK ready\n!starttls");
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* OK ready\r\n");
    assert!(c.rest().is_empty());
    assert!(server.wait_finished(1, WAIT));
    assert_eq!(server.failures().len(), 1);
}

#[tokio::test]
async fn hang_keeps_the_client_waiting_until_the_server_is_dropped() {
    let server = ScriptedServer::start_plain("S: * OK ready\nC: $tag NOOP\n!hang");
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut tcp = tokio::io::BufReader::new(tcp);
    let mut line = String::new();
    tcp.read_line(&mut line).await.unwrap();
    assert_eq!(line, "* OK ready\r\n");
    tcp.write_all(b"h1 NOOP\r\n").await.unwrap();
    line.clear();
    let waited = tokio::time::timeout(Duration::from_millis(300), tcp.read_line(&mut line)).await;
    assert!(waited.is_err(), "the server answered: {line:?}");
    server.assert_no_failures();
    drop(server);
    let mut rest = Vec::new();
    let eof = tokio::time::timeout(WAIT, tcp.read_to_end(&mut rest)).await;
    assert!(matches!(eof, Ok(Ok(0))), "{eof:?}");
}

#[test]
fn close_sleep_and_raw_listener() {
    let server = ScriptedServer::start_plain("!sleep 50\nS: * BYE busy\n!close");
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "* BYE busy\r\n");
    assert!(c.rest().is_empty());

    let raw = raw_tcp_listener_that_speaks(b"\xff\xfe garbage");
    let mut c = Client::connect(&raw);
    let mut got = [0u8; 10];
    c.reader.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"\xff\xfe garbage");
}

#[test]
fn port_closed_refuses_connections() {
    let port = ScriptedServer::port_closed();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
