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
//! The bytes of a response are split at CRLF only, so joining the `S: `
//! lines with CRLF gives back the bytes on the wire, literals included.
//! Other control bytes (a bare CR or LF, NUL) are written as `\xHH`, and a
//! backslash that would read as such an escape as `\x5c`. An elided
//! literal is a line `S: <literal N bytes elided>` standing for N bytes
//! with no line end after them. `transcript` reads this format back.

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
            escape_into(line, &mut out);
            out.push(b'\n');
        }
        self.write_raw(&out);
    }

    /// Records one complete response; literals over the limit are elided.
    pub fn record_response(&self, dir: Dir, bytes: &[u8]) {
        if self.sink.is_none() {
            return;
        }
        let mut chunk_start = 0;
        let mut pos = 0;
        while pos < bytes.len() {
            let lf = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| pos + i + 1)
                .unwrap_or(bytes.len());
            let line = &bytes[pos..lf];
            pos = lf;
            let bare = line.strip_suffix(b"\n").unwrap_or(line);
            let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
            if let Some(n) = crate::framing::literal_announcement(bare) {
                let end = (pos as u64).saturating_add(n).min(bytes.len() as u64) as usize;
                if end - pos > self.literal_limit {
                    self.record(dir, &bytes[chunk_start..pos]);
                    let marker = format!("{ELIDED_PREFIX}{} bytes elided>", end - pos);
                    self.record(dir, marker.as_bytes());
                    chunk_start = end;
                }
                pos = end;
            }
        }
        if chunk_start < bytes.len() {
            self.record(dir, &bytes[chunk_start..]);
        }
    }

    /// Records a free-form note (`# …`), e.g. the start of TLS.
    pub fn note(&self, text: &str) {
        if self.sink.is_none() {
            return;
        }
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

/// How an elided literal's marker line starts.
pub const ELIDED_PREFIX: &str = "<literal ";

/// Writes a line, escaping control bytes other than TAB as `\xHH`.
fn escape_into(line: &[u8], out: &mut Vec<u8>) {
    for (i, &b) in line.iter().enumerate() {
        let looks_like_escape = b == b'\\'
            && line.get(i + 1) == Some(&b'x')
            && line.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            && line.get(i + 3).is_some_and(u8::is_ascii_hexdigit);
        if (b < 0x20 && b != b'\t') || b == 0x7f || looks_like_escape {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// Reverses [`escape_into`]: `\xHH` becomes the byte.
pub fn unescape(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'\\' && line.get(i + 1) == Some(&b'x') {
            let hex = line
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
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
        t.record_response(Dir::Server, b"* 1 FETCH (BODY[] {6}\r\nabcdef)\r\n");
        t.record_response(Dir::Server, b"* 2 FETCH (BODY[] {5}\r\nab\r\nc UID 2)\r\n");
        t.record(Dir::Server, b"* OK bare\nlf \\x41 nul\0\r\n");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# imapprobe trace v1 host=x");
        assert!(lines[1].ends_with("Z S: * OK hi"), "{}", lines[1]);
        assert!(lines[2].ends_with("Z C: a1 NOOP"));
        assert!(lines[3].ends_with("S: * 1 FETCH (BODY[] {6}"));
        assert!(lines[4].ends_with("S: <literal 6 bytes elided>"));
        assert!(lines[5].ends_with("S: )"));
        assert!(lines[6].ends_with("S: * 2 FETCH (BODY[] {5}"));
        assert!(lines[7].ends_with("S: ab"));
        assert!(lines[8].ends_with("S: c UID 2)"));
        assert!(
            lines[9].ends_with("S: * OK bare\\x0alf \\x5cx41 nul\\x00"),
            "{}",
            lines[9]
        );
        let back = unescape(lines[9].split_once("S: ").unwrap().1.as_bytes());
        assert_eq!(back, b"* OK bare\nlf \\x41 nul\0");
    }
}
