//! Where one server response ends: a line, and when it ends in a literal
//! announcement `{N}` (or `{N+}`), N bytes more and the rest of the line,
//! again and again. Bounded: a line longer than `max_line` or a literal
//! larger than `max_literal` is reported instead of buffered, so whatever a
//! server sends, memory stays bounded.

/// Size limits for one response held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest run of non-literal bytes between literals.
    pub max_line: usize,
    /// Largest literal held in memory.
    pub max_literal: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: 1024 * 1024,
            max_literal: 16 * 1024 * 1024,
        }
    }
}

/// The outcome of scanning a buffer for one complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// The first `len` bytes are one whole response (final line ending included).
    Complete { len: usize },
    /// More bytes are needed.
    Incomplete,
    /// A line runs past the limit without ending.
    LineTooLong { limit: usize },
    /// A literal is announced larger than the limit; `line_end` is the end
    /// of the line that announces it.
    LiteralTooLarge { size: u64, line_end: usize },
}

/// One line of a response: its length (line end included) and the size of
/// the literal it announces, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineScan {
    Line { len: usize, literal: Option<u64> },
    Incomplete,
    TooLong,
}

/// Finds the end of the line at the start of `buf`, refusing to look past
/// `max_line` bytes.
pub fn next_line(buf: &[u8], max_line: usize) -> LineScan {
    let window = &buf[..buf.len().min(max_line.saturating_add(1))];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return if buf.len() > max_line {
            LineScan::TooLong
        } else {
            LineScan::Incomplete
        };
    };
    let line = &buf[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    LineScan::Line {
        len: lf + 1,
        literal: literal_announcement(line),
    }
}

/// Scans `buf` for one complete response.
pub fn scan(buf: &[u8], limits: &Limits) -> Scan {
    let mut pos = 0;
    loop {
        match next_line(&buf[pos..], limits.max_line) {
            LineScan::Incomplete => return Scan::Incomplete,
            LineScan::TooLong => {
                return Scan::LineTooLong {
                    limit: limits.max_line,
                }
            }
            LineScan::Line { len, literal: None } => return Scan::Complete { len: pos + len },
            LineScan::Line {
                len,
                literal: Some(size),
            } => {
                let line_end = pos + len;
                if size > limits.max_literal {
                    return Scan::LiteralTooLarge { size, line_end };
                }
                let needed = line_end as u64 + size;
                if (buf.len() as u64) < needed {
                    return Scan::Incomplete;
                }
                pos = needed as usize;
            }
        }
    }
}

/// The size N of a line ending in `{N}` or `{N+}`, if it does. A size
/// that overflows u64 counts as the largest possible, so the caller
/// refuses it rather than misreading it.
pub fn literal_announcement(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let inner = inner.strip_suffix(b"+").unwrap_or(inner);
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for d in digits {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add((d - b'0') as u64))
        {
            Some(n) => n,
            None => return Some(u64::MAX),
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_line: 64,
        max_literal: 10,
    };

    #[test]
    fn known_answers() {
        let table: &[(&[u8], Scan)] = &[
            (b"* OK hi\r\n", Scan::Complete { len: 9 }),
            (b"* OK hi\r\nextra", Scan::Complete { len: 9 }),
            (b"* OK hi", Scan::Incomplete),
            (b"* OK bare lf\n", Scan::Complete { len: 13 }),
            (
                b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n",
                Scan::Complete { len: 29 },
            ),
            (b"* 1 FETCH (BODY[] {3}\r\nab", Scan::Incomplete),
            (b"* 1 FETCH (BODY[] {3}\r\nabc", Scan::Incomplete),
            (
                b"* 1 FETCH (BODY[] {3+}\r\nabc)\r\n",
                Scan::Complete { len: 30 },
            ),
            (
                b"* 1 FETCH (A {1}\r\nx B {2}\r\nyz)\r\n",
                Scan::Complete { len: 32 },
            ),
            (
                b"* 1 FETCH (BODY[] {99999999999}\r\n",
                Scan::LiteralTooLarge {
                    size: 99_999_999_999,
                    line_end: 33,
                },
            ),
            (
                b"* 1 FETCH (BODY[] {999999999999999999999999}\r\n",
                Scan::LiteralTooLarge {
                    size: u64::MAX,
                    line_end: 46,
                },
            ),
        ];
        for (input, want) in table {
            assert_eq!(&scan(input, &L), want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn an_endless_line_is_refused_at_the_limit() {
        let endless = vec![b'x'; 65];
        assert_eq!(scan(&endless, &L), Scan::LineTooLong { limit: 64 });
        assert_eq!(scan(&endless[..64], &L), Scan::Incomplete);
    }

    #[test]
    fn braces_that_are_not_literals() {
        assert_eq!(literal_announcement(b"* OK {x}"), None);
        assert_eq!(literal_announcement(b"* OK {}"), None);
        assert_eq!(literal_announcement(b"* OK }"), None);
        assert_eq!(literal_announcement(b"{12}"), Some(12));
    }
}
