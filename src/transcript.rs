//! Reading a saved conversation back: `S: ` / `C: ` transcripts (as
//! imapprobe's `--trace` writes them, with or without timestamps, and as
//! imap-codec's test fixtures are written), or raw server bytes. Support
//! engineers get logs, not servers; this turns a log into the server's byte
//! stream and the commands that were answered.

use crate::trace::{unescape, ELIDED_PREFIX};

/// A client command line, and where in the server stream it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLine {
    /// 1-based line number in the transcript.
    pub line: usize,
    /// Offset in the server stream when the command was sent.
    pub server_offset: usize,
    pub text: String,
}

/// The server's bytes and the client's lines of one transcript.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Everything the server sent, back to back.
    pub server: Vec<u8>,
    /// (offset in `server`, 1-based transcript line) for each `S: ` line.
    pub server_lines: Vec<(usize, usize)>,
    pub client: Vec<ClientLine>,
    /// True when the input had `S: ` / `C: ` lines; false for raw bytes.
    pub is_transcript: bool,
    /// Lines that were neither `S: `, `C: ` nor comments.
    pub other_lines: usize,
    /// Literal bytes the trace elided (replaced by filler here).
    pub elided_bytes: u64,
}

impl Transcript {
    /// The transcript line holding server offset `offset`.
    pub fn line_of(&self, offset: usize) -> Option<usize> {
        match self.server_lines.binary_search_by(|(o, _)| o.cmp(&offset)) {
            Ok(i) => Some(self.server_lines[i].1),
            Err(0) => None,
            Err(i) => Some(self.server_lines[i - 1].1),
        }
    }
}

/// `S`/`C` and the text after `S: ` on a transcript line, skipping one
/// leading timestamp token.
fn direction(l: &[u8]) -> Option<(u8, &[u8])> {
    let dir = *l.first()?;
    if !(dir == b'S' || dir == b'C') || l.get(1) != Some(&b':') {
        return None;
    }
    match l.get(2) {
        None => Some((dir, &l[2..])),
        Some(b' ') => Some((dir, &l[3..])),
        _ => None,
    }
}

fn split_line(line: &[u8]) -> Option<(u8, &[u8])> {
    let try_at = direction;
    if let Some(x) = try_at(line) {
        return Some(x);
    }
    let sp = line.iter().position(|&b| b == b' ')?;
    let first = &line[..sp];
    // A timestamp: digits first, no spaces (RFC 3339, or seconds).
    if first.first().is_some_and(u8::is_ascii_digit) {
        return try_at(&line[sp + 1..]);
    }
    None
}

fn is_comment(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    if t.starts_with(b"#") || t.is_empty() {
        return true;
    }
    // "<timestamp> # note"
    t.iter()
        .position(|&b| b == b' ')
        .is_some_and(|sp| t[sp + 1..].starts_with(b"# "))
        && t.first().is_some_and(u8::is_ascii_digit)
}

/// Parses `input`: a transcript when any line is an `S: ` or `C: ` line,
/// otherwise raw server bytes.
pub fn parse(input: &[u8]) -> Transcript {
    let lines: Vec<&[u8]> = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if !lines.iter().any(|l| split_line(l).is_some()) {
        return Transcript {
            server: input.to_vec(),
            server_lines: vec![(0, 1)],
            ..Transcript::default()
        };
    }
    let mut t = Transcript {
        is_transcript: true,
        ..Transcript::default()
    };
    let mut pending_literal: Option<u64> = None;
    for (i, raw) in lines.iter().enumerate() {
        let line_no = i + 1;
        let Some((dir, text)) = split_line(raw) else {
            if !is_comment(raw) {
                t.other_lines += 1;
            }
            continue;
        };
        let text = unescape(text);
        match dir {
            b'C' => t.client.push(ClientLine {
                line: line_no,
                server_offset: t.server.len(),
                text: String::from_utf8_lossy(&text).into_owned(),
            }),
            _ => {
                t.server_lines.push((t.server.len(), line_no));
                let elided = pending_literal.filter(|&n| elided_marker(&text) == Some(n));
                if let Some(n) = elided {
                    // The literal's bytes were not kept: stand in for them, no
                    // line end after (the response goes on right after it).
                    t.server.extend(std::iter::repeat_n(b'x', n as usize));
                    t.elided_bytes += n;
                    pending_literal = None;
                    continue;
                }
                pending_literal = crate::framing::literal_announcement(&text);
                t.server.extend_from_slice(&text);
                t.server.extend_from_slice(b"\r\n");
            }
        }
    }
    t
}

/// N from `<literal N bytes elided>`.
fn elided_marker(text: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(text).ok()?;
    s.strip_prefix(ELIDED_PREFIX)?
        .strip_suffix(" bytes elided>")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_stay_as_they_are() {
        let t = parse(b"* OK hi\r\n* BYE\r\n");
        assert!(!t.is_transcript);
        assert_eq!(t.server, b"* OK hi\r\n* BYE\r\n");
    }

    #[test]
    fn imap_codec_style_lines() {
        let t = parse(b"S: * OK hi\nC: a1 NOOP\nS: a1 OK done\n");
        assert!(t.is_transcript);
        assert_eq!(t.server, b"* OK hi\r\na1 OK done\r\n");
        assert_eq!(t.client[0].text, "a1 NOOP");
        assert_eq!(t.client[0].server_offset, 9);
        assert_eq!(t.line_of(9), Some(3));
        assert_eq!(t.line_of(3), Some(1));
    }

    #[test]
    fn imapprobe_traces_with_timestamps_notes_and_elided_literals() {
        let input = b"# imapprobe trace v1 host=x port=1\n\
2026-11-25T20:46:42.123Z S: * OK hi\n\
2026-11-25T20:46:42.124Z # TLS handshake\n\
2026-11-25T20:46:42.125Z C: a1 UID FETCH 1 (BODY.PEEK[])\n\
2026-11-25T20:46:42.126Z S: * 1 FETCH (BODY[] {5000}\n\
2026-11-25T20:46:42.126Z S: <literal 5000 bytes elided>\n\
2026-11-25T20:46:42.126Z S:  UID 1)\n\
2026-11-25T20:46:42.127Z S: a1 OK done \\x00\n";
        let t = parse(input);
        assert_eq!(t.other_lines, 0);
        assert_eq!(t.elided_bytes, 5000);
        let mut want = b"* OK hi\r\n* 1 FETCH (BODY[] {5000}\r\n".to_vec();
        want.extend(std::iter::repeat_n(b'x', 5000));
        want.extend_from_slice(b" UID 1)\r\na1 OK done \0\r\n");
        assert_eq!(t.server, want);
    }
}
