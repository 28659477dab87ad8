//! ENVELOPE (RFC 3501 §7.4.2, §9).

use super::core::{byte, nstring, peek, sp};
use super::diag::{fail_at, PResult};
use super::{IString, Options};

/// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
///            env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
///
/// Address lists are None for NIL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Envelope<'a> {
    pub date: Option<IString<'a>>,
    pub subject: Option<IString<'a>>,
    pub from: Option<Vec<Address<'a>>>,
    pub sender: Option<Vec<Address<'a>>>,
    pub reply_to: Option<Vec<Address<'a>>>,
    pub to: Option<Vec<Address<'a>>>,
    pub cc: Option<Vec<Address<'a>>>,
    pub bcc: Option<Vec<Address<'a>>>,
    pub in_reply_to: Option<IString<'a>>,
    pub message_id: Option<IString<'a>>,
}

/// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
///
/// RFC 2822 group syntax is flattened as RFC 3501 sends it: a group starts
/// with an address whose host is NIL and mailbox is the group name, and ends
/// with one whose host and mailbox are both NIL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Address<'a> {
    pub name: Option<IString<'a>>,
    pub adl: Option<IString<'a>>,
    pub mailbox: Option<IString<'a>>,
    pub host: Option<IString<'a>>,
}

impl Address<'_> {
    /// Whether this marks the start of a group (host NIL, mailbox the group name).
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// Whether this marks the end of a group (host and mailbox NIL).
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }
}

/// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
/// addr-name = nstring; addr-adl = nstring; addr-mailbox = nstring; addr-host = nstring
pub(crate) fn address<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Address<'a>> {
    const R: &str = "address";
    let (i, ()) = byte(i, b'(', R, "\"(\"")?;
    let (i, name) = nstring(opts, i, "addr-name")?;
    let (i, ()) = sp(i, R)?;
    let (i, adl) = nstring(opts, i, "addr-adl")?;
    let (i, ()) = sp(i, R)?;
    let (i, mailbox) = nstring(opts, i, "addr-mailbox")?;
    let (i, ()) = sp(i, R)?;
    let (i, host) = nstring(opts, i, "addr-host")?;
    let (i, ()) = byte(i, b')', R, "\")\"")?;
    Ok((
        i,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}

/// env-from = "(" 1*address ")" / nil   (and env-sender, env-reply-to, env-to, env-cc, env-bcc)
///
/// Addresses follow each other without SP; `()` is a deviation (NIL is the
/// empty list).
pub(crate) fn address_list<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, Option<Vec<Address<'a>>>> {
    match peek(i)? {
        b'n' | b'N' => {
            let (r, ()) = super::core::nil(i, rule)?;
            Ok((r, None))
        }
        b'(' => {
            let mut i = &i[1..];
            let mut out = Vec::new();
            loop {
                match peek(i)? {
                    b'(' => {
                        let (r, a) = address(opts, i)?;
                        out.push(a);
                        i = r;
                    }
                    b')' if !out.is_empty() => return Ok((&i[1..], Some(out))),
                    b')' => return fail_at(i, rule, "address (an empty list is NIL, not \"()\")"),
                    b' ' if !out.is_empty() => {
                        return fail_at(i, rule, "\"(\" or \")\" (no SP between addresses)")
                    }
                    _ => return fail_at(i, rule, "address"),
                }
            }
        }
        _ => fail_at(i, rule, "\"(\" or NIL"),
    }
}

/// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
///            env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
pub(crate) fn envelope<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Envelope<'a>> {
    const R: &str = "envelope";
    let (i, ()) = byte(i, b'(', R, "\"(\"")?;
    let (i, date) = nstring(opts, i, "env-date")?;
    let (i, ()) = sp(i, R)?;
    let (i, subject) = nstring(opts, i, "env-subject")?;
    let (i, ()) = sp(i, R)?;
    let (i, from) = address_list(opts, i, "env-from")?;
    let (i, ()) = sp(i, R)?;
    let (i, sender) = address_list(opts, i, "env-sender")?;
    let (i, ()) = sp(i, R)?;
    let (i, reply_to) = address_list(opts, i, "env-reply-to")?;
    let (i, ()) = sp(i, R)?;
    let (i, to) = address_list(opts, i, "env-to")?;
    let (i, ()) = sp(i, R)?;
    let (i, cc) = address_list(opts, i, "env-cc")?;
    let (i, ()) = sp(i, R)?;
    let (i, bcc) = address_list(opts, i, "env-bcc")?;
    let (i, ()) = sp(i, R)?;
    let (i, in_reply_to) = nstring(opts, i, "env-in-reply-to")?;
    let (i, ()) = sp(i, R)?;
    let (i, message_id) = nstring(opts, i, "env-message-id")?;
    let (i, ()) = byte(i, b')', R, "\")\"")?;
    Ok((
        i,
        Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    ))
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;
    use std::borrow::Cow;

    fn s(x: &str) -> Option<IString<'_>> {
        Some(Cow::Borrowed(x.as_bytes()))
    }

    #[test]
    fn rfc3501_example() {
        let o = Options::default();
        let input = b"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") ";
        let (r, e) = envelope(&o, input).unwrap();
        assert_eq!(r, b" ");
        assert_eq!(e.subject, s("IMAP4rev1 WG mtg summary and minutes"));
        assert_eq!(e.cc.as_ref().unwrap().len(), 2);
        assert_eq!(e.bcc, None);
        assert_eq!(e.message_id, s("<B27397-0100000@cac.washington.edu>"));
    }

    #[test]
    fn literal_and_group_fields() {
        let o = Options::default();
        let input = b"(NIL {5}\r\nhello ((NIL NIL \"grp\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL)";
        let (r, e) = envelope(&o, input).unwrap();
        assert!(r.is_empty());
        assert_eq!(e.subject, s("hello"));
        let from = e.from.unwrap();
        assert!(from[0].is_group_start());
        assert!(from[2].is_group_end());
    }

    /// (input, offset, rule)
    #[test]
    fn deviations() {
        let o = Options::default();
        let cases: &[(&[u8], usize, &str)] = &[
            (b"(NIL NIL () NIL NIL NIL NIL NIL NIL NIL)", 10, "env-from"),
            (b"(NIL NIL ((NIL NIL \"a\" \"b\") (NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL NIL NIL)", 27, "env-from"),
            (b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL )", 40, "envelope"),
            (b"(NIL \"a \"b\" c\" NIL NIL NIL NIL NIL NIL NIL NIL)", 9, "envelope"),
        ];
        for (input, offset, rule) in cases {
            match envelope(&o, input) {
                Err(nom::Err::Error(e)) => {
                    assert_eq!(
                        (input.len() - e.rest.len(), e.rule),
                        (*offset, *rule),
                        "{}",
                        String::from_utf8_lossy(input)
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
