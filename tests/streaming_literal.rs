//! A 150 MB `BODY[]` literal passes through the session in constant memory:
//! counted, checked for NUL, handed to a consumer, never held whole. This
//! file is its own test binary, so the peak RSS it reads is its own.

use imapprobe::session::{LiteralSink, Session};
use imapprobe::trace::Trace;
use imapprobe::transport::Connection;
use std::io::Write;
use std::time::Duration;

const SIZE: u64 = 150 * 1024 * 1024;

/// Serves `head`, then `size` bytes of message-like text (a NUL at
/// `nul_at` if given), then `tail`, generated in chunks.
fn serve(head: String, size: u64, nul_at: Option<u64>, tail: &'static [u8]) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n";
        let mut chunk = Vec::with_capacity(64 * 1024);
        while chunk.len() + line.len() <= 64 * 1024 {
            chunk.extend_from_slice(line);
        }
        let mut sent = 0u64;
        while sent < size {
            let n = (size - sent).min(chunk.len() as u64) as usize;
            let mut piece = chunk[..n].to_vec();
            if let Some(at) = nul_at.filter(|&at| at >= sent && at < sent + n as u64) {
                piece[(at - sent) as usize] = 0;
            }
            if s.write_all(&piece).is_err() {
                return;
            }
            sent += n as u64;
        }
        let _ = s.write_all(tail);
    });
    port
}

#[derive(Default)]
struct Count {
    bytes: u64,
    lines: u64,
}

impl LiteralSink for Count {
    fn chunk(&mut self, index: usize, bytes: &[u8]) {
        assert_eq!(index, 0);
        self.bytes += bytes.len() as u64;
        self.lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

async fn session(port: u16) -> Session {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    Session::new(Connection::new(
        tcp,
        addr,
        Duration::from_secs(20),
        Trace::off(),
    ))
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[tokio::test]
async fn a_150_mb_literal_streams_in_constant_memory_and_deviations_map_to_the_wire() {
    // 1. A clean 150 MB literal.
    let head = format!("* 1 FETCH (UID 5 RFC822.SIZE {SIZE} BODY[] {{{SIZE}}}\r\n");
    let port = serve(head.clone(), SIZE, None, b")\r\n");
    let mut s = session(port).await;
    let mut count = Count::default();
    let r = s
        .read_response_streaming(1024 * 1024, &mut count)
        .await
        .unwrap();
    assert_eq!(count.bytes, SIZE);
    assert!(count.lines > 2_000_000);
    assert_eq!(
        r.skeleton,
        format!("* 1 FETCH (UID 5 RFC822.SIZE {SIZE} BODY[] {{0}}\r\n)\r\n").as_bytes()
    );
    assert_eq!(r.literals.len(), 1);
    assert_eq!(r.literals[0].size, SIZE);
    assert_eq!(r.literals[0].body_offset, head.len() as u64);
    assert_eq!(r.literals[0].nul_offset, None);
    assert_eq!(r.wire_len, head.len() as u64 + SIZE + 3);
    let opts = imapprobe::grammar::Options::default();
    assert!(imapprobe::grammar::parse_response(&r.skeleton, &opts).is_ok());
    let peak = peak_rss_kib();
    eprintln!("peak RSS after streaming {SIZE} bytes: {peak} KiB");
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB while streaming a {SIZE}-byte literal"
    );

    // 2. A NUL inside the literal is found at its wire offset.
    let small = 3_000_000u64;
    let head = format!("* 2 FETCH (BODY[] {{{small}}}\r\n");
    let port = serve(head.clone(), small, Some(2_500_001), b")\r\n");
    let mut s = session(port).await;
    let r = s
        .read_response_streaming(1024 * 1024, &mut Count::default())
        .await
        .unwrap();
    assert_eq!(
        r.literals[0].nul_offset,
        Some(head.len() as u64 + 2_500_001)
    );

    // 3. The Exchange defect after a streamed literal: the grammar finds it
    // in the skeleton, and the offset maps back to the byte on the wire.
    let head = format!("* 3 FETCH (UID 16967 BODY[] {{{small}}}\r\n");
    let port = serve(head.clone(), small, None, b" )\r\n");
    let mut s = session(port).await;
    let r = s
        .read_response_streaming(1024 * 1024, &mut Count::default())
        .await
        .unwrap();
    let d = match imapprobe::grammar::parse_response(&r.skeleton, &opts) {
        Err(imapprobe::grammar::ParseError::Invalid(d)) => d,
        other => panic!("expected a deviation, got {:?}", other.map(|(_, n)| n)),
    };
    assert_eq!(r.skeleton[d.offset], b' ');
    assert_eq!(r.wire_offset(d.offset), head.len() as u64 + small);
}
