//! The least a Rust client can do per login, for `bench/batch.sh`: every
//! row of a migration CSV logged in one after the other over blocking
//! sockets, the address resolved once, a full TLS handshake with the
//! certificate verified by webpki (rustls and ring, as imapprobe), then
//! `LOGIN` and `LOGOUT` with no parsing beyond finding the tagged line.
//! Its CPU per login is the floor of any rustls client on this machine —
//! what remains when there is no report, no grammar check and no runtime.
//!
//! usage: login-floor CSV PORT CA_FILE

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [csv, port, ca] = args.as_slice() else {
        eprintln!("usage: login-floor CSV PORT CA_FILE");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("port");
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).expect("CA file");
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.expect("PEM")).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let addr = ("localhost", port)
        .to_socket_addrs()
        .expect("resolve")
        .next()
        .expect("an address");
    let text = std::fs::read_to_string(csv).expect("CSV");
    let (mut ok, mut total) = (0, 0);
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (user, password) = (fields[1], fields[2]);
        total += 1;
        if login(&config, addr, user, password).is_ok() {
            ok += 1;
        }
    }
    eprintln!("{ok}/{total} logins");
}

fn login(
    config: &Arc<rustls::ClientConfig>,
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
) -> std::io::Result<()> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    let name = "localhost".try_into().expect("server name");
    let conn =
        rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    let mut line = String::new();
    tls.read_line(&mut line)?;
    tls.get_mut()
        .write_all(format!("a LOGIN \"{user}\" \"{password}\"\r\n").as_bytes())?;
    until_tagged(&mut tls, "a ")?;
    tls.get_mut().write_all(b"b LOGOUT\r\n")?;
    until_tagged(&mut tls, "b ")?;
    tls.get_mut().conn.send_close_notify();
    let _ = tls.get_mut().flush();
    Ok(())
}

fn until_tagged(r: &mut impl BufRead, tag: &str) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(rest) = line.strip_prefix(tag) {
            return if rest.starts_with("OK") {
                Ok(())
            } else {
                Err(std::io::Error::other(line.clone()))
            };
        }
    }
}
