//! Proves the Dovecot fixture itself: greeting, LOGIN with a literal,
//! master-user logins, TLS on both ports, doveadm, and clean shutdown.

mod common;

use common::certs::CertKind;
use common::dovecot::{Dovecot, ALICE_PASSWORD, SAMPLE_FOLDERS};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads one line (up to and including LF), byte by byte.
fn read_line(s: &mut impl Read) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = s.read(&mut b).expect("read from server");
        assert!(n == 1, "server closed the connection after {line:?}");
        line.push(b[0]);
        if b[0] == b'\n' {
            return String::from_utf8_lossy(&line).into_owned();
        }
    }
}

/// Sends `tag command` and returns all lines up to and including the tagged one.
fn command(s: &mut (impl Read + Write), tag: &str, cmd: &str) -> Vec<String> {
    s.write_all(format!("{tag} {cmd}\r\n").as_bytes()).unwrap();
    read_until_tagged(s, tag)
}

fn read_until_tagged(s: &mut impl Read, tag: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = read_line(s);
        let done = line.starts_with(&format!("{tag} "));
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn tagged(lines: &[String]) -> &str {
    lines.last().map(String::as_str).unwrap_or("")
}

/// `LOGIN user {N}` + password as a literal; returns the response lines.
fn login_literal(
    s: &mut (impl Read + Write),
    tag: &str,
    user: &str,
    password: &str,
) -> Vec<String> {
    s.write_all(format!("{tag} LOGIN {user} {{{}}}\r\n", password.len()).as_bytes())
        .unwrap();
    let cont = read_line(s);
    assert!(cont.starts_with('+'), "expected continuation, got {cont:?}");
    s.write_all(password.as_bytes()).unwrap();
    s.write_all(b"\r\n").unwrap();
    read_until_tagged(s, tag)
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn exists_count(lines: &[String]) -> Option<usize> {
    lines.iter().find_map(|l| {
        l.strip_prefix("* ")?
            .strip_suffix(" EXISTS\r\n")?
            .parse()
            .ok()
    })
}

#[test]
fn greeting_and_login_with_literal_password() {
    let t = Instant::now();
    let dc = Dovecot::start_default();
    eprintln!("dovecot start took {:?}", dc.startup_time);

    // Wrong password: NO, and fast (auth_failure_delay = 0). Dovecot's
    // login process then stalls *this* connection for 5 s (hard-coded), so
    // retry on a new connection.
    let mut s = connect(dc.imap_port);
    let greeting = read_line(&mut s);
    assert!(greeting.starts_with("* OK"), "greeting: {greeting:?}");
    assert!(
        greeting.contains("STARTTLS"),
        "STARTTLS offered: {greeting:?}"
    );
    let before = Instant::now();
    let r = login_literal(&mut s, "a0", "alice", "wrong");
    assert!(tagged(&r).starts_with("a0 NO"), "{r:?}");
    assert!(
        before.elapsed() < Duration::from_millis(1500),
        "{:?}",
        before.elapsed()
    );
    drop(s);

    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let before = Instant::now();
    let r = login_literal(&mut s, "a1", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("a1 OK"), "{r:?}\n{}", dc.log());
    assert!(
        before.elapsed() < Duration::from_millis(1500),
        "no auth penalty: {:?}",
        before.elapsed()
    );

    let r = command(&mut s, "a2", "ID NIL");
    assert!(r.iter().any(|l| l.starts_with("* ID (")), "{r:?}");
    let r = command(&mut s, "a3", "LIST \"\" \"*\"");
    assert!(tagged(&r).starts_with("a3 OK"), "{r:?}");
    assert!(r.iter().any(|l| l.contains("\".\" INBOX")), "{r:?}");
    let r = command(&mut s, "a4", "LOGOUT");
    assert!(tagged(&r).starts_with("a4 OK"), "{r:?}");
    let log = dc.log();
    assert!(
        !log.contains("Error:") && !log.contains("Warning:") && !log.contains("Fatal:"),
        "clean log:\n{log}"
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn master_user_logs_in_as_alice() {
    let dc = Dovecot::builder().master_user("admin", "admin pw").start();
    dc.seed_sample_mailbox("alice");
    let inbox = SAMPLE_FOLDERS[0].1;

    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let r = command(&mut s, "m1", "LOGIN \"alice*admin\" \"admin pw\"");
    assert!(tagged(&r).starts_with("m1 OK"), "{r:?}\n{}", dc.log());
    let r = command(&mut s, "m2", "EXAMINE INBOX");
    assert_eq!(exists_count(&r), Some(inbox), "{r:?}");
    command(&mut s, "m3", "LOGOUT");

    // AUTHENTICATE PLAIN: authzid alice, authcid admin.
    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let ir = base64(b"alice\0admin\0admin pw");
    let r = command(&mut s, "p1", &format!("AUTHENTICATE PLAIN {ir}"));
    assert!(tagged(&r).starts_with("p1 OK"), "{r:?}\n{}", dc.log());
    let r = command(&mut s, "p2", "EXAMINE INBOX");
    assert_eq!(exists_count(&r), Some(inbox), "{r:?}");

    // Alice's own password still works; the master password alone does not.
    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let r = login_literal(&mut s, "q1", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("q1 OK"), "{r:?}");
    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let r = command(&mut s, "q2", "LOGIN alice \"admin pw\"");
    assert!(tagged(&r).starts_with("q2 NO"), "{r:?}");
}

#[test]
fn doveadm_fetch_lists_seeded_messages() {
    let dc = Dovecot::start_default();
    dc.seed_sample_mailbox("alice");
    let out = dc.doveadm_ok(&["fetch", "-u", "alice", "mailbox uid flags", "ALL"]);
    // Records look like "mailbox: INBOX\nuid: 1\nflags: \Seen\n" separated by form feeds.
    let mut per_folder: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for rec in out.split('\x0c') {
        let field = |name: &str| {
            rec.lines()
                .find_map(|l| l.strip_prefix(name).map(str::trim))
                .map(str::to_string)
        };
        let Some(mailbox) = field("mailbox:") else {
            continue;
        };
        let flags = field("flags:").unwrap_or_default();
        let e = per_folder.entry(mailbox).or_default();
        e.0 += 1;
        if !flags.contains("\\Seen") {
            e.1 += 1;
        }
    }
    for &(folder, total, unseen) in SAMPLE_FOLDERS {
        let got = per_folder.get(folder).copied().unwrap_or((0, 0));
        assert_eq!(got, (total, unseen), "{folder}: {out}");
    }

    let list = dc.doveadm_ok(&["mailbox", "list", "-u", "alice"]);
    for &(folder, _, _) in SAMPLE_FOLDERS {
        assert!(list.lines().any(|l| l == folder), "{folder} in {list}");
    }
    // Files belong to the mail user, not root.
    use std::os::unix::fs::MetadataExt;
    let inbox_cur = dc.maildir("alice").join("cur");
    for entry in std::fs::read_dir(inbox_cur).unwrap() {
        assert_eq!(entry.unwrap().metadata().unwrap().uid(), dc.mail_uid);
    }
}

fn tls_client(dc: &Dovecot) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&dc.ca_file).unwrap();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
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

fn tls_over(
    dc: &Dovecot,
    tcp: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls_client(dc), name).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn tls_on_imaps_and_starttls_verifies_with_the_ca() {
    let dc = Dovecot::start_default();

    let mut tls = tls_over(&dc, connect(dc.imaps_port));
    let greeting = read_line(&mut tls);
    assert!(greeting.starts_with("* OK"), "{greeting:?}\n{}", dc.log());
    let r = login_literal(&mut tls, "t1", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("t1 OK"), "{r:?}");

    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let r = command(&mut s, "s1", "STARTTLS");
    assert!(tagged(&r).starts_with("s1 OK"), "{r:?}");
    let mut tls = tls_over(&dc, s);
    let r = command(&mut tls, "s2", "CAPABILITY");
    assert!(r.iter().any(|l| l.contains("AUTH=PLAIN")), "{r:?}");
    let r = login_literal(&mut tls, "s3", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("s3 OK"), "{r:?}");
}

#[test]
fn self_signed_ca_certificate_is_refused_by_rustls() {
    let dc = Dovecot::builder().cert(CertKind::SelfSignedCa).start();
    let mut tls = tls_over(&dc, connect(dc.imaps_port));
    let mut b = [0u8; 1];
    let err = tls
        .read(&mut b)
        .expect_err("rustls must refuse a CA:TRUE end entity");
    assert!(
        format!("{err:?}").contains("CaUsedAsEndEntity"),
        "unexpected error: {err:?}"
    );
}

#[test]
fn max_userip_connections_is_enforced() {
    let dc = Dovecot::builder().max_userip_connections(1).start();
    let mut first = connect(dc.imap_port);
    read_line(&mut first);
    let r = login_literal(&mut first, "c1", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("c1 OK"), "{r:?}");
    let mut second = connect(dc.imap_port);
    read_line(&mut second);
    let r = login_literal(&mut second, "c2", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("c2 NO"), "{r:?}");
    assert!(
        tagged(&r).contains("mail_max_userip_connections=1"),
        "{r:?}"
    );
}

fn processes_named(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn drop_stops_every_dovecot_process() {
    let dc = Dovecot::builder().max_userip_connections(3).start();
    let dir = dc.dir.clone();
    let port = dc.imap_port;
    // Have a login and a mail process running at drop time.
    let mut s = connect(dc.imap_port);
    read_line(&mut s);
    let r = login_literal(&mut s, "d1", "alice", ALICE_PASSWORD);
    assert!(tagged(&r).starts_with("d1 OK"), "{r:?}");
    let name = dc.instance_name.clone();
    // The mail process runs as the unprivileged mail user, never root.
    let imap: Vec<String> = processes_named(&format!("{name}/imap"))
        .into_iter()
        .filter(|p| !p.contains("imap-login"))
        .collect();
    assert_eq!(imap.len(), 1, "{imap:?}");
    let pid = imap[0].split(':').next().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uids: Vec<u32> = uid_line[4..]
        .split_whitespace()
        .map(|u| u.parse().unwrap())
        .collect();
    assert!(uids.iter().all(|&u| u == dc.mail_uid), "{uid_line}");
    assert!(
        !processes_named(&format!("{name}/")).is_empty(),
        "process titles carry {name}"
    );
    drop(dc);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_named(&format!("{name}/")).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_named(&format!("{name}/")), Vec::<String>::new());
    assert!(!dir.exists(), "temp dir removed");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
