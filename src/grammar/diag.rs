//! Deviations: where a response leaves the grammar, and why.
//!
//! Parsers never backtrack past a committed token, so the first error a
//! parser raises is also the deepest one; `GErr::or` still keeps the
//! furthest of two errors for the few places where nom's own combinators
//! try alternatives.

use std::borrow::Cow;

use nom::error::{ContextError, ErrorKind, ParseError as NomParseError};
use nom::{Err, Needed};

/// One deviation from the grammar, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deviation {
    /// Byte offset into the response passed in, of the first offending byte.
    pub offset: usize,
    /// The ABNF rule being parsed when it failed, e.g. `"msg-att"`.
    pub rule: &'static str,
    /// What the grammar allows at `offset`, in words, e.g. `"SP"`, `"CRLF"`.
    pub expected: String,
    /// The offending bytes (a few bytes from `offset`, empty at end of input).
    pub found: Vec<u8>,
}

/// How many bytes of the offending input a [`Deviation`] keeps.
const FOUND_LEN: usize = 8;
/// Display columns of the excerpt line, escapes included.
const EXCERPT_COLS: usize = 72;

impl Deviation {
    /// A two-line excerpt: the input around `offset` with non-printable bytes
    /// escaped (`\r`, `\n`, `\x00`), and a caret under the offending byte.
    /// Bounded to roughly 80 columns however long the input is.
    pub fn excerpt(&self, input: &[u8]) -> String {
        let offset = self.offset.min(input.len());
        // Only a window around the offset is ever shown: escape just that.
        let lo = offset.saturating_sub(EXCERPT_COLS);
        let hi = (offset + EXCERPT_COLS).min(input.len());
        let escaped: Vec<String> = input[lo..hi].iter().map(|&b| escape_byte(b)).collect();
        let at = offset - lo;
        let width =
            |r: std::ops::Range<usize>| -> usize { escaped[r].iter().map(String::len).sum() };
        // Take up to half the width to the right, then as much to the left
        // as the rest allows, then fill the right again.
        let mut end = at;
        while end < escaped.len() && width(at..end + 1) <= EXCERPT_COLS / 2 {
            end += 1;
        }
        let mut start = at;
        while start > 0 && width(start - 1..end) <= EXCERPT_COLS {
            start -= 1;
        }
        while end < escaped.len() && width(start..end + 1) <= EXCERPT_COLS {
            end += 1;
        }
        let mut line = String::new();
        let mut caret = 0;
        if lo + start > 0 {
            line.push_str("...");
            caret += 3;
        }
        for e in &escaped[start..at] {
            line.push_str(e);
            caret += e.len();
        }
        for e in &escaped[at..end] {
            line.push_str(e);
        }
        if lo + end < input.len() {
            line.push_str("...");
        }
        if offset == input.len() {
            line.push_str("<end of input>");
        }
        format!("{line}\n{}^", " ".repeat(caret))
    }
}

fn escape_byte(b: u8) -> String {
    match b {
        b'\r' => "\\r".to_string(),
        b'\n' => "\\n".to_string(),
        b'\t' => "\\t".to_string(),
        b'\\' => "\\\\".to_string(),
        0x20..=0x7e => (b as char).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ParseError {
    /// The input ends before the response does; read more and retry.
    /// `needed` is the number of further bytes known to be required, if known.
    Incomplete { needed: Option<usize> },
    /// The response leaves the grammar.
    Invalid(Deviation),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Incomplete { needed: Some(n) } => {
                write!(f, "incomplete: {n} more bytes needed")
            }
            ParseError::Incomplete { needed: None } => write!(f, "incomplete"),
            ParseError::Invalid(d) => write!(
                f,
                "at byte {}: {} expected {}, found {:?}",
                d.offset,
                d.rule,
                d.expected,
                String::from_utf8_lossy(&d.found)
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// The parser-internal error: the remaining input at the failure point,
/// plus the rule and the expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GErr<'a> {
    pub rest: &'a [u8],
    pub rule: &'static str,
    pub expected: Cow<'static, str>,
}

impl<'a> NomParseError<&'a [u8]> for GErr<'a> {
    fn from_error_kind(input: &'a [u8], kind: ErrorKind) -> Self {
        GErr {
            rest: input,
            rule: "?",
            expected: Cow::Owned(kind.description().to_string()),
        }
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// The deepest failure wins; on a tie the expectations are merged.
    fn or(self, other: Self) -> Self {
        match self.rest.len().cmp(&other.rest.len()) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal if self.expected == other.expected => self,
            std::cmp::Ordering::Equal => GErr {
                rest: self.rest,
                rule: self.rule,
                expected: Cow::Owned(format!("{} or {}", self.expected, other.expected)),
            },
        }
    }
}

/// nom's `context(rule, parser)` names the rule of an error raised by one
/// of nom's own combinators; errors from this grammar already carry theirs.
impl<'a> ContextError<&'a [u8]> for GErr<'a> {
    fn add_context(_input: &'a [u8], ctx: &'static str, mut other: Self) -> Self {
        if other.rule == "?" {
            other.rule = ctx;
        }
        other
    }
}

pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, GErr<'a>>;

/// Fails at `i`: Incomplete at the end of input (more bytes could still make
/// the response valid), otherwise a deviation.
pub(crate) fn fail<'a, T>(
    i: &'a [u8],
    rule: &'static str,
    expected: impl Into<Cow<'static, str>>,
) -> PResult<'a, T> {
    if i.is_empty() {
        Err(Err::Incomplete(Needed::Unknown))
    } else {
        Err(Err::Error(GErr {
            rest: i,
            rule,
            expected: expected.into(),
        }))
    }
}

/// Fails at `i` even at end of input (used where the failure is certain).
pub(crate) fn fail_at<'a, T>(
    i: &'a [u8],
    rule: &'static str,
    expected: impl Into<Cow<'static, str>>,
) -> PResult<'a, T> {
    Err(Err::Error(GErr {
        rest: i,
        rule,
        expected: expected.into(),
    }))
}

/// Turns a parser outcome into the public error, with offsets relative to `input`.
pub(crate) fn to_parse_error(input: &[u8], e: Err<GErr<'_>>) -> ParseError {
    match e {
        Err::Incomplete(Needed::Size(n)) => ParseError::Incomplete {
            needed: Some(n.get()),
        },
        Err::Incomplete(Needed::Unknown) => ParseError::Incomplete { needed: None },
        Err::Error(g) | Err::Failure(g) => {
            let offset = input.len().saturating_sub(g.rest.len());
            let found: Vec<u8> = g.rest.iter().take(FOUND_LEN).copied().collect();
            let mut expected = g.expected.into_owned();
            if found.first() == Some(&0) {
                expected.push_str(" (NUL is never allowed)");
            }
            ParseError::Invalid(Deviation {
                offset,
                rule: g.rule,
                expected,
                found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;

    fn dev(offset: usize) -> Deviation {
        Deviation {
            offset,
            rule: "x",
            expected: "y".into(),
            found: vec![],
        }
    }

    #[test]
    fn excerpt_marks_offending_byte() {
        let input = b"* OK foo\nbar\r\n";
        let ex = dev(8).excerpt(input);
        assert_eq!(ex, "* OK foo\\nbar\\r\\n\n        ^");
    }

    #[test]
    fn excerpt_at_end_of_input() {
        let ex = dev(4).excerpt(b"* OK");
        assert_eq!(ex, "* OK<end of input>\n    ^");
    }

    #[test]
    fn excerpt_is_bounded() {
        let mut input = vec![b'a'; 10_000];
        input[5000] = 0;
        let ex = dev(5000).excerpt(&input);
        let lines: Vec<&str> = ex.lines().collect();
        assert!(lines[0].len() <= 84, "{}", lines[0].len());
        let caret = lines[1].len() - 1;
        assert_eq!(&lines[0][caret..caret + 4], "\\x00");
        assert!(lines[0].starts_with("..."));
        assert!(lines[0].ends_with("..."));
    }

    #[test]
    fn nul_is_called_out() {
        let input = b"ab\0c";
        let e = fail_at::<()>(&input[2..], "text", "TEXT-CHAR").unwrap_err();
        match to_parse_error(input, e) {
            ParseError::Invalid(d) => {
                assert_eq!(d.offset, 2);
                assert!(d.expected.contains("NUL"));
                assert_eq!(d.found, b"\0c");
            }
            other => panic!("{other:?}"),
        }
    }
}
