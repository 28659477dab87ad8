//! Extension responses: ID (RFC 2971), NAMESPACE (RFC 2342), ESEARCH
//! (RFC 4731), QUOTA / QUOTAROOT (RFC 9208), VANISHED (RFC 7162) and the
//! generic tagged-ext-val of RFC 4466.

use super::core::{
    astring, atom, byte, is_eol, keyword, mod_sequence_value, nstring, number, number64, nz_number,
    paren_list, peek, sequence_set, sp, sp_items, string, take_while1,
};
use super::diag::{fail_at, PResult};
use super::mailbox::{mailbox, Mailbox};
use super::{IString, Options, SeqRange};

/// tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"   ; RFC 4466
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum TaggedExtVal<'a> {
    /// tagged-ext-simple = sequence-set / number / number64 — the bytes as sent.
    Simple(&'a [u8]),
    /// "(" [tagged-ext-comp] ")"
    Comp(Vec<TaggedExtComp<'a>>),
}

/// tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum TaggedExtComp<'a> {
    Astring(IString<'a>),
    List(Vec<TaggedExtComp<'a>>),
}

/// tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"
/// tagged-ext-simple = sequence-set / number / number64
pub(crate) fn tagged_ext_val<'a>(
    opts: &Options,
    i: &'a [u8],
    depth: usize,
) -> PResult<'a, TaggedExtVal<'a>> {
    const R: &str = "tagged-ext-val";
    if peek(i)? == b'(' {
        let (r, v) = comp_list(opts, i, depth, false)?;
        return Ok((r, TaggedExtVal::Comp(v)));
    }
    let (r, raw) = take_while1(
        i,
        |b| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*'),
        R,
        "sequence-set, number or \"(\"",
    )?;
    if raw.iter().all(u8::is_ascii_digit) {
        number64(i, R)?;
    } else {
        let (after, _) = sequence_set(i, R, true)?;
        if after.len() != r.len() {
            return fail_at(after, R, "sequence-set");
        }
    }
    Ok((r, TaggedExtVal::Simple(raw)))
}

/// "(" tagged-ext-comp ")" — empty only at the top level.
fn comp_list<'a>(
    opts: &Options,
    i: &'a [u8],
    depth: usize,
    nested: bool,
) -> PResult<'a, Vec<TaggedExtComp<'a>>> {
    const R: &str = "tagged-ext-comp";
    if depth >= opts.max_depth {
        return fail_at(i, R, format!("nesting depth <= {}", opts.max_depth));
    }
    paren_list(i, R, "astring or \"(\"", nested, |i| {
        if peek(i)? == b'(' {
            let (r, v) = comp_list(opts, i, depth + 1, true)?;
            Ok((r, TaggedExtComp::List(v)))
        } else {
            let (r, s) = astring(opts, i, R)?;
            Ok((r, TaggedExtComp::Astring(s)))
        }
    })
}

/// ID field/value pairs: (field, value or NIL).
pub type IdParams<'a> = Vec<(IString<'a>, Option<IString<'a>>)>;

/// id-params-list = "(" #(string SP nstring) ")" / nil   ; RFC 2971
///
/// RFC 2971's `#` allows an empty list, so `()` is accepted.
pub(crate) fn id_params_list<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Option<IdParams<'a>>> {
    const R: &str = "id-params-list";
    if matches!(peek(i)?, b'n' | b'N') {
        let (r, ()) = keyword(i, "NIL", R)?;
        return Ok((r, None));
    }
    let (r, v) = paren_list(i, R, "string", false, |i| {
        let (i, k) = string(opts, i, R)?;
        let (i, ()) = sp(i, R)?;
        let (i, v) = nstring(opts, i, R)?;
        Ok((i, (k, v)))
    })?;
    Ok((r, Some(v)))
}

/// One namespace: Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
///                                  *(Namespace-Response-Extension) ")"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NamespaceDesc<'a> {
    pub prefix: IString<'a>,
    /// None for NIL.
    pub delimiter: Option<u8>,
    /// Namespace-Response-Extension = SP string SP "(" string *(SP string) ")"
    pub extensions: Vec<(IString<'a>, Vec<IString<'a>>)>,
}

/// namespace-response = "NAMESPACE" SP Namespace SP Namespace SP Namespace
/// Namespace = nil / "(" 1*Namespace-Descr ")"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Namespace<'a> {
    pub personal: Option<Vec<NamespaceDesc<'a>>>,
    pub other_users: Option<Vec<NamespaceDesc<'a>>>,
    pub shared: Option<Vec<NamespaceDesc<'a>>>,
}

/// Namespace SP Namespace SP Namespace (after "NAMESPACE" SP)
pub(crate) fn namespace<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Namespace<'a>> {
    let (i, personal) = one_namespace(opts, i)?;
    let (i, ()) = sp(i, "namespace-response")?;
    let (i, other_users) = one_namespace(opts, i)?;
    let (i, ()) = sp(i, "namespace-response")?;
    let (i, shared) = one_namespace(opts, i)?;
    Ok((
        i,
        Namespace {
            personal,
            other_users,
            shared,
        },
    ))
}

/// Namespace = nil / "(" 1*Namespace-Descr ")"
fn one_namespace<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Option<Vec<NamespaceDesc<'a>>>> {
    const R: &str = "Namespace";
    match peek(i)? {
        b'n' | b'N' => {
            let (r, ()) = keyword(i, "NIL", R)?;
            Ok((r, None))
        }
        b'(' => {
            let mut i = &i[1..];
            let mut out = Vec::new();
            loop {
                match peek(i)? {
                    b'(' => {
                        let (r, d) = namespace_descr(opts, i)?;
                        out.push(d);
                        i = r;
                    }
                    b')' if !out.is_empty() => return Ok((&i[1..], Some(out))),
                    b' ' if !out.is_empty() => {
                        return fail_at(i, R, "\"(\" or \")\" (no SP between Namespace-Descr)")
                    }
                    _ => return fail_at(i, "Namespace", "Namespace-Descr"),
                }
            }
        }
        _ => fail_at(i, R, "\"(\" or NIL"),
    }
}

/// Namespace-Descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
///                   *(Namespace-Response-Extension) ")"
fn namespace_descr<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, NamespaceDesc<'a>> {
    const R: &str = "Namespace-Descr";
    let (i, ()) = byte(i, b'(', R, "\"(\"")?;
    let (i, prefix) = string(opts, i, R)?;
    let (i, ()) = sp(i, R)?;
    let (i, delimiter) = match peek(i)? {
        b'n' | b'N' => {
            let (r, ()) = keyword(i, "NIL", R)?;
            (r, None)
        }
        _ => {
            let (r, s) = super::core::quoted(opts, i, R)?;
            if s.len() != 1 {
                return fail_at(i, R, "DQUOTE QUOTED-CHAR DQUOTE (one character) or NIL");
            }
            (r, Some(s[0]))
        }
    };
    let (i, extensions) = sp_items(
        i,
        R,
        "Namespace-Response-Extension",
        "\")\"",
        |b| b == b')',
        |i| {
            let (i, name) = string(opts, i, "Namespace-Response-Extension")?;
            let (i, ()) = sp(i, "Namespace-Response-Extension")?;
            let (i, vals) = paren_list(i, "Namespace-Response-Extension", "string", true, |i| {
                string(opts, i, "Namespace-Response-Extension")
            })?;
            Ok((i, (name, vals)))
        },
    )?;
    let (i, ()) = byte(i, b')', R, "\")\"")?;
    Ok((
        i,
        NamespaceDesc {
            prefix,
            delimiter,
            extensions,
        },
    ))
}

/// esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ESearch<'a> {
    /// search-correlator = SP "(" "TAG" SP tag-string ")"
    pub tag: Option<IString<'a>>,
    pub uid: bool,
    pub items: Vec<ESearchItem<'a>>,
}

/// search-return-data = "MIN" SP nz-number / "MAX" SP nz-number / "ALL" SP sequence-set /
///                      "COUNT" SP number / "MODSEQ" SP mod-sequence-value (RFC 7162) /
///                      search-modifier-name SP search-return-value
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ESearchItem<'a> {
    Min(u32),
    Max(u32),
    All(Vec<SeqRange>),
    Count(u32),
    ModSeq(u64),
    Other {
        name: &'a [u8],
        value: TaggedExtVal<'a>,
    },
}

/// Everything after "ESEARCH", up to (not including) CRLF.
pub(crate) fn esearch<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, ESearch<'a>> {
    const R: &str = "esearch-response";
    let mut i = i;
    let mut tag = None;
    if i.len() >= 2 && i[0] == b' ' && i[1] == b'(' {
        let (r, ()) = keyword(&i[2..], "TAG", "search-correlator")?;
        let (r, ()) = sp(r, "search-correlator")?;
        let (r, t) = string(opts, r, "search-correlator")?;
        let (r, ()) = byte(r, b')', "search-correlator", "\")\"")?;
        tag = Some(t);
        i = r;
    }
    let mut uid = false;
    if i.len() >= 4
        && i[0] == b' '
        && i[1..4].eq_ignore_ascii_case(b"UID")
        && matches!(i.get(4), Some(b' ' | b'\r' | b'\n'))
    {
        uid = true;
        i = &i[4..];
    }
    let (i, items) = sp_items(i, R, "search-return-data", "CRLF", is_eol, |i| {
        let (r, name) = atom(i, "search-return-data")?;
        let (r, ()) = sp(r, "search-return-data")?;
        const D: &str = "search-return-data";
        Ok(match name.to_ascii_uppercase().as_slice() {
            b"MIN" => nz_number(r, D).map(|(r, n)| (r, ESearchItem::Min(n)))?,
            b"MAX" => nz_number(r, D).map(|(r, n)| (r, ESearchItem::Max(n)))?,
            b"ALL" => sequence_set(r, D, false).map(|(r, s)| (r, ESearchItem::All(s)))?,
            b"COUNT" => number(r, D).map(|(r, n)| (r, ESearchItem::Count(n)))?,
            b"MODSEQ" => mod_sequence_value(r, D).map(|(r, n)| (r, ESearchItem::ModSeq(n)))?,
            _ => tagged_ext_val(opts, r, 0)
                .map(|(r, value)| (r, ESearchItem::Other { name, value }))?,
        })
    })?;
    Ok((i, ESearch { tag, uid, items }))
}

/// quota-response = "QUOTA" SP quota-root-name SP quota-list   ; RFC 9208
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quota<'a> {
    /// quota-root-name = astring
    pub root: IString<'a>,
    pub resources: Vec<QuotaResource<'a>>,
}

/// quota-resource = resource-name SP resource-usage SP resource-limit
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotaResource<'a> {
    /// "STORAGE" / "MESSAGE" / "MAILBOX" / "ANNOTATION-STORAGE" / resource-name-ext
    pub name: &'a [u8],
    /// resource-usage = number64
    pub usage: u64,
    /// resource-limit = number64
    pub limit: u64,
}

/// quota-root-name SP quota-list (after "QUOTA" SP)
/// quota-list = "(" quota-resource *(SP quota-resource) ")"
///
/// RFC 2087's `#quota_resource` allowed an empty list; it is accepted.
pub(crate) fn quota<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Quota<'a>> {
    const R: &str = "quota-resource";
    let (i, root) = astring(opts, i, "quota-root-name")?;
    let (i, ()) = sp(i, "quota-response")?;
    let (i, resources) = paren_list(i, "quota-list", "quota-resource", false, |i| {
        let (i, name) = atom(i, R)?;
        let (i, ()) = sp(i, R)?;
        let (i, usage) = number64(i, R)?;
        let (i, ()) = sp(i, R)?;
        let (i, limit) = number64(i, R)?;
        Ok((i, QuotaResource { name, usage, limit }))
    })?;
    Ok((i, Quota { root, resources }))
}

/// quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotaRoot<'a> {
    pub mailbox: Mailbox<'a>,
    pub roots: Vec<IString<'a>>,
}

/// mailbox *(SP quota-root-name) (after "QUOTAROOT" SP)
pub(crate) fn quotaroot<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, QuotaRoot<'a>> {
    let (i, mailbox) = mailbox(opts, i)?;
    let (i, roots) = sp_items(
        i,
        "quotaroot-response",
        "quota-root-name",
        "CRLF",
        is_eol,
        |i| astring(opts, i, "quota-root-name"),
    )?;
    Ok((i, QuotaRoot { mailbox, roots }))
}

/// "VANISHED" [SP "(EARLIER)"] SP known-uids   ; RFC 7162
/// known-uids = sequence-set ; "*" is not allowed
pub(crate) fn vanished(i: &[u8]) -> PResult<'_, (bool, Vec<SeqRange>)> {
    const R: &str = "expunged-resp";
    let (i, ()) = sp(i, R)?;
    let (i, earlier) = if peek(i)? == b'(' {
        let (r, ()) = keyword(i, "(EARLIER)", R)?;
        let (r, ()) = sp(r, R)?;
        (r, true)
    } else {
        (i, false)
    };
    let (i, uids) = sequence_set(i, "known-uids", false)?;
    Ok((i, (earlier, uids)))
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;
    use std::borrow::Cow;

    fn b(s: &[u8]) -> IString<'_> {
        Cow::Borrowed(s)
    }

    #[test]
    fn id_known_answers() {
        let o = Options::default();
        let (r, v) = id_params_list(&o, b"(\"name\" \"Dovecot\" \"os\" NIL)\r\n").unwrap();
        assert_eq!(r, b"\r\n");
        assert_eq!(
            v,
            Some(vec![(b(b"name"), Some(b(b"Dovecot"))), (b(b"os"), None)])
        );
        assert_eq!(id_params_list(&o, b"nil\r\n").unwrap().1, None);
        assert_eq!(id_params_list(&o, b"()\r\n").unwrap().1, Some(vec![]));
        assert!(id_params_list(&o, b"(\"name\" \"x\" )\r\n").is_err());
    }

    #[test]
    fn namespace_known_answers() {
        let o = Options::default();
        let (r, ns) = namespace(&o, b"((\"\" \"/\")) NIL ((\"#shared.\" \".\")(\"#public.\" \".\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\")))\r\n").unwrap();
        assert_eq!(r, b"\r\n");
        assert_eq!(
            ns.personal,
            Some(vec![NamespaceDesc {
                prefix: b(b""),
                delimiter: Some(b'/'),
                extensions: vec![]
            }])
        );
        assert_eq!(ns.other_users, None);
        let shared = ns.shared.unwrap();
        assert_eq!(shared.len(), 2);
        assert_eq!(
            shared[1].extensions,
            vec![(b(b"X-PARAM"), vec![b(b"FLAG1"), b(b"FLAG2")])]
        );
        assert!(namespace(&o, b"() NIL NIL\r\n").is_err());
        assert!(namespace(&o, b"((\"\" NIL)) NIL nil\r\n").is_ok());
    }

    #[test]
    fn esearch_known_answers() {
        let o = Options::default();
        let (r, e) = esearch(
            &o,
            b" (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,9:11 COUNT 4\r\n",
        )
        .unwrap();
        assert_eq!(r, b"\r\n");
        assert_eq!(e.tag, Some(b(b"A285")));
        assert!(e.uid);
        assert_eq!(e.items.len(), 4);
        assert_eq!(e.items[0], ESearchItem::Min(7));
        let (_, e) = esearch(&o, b"\r\n").unwrap();
        assert_eq!(
            e,
            ESearch {
                tag: None,
                uid: false,
                items: vec![]
            }
        );
        let (_, e) = esearch(&o, b" (TAG \"a\") X-FOO (1 (2 3))\r\n").unwrap();
        assert!(matches!(e.items[0], ESearchItem::Other { .. }));
    }

    #[test]
    fn quota_known_answers() {
        let o = Options::default();
        let (_, q) = quota(&o, b"\"\" (STORAGE 10 512 MESSAGE 1 100)\r\n").unwrap();
        assert_eq!(q.root, b(b""));
        assert_eq!(
            q.resources[1],
            QuotaResource {
                name: b"MESSAGE",
                usage: 1,
                limit: 100
            }
        );
        let (_, q) = quotaroot(&o, b"INBOX \"\" \"user\"\r\n").unwrap();
        assert_eq!(q.roots, vec![b(b""), b(b"user")]);
        let (_, q) = quotaroot(&o, b"INBOX\r\n").unwrap();
        assert!(q.roots.is_empty());
    }

    #[test]
    fn vanished_known_answers() {
        let (_, (e, u)) = vanished(b" (EARLIER) 41,43:116\r\n").unwrap();
        assert!(e);
        assert_eq!(u.len(), 2);
        assert!(vanished(b" 1:*\r\n").is_err());
    }
}
