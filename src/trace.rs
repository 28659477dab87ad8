//! `--trace FILE`: the whole conversation as `C: ` / `S: ` lines, each
//! prefixed with a UTC timestamp. Credentials and AUTHENTICATE payloads are
//! replaced by a marker before they reach this module; literal bodies over a
//! limit are elided with their size.
//!
//! Format (one line per protocol line, CRLF removed):
//! ```text
//! # imapprobe trace v1 host=imap.example.org port=993
//! 2026-11-25T20:46:42.123Z S: * OK [CAPABILITY IMAP4rev1 …] ready
//! 2026-11-25T20:46:42.140Z C: a1 LOGIN "alice" <redacted>
//! ```
//! A literal's bytes follow its `{N}` line as further `S: ` lines, so
//! joining the `S: ` lines with CRLF gives back the bytes on the wire; an
//! elided literal is a single line `S: <literal N bytes elided>`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The marker written in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// Who sent the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Client,
    Server,
}

/// A shared, cheaply cloned trace sink; `Trace::off()` writes nothing.
#[derive(Clone, Default)]
pub struct Trace {
    sink: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
    literal_limit: usize,
}

impl Trace {
    pub fn off() -> Trace {
        Trace::default()
    }

    pub fn to_writer(w: Box<dyn Write + Send>, header: &str, literal_limit: usize) -> Trace {
        let t = Trace {
            sink: Some(Arc::new(Mutex::new(w))),
            literal_limit,
        };
        t.write_raw(format!("# imapprobe trace v1 {header}\n").as_bytes());
        t
    }

    pub fn to_file(path: &std::path::Path, header: &str) -> std::io::Result<Trace> {
        let f = std::fs::File::create(path)?;
        Ok(Trace::to_writer(
            Box::new(std::io::BufWriter::new(f)),
            header,
            4096,
        ))
    }

    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Records `bytes` (one or more CRLF-separated lines) as sent by `dir`.
    pub fn record(&self, dir: Dir, bytes: &[u8]) {
        if self.sink.is_none() {
            return;
        }
        let prefix = match dir {
            Dir::Client => "C: ",
            Dir::Server => "S: ",
        };
        let body = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
        let mut out = Vec::with_capacity(body.len() + 40);
        for line in split_crlf(body) {
            out.extend_from_slice(timestamp().as_bytes());
            out.push(b' ');
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        self.write_raw(&out);
    }

    /// Records a literal's body, or its size alone when over the limit.
    pub fn record_literal(&self, dir: Dir, body: &[u8]) {
        if self.sink.is_none() {
            return;
        }
        if body.len() > self.literal_limit {
            let marker = format!("<literal {} bytes elided>", body.len());
            self.record(dir, marker.as_bytes());
        } else {
            self.record(dir, body);
        }
    }

    /// Records a free-form note (`# …`), e.g. the start of TLS.
    pub fn note(&self, text: &str) {
        self.write_raw(format!("{} # {text}\n", timestamp()).as_bytes());
    }

    pub fn flush(&self) {
        if let Some(sink) = &self.sink {
            if let Ok(mut w) = sink.lock() {
                let _ = w.flush();
            }
        }
    }

    fn write_raw(&self, bytes: &[u8]) {
        if let Some(sink) = &self.sink {
            if let Ok(mut w) = sink.lock() {
                let _ = w.write_all(bytes);
            }
        }
    }
}

fn split_crlf(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\r' && bytes[i + 1] == b'\n' {
            lines.push(&bytes[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    lines.push(&bytes[start..]);
    lines
}

/// RFC 3339 UTC with milliseconds, computed without a date crate.
pub fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let millis = d.subsec_millis();
    humantime::format_rfc3339_seconds(
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs()),
    )
    .to_string()
    .replace('Z', &format!(".{millis:03}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_prefixed_and_literals_elided() {
        let buf = Buf::default();
        let t = Trace::to_writer(Box::new(buf.clone()), "host=x", 5);
        t.record(Dir::Server, b"* OK hi\r\n");
        t.record(Dir::Client, b"a1 NOOP\r\n");
        t.record_literal(Dir::Server, b"abcdef");
        t.record_literal(Dir::Server, b"ab\r\nc");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# imapprobe trace v1 host=x");
        assert!(lines[1].ends_with("Z S: * OK hi"), "{}", lines[1]);
        assert!(lines[2].ends_with("Z C: a1 NOOP"));
        assert!(lines[3].ends_with("S: <literal 6 bytes elided>"));
        assert!(lines[4].ends_with("S: ab"));
        assert!(lines[5].ends_with("S: c"));
    }
}
