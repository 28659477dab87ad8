//! Known server quirks, as data: what real servers get wrong in their
//! responses, with a stable name a finding can carry and a report can link.
//!
//! [`identify`] names the quirk a grammar [`Deviation`] matches, from the
//! rule, the expectation and the bytes around the offset. Where bytes alone
//! are ambiguous (a literal whose size is off, a missing space or paren) it
//! repairs a copy of the response the way the quirk would explain and parses
//! it again: the quirk is named only if the repair gets the parser past the
//! deviation. A deviation that matches no known quirk gets `None`; it is
//! still a deviation.
//!
//! Some catalogued quirks never show up as a grammar deviation (an empty
//! STATUS list, bytes injected after STARTTLS, capabilities that change with
//! TLS, a line that never ends, mixed hierarchy delimiters, bad modified
//! UTF-7). They are here so the whole vocabulary lives in one place; the
//! session and the analyses report them under these names.
//!
//! Sources: /work/shared/knowledge/server-quirks.md and the public issue
//! trackers named in each entry's `servers`.

use crate::grammar::{parse_response, Deviation, Options, ParseError};

/// One known way servers leave the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Quirk {
    /// Stable kebab-case name, e.g. `"space-before-close-paren"`.
    pub name: &'static str,
    /// What the server sends, in one sentence.
    pub summary: &'static str,
    /// Who is publicly known to do it (with where it was reported), or
    /// "seen in the wild".
    pub servers: &'static str,
}

const WILD: &str = "seen in the wild";

/// Every known quirk. Names are stable: findings and reports refer to them.
pub static QUIRKS: &[Quirk] = &[
    // Spaces.
    Quirk {
        name: "space-before-close-paren",
        summary: "a SP before the \")\" closing a list, e.g. `(UID 19436 )`",
        servers: "imap.qq.com (jakartaee/mail-api#209); the Exchange Online migration error \
                  \"Unexpected response format - expected ')', actual ' '\"",
    },
    Quirk {
        name: "space-before-close-bracket",
        summary: "a SP before the \"]\" closing a response code, e.g. `[CAPABILITY IMAP4rev1 ]`",
        servers: WILD,
    },
    Quirk {
        name: "trailing-space",
        summary: "a SP right before CRLF, typically after the last item of SEARCH, STATUS, ID \
                  or CAPABILITY (or after a SEARCH with no results)",
        servers: "Yahoo (SEARCH: djc/imap-proto#108, mxk/go-imap#9); GreenMail (empty SEARCH: \
                  greenmail#264); imap.exmail.qq.com (CAPABILITY: modern-email/defects#21); \
                  STATUS (modern-email/defects#9); ID (modern-email/defects#24)",
    },
    Quirk {
        name: "double-space",
        summary: "two SP between items where the grammar has one",
        servers: "imap-n.global-mail.cn (CAPABILITY: emersion/go-imap#653)",
    },
    Quirk {
        name: "missing-space-after-literal",
        summary: "the next FETCH item follows a literal without SP, e.g. \
                  `}\\r\\n<bytes>UID 5 FLAGS (\\Seen))`",
        servers: WILD,
    },
    Quirk {
        name: "continuation-without-space",
        summary: "a continuation request sent as `+` CRLF, without the SP RFC 3501 requires",
        servers: "Yandex (djc/imap-proto#67); public-inbox-imapd before 2024 \
                  (modern-email/defects#7)",
    },
    // Literals.
    Quirk {
        name: "literal-size-counts-crlf",
        summary: "a literal whose announced size is 2 more than the bytes meant: a CRLF was \
                  counted that is not part of the data",
        servers: WILD,
    },
    Quirk {
        name: "literal-size-mismatch",
        summary: "a literal whose announced size does not match the bytes the server meant to send",
        servers: WILD,
    },
    Quirk {
        name: "items-after-fetch-close",
        summary: "the FETCH list closed right after a BODY[] literal, with the remaining items \
                  outside it: `{n}\\r\\n<bytes>) UID 5`",
        servers: WILD,
    },
    Quirk {
        name: "missing-close-paren",
        summary: "a list (typically the FETCH list after a BODY[] literal) never closed: the \
                  line ends where \")\" belongs",
        servers: WILD,
    },
    // INTERNALDATE.
    Quirk {
        name: "date-day-without-padding",
        summary: "an INTERNALDATE day of one digit without the leading SP or zero, e.g. \
                  `\"8-Mar-2023 12:16:47 +0800\"`",
        servers: "seen in the wild (apple/swift-nio-imap#735)",
    },
    Quirk {
        name: "zero-date",
        summary: "an INTERNALDATE of day 00 (or year 0000), e.g. `\"00-Jan-0000 00:00:00 +0000\"`",
        servers: "HCL/IBM Domino 10.0.1 (jstedfast/MailKit#1236)",
    },
    Quirk {
        name: "non-imap-date-format",
        summary: "an INTERNALDATE in ISO 8601 (`2018-11-29 10:40:44`) or RFC 2822 \
                  (`Thu, 29 Nov 2018 10:40:44 +0000`) form instead of `dd-Mon-yyyy hh:mm:ss +zzzz`",
        servers: "asimap before its GH-429 fix (RFC 2822 form; scanner/asimap#458)",
    },
    Quirk {
        name: "date-missing-zone",
        summary: "an INTERNALDATE without its zone, e.g. `\"29-Nov-2018 10:40:44\"`",
        servers: WILD,
    },
    // Numbers.
    Quirk {
        name: "negative-number",
        summary: "a negative number where `number` is required, typically `-1` as a body size \
                  or line count in BODYSTRUCTURE",
        servers: "SmarterMail (-2: jstedfast/MailKit#385); Exchange or Dovecot (-1: \
                  modern-email/defects#27, emersion/go-imap#534)",
    },
    Quirk {
        name: "uidvalidity-zero",
        summary: "`[UIDVALIDITY 0]`: UIDVALIDITY is an nz-number, and 0 tells a client nothing \
                  about UID stability",
        servers: WILD,
    },
    Quirk {
        name: "zero-nz-number",
        summary: "0 where an nz-number is required (UID 0, UIDNEXT 0, UNSEEN 0, message number 0)",
        servers: WILD,
    },
    Quirk {
        name: "number-too-large",
        summary: "a number above 4294967295 where a 32-bit `number` (not `number64`) is required",
        servers: WILD,
    },
    // NIL, "" and ().
    Quirk {
        name: "nil-for-string",
        summary: "NIL where a string is required: a body parameter value (`(\"boundary\" NIL)`), \
                  a body encoding",
        servers: "Apple iCloud and maddy (body-fld-enc: djc/imap-proto#205, foxcpp/maddy#756); \
                  imap.mail.ru (body-fld-param: modern-email/defects#50)",
    },
    Quirk {
        name: "empty-list-for-nil",
        summary: "`()` where the grammar wants NIL: an empty address list in ENVELOPE, an empty \
                  body parameter list",
        servers: WILD,
    },
    Quirk {
        name: "empty-status-list",
        summary: "`* STATUS INBOX ()` in answer to a STATUS that asked for items (grammatical; \
                  judged by the session)",
        servers: "mail.163.com (modern-email/defects#15)",
    },
    // BODYSTRUCTURE.
    Quirk {
        name: "unescaped-quote",
        summary:
            "a `\"` inside a quoted string not escaped, e.g. a body description `\"a \"b\" c\"`",
        servers: "seen in the wild (emersion/go-imap#659)",
    },
    Quirk {
        name: "list-for-body-lines",
        summary: "a parameter list where the line count of a text body belongs",
        servers: WILD,
    },
    Quirk {
        name: "multipart-as-single-part",
        summary:
            "`(\"MULTIPART\" \"MIXED\" ...)` written as a single part instead of a list of bodies",
        servers: WILD,
    },
    Quirk {
        name: "malformed-disposition",
        summary: "a body disposition that is not `(\"type\" params)` or NIL, e.g. a bare \
                  `\"inline\"`",
        servers: "Microsoft Exchange (jstedfast/MailKit#919)",
    },
    Quirk {
        name: "bracket-in-flag",
        summary: "a flag keyword containing \"]\", which an atom may not (astrings such as \
                  X-GM-LABELS may)",
        servers: WILD,
    },
    // Response text.
    Quirk {
        name: "code-without-text",
        summary: "a response code with no text after it, e.g. `* OK [HIGHESTMODSEQ 5]`",
        servers: "Gmail (HIGHESTMODSEQ: modern-email/defects#28)",
    },
    Quirk {
        name: "missing-resp-text",
        summary: "a status response without its text, e.g. `a1 OK` CRLF or `* BYE` CRLF",
        servers: "Apple iCloud (`* BYE`: ruby/net-imap#230)",
    },
    // Framing.
    Quirk {
        name: "bare-lf",
        summary: "a line ended by LF alone instead of CRLF",
        servers: WILD,
    },
    Quirk {
        name: "nul-byte",
        summary: "a NUL byte outside a literal8 (never allowed)",
        servers: WILD,
    },
    Quirk {
        name: "8bit-without-utf8-accept",
        summary: "8-bit bytes in a quoted string or text, legal only once UTF8=ACCEPT is \
                  enabled or in IMAP4rev2",
        servers: WILD,
    },
    Quirk {
        name: "invalid-utf8",
        summary: "8-bit bytes that are not UTF-8 where UTF8=ACCEPT allows only UTF-8",
        servers: WILD,
    },
    Quirk {
        name: "unterminated-line",
        summary: "a response line that never ends (found by the framing bounds, not the grammar)",
        servers: WILD,
    },
    // Session level: never a grammar deviation.
    Quirk {
        name: "starttls-injection",
        summary: "bytes sent after `OK Begin TLS` and before the handshake (a response-injection \
                  hazard)",
        servers: WILD,
    },
    Quirk {
        name: "capabilities-change-with-tls",
        summary: "capabilities that differ before and after STARTTLS beyond what TLS explains",
        servers: WILD,
    },
    Quirk {
        name: "mixed-hierarchy-delimiters",
        summary: "a NIL delimiter (a flat namespace) mixed with \"/\" elsewhere in one LIST",
        servers: WILD,
    },
    Quirk {
        name: "invalid-modified-utf7",
        summary: "a mailbox name that is not valid modified UTF-7 (`&` not written `&-`, \
                  non-minimal or invalid base64)",
        servers: WILD,
    },
];

/// The quirk with this name.
pub fn by_name(name: &str) -> Option<&'static Quirk> {
    QUIRKS.iter().find(|q| q.name == name)
}

/// Names the known quirk `deviation` matches, if any. `response` must be
/// the bytes the deviation was found in (its offset counts from their start).
pub fn identify(response: &[u8], deviation: &Deviation) -> Option<&'static Quirk> {
    let at = deviation.offset.min(response.len());
    let cx = Cx {
        response,
        at,
        before: &response[..at],
        after: &response[at..],
        rule: deviation.rule,
        expected: deviation.expected.as_str(),
    };
    by_name(detect(&cx)?)
}

/// What a detector looks at.
struct Cx<'a> {
    response: &'a [u8],
    at: usize,
    before: &'a [u8],
    after: &'a [u8],
    rule: &'static str,
    expected: &'a str,
}

impl Cx<'_> {
    fn next(&self) -> Option<u8> {
        self.after.first().copied()
    }

    fn prev(&self) -> Option<u8> {
        self.before.last().copied()
    }

    /// The bytes after the offset, past any run of SP.
    fn after_spaces(&self) -> &[u8] {
        let n = self.after.iter().take_while(|&&b| b == b' ').count();
        &self.after[n..]
    }

    fn at_line_end(&self) -> bool {
        matches!(self.next(), Some(b'\r' | b'\n'))
    }
}

/// Detectors in order: byte-level framing first (a NUL or a bare LF is the
/// problem wherever it sits), then spacing, then field-specific ones, then
/// the repairs that need a reparse.
fn detect(cx: &Cx<'_>) -> Option<&'static str> {
    let next = cx.next();
    if next == Some(0) {
        return Some("nul-byte");
    }
    if next.is_some_and(|b| b >= 0x80) {
        if cx.expected.contains("UTF8=ACCEPT") {
            return Some("8bit-without-utf8-accept");
        }
        if cx.expected.contains("UTF-8") {
            return Some("invalid-utf8");
        }
    }
    if next == Some(b'\n') && cx.prev() != Some(b'\r') && cx.expected.contains("CRLF") {
        return Some("bare-lf");
    }
    if next == Some(b' ') {
        match cx.after_spaces().first() {
            Some(b'\r' | b'\n') => return Some("trailing-space"),
            Some(b')') => return Some("space-before-close-paren"),
            Some(b']') => return Some("space-before-close-bracket"),
            _ => {}
        }
        if cx.prev() == Some(b' ') {
            return Some("double-space");
        }
    }
    if cx.rule == "continue-req" && cx.at == 1 && cx.at_line_end() {
        return Some("continuation-without-space");
    }
    if cx.at_line_end() {
        if cx.before.ends_with(b"]") && cx.expected.contains("SP text") {
            return Some("code-without-text");
        }
        if cx.before.ends_with(b"] ") && cx.rule == "resp-text" {
            return Some("code-without-text");
        }
        if cx.expected.contains("SP resp-text") || (cx.rule == "resp-text" && cx.expected == "text")
        {
            return Some("missing-resp-text");
        }
    }
    if let Some(q) = date_quirk(cx) {
        return Some(q);
    }
    if let Some(q) = number_quirk(cx) {
        return Some(q);
    }
    if starts_with_nil(cx.after) && cx.expected.contains("string") {
        return Some("nil-for-string");
    }
    if next == Some(b')') && cx.prev() == Some(b'(') && wants_nil_not_empty(cx) {
        return Some("empty-list-for-nil");
    }
    match cx.rule {
        "body-fld-lines" if next == Some(b'(') => return Some("list-for-body-lines"),
        "body-type-1part" if cx.expected.contains("single-part") => {
            return Some("multipart-as-single-part")
        }
        "body-fld-dsp" => return Some("malformed-disposition"),
        _ => {}
    }
    if next == Some(b']') && in_flag_list(cx) {
        return Some("bracket-in-flag");
    }
    if cx.prev() == Some(b'"')
        && next.is_some_and(|b| !matches!(b, b' ' | b')' | b']' | b'\r' | b'\n'))
        && cx.after.contains(&b'"')
    {
        return Some("unescaped-quote");
    }
    if let Some(q) = literal_quirk(cx) {
        return Some(q);
    }
    if next == Some(b' ') && cx.prev() == Some(b')') && is_fetch(cx.response) {
        return Some("items-after-fetch-close");
    }
    if cx.at_line_end() && cx.expected.contains("\")\"") && progresses(cx.response, cx.at, 0, b")")
    {
        return Some("missing-close-paren");
    }
    None
}

/// INTERNALDATE (and SAVEDATE) deviations, told apart by the whole quoted
/// date the offset falls in.
fn date_quirk(cx: &Cx<'_>) -> Option<&'static str> {
    if !matches!(
        cx.rule,
        "date-time" | "date-day-fixed" | "date-month" | "date-year" | "time" | "zone"
    ) {
        return None;
    }
    let open = cx.before.iter().rposition(|&b| b == b'"')?;
    let close = cx.at + cx.after.iter().position(|&b| b == b'"')?;
    let date = &cx.response[open + 1..close];
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let is_iso = date.len() >= 10
        && digits(&date[..4])
        && date[4] == b'-'
        && digits(&date[5..7])
        && date[7] == b'-';
    // "Thu, 29 Nov 2018 ..." or "29 Nov 2018 ...".
    let is_rfc2822 = date.get(3) == Some(&b',')
        || date
            .iter()
            .position(|&b| b == b' ')
            .is_some_and(|p| (1..=2).contains(&p) && digits(&date[..p]));
    if is_iso || is_rfc2822 {
        return Some("non-imap-date-format");
    }
    if date.len() > 1 && date[0].is_ascii_digit() && date[1] == b'-' {
        return Some("date-day-without-padding");
    }
    if date.starts_with(b"00-") || cx.expected.contains("day 01-31") {
        return Some("zero-date");
    }
    // dd-Mon-yyyy hh:mm:ss with nothing after.
    if date.len() == 20 && cx.rule == "date-time" && cx.next() == Some(b'"') {
        return Some("date-missing-zone");
    }
    None
}

fn number_quirk(cx: &Cx<'_>) -> Option<&'static str> {
    let a = cx.after;
    if !cx.expected.contains("number") {
        return None;
    }
    if a.first() == Some(&b'-') && a.get(1).is_some_and(u8::is_ascii_digit) {
        return Some("negative-number");
    }
    if cx.expected.contains("<= ") && a.first().is_some_and(u8::is_ascii_digit) {
        return Some("number-too-large");
    }
    if cx.expected.starts_with("nz-number") && a.first() == Some(&b'0') {
        let word = cx.before.strip_suffix(b" ").unwrap_or(cx.before);
        let name_at = word
            .iter()
            .rposition(|&b| b == b'[' || b == b' ')
            .map_or(0, |p| p + 1);
        if word[name_at..].eq_ignore_ascii_case(b"UIDVALIDITY") {
            return Some("uidvalidity-zero");
        }
        return Some("zero-nz-number");
    }
    None
}

fn starts_with_nil(a: &[u8]) -> bool {
    a.len() >= 3
        && a[..3].eq_ignore_ascii_case(b"NIL")
        && a.get(3)
            .is_none_or(|&b| matches!(b, b' ' | b')' | b'\r' | b'\n'))
}

/// Rules where an empty list has to be written NIL.
fn wants_nil_not_empty(cx: &Cx<'_>) -> bool {
    cx.rule.starts_with("env-")
        || matches!(
            cx.rule,
            "address" | "body-fld-param" | "body-fld-dsp" | "body-fld-lang"
        )
        || cx.expected.contains("NIL")
}

/// Whether the offset is inside the list of a FLAGS or PERMANENTFLAGS.
fn in_flag_list(cx: &Cx<'_>) -> bool {
    let Some(open) = cx.before.iter().rposition(|&b| b == b'(') else {
        return false;
    };
    if cx.before[open..].contains(&b')') {
        return false;
    }
    let head = cx.before[..open]
        .strip_suffix(b" ")
        .unwrap_or(&cx.before[..open]);
    let name_at = head
        .iter()
        .rposition(|&b| matches!(b, b' ' | b'(' | b'['))
        .map_or(0, |p| p + 1);
    let name = &head[name_at..];
    name.eq_ignore_ascii_case(b"FLAGS") || name.eq_ignore_ascii_case(b"PERMANENTFLAGS")
}

/// `* <n> FETCH`, any case.
fn is_fetch(response: &[u8]) -> bool {
    let Some(rest) = response.strip_prefix(b"* ") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0
        && rest.len() >= digits + 6
        && rest[digits..digits + 6].eq_ignore_ascii_case(b" FETCH")
}

/// A literal whose data ends at or shortly before the offset: the size is
/// the suspect. Tried in order: the size counted a CRLF, the server forgot
/// the SP after it, the size is off by a few bytes either way.
fn literal_quirk(cx: &Cx<'_>) -> Option<&'static str> {
    const SLACK: usize = 16;
    let lit = last_literal(cx.before)?;
    let end = lit.data_start + lit.size;
    if cx.at < end || cx.at > end + SLACK {
        return None;
    }
    if lit.size >= 2 && parses_with_size(cx.response, &lit, lit.size - 2) {
        return Some("literal-size-counts-crlf");
    }
    if cx.at == end
        && cx.next().is_some_and(|b| b.is_ascii_alphabetic())
        && progresses(cx.response, cx.at, 0, b" ")
    {
        return Some("missing-space-after-literal");
    }
    let available = cx.response.len() - lit.data_start;
    let mismatch = (1..=SLACK).any(|d| {
        (d <= lit.size && parses_with_size(cx.response, &lit, lit.size - d))
            || (lit.size + d <= available && parses_with_size(cx.response, &lit, lit.size + d))
    });
    mismatch.then_some("literal-size-mismatch")
}

/// A `{N}` CRLF header found in a response.
struct Literal {
    /// Offset of the `{`.
    open: usize,
    /// Offset just past the `}`.
    close: usize,
    size: usize,
    /// Offset of the first data byte.
    data_start: usize,
}

/// The last literal header (`{N}` CRLF) in `before`.
fn last_literal(before: &[u8]) -> Option<Literal> {
    let mut end = before.len();
    while let Some(p) = before[..end].windows(3).rposition(|w| w == b"}\r\n") {
        end = p;
        let Some(open) = before[..p].iter().rposition(|&b| b == b'{') else {
            continue;
        };
        let digits = &before[open + 1..p];
        if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let size: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
        return Some(Literal {
            open,
            close: p + 1,
            size,
            data_start: p + 3,
        });
    }
    None
}

/// Whether the response parses completely with the literal's size changed.
fn parses_with_size(response: &[u8], lit: &Literal, size: usize) -> bool {
    let mut fixed = Vec::with_capacity(response.len() + 2);
    fixed.extend_from_slice(&response[..lit.open]);
    fixed.extend_from_slice(format!("{{{size}}}").as_bytes());
    fixed.extend_from_slice(&response[lit.close..]);
    matches!(reparse(&fixed), Reparse::Complete)
}

/// Whether replacing `remove` bytes at `at` with `insert` gets the parser
/// past that point: the fixed response parses, runs out of input, or
/// deviates only after the repaired bytes.
fn progresses(response: &[u8], at: usize, remove: usize, insert: &[u8]) -> bool {
    let mut fixed = Vec::with_capacity(response.len() + insert.len());
    fixed.extend_from_slice(&response[..at]);
    fixed.extend_from_slice(insert);
    fixed.extend_from_slice(&response[(at + remove).min(response.len())..]);
    match reparse(&fixed) {
        Reparse::Complete | Reparse::Incomplete => true,
        Reparse::Deviation(offset) => offset > at + insert.len(),
    }
}

enum Reparse {
    Complete,
    Incomplete,
    Deviation(usize),
}

/// Parses a repaired copy with the most permissive options, so a repair is
/// never judged by an unrelated 8-bit byte.
fn reparse(input: &[u8]) -> Reparse {
    let opts = Options {
        utf8_accept: true,
        ..Options::default()
    };
    match parse_response(input, &opts) {
        Ok(_) => Reparse::Complete,
        Err(ParseError::Incomplete { .. }) => Reparse::Incomplete,
        Err(ParseError::Invalid(d)) => Reparse::Deviation(d.offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::parse_greeting;

    fn deviation(input: &[u8]) -> Deviation {
        match parse_response(input, &Options::default()) {
            Err(ParseError::Invalid(d)) => d,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    /// (quirk, response) — each response is one real-looking example.
    const CASES: &[(&str, &[u8])] = &[
        ("space-before-close-paren", b"* 11487 FETCH (UID 19436 )\r\n"),
        (
            "space-before-close-paren",
            b"* 7 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" UID 16967 BODY[] {5}\r\nhello )\r\n",
        ),
        (
            "space-before-close-bracket",
            b"* OK [CAPABILITY IMAP4rev1 IDLE ] ready\r\n",
        ),
        ("trailing-space", b"* SEARCH 61 62 63 \r\n"),
        ("trailing-space", b"* SEARCH \r\n"),
        ("trailing-space", b"* STATUS INBOX (MESSAGES 0) \r\n"),
        ("trailing-space", b"* ID (\"name\" \"x\") \r\n"),
        ("trailing-space", b"* CAPABILITY IMAP4rev1 \r\n"),
        (
            "double-space",
            b"* CAPABILITY IMAP4rev1 LITERAL+  STARTTLS\r\n",
        ),
        (
            "missing-space-after-literal",
            b"* 1 FETCH (BODY[] {5}\r\nhelloUID 5 FLAGS (\\Seen))\r\n",
        ),
        ("continuation-without-space", b"+\r\n"),
        (
            "literal-size-counts-crlf",
            b"* 1 FETCH (UID 5 BODY[] {7}\r\nhello)\r\n",
        ),
        (
            "literal-size-mismatch",
            b"* 1 FETCH (BODY[] {4}\r\nhello UID 5)\r\n",
        ),
        (
            "items-after-fetch-close",
            b"* 1 FETCH (BODY[] {5}\r\nhello) UID 5 FLAGS (\\Seen)\r\n",
        ),
        (
            "missing-close-paren",
            b"* 7 FETCH (UID 16967 BODY[] {5}\r\nhello\r\n",
        ),
        (
            "date-day-without-padding",
            b"* 1 FETCH (INTERNALDATE \"8-Mar-2023 12:16:47 +0800\")\r\n",
        ),
        (
            "zero-date",
            b"* 1 FETCH (INTERNALDATE \"00-Jan-0000 00:00:00 +0000\")\r\n",
        ),
        (
            "non-imap-date-format",
            b"* 1 FETCH (INTERNALDATE \"2018-11-29 10:40:44\")\r\n",
        ),
        (
            "non-imap-date-format",
            b"* 1 FETCH (INTERNALDATE \"Thu, 29 Nov 2018 10:40:44 +0000\")\r\n",
        ),
        (
            "date-missing-zone",
            b"* 1 FETCH (INTERNALDATE \"29-Nov-2018 10:40:44\")\r\n",
        ),
        (
            "negative-number",
            b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" -1 0))\r\n",
        ),
        ("uidvalidity-zero", b"* OK [UIDVALIDITY 0] UIDs valid\r\n"),
        ("zero-nz-number", b"* 3 FETCH (UID 0)\r\n"),
        ("number-too-large", b"* 3 FETCH (RFC822.SIZE 4294967296)\r\n"),
        (
            "nil-for-string",
            b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"CHARSET\" \"UTF-8\") NIL NIL NIL 1694 51))\r\n",
        ),
        (
            "nil-for-string",
            b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"boundary\" NIL) NIL NIL \"7bit\" 12 1))\r\n",
        ),
        (
            "empty-list-for-nil",
            b"* 1 FETCH (ENVELOPE (NIL \"subject\" () NIL NIL NIL NIL NIL NIL NIL))\r\n",
        ),
        (
            "unescaped-quote",
            b"* 1 FETCH (BODY (\"application\" \"pdf\" NIL NIL \"a \"b\" c\" \"base64\" 12))\r\n",
        ),
        (
            "list-for-body-lines",
            b"* 1 FETCH (BODY (\"text\" \"plain\" NIL NIL NIL \"7bit\" 12 (\"a\" \"b\")))\r\n",
        ),
        (
            "multipart-as-single-part",
            b"* 1 FETCH (BODY (\"multipart\" \"mixed\" NIL NIL NIL \"7bit\" 12 1))\r\n",
        ),
        (
            "malformed-disposition",
            b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 12 1 NIL \"inline\" NIL NIL))\r\n",
        ),
        ("bracket-in-flag", b"* FLAGS (\\Seen $Label]x)\r\n"),
        ("code-without-text", b"* OK [HIGHESTMODSEQ 5]\r\n"),
        ("missing-resp-text", b"a1 OK\r\n"),
        ("missing-resp-text", b"* BYE\r\n"),
        ("bare-lf", b"* OK ready\n"),
        ("nul-byte", b"* OK rea\x00dy\r\n"),
        (
            "8bit-without-utf8-accept",
            b"* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n",
        ),
    ];

    #[test]
    fn each_quirk_is_identified() {
        for (name, input) in CASES {
            let d = deviation(input);
            let got = identify(input, &d).map(|q| q.name);
            assert_eq!(
                got,
                Some(*name),
                "{:?}\n{d:?}\n{}",
                String::from_utf8_lossy(input),
                d.excerpt(input)
            );
        }
    }

    #[test]
    fn invalid_utf8_under_utf8_accept() {
        let input = b"* OK caf\xe9\r\n";
        let opts = Options {
            utf8_accept: true,
            ..Options::default()
        };
        let Err(ParseError::Invalid(d)) = parse_response(input, &opts) else {
            panic!("expected a deviation");
        };
        assert_eq!(identify(input, &d).map(|q| q.name), Some("invalid-utf8"));
    }

    #[test]
    fn greeting_without_text() {
        let input = b"* OK\r\n";
        let Err(ParseError::Invalid(d)) = parse_greeting(input, &Options::default()) else {
            panic!("expected a deviation");
        };
        assert_eq!(
            identify(input, &d).map(|q| q.name),
            Some("missing-resp-text")
        );
    }

    #[test]
    fn unknown_deviations_are_not_named() {
        for input in [
            &b"* 1 FETCH (NOSUCHITEM 5)\r\n"[..],
            b"* 1 FETCH (FLAGS \\Seen)\r\n",
            b"a1 MAYBE done\r\n",
        ] {
            let d = deviation(input);
            assert_eq!(identify(input, &d), None, "{d:?}");
        }
    }

    #[test]
    fn names_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for q in QUIRKS {
            assert!(seen.insert(q.name), "duplicate {}", q.name);
            assert!(
                q.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                q.name
            );
            assert!(!q.summary.is_empty() && !q.servers.is_empty());
        }
        for (name, _) in CASES {
            assert!(by_name(name).is_some(), "{name} is not catalogued");
        }
    }

    #[test]
    fn identify_never_panics_on_odd_offsets() {
        let d = Deviation {
            offset: 999,
            rule: "literal",
            expected: "x".into(),
            found: vec![],
        };
        assert_eq!(identify(b"* 1 FETCH (BODY[] {3}\r\n", &d), None);
        assert_eq!(identify(b"", &d), None);
    }
}
