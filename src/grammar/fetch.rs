//! message-data FETCH: msg-att and its items (RFC 3501 §7.4.2, §9; RFC 3516
//! BINARY, RFC 7162 MODSEQ, RFC 8474 OBJECTID, RFC 8514 SAVEDATE, RFC 8970
//! PREVIEW, Gmail's X-GM-* items).

use std::borrow::Cow;

use nom::{Err, Needed};

use super::body::{body, BodyStructure};
use super::core::{
    astring, atom, byte, flag, is_nil_start, keyword, mod_sequence_value, nil, nstring, number,
    number64, nz_number, paren_list, peek, sp, Flag,
};
use super::datetime::{date_time, DateTime};
use super::diag::{fail_at, PResult};
use super::envelope::{envelope, Envelope};
use super::{IString, Options};

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum MsgAtt<'a> {
    /// "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"
    Flags(Vec<Flag<'a>>),
    /// "ENVELOPE" SP envelope
    Envelope(Box<Envelope<'a>>),
    /// "INTERNALDATE" SP date-time
    InternalDate(DateTime),
    /// "RFC822" SP nstring
    Rfc822(Option<IString<'a>>),
    /// "RFC822.HEADER" SP nstring
    Rfc822Header(Option<IString<'a>>),
    /// "RFC822.TEXT" SP nstring
    Rfc822Text(Option<IString<'a>>),
    /// "RFC822.SIZE" SP number (32-bit, as IMAP4rev1 requires)
    Rfc822Size(u32),
    /// "BODY" SP body — non-extensible
    Body(Box<BodyStructure<'a>>),
    /// "BODYSTRUCTURE" SP body
    BodyStructure(Box<BodyStructure<'a>>),
    /// "BODY" section ["<" number ">"] SP nstring — literal data is borrowed.
    BodySection {
        section: Section<'a>,
        origin: Option<u32>,
        data: Option<IString<'a>>,
    },
    /// "UID" SP uniqueid
    Uid(u32),
    /// "MODSEQ" SP "(" permsg-modsequence ")"   ; RFC 7162
    ModSeq(u64),
    /// "BINARY" section-binary ["<" number ">"] SP (nstring / literal8)   ; RFC 3516
    Binary {
        part: Vec<u32>,
        origin: Option<u32>,
        data: Option<IString<'a>>,
    },
    /// "BINARY.SIZE" section-binary SP number   ; RFC 3516
    BinarySize { part: Vec<u32>, size: u32 },
    /// "SAVEDATE" SP (date-time / nil)   ; RFC 8514
    SaveDate(Option<DateTime>),
    /// "EMAILID" SP "(" objectid ")"   ; RFC 8474
    EmailId(&'a [u8]),
    /// "THREADID" SP ("(" objectid ")" / nil)   ; RFC 8474
    ThreadId(Option<&'a [u8]>),
    /// "PREVIEW" SP nstring   ; RFC 8970
    Preview(Option<IString<'a>>),
    /// Gmail: "X-GM-MSGID" SP number64
    GmailMsgId(u64),
    /// Gmail: "X-GM-THRID" SP number64
    GmailThrId(u64),
    /// Gmail: "X-GM-LABELS" SP "(" [(astring / "\" atom) *(SP ...)] ")" —
    /// system labels keep their backslash.
    GmailLabels(Vec<IString<'a>>),
}

/// section = "[" [section-spec] "]"
/// section-spec = section-msgtext / (section-part ["." section-text])
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section<'a> {
    /// section-part = nz-number *("." nz-number); empty for the whole message.
    pub part: Vec<u32>,
    /// None for the whole part (`BODY[]`, `BODY[1.2]`).
    pub text: Option<SectionText<'a>>,
}

/// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
/// section-text = section-msgtext / "MIME"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum SectionText<'a> {
    Header,
    HeaderFields(Vec<IString<'a>>),
    HeaderFieldsNot(Vec<IString<'a>>),
    Text,
    Mime,
}

/// msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"
pub(crate) fn msg_att<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Vec<MsgAtt<'a>>> {
    paren_list(i, "msg-att", "msg-att", true, |i| msg_att_item(opts, i))
}

/// The name of a FETCH item: letters, digits, "." and "-" (the section
/// and origin that may follow are parsed separately).
fn att_name(i: &[u8]) -> PResult<'_, &[u8]> {
    let n = i
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        .unwrap_or(i.len());
    if n == i.len() {
        return Err(Err::Incomplete(Needed::Unknown));
    }
    if n == 0 {
        return fail_at(i, "msg-att", "msg-att");
    }
    Ok((&i[n..], &i[..n]))
}

/// msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"
/// msg-att-static = "ENVELOPE" SP envelope / "INTERNALDATE" SP date-time /
///                  "RFC822" [".HEADER" / ".TEXT"] SP nstring / "RFC822.SIZE" SP number /
///                  "BODY" ["STRUCTURE"] SP body / "BODY" section ["<" number ">"] SP nstring /
///                  "UID" SP uniqueid
///                  (and the extension items listed on [`MsgAtt`])
fn msg_att_item<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, MsgAtt<'a>> {
    const R: &str = "msg-att";
    let start = i;
    let (i, name) = att_name(i)?;
    let up = name.to_ascii_uppercase();
    // BODY[...] and BINARY[...] carry a section straight after the name.
    if peek(i)? == b'[' {
        return match up.as_slice() {
            b"BODY" => {
                let (i, section) = section(opts, i)?;
                let (i, origin) = origin(i)?;
                let (i, ()) = sp(i, "msg-att-static")?;
                let (i, data) = nstring(opts, i, "msg-att-static")?;
                Ok((
                    i,
                    MsgAtt::BodySection {
                        section,
                        origin,
                        data,
                    },
                ))
            }
            b"BINARY" => {
                let (i, part) = section_binary(i)?;
                let (i, origin) = origin(i)?;
                let (i, ()) = sp(i, "msg-att-body")?;
                let (i, data) = nstring_or_literal8(opts, i)?;
                Ok((i, MsgAtt::Binary { part, origin, data }))
            }
            b"BINARY.SIZE" => {
                let (i, part) = section_binary(i)?;
                let (i, ()) = sp(i, "msg-att-body")?;
                let (i, size) = number(i, "msg-att-body")?;
                Ok((i, MsgAtt::BinarySize { part, size }))
            }
            // e.g. BODY.PEEK[...], which is a command form, never a response item.
            _ => fail_at(start, R, "msg-att name (FLAGS, UID, BODY[...], ...)"),
        };
    }
    let (i, ()) = match up.as_slice() {
        b"FLAGS" | b"ENVELOPE" | b"INTERNALDATE" | b"RFC822" | b"RFC822.HEADER"
        | b"RFC822.TEXT" | b"RFC822.SIZE" | b"BODY" | b"BODYSTRUCTURE" | b"UID" | b"MODSEQ"
        | b"SAVEDATE" | b"EMAILID" | b"THREADID" | b"PREVIEW" | b"X-GM-MSGID" | b"X-GM-THRID"
        | b"X-GM-LABELS" => sp(i, R)?,
        b"BINARY" | b"BINARY.SIZE" => return fail_at(i, R, "section-binary"),
        _ => return fail_at(start, R, "msg-att name (FLAGS, UID, BODY[...], ...)"),
    };
    const S: &str = "msg-att-static";
    let att = match up.as_slice() {
        b"FLAGS" => {
            let (i, f) = paren_list(i, "msg-att-dynamic", "flag-fetch", false, |i| {
                flag(i, "flag-fetch", false)
            })?;
            (i, MsgAtt::Flags(f))
        }
        b"ENVELOPE" => {
            let (i, e) = envelope(opts, i)?;
            (i, MsgAtt::Envelope(Box::new(e)))
        }
        b"INTERNALDATE" => {
            let (i, d) = date_time(i)?;
            (i, MsgAtt::InternalDate(d))
        }
        b"RFC822" => nstring(opts, i, S).map(|(i, s)| (i, MsgAtt::Rfc822(s)))?,
        b"RFC822.HEADER" => nstring(opts, i, S).map(|(i, s)| (i, MsgAtt::Rfc822Header(s)))?,
        b"RFC822.TEXT" => nstring(opts, i, S).map(|(i, s)| (i, MsgAtt::Rfc822Text(s)))?,
        b"RFC822.SIZE" => number(i, S).map(|(i, n)| (i, MsgAtt::Rfc822Size(n)))?,
        b"BODY" => {
            let (i, b) = body(opts, i, false, 0)?;
            (i, MsgAtt::Body(Box::new(b)))
        }
        b"BODYSTRUCTURE" => {
            let (i, b) = body(opts, i, true, 0)?;
            (i, MsgAtt::BodyStructure(Box::new(b)))
        }
        b"UID" => nz_number(i, "uniqueid").map(|(i, n)| (i, MsgAtt::Uid(n)))?,
        b"MODSEQ" => {
            let (i, ()) = byte(i, b'(', "fetch-mod-resp", "\"(\"")?;
            let (i, m) = mod_sequence_value(i, "permsg-modsequence")?;
            let (i, ()) = byte(i, b')', "fetch-mod-resp", "\")\"")?;
            (i, MsgAtt::ModSeq(m))
        }
        b"SAVEDATE" => {
            if is_nil_start(i)? {
                let (i, ()) = nil(i, "msg-att-static")?;
                (i, MsgAtt::SaveDate(None))
            } else {
                let (i, d) = date_time(i)?;
                (i, MsgAtt::SaveDate(Some(d)))
            }
        }
        b"EMAILID" => {
            let (i, id) = paren_objectid(i)?;
            (i, MsgAtt::EmailId(id))
        }
        b"THREADID" => {
            if is_nil_start(i)? {
                let (i, ()) = nil(i, "msg-att-static")?;
                (i, MsgAtt::ThreadId(None))
            } else {
                let (i, id) = paren_objectid(i)?;
                (i, MsgAtt::ThreadId(Some(id)))
            }
        }
        b"PREVIEW" => nstring(opts, i, "msg-att-dynamic").map(|(i, s)| (i, MsgAtt::Preview(s)))?,
        b"X-GM-MSGID" => number64(i, R).map(|(i, n)| (i, MsgAtt::GmailMsgId(n)))?,
        b"X-GM-THRID" => number64(i, R).map(|(i, n)| (i, MsgAtt::GmailThrId(n)))?,
        _ => {
            // X-GM-LABELS
            let (i, labels) = paren_list(i, "x-gm-labels", "label", false, |i| {
                if peek(i)? == b'\\' {
                    let (r, a) = atom(&i[1..], "x-gm-labels")?;
                    Ok((r, Cow::Borrowed(&i[..a.len() + 1])))
                } else {
                    astring(opts, i, "x-gm-labels")
                }
            })?;
            (i, MsgAtt::GmailLabels(labels))
        }
    };
    Ok(att)
}

/// "(" objectid ")" ; objectid = 1*255(ALPHA / DIGIT / "_" / "-")   ; RFC 8474
fn paren_objectid(i: &[u8]) -> PResult<'_, &[u8]> {
    const R: &str = "objectid";
    let (i, ()) = byte(i, b'(', R, "\"(\"")?;
    let (r, id) = super::core::take_while1(
        i,
        |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
        R,
        "objectid",
    )?;
    if id.len() > 255 {
        return fail_at(&i[255..], R, "\")\" (objectid is at most 255 characters)");
    }
    let (r, ()) = byte(r, b')', R, "\")\"")?;
    Ok((r, id))
}

/// ["<" number ">"]
fn origin(i: &[u8]) -> PResult<'_, Option<u32>> {
    if peek(i)? != b'<' {
        return Ok((i, None));
    }
    let (i, n) = number(&i[1..], "msg-att-static")?;
    let (i, ()) = byte(i, b'>', "msg-att-static", "\">\"")?;
    Ok((i, Some(n)))
}

/// section = "[" [section-spec] "]"
/// section-spec = section-msgtext / (section-part ["." section-text])
/// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
/// section-part = nz-number *("." nz-number)
/// section-text = section-msgtext / "MIME"
pub(crate) fn section<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Section<'a>> {
    const R: &str = "section";
    let (mut i, ()) = byte(i, b'[', R, "\"[\"")?;
    let mut part = Vec::new();
    let mut text = None;
    if peek(i)?.is_ascii_digit() {
        loop {
            let (r, n) = nz_number(i, "section-part")?;
            part.push(n);
            i = r;
            if peek(i)? == b'.' && peek(&i[1..])?.is_ascii_digit() {
                i = &i[1..];
            } else {
                break;
            }
        }
        if peek(i)? == b'.' {
            let (r, t) = section_text(opts, &i[1..], true)?;
            text = Some(t);
            i = r;
        }
    } else if peek(i)? != b']' {
        let (r, t) = section_text(opts, i, false)?;
        text = Some(t);
        i = r;
    }
    let (i, ()) = byte(i, b']', R, "\"]\"")?;
    Ok((i, Section { part, text }))
}

/// section-text = section-msgtext / "MIME" (MIME only after a section-part)
fn section_text<'a>(opts: &Options, i: &'a [u8], after_part: bool) -> PResult<'a, SectionText<'a>> {
    const R: &str = "section-msgtext";
    let (r, name) = att_name(i)?;
    let t = match name.to_ascii_uppercase().as_slice() {
        b"HEADER" => (r, SectionText::Header),
        b"TEXT" => (r, SectionText::Text),
        b"MIME" if after_part => (r, SectionText::Mime),
        b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
            let not = name.len() > b"HEADER.FIELDS".len();
            let (r, ()) = sp(r, R)?;
            let (r, list) = paren_list(r, "header-list", "header-fld-name", true, |i| {
                astring(opts, i, "header-fld-name")
            })?;
            (
                r,
                if not {
                    SectionText::HeaderFieldsNot(list)
                } else {
                    SectionText::HeaderFields(list)
                },
            )
        }
        _ => {
            let exp = if after_part {
                "\"HEADER\", \"HEADER.FIELDS\", \"TEXT\" or \"MIME\""
            } else {
                "\"HEADER\", \"HEADER.FIELDS\" or \"TEXT\""
            };
            return fail_at(i, R, exp);
        }
    };
    Ok(t)
}

/// section-binary = "[" [section-part] "]"   ; RFC 3516
fn section_binary(i: &[u8]) -> PResult<'_, Vec<u32>> {
    const R: &str = "section-binary";
    let (mut i, ()) = byte(i, b'[', R, "\"[\"")?;
    let mut part = Vec::new();
    if peek(i)? != b']' {
        loop {
            let (r, n) = nz_number(i, "section-part")?;
            part.push(n);
            i = r;
            if peek(i)? == b'.' {
                i = &i[1..];
            } else {
                break;
            }
        }
    }
    let (i, ()) = byte(i, b']', R, "\"]\"")?;
    Ok((i, part))
}

/// nstring / literal8 ; literal8 = "~{" number "}" CRLF *OCTET   ; RFC 3516
fn nstring_or_literal8<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Option<IString<'a>>> {
    if peek(i)? != b'~' {
        return nstring(opts, i, "msg-att-body");
    }
    // literal8 may hold NUL: parse the framing, then take the octets.
    let (i, ()) = keyword(i, "~{", "literal8")?;
    let (i, n) = number(i, "literal8")?;
    let (i, ()) = byte(i, b'}', "literal8", "\"}\"")?;
    let (i, ()) = super::core::crlf(i, "literal8")?;
    let n = n as usize;
    if i.len() < n {
        return Err(Err::Incomplete(Needed::new(n - i.len())));
    }
    Ok((&i[n..], Some(Cow::Borrowed(&i[..n]))))
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;

    fn s(x: &[u8]) -> IString<'_> {
        Cow::Borrowed(x)
    }

    #[test]
    fn known_answers() {
        let o = Options::default();
        let cases: &[(&[u8], Vec<MsgAtt>)] = &[
            (
                b"(UID 5 FLAGS (\\Seen $Junk \\Recent))",
                vec![
                    MsgAtt::Uid(5),
                    MsgAtt::Flags(vec![Flag::Seen, Flag::Keyword(b"$Junk"), Flag::Recent]),
                ],
            ),
            (b"(FLAGS ())", vec![MsgAtt::Flags(vec![])]),
            (
                b"(RFC822.SIZE 44827 MODSEQ (624140003))",
                vec![MsgAtt::Rfc822Size(44827), MsgAtt::ModSeq(624140003)],
            ),
            (
                b"(BODY[] {3}\r\nabc UID 6)",
                vec![
                    MsgAtt::BodySection {
                        section: Section {
                            part: vec![],
                            text: None,
                        },
                        origin: None,
                        data: Some(s(b"abc")),
                    },
                    MsgAtt::Uid(6),
                ],
            ),
            (
                b"(BODY[1.2.MIME]<10> NIL)",
                vec![MsgAtt::BodySection {
                    section: Section {
                        part: vec![1, 2],
                        text: Some(SectionText::Mime),
                    },
                    origin: Some(10),
                    data: None,
                }],
            ),
            (
                b"(BODY[HEADER.FIELDS.NOT (From \"To\")] \"x\")",
                vec![MsgAtt::BodySection {
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFieldsNot(vec![s(b"From"), s(b"To")])),
                    },
                    origin: None,
                    data: Some(s(b"x")),
                }],
            ),
            (
                b"(BODY[2.TEXT] NIL)",
                vec![MsgAtt::BodySection {
                    section: Section {
                        part: vec![2],
                        text: Some(SectionText::Text),
                    },
                    origin: None,
                    data: None,
                }],
            ),
            (
                b"(BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1] 3)",
                vec![
                    MsgAtt::Binary {
                        part: vec![1],
                        origin: None,
                        data: Some(s(b"a\0b")),
                    },
                    MsgAtt::BinarySize {
                        part: vec![1],
                        size: 3,
                    },
                ],
            ),
            (
                b"(X-GM-MSGID 1278455344230334865 X-GM-LABELS (\\Inbox \"Custom\" [Gmail]/Sent))",
                vec![
                    MsgAtt::GmailMsgId(1278455344230334865),
                    MsgAtt::GmailLabels(vec![s(b"\\Inbox"), s(b"Custom"), s(b"[Gmail]/Sent")]),
                ],
            ),
            (
                b"(EMAILID (M6d99ac3275bb4e) THREADID NIL SAVEDATE NIL)",
                vec![
                    MsgAtt::EmailId(b"M6d99ac3275bb4e"),
                    MsgAtt::ThreadId(None),
                    MsgAtt::SaveDate(None),
                ],
            ),
        ];
        for (input, want) in cases {
            let (r, v) = msg_att(&o, input)
                .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(input)));
            assert!(r.is_empty());
            assert_eq!(v, *want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn literal_data_is_borrowed() {
        let o = Options::default();
        let (_, v) = msg_att(&o, b"(RFC822 {2}\r\nhi)").unwrap();
        assert!(matches!(&v[0], MsgAtt::Rfc822(Some(Cow::Borrowed(b"hi")))));
    }

    /// (input, offset, rule)
    #[test]
    fn deviations() {
        let o = Options::default();
        let cases: &[(&[u8], usize, &str)] = &[
            (b"(UID 19436 )", 10, "msg-att"),
            (b"(UID 5  FLAGS ())", 7, "msg-att"),
            (b"(UID 0)", 5, "uniqueid"),
            (b"(BODY[] {3}\r\nabcUID 5)", 16, "msg-att"),
            (b"(FOO 1)", 1, "msg-att"),
            (b"(FLAGS (\\*))", 9, "flag-fetch"),
            (b"(RFC822.SIZE 4294967296)", 13, "msg-att-static"),
            (b"(BODY[MIME] NIL)", 6, "section-msgtext"),
            (b"()", 1, "msg-att"),
            (b"(BODY.PEEK[] NIL)", 1, "msg-att"),
        ];
        for (input, offset, rule) in cases {
            match msg_att(&o, input) {
                Err(nom::Err::Error(e)) => {
                    assert_eq!(
                        (input.len() - e.rest.len(), e.rule),
                        (*offset, *rule),
                        "{}",
                        String::from_utf8_lossy(input)
                    )
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }
}
