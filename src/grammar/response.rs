//! Responses: greeting, continue-req, tagged and untagged responses,
//! resp-text and resp-text-code.

use nom::Err;

use super::capability::capability_list;
use super::core::{
    astring, atom, byte, crlf, flag, is_eol, is_tag_char, is_text_char, mod_sequence_value, number,
    nz_number, paren_list, peek, sp, take_while1, text_star, Flag,
};
use super::diag::{fail, fail_at, PResult};
use super::extensions;
use super::fetch::{self, MsgAtt};
use super::mailbox::{self, ListItem, Mailbox};
use super::{IString, Options, SeqRange};

/// Greeting condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum GreetingKind {
    Ok,
    Preauth,
    Bye,
}

/// greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Greeting<'a> {
    pub kind: GreetingKind,
    pub code: Option<Code<'a>>,
    pub text: &'a [u8],
}

/// One server response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Response<'a> {
    Continue(ContinueReq<'a>),
    Tagged(Tagged<'a>),
    Untagged(Untagged<'a>),
}

/// response-tagged = tag SP resp-cond-state CRLF
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tagged<'a> {
    pub tag: &'a [u8],
    pub status: Status<'a>,
}

/// Condition of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum StatusKind {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

/// resp-cond-state / resp-cond-bye / resp-cond-auth
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status<'a> {
    pub kind: StatusKind,
    pub code: Option<Code<'a>>,
    pub text: &'a [u8],
}

/// continue-req = "+" SP (resp-text / base64) CRLF
///
/// The grammar cannot tell `+ YWJj` (base64) from `+ idle` (text): a line
/// that is entirely valid base64 (including the empty line) is returned as
/// `Base64`; the session interprets it by context (AUTHENTICATE or not).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ContinueReq<'a> {
    Text {
        code: Option<Code<'a>>,
        text: &'a [u8],
    },
    Base64(&'a [u8]),
}

/// resp-text-code, plus the common extension codes by name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Code<'a> {
    Alert,
    BadCharset(Vec<IString<'a>>),
    Capability(Vec<&'a [u8]>),
    Parse,
    PermanentFlags(Vec<Flag<'a>>),
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    Unseen(u32),
    /// RFC 4315: "APPENDUID" SP nz-number SP append-uid
    AppendUid {
        uidvalidity: u32,
        uids: Vec<SeqRange>,
    },
    /// RFC 4315: "COPYUID" SP nz-number SP uid-set SP uid-set
    CopyUid {
        uidvalidity: u32,
        source: Vec<SeqRange>,
        dest: Vec<SeqRange>,
    },
    /// RFC 4315
    UidNotSticky,
    /// RFC 7162: "HIGHESTMODSEQ" SP mod-sequence-value
    HighestModSeq(u64),
    /// RFC 7162
    NoModSeq,
    /// RFC 7162: "MODIFIED" SP sequence-set
    Modified(Vec<SeqRange>),
    /// RFC 7162
    Closed,
    /// A known code without arguments (RFC 5530 and others), upper-cased
    /// by [`Code::name`]: AUTHENTICATIONFAILED, UNAVAILABLE, ...
    Named(&'a [u8]),
    /// Unknown codes are legal: atom [SP 1*<any TEXT-CHAR except "]">]
    Other {
        atom: &'a [u8],
        text: Option<&'a [u8]>,
    },
}

/// Argument-less codes known by name (RFC 5530, RFC 4978, RFC 6154, RFC 5465,
/// RFC 8474, RFC 3516, RFC 9051). Any other atom is `Code::Other`.
const NAMED_CODES: &[&str] = &[
    "AUTHENTICATIONFAILED",
    "UNAVAILABLE",
    "AUTHORIZATIONFAILED",
    "EXPIRED",
    "PRIVACYREQUIRED",
    "CONTACTADMIN",
    "NOPERM",
    "INUSE",
    "EXPUNGEISSUED",
    "CORRUPTION",
    "SERVERBUG",
    "CLIENTBUG",
    "CANNOT",
    "LIMIT",
    "OVERQUOTA",
    "ALREADYEXISTS",
    "NONEXISTENT",
    "COMPRESSIONACTIVE",
    "USEATTR",
    "NOTSAVED",
    "HASCHILDREN",
    "UNKNOWN-CTE",
    "NOUPDATE",
];

impl Code<'_> {
    /// The code's atom in upper case, e.g. "AUTHENTICATIONFAILED".
    pub fn name(&self) -> String {
        let s: &str = match self {
            Code::Alert => "ALERT",
            Code::BadCharset(_) => "BADCHARSET",
            Code::Capability(_) => "CAPABILITY",
            Code::Parse => "PARSE",
            Code::PermanentFlags(_) => "PERMANENTFLAGS",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::TryCreate => "TRYCREATE",
            Code::UidNext(_) => "UIDNEXT",
            Code::UidValidity(_) => "UIDVALIDITY",
            Code::Unseen(_) => "UNSEEN",
            Code::AppendUid { .. } => "APPENDUID",
            Code::CopyUid { .. } => "COPYUID",
            Code::UidNotSticky => "UIDNOTSTICKY",
            Code::HighestModSeq(_) => "HIGHESTMODSEQ",
            Code::NoModSeq => "NOMODSEQ",
            Code::Modified(_) => "MODIFIED",
            Code::Closed => "CLOSED",
            Code::Named(a) | Code::Other { atom: a, .. } => {
                return String::from_utf8_lossy(a).to_ascii_uppercase();
            }
        };
        s.to_string()
    }
}

/// Untagged response data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Untagged<'a> {
    /// `* OK/NO/BAD/BYE ...` (resp-cond-state / resp-cond-bye)
    Status(Status<'a>),
    /// capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev1" *(SP capability)
    Capability(Vec<&'a [u8]>),
    /// RFC 2971: "ID" SP id-params-list
    Id(Option<extensions::IdParams<'a>>),
    /// RFC 5161: "ENABLED" *(SP capability)
    Enabled(Vec<&'a [u8]>),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    Flags(Vec<Flag<'a>>),
    List(ListItem<'a>),
    Lsub(ListItem<'a>),
    /// "SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"] (RFC 7162);
    /// RFC 5256 "SORT" is returned the same way.
    Search(Vec<u32>, Option<u64>),
    /// "STATUS" SP mailbox SP "(" [status-att-list] ")"; values are
    /// numbers (APPENDLIMIT NIL is `u64::MAX`).
    StatusData {
        mailbox: Mailbox<'a>,
        items: Vec<(&'a [u8], u64)>,
    },
    Fetch {
        seq: u32,
        atts: Vec<MsgAtt<'a>>,
    },
    /// RFC 2342
    Namespace(extensions::Namespace<'a>),
    /// RFC 4731
    ESearch(extensions::ESearch<'a>),
    /// RFC 9208
    Quota(extensions::Quota<'a>),
    /// RFC 9208
    QuotaRoot(extensions::QuotaRoot<'a>),
    /// RFC 7162: "VANISHED" [SP "(EARLIER)"] SP known-uids
    Vanished {
        earlier: bool,
        uids: Vec<SeqRange>,
    },
    /// An untagged response whose name this grammar does not know (an
    /// extension the session did not ask for, or a server's own). `rest` is
    /// everything after the name, up to (not including) CRLF.
    Other {
        name: &'a [u8],
        rest: &'a [u8],
    },
}

/// greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
/// resp-cond-auth = ("OK" / "PREAUTH") SP resp-text
pub(crate) fn greeting<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Greeting<'a>> {
    let (i, ()) = byte(i, b'*', "greeting", "\"*\"")?;
    let (i, ()) = sp(i, "greeting")?;
    let (rest, name) = atom(i, "greeting")?;
    let kind = match name.to_ascii_uppercase().as_slice() {
        b"OK" => GreetingKind::Ok,
        b"PREAUTH" => GreetingKind::Preauth,
        b"BYE" => GreetingKind::Bye,
        _ => return fail_at(i, "greeting", "\"OK\", \"PREAUTH\" or \"BYE\""),
    };
    let (rest, (code, text)) = sp_resp_text(opts, rest, "greeting")?;
    let (rest, ()) = crlf(rest, "greeting")?;
    Ok((rest, Greeting { kind, code, text }))
}

/// response = continue-req / response-data / response-tagged / response-fatal (one of them)
pub(crate) fn response<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Response<'a>> {
    match peek(i)? {
        b'+' => {
            let (rest, c) = continue_req(opts, i)?;
            Ok((rest, Response::Continue(c)))
        }
        b'*' => {
            let (rest, u) = response_data(opts, i)?;
            Ok((rest, Response::Untagged(u)))
        }
        _ => {
            let (rest, t) = response_tagged(opts, i)?;
            Ok((rest, Response::Tagged(t)))
        }
    }
}

/// continue-req = "+" SP (resp-text / base64) CRLF
pub(crate) fn continue_req<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, ContinueReq<'a>> {
    let (i, ()) = byte(i, b'+', "continue-req", "\"+\"")?;
    let (i, ()) = sp(i, "continue-req")?;
    let end = i.iter().position(|&b| is_eol(b));
    if let Some(n) = end {
        if is_base64(&i[..n]) {
            let (rest, ()) = crlf(&i[n..], "continue-req")?;
            return Ok((rest, ContinueReq::Base64(&i[..n])));
        }
    }
    let (rest, (code, text)) = resp_text(opts, i)?;
    let (rest, ()) = crlf(rest, "continue-req")?;
    Ok((rest, ContinueReq::Text { code, text }))
}

/// base64 = *(4base64-char) [base64-terminal]
/// base64-terminal = (2base64-char "==") / (3base64-char "=")
fn is_base64(s: &[u8]) -> bool {
    if s.len() & 3 != 0 {
        return false;
    }
    let pad = s.iter().rev().take_while(|&&b| b == b'=').count();
    pad <= 2
        && s[..s.len() - pad]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// response-tagged = tag SP resp-cond-state CRLF
/// tag = 1*<any ASTRING-CHAR except "+">
pub(crate) fn response_tagged<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Tagged<'a>> {
    let (i, tag) = take_while1(i, is_tag_char, "tag", "tag")?;
    let (i, ()) = sp(i, "response-tagged")?;
    let (rest, name) = atom(i, "resp-cond-state")?;
    let kind = match name.to_ascii_uppercase().as_slice() {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        _ => return fail_at(i, "resp-cond-state", "\"OK\", \"NO\" or \"BAD\""),
    };
    let (rest, (code, text)) = sp_resp_text(opts, rest, "resp-cond-state")?;
    let (rest, ()) = crlf(rest, "response-tagged")?;
    Ok((
        rest,
        Tagged {
            tag,
            status: Status { kind, code, text },
        },
    ))
}

/// response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data /
///                 message-data / capability-data) CRLF
/// response-fatal = "*" SP resp-cond-bye CRLF
pub(crate) fn response_data<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Untagged<'a>> {
    let (i, ()) = byte(i, b'*', "response-data", "\"*\"")?;
    let (i, ()) = sp(i, "response-data")?;
    let (rest, u) = if peek(i)?.is_ascii_digit() {
        numbered_data(opts, i)?
    } else {
        named_data(opts, i)?
    };
    let (rest, ()) = crlf(rest, "response-data")?;
    Ok((rest, u))
}

/// message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
/// mailbox-data =/ number SP "EXISTS" / number SP "RECENT"
fn numbered_data<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Untagged<'a>> {
    let num_at = i;
    let (i, n) = number(i, "response-data")?;
    let (i, ()) = sp(i, "response-data")?;
    let (rest, name) = atom(i, "response-data")?;
    let up = name.to_ascii_uppercase();
    if matches!(up.as_slice(), b"EXPUNGE" | b"FETCH") && (n == 0 || num_at[0] == b'0') {
        return fail_at(num_at, "message-data", "nz-number");
    }
    match up.as_slice() {
        b"EXISTS" => Ok((rest, Untagged::Exists(n))),
        b"RECENT" => Ok((rest, Untagged::Recent(n))),
        b"EXPUNGE" => Ok((rest, Untagged::Expunge(n))),
        b"FETCH" => {
            let (rest, ()) = sp(rest, "message-data")?;
            let (rest, atts) = fetch::msg_att(opts, rest)?;
            Ok((rest, Untagged::Fetch { seq: n, atts }))
        }
        _ => fail_at(
            i,
            "response-data",
            "\"EXISTS\", \"RECENT\", \"EXPUNGE\" or \"FETCH\"",
        ),
    }
}

/// Untagged data introduced by a name: resp-cond-state, resp-cond-bye,
/// capability-data and the named mailbox-data and extension responses.
fn named_data<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Untagged<'a>> {
    let (rest, name) = atom(i, "response-data")?;
    let status = |kind| -> PResult<'a, Untagged<'a>> {
        let (rest, (code, text)) = sp_resp_text(opts, rest, "resp-cond-state")?;
        Ok((rest, Untagged::Status(Status { kind, code, text })))
    };
    match name.to_ascii_uppercase().as_slice() {
        b"OK" => status(StatusKind::Ok),
        b"NO" => status(StatusKind::No),
        b"BAD" => status(StatusKind::Bad),
        b"BYE" => status(StatusKind::Bye),
        b"PREAUTH" => fail_at(
            i,
            "response-data",
            "\"OK\", \"NO\", \"BAD\" or \"BYE\" (PREAUTH only in the greeting)",
        ),
        b"CAPABILITY" => {
            let (rest, caps) = capability_list(rest, "capability-data", "CRLF", is_eol)?;
            Ok((rest, Untagged::Capability(caps)))
        }
        b"ENABLED" => {
            let (rest, caps) = capability_list(rest, "enable-data", "CRLF", is_eol)?;
            Ok((rest, Untagged::Enabled(caps)))
        }
        b"ID" => {
            let (rest, ()) = sp(rest, "id-response")?;
            let (rest, params) = extensions::id_params_list(opts, rest)?;
            Ok((rest, Untagged::Id(params)))
        }
        b"FLAGS" => {
            let (rest, ()) = sp(rest, "mailbox-data")?;
            let (rest, flags) = paren_list(rest, "flag-list", "flag", false, |i| {
                flag(i, "flag-list", false)
            })?;
            Ok((rest, Untagged::Flags(flags)))
        }
        b"LIST" => {
            let (rest, ()) = sp(rest, "mailbox-data")?;
            let (rest, l) = mailbox::mailbox_list(opts, rest)?;
            Ok((rest, Untagged::List(l)))
        }
        b"LSUB" => {
            let (rest, ()) = sp(rest, "mailbox-data")?;
            let (rest, l) = mailbox::mailbox_list(opts, rest)?;
            Ok((rest, Untagged::Lsub(l)))
        }
        b"SEARCH" | b"SORT" => {
            let (rest, (nums, modseq)) = mailbox::search_data(rest)?;
            Ok((rest, Untagged::Search(nums, modseq)))
        }
        b"STATUS" => {
            let (rest, ()) = sp(rest, "mailbox-data")?;
            let (rest, (mailbox, items)) = mailbox::status_data(opts, rest)?;
            Ok((rest, Untagged::StatusData { mailbox, items }))
        }
        b"NAMESPACE" => {
            let (rest, ()) = sp(rest, "namespace-response")?;
            let (rest, ns) = extensions::namespace(opts, rest)?;
            Ok((rest, Untagged::Namespace(ns)))
        }
        b"ESEARCH" => {
            let (rest, es) = extensions::esearch(opts, rest)?;
            Ok((rest, Untagged::ESearch(es)))
        }
        b"QUOTA" => {
            let (rest, ()) = sp(rest, "quota-response")?;
            let (rest, q) = extensions::quota(opts, rest)?;
            Ok((rest, Untagged::Quota(q)))
        }
        b"QUOTAROOT" => {
            let (rest, ()) = sp(rest, "quotaroot-response")?;
            let (rest, q) = extensions::quotaroot(opts, rest)?;
            Ok((rest, Untagged::QuotaRoot(q)))
        }
        b"VANISHED" => {
            let (rest, (earlier, uids)) = extensions::vanished(rest)?;
            Ok((rest, Untagged::Vanished { earlier, uids }))
        }
        _ => {
            let (rest, r) = rest_of_line(rest)?;
            Ok((rest, Untagged::Other { name, rest: r }))
        }
    }
}

/// The bytes up to CRLF of a response this grammar does not know, stepping
/// over literals (`{N}` CRLF N bytes) so that their contents cannot end it.
fn rest_of_line(i: &[u8]) -> PResult<'_, &[u8]> {
    let mut n = 0;
    loop {
        let Some(p) = memchr::memchr3(b'\r', b'\n', 0, &i[n..]) else {
            return Err(Err::Incomplete(nom::Needed::Unknown));
        };
        let p = n + p;
        if i[p] == 0 {
            return fail_at(&i[p..], "response-data", "TEXT-CHAR");
        }
        let line = &i[..p];
        if let Some(open) = literal_start(line) {
            let (after, _) = super::core::literal(&i[open..])?;
            n = i.len() - after.len();
            continue;
        }
        return Ok((&i[p..], line));
    }
}

/// Where a trailing `{N}` starts in `line`, if it ends with one.
fn literal_start(line: &[u8]) -> Option<usize> {
    if line.last() != Some(&b'}') {
        return None;
    }
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..line.len() - 1];
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(open)
}

/// SP resp-text, where the response condition requires one. A missing
/// resp-text (`a1 OK` CRLF) is reported where the SP should be.
fn sp_resp_text<'a>(
    opts: &Options,
    i: &'a [u8],
    rule: &'static str,
) -> PResult<'a, (Option<Code<'a>>, &'a [u8])> {
    match i.first() {
        Some(&b' ') => resp_text(opts, &i[1..]),
        Some(_) => fail_at(i, rule, "SP resp-text"),
        None => fail(i, rule, "SP resp-text"),
    }
}

/// resp-text = ["[" resp-text-code "]" SP] text
///
/// A resp-text beginning with "[" is always parsed as a response code: a
/// malformed code is reported, never reread as plain text.
pub(crate) fn resp_text<'a>(
    opts: &Options,
    i: &'a [u8],
) -> PResult<'a, (Option<Code<'a>>, &'a [u8])> {
    let (i, code) = if peek(i)? == b'[' {
        let (i, code) = resp_text_code(opts, &i[1..])?;
        let (i, ()) = byte(i, b']', "resp-text-code", "\"]\"")?;
        match peek(i)? {
            b' ' => (&i[1..], Some(code)),
            _ => return fail_at(i, "resp-text", "SP text"),
        }
    } else {
        (i, None)
    };
    let (rest, t) = text_star(opts, i, "text")?;
    if t.is_empty() {
        return fail_at(rest, "resp-text", "text");
    }
    Ok((rest, (code, t)))
}

/// resp-text-code = "ALERT" /
///                  "BADCHARSET" [SP "(" astring *(SP astring) ")" ] /
///                  capability-data / "PARSE" /
///                  "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" /
///                  "READ-ONLY" / "READ-WRITE" / "TRYCREATE" /
///                  "UIDNEXT" SP nz-number / "UIDVALIDITY" SP nz-number /
///                  "UNSEEN" SP nz-number /
///                  atom [SP 1*<any TEXT-CHAR except "]">]
///
/// Known code names are parsed by their own definition (so `UIDVALIDITY 0`
/// is a deviation, not an unknown code); unknown names take the generic form.
pub(crate) fn resp_text_code<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Code<'a>> {
    const R: &str = "resp-text-code";
    let (i, name) = atom(i, R)?;
    let up = name.to_ascii_uppercase();
    let arg = |i: &'a [u8]| sp(i, R);
    let code = match up.as_slice() {
        b"ALERT" => (i, Code::Alert),
        b"PARSE" => (i, Code::Parse),
        b"READ-ONLY" => (i, Code::ReadOnly),
        b"READ-WRITE" => (i, Code::ReadWrite),
        b"TRYCREATE" => (i, Code::TryCreate),
        b"UIDNOTSTICKY" => (i, Code::UidNotSticky),
        b"NOMODSEQ" => (i, Code::NoModSeq),
        b"CLOSED" => (i, Code::Closed),
        b"BADCHARSET" => {
            if peek(i)? == b' ' {
                let (i, list) = paren_list(&i[1..], R, "astring", true, |i| astring(opts, i, R))?;
                (i, Code::BadCharset(list))
            } else {
                (i, Code::BadCharset(Vec::new()))
            }
        }
        b"CAPABILITY" => {
            let (i, caps) = capability_list(i, "capability-data", "\"]\"", |b| b == b']')?;
            (i, Code::Capability(caps))
        }
        b"PERMANENTFLAGS" => {
            let (i, ()) = arg(i)?;
            let (i, flags) = paren_list(i, R, "flag-perm", false, |i| flag(i, "flag-perm", true))?;
            (i, Code::PermanentFlags(flags))
        }
        b"UIDNEXT" | b"UIDVALIDITY" | b"UNSEEN" => {
            let (i, ()) = arg(i)?;
            let (i, n) = nz_number(i, R)?;
            let c = match up.as_slice() {
                b"UIDNEXT" => Code::UidNext(n),
                b"UIDVALIDITY" => Code::UidValidity(n),
                _ => Code::Unseen(n),
            };
            (i, c)
        }
        b"APPENDUID" => {
            let (i, ()) = arg(i)?;
            let (i, uidvalidity) = nz_number(i, R)?;
            let (i, ()) = arg(i)?;
            let (i, uids) = super::core::sequence_set(i, R, false)?;
            (i, Code::AppendUid { uidvalidity, uids })
        }
        b"COPYUID" => {
            let (i, ()) = arg(i)?;
            let (i, uidvalidity) = nz_number(i, R)?;
            let (i, ()) = arg(i)?;
            let (i, source) = super::core::sequence_set(i, R, false)?;
            let (i, ()) = arg(i)?;
            let (i, dest) = super::core::sequence_set(i, R, false)?;
            (
                i,
                Code::CopyUid {
                    uidvalidity,
                    source,
                    dest,
                },
            )
        }
        b"HIGHESTMODSEQ" => {
            let (i, ()) = arg(i)?;
            let (i, n) = mod_sequence_value(i, R)?;
            (i, Code::HighestModSeq(n))
        }
        b"MODIFIED" => {
            let (i, ()) = arg(i)?;
            let (i, set) = super::core::sequence_set(i, R, true)?;
            (i, Code::Modified(set))
        }
        _ if NAMED_CODES.iter().any(|c| c.as_bytes() == up.as_slice()) => (i, Code::Named(name)),
        _ => {
            if peek(i)? == b' ' {
                let t = &i[1..];
                let n = t
                    .iter()
                    .position(|&b| !is_text_char(b) || b == b']')
                    .unwrap_or(t.len());
                if n == t.len() {
                    return fail(&t[n..], R, "\"]\"");
                }
                if n == 0 {
                    return fail_at(t, R, "1*<any TEXT-CHAR except \"]\">");
                }
                (
                    &t[n..],
                    Code::Other {
                        atom: name,
                        text: Some(&t[..n]),
                    },
                )
            } else {
                (
                    i,
                    Code::Other {
                        atom: name,
                        text: None,
                    },
                )
            }
        }
    };
    Ok(code)
}
