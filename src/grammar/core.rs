//! Core tokens of RFC 3501 §9: atoms, numbers, strings, astring, nstring,
//! literals and flags.
//!
//! Every parser is streaming: running out of input where more bytes could
//! still make the response valid is `Incomplete`, never a deviation, so the
//! caller can read more and retry.

use std::borrow::Cow;

use nom::{Err, Needed};

use super::diag::{fail, fail_at, PResult};
use super::{IString, Options, SeqBound, SeqRange};

/// CHAR = %x01-7F
pub(crate) fn is_char(b: u8) -> bool {
    (0x01..=0x7f).contains(&b)
}

/// CTL = %x00-1F / %x7F
pub(crate) fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// ATOM-CHAR = <any CHAR except atom-specials>
/// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
pub(crate) fn is_atom_char(b: u8) -> bool {
    is_char(b)
        && !is_ctl(b)
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// ASTRING-CHAR = ATOM-CHAR / resp-specials
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// tag = 1*<any ASTRING-CHAR except "+">
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// TEXT-CHAR = <any CHAR except CR and LF>
pub(crate) fn is_text_char(b: u8) -> bool {
    is_char(b) && b != b'\r' && b != b'\n'
}

/// The first byte of `i`, or Incomplete.
pub(crate) fn peek(i: &[u8]) -> Result<u8, Err<super::diag::GErr<'_>>> {
    i.first().copied().ok_or(Err::Incomplete(Needed::new(1)))
}

/// One literal byte `c`.
pub(crate) fn byte<'a>(
    i: &'a [u8],
    c: u8,
    rule: &'static str,
    expected: &'static str,
) -> PResult<'a, ()> {
    match i.first() {
        Some(&b) if b == c => Ok((&i[1..], ())),
        _ => fail(i, rule, expected),
    }
}

/// SP = %x20 — exactly one space.
pub(crate) fn sp<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, ()> {
    byte(i, b' ', rule, "SP")
}

/// CRLF = CR LF — a bare LF is a deviation at the LF, rule "CRLF".
pub(crate) fn crlf<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, ()> {
    match i {
        [b'\r', b'\n', rest @ ..] => Ok((rest, ())),
        [b'\r'] | [] => Err(Err::Incomplete(Needed::Unknown)),
        [b'\r', ..] => fail_at(&i[1..], "CRLF", "LF after CR"),
        [b'\n', ..] => fail_at(i, "CRLF", "CRLF (found bare LF)"),
        _ => fail_at(i, rule, "CRLF"),
    }
}

/// A case-insensitive keyword. Mismatch is reported at its first byte.
pub(crate) fn keyword<'a>(i: &'a [u8], kw: &'static str, rule: &'static str) -> PResult<'a, ()> {
    let k = kw.as_bytes();
    let n = k.len().min(i.len());
    if !i[..n].eq_ignore_ascii_case(&k[..n]) {
        return fail_at(i, rule, format!("\"{kw}\""));
    }
    if i.len() < k.len() {
        return Err(Err::Incomplete(Needed::new(k.len() - i.len())));
    }
    Ok((&i[k.len()..], ()))
}

/// Whether `i` starts with `kw`, case-insensitively (no Incomplete: callers
/// use it to choose among alternatives once the token is complete).
pub(crate) fn starts_with_ci(i: &[u8], kw: &str) -> bool {
    i.len() >= kw.len() && i[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
}

/// 1*<pred>; Incomplete when the input ends inside the run.
pub(crate) fn take_while1<'a>(
    i: &'a [u8],
    pred: impl Fn(u8) -> bool,
    rule: &'static str,
    expected: &'static str,
) -> PResult<'a, &'a [u8]> {
    let n = i.iter().position(|&b| !pred(b)).unwrap_or(i.len());
    if n == i.len() {
        return Err(Err::Incomplete(Needed::Unknown));
    }
    if n == 0 {
        return fail_at(i, rule, expected);
    }
    Ok((&i[n..], &i[..n]))
}

/// atom = 1*ATOM-CHAR
pub(crate) fn atom<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, &'a [u8]> {
    take_while1(i, is_atom_char, rule, "atom")
}

/// 1*DIGIT, with the value bounded by `max`.
fn digits<'a>(
    i: &'a [u8],
    rule: &'static str,
    what: &'static str,
    max: u64,
    nz: bool,
) -> PResult<'a, u64> {
    let (rest, ds) = take_while1(i, |b| b.is_ascii_digit(), rule, what)?;
    if nz && ds[0] == b'0' {
        return fail_at(i, rule, format!("{what} (digit-nz *DIGIT)"));
    }
    let mut v: u64 = 0;
    for &d in ds {
        v = match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
        {
            Some(v) if v <= max => v,
            _ => return fail_at(i, rule, format!("{what} <= {max}")),
        };
    }
    Ok((rest, v))
}

/// number = 1*DIGIT ; unsigned 32-bit integer (0 <= n < 4,294,967,296)
pub(crate) fn number<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, u32> {
    let (rest, v) = digits(i, rule, "number", u64::from(u32::MAX), false)?;
    Ok((rest, v as u32))
}

/// nz-number = digit-nz *DIGIT ; non-zero unsigned 32-bit integer
pub(crate) fn nz_number<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, u32> {
    let (rest, v) = digits(i, rule, "nz-number", u64::from(u32::MAX), true)?;
    Ok((rest, v as u32))
}

/// number64 = 1*DIGIT ; unsigned 63-bit integer (RFC 9051)
pub(crate) fn number64<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, u64> {
    digits(i, rule, "number64", i64::MAX as u64, false)
}

/// mod-sequence-value = 1*DIGIT ; positive unsigned 63-bit integer (RFC 7162)
pub(crate) fn mod_sequence_value<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, u64> {
    digits(i, rule, "mod-sequence-value", i64::MAX as u64, true)
}

/// The length of the UTF-8 sequence at the start of `i` (which starts with
/// an 8-bit byte), or None if it is not valid UTF-8; Incomplete if cut short.
fn utf8_seq<'a>(i: &'a [u8]) -> Result<Option<usize>, Err<super::diag::GErr<'a>>> {
    let len = match i[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Ok(None),
    };
    if i.len() < len {
        // Only Incomplete if what we have so far is a valid prefix.
        if i[1..].iter().all(|&b| (0x80..=0xbf).contains(&b)) {
            return Err(Err::Incomplete(Needed::new(len - i.len())));
        }
        return Ok(None);
    }
    Ok(std::str::from_utf8(&i[..len]).ok().map(|_| len))
}

/// text = 1*TEXT-CHAR (RFC 9051 adds UTF8-2 / UTF8-3 / UTF8-4, accepted
/// only with `utf8_accept`). Stops before CR or LF; anything else that is
/// not a TEXT-CHAR is a deviation here. May return an empty slice: the
/// caller decides whether text is required.
pub(crate) fn text_star<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, &'a [u8]> {
    let mut n = 0;
    while n < i.len() {
        let b = i[n];
        if b == b'\r' || b == b'\n' {
            return Ok((&i[n..], &i[..n]));
        }
        if is_text_char(b) {
            n += 1;
        } else if b >= 0x80 && opts.utf8_accept {
            match utf8_seq(&i[n..])? {
                Some(len) => n += len,
                None => return fail_at(&i[n..], rule, "UTF-8 TEXT-CHAR"),
            }
        } else if b >= 0x80 {
            return fail_at(&i[n..], rule, "TEXT-CHAR (8-bit only with UTF8=ACCEPT)");
        } else {
            return fail_at(&i[n..], rule, "TEXT-CHAR");
        }
    }
    Err(Err::Incomplete(Needed::Unknown))
}

/// quoted = DQUOTE *QUOTED-CHAR DQUOTE
/// QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
/// (RFC 9051 adds UTF8-2 / UTF8-3 / UTF8-4, accepted only with `utf8_accept`)
pub(crate) fn quoted<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, IString<'a>> {
    let (body, ()) = byte(i, b'"', rule, "DQUOTE")?;
    let mut n = 0;
    let mut escaped = false;
    while n < body.len() {
        match body[n] {
            b'"' => {
                let rest = &body[n + 1..];
                if !escaped {
                    return Ok((rest, Cow::Borrowed(&body[..n])));
                }
                let mut out = Vec::with_capacity(n);
                let mut k = 0;
                while k < n {
                    if body[k] == b'\\' {
                        k += 1;
                    }
                    out.push(body[k]);
                    k += 1;
                }
                return Ok((rest, Cow::Owned(out)));
            }
            b'\\' => match body.get(n + 1) {
                None => return Err(Err::Incomplete(Needed::Unknown)),
                Some(b'"' | b'\\') => {
                    escaped = true;
                    n += 2;
                }
                Some(_) => {
                    return fail_at(&body[n + 1..], "quoted", "quoted-specials after \"\\\"")
                }
            },
            b if is_text_char(b) => n += 1,
            b if b >= 0x80 && opts.utf8_accept => match utf8_seq(&body[n..])? {
                Some(len) => n += len,
                None => return fail_at(&body[n..], "quoted", "QUOTED-CHAR (valid UTF-8)"),
            },
            b if b >= 0x80 => {
                return fail_at(
                    &body[n..],
                    "quoted",
                    "QUOTED-CHAR (8-bit only with UTF8=ACCEPT)",
                );
            }
            _ => return fail_at(&body[n..], "quoted", "QUOTED-CHAR or DQUOTE"),
        }
    }
    Err(Err::Incomplete(Needed::Unknown))
}

/// literal = "{" number "}" CRLF *CHAR8 ; number is the count of CHAR8s
///
/// The non-synchronizing form `{N+}` (RFC 7888) is for clients only, so a
/// server sending it is a deviation.
pub(crate) fn literal<'a>(i: &'a [u8]) -> PResult<'a, &'a [u8]> {
    let (i, ()) = byte(i, b'{', "literal", "\"{\"")?;
    let (i, n) = number(i, "literal")?;
    if peek(i)? == b'+' {
        return fail_at(
            i,
            "literal",
            "\"}\" (non-synchronizing literal from a server)",
        );
    }
    let (i, ()) = byte(i, b'}', "literal", "\"}\"")?;
    let (i, ()) = crlf(i, "literal")?;
    let n = n as usize;
    if i.len() < n {
        return Err(Err::Incomplete(Needed::new(n - i.len())));
    }
    let (data, rest) = i.split_at(n);
    // Every literal byte is checked (NUL is not a CHAR8); memchr scans a
    // vector at a time, which keeps large FETCH bodies near memory speed.
    if let Some(p) = memchr::memchr(0, data) {
        return fail_at(&i[p..], "literal", "CHAR8");
    }
    Ok((rest, data))
}

/// string = quoted / literal
pub(crate) fn string<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, IString<'a>> {
    match peek(i)? {
        b'"' => quoted(opts, i, rule),
        b'{' => {
            let (rest, data) = literal(i)?;
            Ok((rest, Cow::Borrowed(data)))
        }
        _ => fail_at(i, rule, "string"),
    }
}

/// Whether `i` starts with NIL (case-insensitively). Incomplete if `i`
/// could still become NIL.
pub(crate) fn is_nil_start<'a>(i: &'a [u8]) -> Result<bool, Err<super::diag::GErr<'a>>> {
    if i.len() < 3 && b"NIL"[..i.len()].eq_ignore_ascii_case(i) {
        return Err(Err::Incomplete(Needed::new(3 - i.len())));
    }
    Ok(starts_with_ci(i, "NIL"))
}

/// nil = "NIL"
pub(crate) fn nil<'a>(i: &'a [u8], rule: &'static str) -> PResult<'a, ()> {
    keyword(i, "NIL", rule)
}

/// nstring = string / nil
pub(crate) fn nstring<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, Option<IString<'a>>> {
    match peek(i)? {
        b'"' | b'{' => {
            let (rest, s) = string(opts, i, rule)?;
            Ok((rest, Some(s)))
        }
        b'n' | b'N' if is_nil_start(i)? => Ok((&i[3..], None)),
        _ => fail_at(i, rule, "string or NIL"),
    }
}

/// astring = 1*ASTRING-CHAR / string
pub(crate) fn astring<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, IString<'a>> {
    match peek(i)? {
        b'"' | b'{' => string(opts, i, rule),
        _ => {
            let (rest, a) = take_while1(i, is_astring_char, rule, "astring")?;
            Ok((rest, Cow::Borrowed(a)))
        }
    }
}

/// A message flag, as it appears in FLAGS, PERMANENTFLAGS and FETCH.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Flag<'a> {
    Answered,
    Flagged,
    Deleted,
    Seen,
    Draft,
    /// `\Recent` (flag-fetch only by RFC 3501; syntactically a flag-extension).
    Recent,
    /// `\*` — flag-perm only: new keywords may be created.
    Wildcard,
    /// flag-keyword = atom
    Keyword(&'a [u8]),
    /// flag-extension = "\" atom — the atom, without the backslash.
    Extension(&'a [u8]),
}

/// flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
/// flag-fetch = flag / "\Recent"
/// flag-perm = flag / "\*"  (only when `allow_wildcard`)
pub(crate) fn flag<'a>(
    i: &'a [u8],
    rule: &'static str,
    allow_wildcard: bool,
) -> PResult<'a, Flag<'a>> {
    if peek(i)? != b'\\' {
        let (rest, a) = atom(i, rule)?;
        return Ok((rest, Flag::Keyword(a)));
    }
    let after = &i[1..];
    if peek(after)? == b'*' {
        if allow_wildcard {
            return Ok((&after[1..], Flag::Wildcard));
        }
        return fail_at(
            after,
            rule,
            "atom (\"\\*\" is only allowed in PERMANENTFLAGS)",
        );
    }
    let (rest, a) = atom(after, rule)?;
    let f = match a.to_ascii_lowercase().as_slice() {
        b"answered" => Flag::Answered,
        b"flagged" => Flag::Flagged,
        b"deleted" => Flag::Deleted,
        b"seen" => Flag::Seen,
        b"draft" => Flag::Draft,
        b"recent" => Flag::Recent,
        _ => Flag::Extension(a),
    };
    Ok((rest, f))
}

/// `"(" [item *(SP item)] ")"` (or `"(" item *(SP item) ")"` when
/// `at_least_one`). Spacing mistakes are reported at the offending space:
/// a trailing SP before ")" expects ")", a doubled SP expects the item.
pub(crate) fn paren_list<'a, T>(
    i: &'a [u8],
    rule: &'static str,
    item_name: &'static str,
    at_least_one: bool,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let (mut i, ()) = byte(i, b'(', rule, "\"(\"")?;
    let mut out = Vec::new();
    if peek(i)? == b')' {
        if at_least_one {
            return fail_at(i, rule, item_name);
        }
        return Ok((&i[1..], out));
    }
    loop {
        if peek(i)? == b' ' {
            return fail_at(i, rule, item_name);
        }
        let (rest, v) = item(i)?;
        out.push(v);
        i = rest;
        match peek(i)? {
            b')' => return Ok((&i[1..], out)),
            b' ' => match peek(&i[1..])? {
                b')' => return fail_at(i, rule, "\")\" (no SP before \")\")"),
                _ => i = &i[1..],
            },
            _ => return fail_at(i, rule, "SP or \")\""),
        }
    }
}

/// `*(SP item)` up to (not including) a byte for which `is_end` holds.
/// A trailing SP before the end is reported at the SP; a doubled SP at the
/// second one.
pub(crate) fn sp_items<'a, T>(
    i: &'a [u8],
    rule: &'static str,
    item_name: &'static str,
    end_name: &'static str,
    is_end: impl Fn(u8) -> bool,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let b = peek(i)?;
        if is_end(b) {
            return Ok((i, out));
        }
        if b != b' ' {
            return fail_at(i, rule, format!("SP or {end_name}"));
        }
        let after = &i[1..];
        let a = peek(after)?;
        if is_end(a) {
            return fail_at(i, rule, format!("{end_name} (no SP before {end_name})"));
        }
        if a == b' ' {
            return fail_at(after, rule, item_name);
        }
        let (rest, v) = item(after)?;
        out.push(v);
        i = rest;
    }
}

/// seq-number = nz-number / "*"
fn seq_number<'a>(i: &'a [u8], rule: &'static str, allow_star: bool) -> PResult<'a, SeqBound> {
    if peek(i)? == b'*' {
        if allow_star {
            return Ok((&i[1..], SeqBound::Star));
        }
        return fail_at(i, rule, "nz-number (\"*\" is not allowed in a uid-set)");
    }
    let (rest, n) = nz_number(i, rule)?;
    Ok((rest, SeqBound::Num(n)))
}

/// sequence-set = (seq-number / seq-range) *("," sequence-set)
/// seq-range = seq-number ":" seq-number
/// With `allow_star` false: uid-set = (uniqueid / uid-range) *("," uid-set) (RFC 4315)
pub(crate) fn sequence_set<'a>(
    i: &'a [u8],
    rule: &'static str,
    allow_star: bool,
) -> PResult<'a, Vec<SeqRange>> {
    let mut out = Vec::new();
    let mut i = i;
    loop {
        let (rest, start) = seq_number(i, rule, allow_star)?;
        let (rest, end) = if peek(rest)? == b':' {
            seq_number(&rest[1..], rule, allow_star)?
        } else {
            (rest, start)
        };
        out.push(SeqRange { start, end });
        if peek(rest)? == b',' {
            i = &rest[1..];
        } else {
            return Ok((rest, out));
        }
    }
}

/// Whether `b` ends a line (CR, or a bare LF that `crlf` will report).
pub(crate) fn is_eol(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;

    type R<'a, T> = Result<(T, &'a [u8]), String>;

    fn run<'a, T>(r: PResult<'a, T>) -> R<'a, T> {
        match r {
            Ok((rest, v)) => Ok((v, rest)),
            Err(Err::Incomplete(_)) => Err("incomplete".into()),
            Err(Err::Error(e)) | Err(Err::Failure(e)) => {
                Err(format!("{}:{}@{}", e.rule, e.expected, e.rest.len()))
            }
        }
    }

    #[test]
    fn numbers() {
        let cases: &[(&[u8], Result<u32, ()>, &[u8])] = &[
            (b"0 ", Ok(0), b" "),
            (b"007)", Ok(7), b")"),
            (b"4294967295 ", Ok(u32::MAX), b" "),
            (b"4294967296 ", Err(()), b""),
            (b"x", Err(()), b""),
        ];
        for (input, want, rest) in cases {
            match (run(number(input, "t")), want) {
                (Ok((v, r)), Ok(w)) => {
                    assert_eq!(v, *w);
                    assert_eq!(r, *rest);
                }
                (Err(_), Err(())) => {}
                (got, _) => panic!("{input:?}: {got:?}"),
            }
        }
        assert!(run(nz_number(b"0 ", "t")).is_err());
        assert!(run(nz_number(b"01 ", "t")).is_err());
        assert_eq!(run(nz_number(b"10 ", "t")), Ok((10, &b" "[..])));
        assert_eq!(run(number(b"12", "t")), Err("incomplete".into()));
        assert_eq!(
            run(number64(b"9223372036854775807 ", "t")).unwrap().0,
            i64::MAX as u64
        );
        assert!(run(number64(b"9223372036854775808 ", "t")).is_err());
    }

    #[test]
    fn strings() {
        let o = Options::default();
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"\"abc\" ", b"abc", b" "),
            (b"\"\" ", b"", b" "),
            (b"\"a\\\"b\\\\c\")", b"a\"b\\c", b")"),
            (b"{3}\r\nabc)", b"abc", b")"),
            (b"{0}\r\n)", b"", b")"),
        ];
        for (input, want, rest) in cases {
            let (v, r) = run(string(&o, input, "t")).unwrap();
            assert_eq!(&*v, *want, "{input:?}");
            assert_eq!(r, *rest);
        }
        assert!(run(quoted(&o, b"\"a\\nb\"", "t")).is_err());
        assert!(run(quoted(&o, "\"é\"".as_bytes(), "t")).is_err());
        let u = Options {
            utf8_accept: true,
            ..Options::default()
        };
        assert_eq!(
            &*run(quoted(&u, "\"é\" ".as_bytes(), "t")).unwrap().0,
            "é".as_bytes()
        );
        assert!(run(quoted(&u, b"\"\xff\" ", "t")).is_err());
        assert_eq!(run(literal(b"{5}\r\nab")), Err("incomplete".into()));
        assert!(run(literal(b"{5+}\r\nabcde")).is_err());
        assert!(run(literal(b"{2}\r\na\0 ")).is_err());
    }

    #[test]
    fn nstring_astring() {
        let o = Options::default();
        assert_eq!(run(nstring(&o, b"NIL ", "t")).unwrap().0, None);
        assert_eq!(run(nstring(&o, b"nil)", "t")).unwrap().0, None);
        assert_eq!(run(nstring(&o, b"Nil)", "t")).unwrap().0, None);
        assert_eq!(run(nstring(&o, b"Ni", "t")), Err("incomplete".into()));
        assert!(run(nstring(&o, b"abc ", "t")).is_err());
        assert_eq!(
            &*run(astring(&o, b"[Gmail]/Starred\r\n", "t")).unwrap().0,
            b"[Gmail]/Starred"
        );
        assert_eq!(&*run(astring(&o, b"200\r\n", "t")).unwrap().0, b"200");
    }

    #[test]
    fn flags() {
        let cases: &[(&[u8], Flag)] = &[
            (b"\\Seen ", Flag::Seen),
            (b"\\sEEn ", Flag::Seen),
            (b"\\Recent)", Flag::Recent),
            (b"$Forwarded ", Flag::Keyword(b"$Forwarded")),
            (b"\\HasNoChildren)", Flag::Extension(b"HasNoChildren")),
        ];
        for (input, want) in cases {
            assert_eq!(run(flag(input, "t", false)).unwrap().0, *want);
        }
        assert_eq!(run(flag(b"\\*)", "t", true)).unwrap().0, Flag::Wildcard);
        assert!(run(flag(b"\\*)", "t", false)).is_err());
        assert!(run(flag(b"a]b)", "t", false)).is_ok()); // stops at "]": caller flags it
    }

    #[test]
    fn lists() {
        let l = |i| run(paren_list(i, "t", "atom", false, |i| atom(i, "t")));
        assert_eq!(l(b"() "), Ok((vec![], &b" "[..])));
        assert_eq!(l(b"(a b) ").unwrap().0, vec![&b"a"[..], b"b"]);
        assert_eq!(l(b"(a b )"), Err("t:\")\" (no SP before \")\")@2".into()));
        assert_eq!(l(b"(a  b)"), Err("t:atom@3".into()));
        assert_eq!(l(b"(a"), Err("incomplete".into()));
    }
}
