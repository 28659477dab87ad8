//! mailbox-data: LIST / LSUB (RFC 3501, RFC 5258 LIST-EXTENDED, RFC 6154
//! SPECIAL-USE), SEARCH, STATUS; FLAGS, EXISTS and RECENT are parsed in
//! `response`.

use super::core::{
    astring, atom, byte, crlf, is_eol, is_text_char, keyword, mod_sequence_value, nil, number,
    number64, nz_number, paren_list, peek, sp,
};
use super::diag::{fail_at, PResult};
use super::extensions::{tagged_ext_val, TaggedExtVal};
use super::{IString, Options};

/// A mailbox name, raw as sent (modified UTF-7 is decoded by `utf7`).
///
/// mailbox = "INBOX" / astring ; INBOX is case-insensitive
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mailbox<'a>(pub IString<'a>);

impl Mailbox<'_> {
    /// Whether this is INBOX, in any case.
    pub fn is_inbox(&self) -> bool {
        self.0.eq_ignore_ascii_case(b"INBOX")
    }

    /// The name's bytes as sent (unescaped if it was quoted).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name decoded from modified UTF-7 (RFC 3501 §5.1.3). Only
    /// meaningful when UTF8=ACCEPT is not in effect.
    pub fn decoded(&self) -> Result<String, super::utf7::Utf7Error> {
        super::utf7::decode(&self.0)
    }
}

/// A LIST/LSUB mailbox attribute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ListAttr<'a> {
    Noinferiors,
    Noselect,
    Marked,
    Unmarked,
    /// RFC 5258
    NonExistent,
    Subscribed,
    Remote,
    /// RFC 3348 / RFC 5258 child-mbox-flag
    HasChildren,
    HasNoChildren,
    /// RFC 6154 SPECIAL-USE
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    /// RFC 8457
    Important,
    /// Any other flag-extension, without the backslash.
    Extension(&'a [u8]),
}

impl<'a> ListAttr<'a> {
    fn from_atom(a: &'a [u8]) -> Self {
        match a.to_ascii_lowercase().as_slice() {
            b"noinferiors" => ListAttr::Noinferiors,
            b"noselect" => ListAttr::Noselect,
            b"marked" => ListAttr::Marked,
            b"unmarked" => ListAttr::Unmarked,
            b"nonexistent" => ListAttr::NonExistent,
            b"subscribed" => ListAttr::Subscribed,
            b"remote" => ListAttr::Remote,
            b"haschildren" => ListAttr::HasChildren,
            b"hasnochildren" => ListAttr::HasNoChildren,
            b"all" => ListAttr::All,
            b"archive" => ListAttr::Archive,
            b"drafts" => ListAttr::Drafts,
            b"flagged" => ListAttr::Flagged,
            b"junk" => ListAttr::Junk,
            b"sent" => ListAttr::Sent,
            b"trash" => ListAttr::Trash,
            b"important" => ListAttr::Important,
            _ => ListAttr::Extension(a),
        }
    }

    /// mbx-list-sflag = "\Noselect" / "\Marked" / "\Unmarked"
    fn is_sflag(&self) -> bool {
        matches!(
            self,
            ListAttr::Noselect | ListAttr::Marked | ListAttr::Unmarked
        )
    }
}

/// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                [SP mbox-list-extended]   ; RFC 5258
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListItem<'a> {
    pub attributes: Vec<ListAttr<'a>>,
    /// The hierarchy delimiter; None for NIL (a flat namespace).
    pub delimiter: Option<u8>,
    pub mailbox: Mailbox<'a>,
    /// RFC 5258 extended data items (CHILDINFO, OLDNAME, ...): tag and value.
    pub extended: Vec<(IString<'a>, TaggedExtVal<'a>)>,
}

/// mailbox = "INBOX" / astring
pub(crate) fn mailbox<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Mailbox<'a>> {
    let (rest, s) = astring(opts, i, "mailbox")?;
    Ok((rest, Mailbox(s)))
}

/// mbx-list-flags = *(mbx-list-oflag SP) mbx-list-sflag *(SP mbx-list-oflag) /
///                  mbx-list-oflag *(SP mbx-list-oflag)
/// mbx-list-oflag = "\Noinferiors" / flag-extension
/// mbx-list-sflag = "\Noselect" / "\Marked" / "\Unmarked"
pub(crate) fn mbx_list_flags(i: &[u8]) -> PResult<'_, Vec<ListAttr<'_>>> {
    const R: &str = "mbx-list-flags";
    let mut seen_sflag = false;
    paren_list(i, R, "\"\\\" atom", false, |i| {
        if peek(i)? != b'\\' {
            return fail_at(i, R, "\"\\\" atom");
        }
        let (rest, a) = atom(&i[1..], R)?;
        let attr = ListAttr::from_atom(a);
        if attr.is_sflag() {
            if seen_sflag {
                return fail_at(i, R, "at most one of \\Noselect, \\Marked, \\Unmarked");
            }
            seen_sflag = true;
        }
        Ok((rest, attr))
    })
}

/// DQUOTE QUOTED-CHAR DQUOTE / nil
fn delimiter(i: &[u8]) -> PResult<'_, Option<u8>> {
    const R: &str = "mailbox-list";
    match peek(i)? {
        b'"' => {
            let (r, c) = match peek(&i[1..])? {
                b'\\' => match peek(&i[2..])? {
                    c @ (b'"' | b'\\') => (&i[3..], c),
                    _ => return fail_at(&i[2..], "QUOTED-CHAR", "quoted-specials after \"\\\""),
                },
                c if is_text_char(c) && c != b'"' => (&i[2..], c),
                _ => return fail_at(&i[1..], "QUOTED-CHAR", "one QUOTED-CHAR"),
            };
            let (r, ()) = byte(r, b'"', R, "DQUOTE (the delimiter is one character)")?;
            Ok((r, Some(c)))
        }
        b'n' | b'N' => {
            let (r, ()) = nil(i, R)?;
            Ok((r, None))
        }
        _ => fail_at(i, R, "DQUOTE QUOTED-CHAR DQUOTE or NIL"),
    }
}

/// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                [SP mbox-list-extended]
/// mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"
/// mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val
/// mbox-list-extended-item-tag = astring
pub(crate) fn mailbox_list<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, ListItem<'a>> {
    const R: &str = "mailbox-list";
    let (i, attributes) = mbx_list_flags(i)?;
    let (i, ()) = sp(i, R)?;
    let (i, delimiter) = delimiter(i)?;
    let (i, ()) = sp(i, R)?;
    let (i, mailbox) = mailbox(opts, i)?;
    let (i, extended) = match peek(i)? {
        b' ' => paren_list(
            &i[1..],
            "mbox-list-extended",
            "mbox-list-extended-item",
            false,
            |i| {
                let (i, tag) = astring(opts, i, "mbox-list-extended-item")?;
                let (i, ()) = sp(i, "mbox-list-extended-item")?;
                let (i, v) = tagged_ext_val(opts, i, 0)?;
                Ok((i, (tag, v)))
            },
        )?,
        _ => (i, Vec::new()),
    };
    Ok((
        i,
        ListItem {
            attributes,
            delimiter,
            mailbox,
            extended,
        },
    ))
}

/// "SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"]   ; RFC 7162
///
/// Parses what follows "SEARCH", up to (not including) CRLF.
pub(crate) fn search_data(i: &[u8]) -> PResult<'_, (Vec<u32>, Option<u64>)> {
    const R: &str = "mailbox-data";
    let mut nums = Vec::new();
    let mut i = i;
    loop {
        let b = peek(i)?;
        if is_eol(b) {
            return Ok((i, (nums, None)));
        }
        if b != b' ' {
            return fail_at(i, R, "SP or CRLF");
        }
        match peek(&i[1..])? {
            b'\r' | b'\n' => return fail_at(i, R, "CRLF (no SP before CRLF)"),
            b'(' => {
                let (r, ()) = byte(&i[1..], b'(', R, "\"(\"")?;
                let (r, ()) = keyword(r, "MODSEQ", "search-sort-mod-seq")?;
                let (r, ()) = sp(r, "search-sort-mod-seq")?;
                let (r, m) = mod_sequence_value(r, "search-sort-mod-seq")?;
                let (r, ()) = byte(r, b')', "search-sort-mod-seq", "\")\"")?;
                // The modseq comes last: only CRLF may follow.
                let (_, ()) = crlf(r, R)?;
                return Ok((r, (nums, Some(m))));
            }
            b' ' => return fail_at(&i[1..], R, "nz-number"),
            _ => {
                let (r, n) = nz_number(&i[1..], R)?;
                nums.push(n);
                i = r;
            }
        }
    }
}

/// STATUS attributes and values, names as sent.
pub type StatusItems<'a> = Vec<(&'a [u8], u64)>;

/// "STATUS" SP mailbox SP "(" [status-att-list] ")"
/// status-att-list = status-att-val *(SP status-att-val)      ; RFC 4466
/// status-att-val = ("MESSAGES" SP number) / ("RECENT" SP number) /
///                  ("UIDNEXT" SP nz-number) / ("UIDVALIDITY" SP nz-number) /
///                  ("UNSEEN" SP number) / ("DELETED" SP number) /      ; RFC 9051
///                  ("SIZE" SP number64) / ("DELETED-STORAGE" SP number64) /  ; RFC 8438, 9208
///                  ("HIGHESTMODSEQ" SP mod-sequence-valzer) /           ; RFC 7162
///                  ("APPENDLIMIT" SP (number / nil))                    ; RFC 7889
///
/// An unknown attribute takes a number64. An empty list is grammatical;
/// whether it answers the request is for the session to judge.
pub(crate) fn status_data<'a>(
    opts: &Options,
    i: &'a [u8],
) -> PResult<'a, (Mailbox<'a>, StatusItems<'a>)> {
    const R: &str = "status-att-list";
    let (i, mbox) = mailbox(opts, i)?;
    let (i, ()) = sp(i, "mailbox-data")?;
    let (i, items) = paren_list(i, R, "status-att", false, |i| {
        let (r, name) = atom(i, R)?;
        let (r, ()) = sp(r, R)?;
        let (r, v) = match name.to_ascii_uppercase().as_slice() {
            b"MESSAGES" | b"RECENT" | b"UNSEEN" | b"DELETED" => {
                let (r, n) = number(r, R)?;
                (r, u64::from(n))
            }
            b"UIDNEXT" | b"UIDVALIDITY" => {
                let (r, n) = nz_number(r, R)?;
                (r, u64::from(n))
            }
            b"APPENDLIMIT" if matches!(peek(r)?, b'n' | b'N') => {
                let (r, ()) = nil(r, R)?;
                (r, u64::MAX)
            }
            b"APPENDLIMIT" => {
                let (r, n) = number(r, R)?;
                (r, u64::from(n))
            }
            _ => number64(r, R)?,
        };
        Ok((r, (name, v)))
    })?;
    Ok((i, (mbox, items)))
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;
    use std::borrow::Cow;

    fn mb(s: &[u8]) -> Mailbox<'_> {
        Mailbox(Cow::Borrowed(s))
    }

    #[test]
    fn list_known_answers() {
        let o = Options::default();
        let cases: &[(&[u8], ListItem, &[u8])] = &[
            (
                b"(\\HasNoChildren) \"/\" INBOX\r\n",
                ListItem {
                    attributes: vec![ListAttr::HasNoChildren],
                    delimiter: Some(b'/'),
                    mailbox: mb(b"INBOX"),
                    extended: vec![],
                },
                b"\r\n",
            ),
            (
                b"(\\HasNoChildren \\Flagged) \"/\" [Gmail]/Starred\r\n",
                ListItem {
                    attributes: vec![ListAttr::HasNoChildren, ListAttr::Flagged],
                    delimiter: Some(b'/'),
                    mailbox: mb(b"[Gmail]/Starred"),
                    extended: vec![],
                },
                b"\r\n",
            ),
            (
                b"() NIL 200\r\n",
                ListItem {
                    attributes: vec![],
                    delimiter: None,
                    mailbox: mb(b"200"),
                    extended: vec![],
                },
                b"\r\n",
            ),
            (
                b"(\\Noselect) nil \"Archive\"\r\n",
                ListItem {
                    attributes: vec![ListAttr::Noselect],
                    delimiter: None,
                    mailbox: mb(b"Archive"),
                    extended: vec![],
                },
                b"\r\n",
            ),
            (
                b"() \"\\\\\" {4}\r\na\"b)\r\n",
                ListItem {
                    attributes: vec![],
                    delimiter: Some(b'\\'),
                    mailbox: mb(b"a\"b)"),
                    extended: vec![],
                },
                b"\r\n",
            ),
        ];
        for (input, want, rest) in cases {
            let (r, v) = mailbox_list(&o, input).unwrap();
            assert_eq!(v, *want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(r, *rest);
        }
        assert!(mb(b"iNbOx").is_inbox());
    }

    #[test]
    fn list_deviations() {
        let o = Options::default();
        let cases: &[(&[u8], usize)] = &[
            (b"(\\Noselect \\Marked) \"/\" a\r\n", 11),
            (b"(Foo) \"/\" a\r\n", 1),
            (b"() \"//\" a\r\n", 5),
            (b"() \"\" a\r\n", 4),
            (b"()  \"/\" a\r\n", 3),
        ];
        for (input, offset) in cases {
            match mailbox_list(&o, input) {
                Err(nom::Err::Error(e)) => assert_eq!(
                    input.len() - e.rest.len(),
                    *offset,
                    "{:?}",
                    String::from_utf8_lossy(input)
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn search_known_answers() {
        let cases: &[(&[u8], Vec<u32>, Option<u64>)] = &[
            (b"\r\n", vec![], None),
            (b" 2 84 882\r\n", vec![2, 84, 882], None),
            (b" 2 (MODSEQ 917162500)\r\n", vec![2], Some(917162500)),
        ];
        for (input, nums, modseq) in cases {
            let (r, v) = search_data(input).unwrap();
            assert_eq!(v, (nums.clone(), *modseq));
            assert_eq!(r, b"\r\n");
        }
        for (input, offset) in [(&b" 2 84 \r\n"[..], 5), (b" 2  84\r\n", 3), (b" 0\r\n", 1)] {
            match search_data(input) {
                Err(nom::Err::Error(e)) => assert_eq!(input.len() - e.rest.len(), offset),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn status_known_answers() {
        let o = Options::default();
        let (r, (m, items)) = status_data(
            &o,
            b"blurdybloop (MESSAGES 231 UIDNEXT 44292 SIZE 12345678901 APPENDLIMIT NIL)\r\n",
        )
        .unwrap();
        assert_eq!(r, b"\r\n");
        assert_eq!(m, mb(b"blurdybloop"));
        assert_eq!(
            items,
            vec![
                (&b"MESSAGES"[..], 231),
                (b"UIDNEXT", 44292),
                (b"SIZE", 12345678901),
                (b"APPENDLIMIT", u64::MAX)
            ]
        );
        assert_eq!(status_data(&o, b"x ()\r\n").unwrap().1 .1, vec![]);
        for (input, offset) in [
            (&b"x (MESSAGES 1 )\r\n"[..], 13),
            (b"x (UIDVALIDITY 0)\r\n", 15),
            (b"x (MESSAGES 4294967296)\r\n", 12),
        ] {
            match status_data(&o, input) {
                Err(nom::Err::Error(e)) => assert_eq!(input.len() - e.rest.len(), offset),
                other => panic!("{other:?}"),
            }
        }
    }
}
