//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, §9), with extension data.

use super::core::{byte, is_nil_start, nil, nstring, number, paren_list, peek, sp, string};
use super::diag::{fail_at, PResult};
use super::envelope::{envelope, Envelope};
use super::{IString, Options};

/// body = "(" (body-type-1part / body-type-mpart) ")"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum BodyStructure<'a> {
    /// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    Single {
        kind: SinglePartKind<'a>,
        fields: BodyFields<'a>,
        /// body-ext-1part; None when absent (always absent in a non-extensible BODY).
        ext: Option<BodyExtData<'a>>,
    },
    /// body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    Multi {
        parts: Vec<BodyStructure<'a>>,
        subtype: IString<'a>,
        /// body-ext-mpart; None when absent.
        ext: Option<BodyExtData<'a>>,
    },
}

/// The media type of a single part, with what each kind adds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum SinglePartKind<'a> {
    /// body-type-basic = media-basic SP body-fields
    Basic {
        media_type: IString<'a>,
        subtype: IString<'a>,
    },
    /// body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
    /// (MESSAGE/RFC822, and MESSAGE/GLOBAL of RFC 9051)
    Message {
        subtype: IString<'a>,
        envelope: Box<Envelope<'a>>,
        body: Box<BodyStructure<'a>>,
        lines: u32,
    },
    /// body-type-text = media-text SP body-fields SP body-fld-lines
    Text { subtype: IString<'a>, lines: u32 },
}

/// body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BodyFields<'a> {
    /// body-fld-param; None for NIL.
    pub params: Option<Vec<(IString<'a>, IString<'a>)>>,
    pub id: Option<IString<'a>>,
    pub description: Option<IString<'a>>,
    pub encoding: IString<'a>,
    pub octets: u32,
}

/// body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
/// body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
///
/// For the optional fields, the outer `None` means absent and `Some(None)` NIL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BodyExtData<'a> {
    /// body-fld-md5 (single part only; always None for a multipart).
    pub md5: Option<IString<'a>>,
    /// body-fld-param (multipart only; always None for a single part).
    pub params: Option<Vec<(IString<'a>, IString<'a>)>>,
    pub disposition: Option<Option<Disposition<'a>>>,
    /// body-fld-lang = nstring / "(" string *(SP string) ")"
    pub language: Option<Option<Vec<IString<'a>>>>,
    pub location: Option<Option<IString<'a>>>,
    pub extensions: Vec<BodyExtension<'a>>,
}

/// body-fld-dsp = "(" string SP body-fld-param ")" / nil
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disposition<'a> {
    pub kind: IString<'a>,
    pub params: Option<Vec<(IString<'a>, IString<'a>)>>,
}

/// body-extension = nstring / number / "(" body-extension *(SP body-extension) ")"
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum BodyExtension<'a> {
    NString(Option<IString<'a>>),
    Number(u32),
    List(Vec<BodyExtension<'a>>),
}

/// Bounds recursion: body and body-extension nest at most `max_depth` deep.
fn depth_check<'a>(opts: &Options, i: &'a [u8], depth: usize) -> PResult<'a, ()> {
    if depth >= opts.max_depth {
        return fail_at(i, "body", format!("nesting depth <= {}", opts.max_depth));
    }
    Ok((i, ()))
}

/// body = "(" (body-type-1part / body-type-mpart) ")"
///
/// `extensible` is false for FETCH BODY, whose parts MUST NOT carry
/// extension data.
pub(crate) fn body<'a>(
    opts: &Options,
    i: &'a [u8],
    extensible: bool,
    depth: usize,
) -> PResult<'a, BodyStructure<'a>> {
    depth_check(opts, i, depth)?;
    let (i, ()) = byte(i, b'(', "body", "\"(\"")?;
    let (i, b) = if peek(i)? == b'(' {
        body_type_mpart(opts, i, extensible, depth)?
    } else {
        body_type_1part(opts, i, extensible, depth)?
    };
    let (i, ()) = byte(i, b')', "body", "\")\"")?;
    Ok((i, b))
}

/// body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
fn body_type_mpart<'a>(
    opts: &Options,
    i: &'a [u8],
    extensible: bool,
    depth: usize,
) -> PResult<'a, BodyStructure<'a>> {
    const R: &str = "body-type-mpart";
    let mut parts = Vec::new();
    let mut i = i;
    while peek(i)? == b'(' {
        let (r, p) = body(opts, i, extensible, depth + 1)?;
        parts.push(p);
        i = r;
        if i.len() >= 2 && i[0] == b' ' && i[1] == b'(' {
            return fail_at(i, R, "body or SP media-subtype (no SP between parts)");
        }
    }
    let (i, ()) = sp(i, R)?;
    let (i, subtype) = string(opts, i, "media-subtype")?;
    let (i, ext) = if peek(i)? == b' ' {
        if !extensible {
            return fail_at(i, R, "\")\" (no extension data in a non-extensible BODY)");
        }
        let (i, params) = body_fld_param(opts, &i[1..])?;
        let (i, mut ext) = ext_tail(opts, i, depth)?;
        ext.params = params;
        (i, Some(ext))
    } else {
        (i, None)
    };
    Ok((
        i,
        BodyStructure::Multi {
            parts,
            subtype,
            ext,
        },
    ))
}

/// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
/// body-type-basic = media-basic SP body-fields
/// body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
/// body-type-text = media-text SP body-fields SP body-fld-lines
/// media-basic = ((DQUOTE ("APPLICATION" / "AUDIO" / "IMAGE" / "MESSAGE" / "VIDEO") DQUOTE) / string) SP media-subtype
/// media-message = DQUOTE "MESSAGE" DQUOTE SP DQUOTE "RFC822" DQUOTE
/// media-text = DQUOTE "TEXT" DQUOTE SP media-subtype
///
/// A single part typed MULTIPART is a deviation: multiparts are body-type-mpart.
fn body_type_1part<'a>(
    opts: &Options,
    i: &'a [u8],
    extensible: bool,
    depth: usize,
) -> PResult<'a, BodyStructure<'a>> {
    const R: &str = "body-type-1part";
    let type_at = i;
    let (i, media_type) = string(opts, i, "media-basic")?;
    if media_type.eq_ignore_ascii_case(b"MULTIPART") {
        return fail_at(
            type_at,
            R,
            "a single-part media type (a multipart is a list of bodies)",
        );
    }
    let (i, ()) = sp(i, R)?;
    let (i, subtype) = string(opts, i, "media-subtype")?;
    let (i, ()) = sp(i, R)?;
    let (i, fields) = body_fields(opts, i)?;
    let is_msg = media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (subtype.eq_ignore_ascii_case(b"RFC822") || subtype.eq_ignore_ascii_case(b"GLOBAL"));
    let (i, kind) = if is_msg {
        let (i, ()) = sp(i, "body-type-msg")?;
        let (i, env) = envelope(opts, i)?;
        let (i, ()) = sp(i, "body-type-msg")?;
        let (i, inner) = body(opts, i, extensible, depth + 1)?;
        let (i, ()) = sp(i, "body-type-msg")?;
        let (i, lines) = number(i, "body-fld-lines")?;
        (
            i,
            SinglePartKind::Message {
                subtype,
                envelope: Box::new(env),
                body: Box::new(inner),
                lines,
            },
        )
    } else if media_type.eq_ignore_ascii_case(b"TEXT") {
        let (i, ()) = sp(i, "body-type-text")?;
        let (i, lines) = number(i, "body-fld-lines")?;
        (i, SinglePartKind::Text { subtype, lines })
    } else {
        (
            i,
            SinglePartKind::Basic {
                media_type,
                subtype,
            },
        )
    };
    let (i, ext) = if peek(i)? == b' ' {
        if !extensible {
            return fail_at(i, R, "\")\" (no extension data in a non-extensible BODY)");
        }
        let (i, md5) = nstring(opts, &i[1..], "body-fld-md5")?;
        let (i, mut ext) = ext_tail(opts, i, depth)?;
        ext.md5 = md5;
        (i, Some(ext))
    } else {
        (i, None)
    };
    Ok((i, BodyStructure::Single { kind, fields, ext }))
}

/// [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
fn ext_tail<'a>(opts: &Options, i: &'a [u8], depth: usize) -> PResult<'a, BodyExtData<'a>> {
    let mut ext = BodyExtData {
        md5: None,
        params: None,
        disposition: None,
        language: None,
        location: None,
        extensions: Vec::new(),
    };
    if peek(i)? != b' ' {
        return Ok((i, ext));
    }
    let (i, d) = body_fld_dsp(opts, &i[1..])?;
    ext.disposition = Some(d);
    if peek(i)? != b' ' {
        return Ok((i, ext));
    }
    let (i, l) = body_fld_lang(opts, &i[1..])?;
    ext.language = Some(l);
    if peek(i)? != b' ' {
        return Ok((i, ext));
    }
    let (mut i, loc) = nstring(opts, &i[1..], "body-fld-loc")?;
    ext.location = Some(loc);
    while peek(i)? == b' ' {
        let (r, e) = body_extension(opts, &i[1..], depth + 1)?;
        ext.extensions.push(e);
        i = r;
    }
    Ok((i, ext))
}

/// body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
/// body-fld-id = nstring; body-fld-desc = nstring; body-fld-octets = number
/// body-fld-enc = (DQUOTE ("7BIT" / "8BIT" / "BINARY" / "BASE64"/ "QUOTED-PRINTABLE") DQUOTE) / string
fn body_fields<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, BodyFields<'a>> {
    const R: &str = "body-fields";
    let (i, params) = body_fld_param(opts, i)?;
    let (i, ()) = sp(i, R)?;
    let (i, id) = nstring(opts, i, "body-fld-id")?;
    let (i, ()) = sp(i, R)?;
    let (i, description) = nstring(opts, i, "body-fld-desc")?;
    let (i, ()) = sp(i, R)?;
    let (i, encoding) = string(opts, i, "body-fld-enc")?;
    let (i, ()) = sp(i, R)?;
    let (i, octets) = number(i, "body-fld-octets")?;
    Ok((
        i,
        BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    ))
}

/// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
pub(crate) fn body_fld_param<'a>(
    opts: &Options,
    i: &'a [u8],
) -> PResult<'a, Option<Vec<(IString<'a>, IString<'a>)>>> {
    const R: &str = "body-fld-param";
    if is_nil_start(i)? {
        let (r, ()) = nil(i, R)?;
        return Ok((r, None));
    }
    let (r, v) = paren_list(i, R, "string", true, |i| {
        let (i, k) = string(opts, i, R)?;
        let (i, ()) = sp(i, R)?;
        let (i, v) = string(opts, i, R)?;
        Ok((i, (k, v)))
    })?;
    Ok((r, Some(v)))
}

/// body-fld-dsp = "(" string SP body-fld-param ")" / nil
fn body_fld_dsp<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Option<Disposition<'a>>> {
    const R: &str = "body-fld-dsp";
    if is_nil_start(i)? {
        let (r, ()) = nil(i, R)?;
        return Ok((r, None));
    }
    let (i, ()) = byte(i, b'(', R, "\"(\" or NIL")?;
    let (i, kind) = string(opts, i, R)?;
    let (i, ()) = sp(i, R)?;
    let (i, params) = body_fld_param(opts, i)?;
    let (i, ()) = byte(i, b')', R, "\")\"")?;
    Ok((i, Some(Disposition { kind, params })))
}

/// body-fld-lang = nstring / "(" string *(SP string) ")"
fn body_fld_lang<'a>(opts: &Options, i: &'a [u8]) -> PResult<'a, Option<Vec<IString<'a>>>> {
    const R: &str = "body-fld-lang";
    if peek(i)? == b'(' {
        let (r, v) = paren_list(i, R, "string", true, |i| string(opts, i, R))?;
        return Ok((r, Some(v)));
    }
    let (r, s) = nstring(opts, i, R)?;
    Ok((r, s.map(|s| vec![s])))
}

/// body-extension = nstring / number / "(" body-extension *(SP body-extension) ")"
fn body_extension<'a>(opts: &Options, i: &'a [u8], depth: usize) -> PResult<'a, BodyExtension<'a>> {
    const R: &str = "body-extension";
    depth_check(opts, i, depth)?;
    match peek(i)? {
        b'(' => {
            let (r, v) = paren_list(i, R, "body-extension", true, |i| {
                body_extension(opts, i, depth + 1)
            })?;
            Ok((r, BodyExtension::List(v)))
        }
        b'0'..=b'9' => {
            let (r, n) = number(i, R)?;
            Ok((r, BodyExtension::Number(n)))
        }
        _ => {
            let (r, s) = nstring(opts, i, R)?;
            Ok((r, BodyExtension::NString(s)))
        }
    }
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;
    use std::borrow::Cow;

    fn s(x: &str) -> IString<'_> {
        Cow::Borrowed(x.as_bytes())
    }

    #[test]
    fn rfc3501_example_body() {
        let o = Options::default();
        let input = b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")";
        let (r, b) = body(&o, input, false, 0).unwrap();
        assert!(r.is_empty());
        match b {
            BodyStructure::Multi {
                parts,
                subtype,
                ext,
            } => {
                assert_eq!(parts.len(), 2);
                assert_eq!(subtype, s("MIXED"));
                assert_eq!(ext, None);
                match &parts[1] {
                    BodyStructure::Single {
                        kind: SinglePartKind::Text { lines, .. },
                        fields,
                        ..
                    } => {
                        assert_eq!(*lines, 73);
                        assert_eq!(fields.octets, 4554);
                        assert_eq!(fields.description, Some(s("Compiler diff")));
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extension_data() {
        let o = Options::default();
        let input = b"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 12 1 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 100 \"md5sum\" (\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") \"loc\" 7 (NIL \"x\" (1))) \"mixed\" (\"boundary\" \"xyz\") NIL NIL NIL)";
        let (r, b) = body(&o, input, true, 0).unwrap();
        assert!(r.is_empty());
        let BodyStructure::Multi {
            parts,
            ext: Some(ext),
            ..
        } = b
        else {
            panic!()
        };
        assert_eq!(ext.params, Some(vec![(s("boundary"), s("xyz"))]));
        assert_eq!(ext.disposition, Some(None));
        let BodyStructure::Single { ext: Some(e1), .. } = &parts[1] else {
            panic!()
        };
        assert_eq!(e1.md5, Some(s("md5sum")));
        assert_eq!(
            e1.disposition.as_ref().unwrap().as_ref().unwrap().kind,
            s("attachment")
        );
        assert_eq!(e1.language, Some(Some(vec![s("en"), s("de")])));
        assert_eq!(e1.extensions.len(), 2);
        // The same structure is a deviation in a non-extensible BODY.
        assert!(body(&o, input, false, 0).is_err());
    }

    #[test]
    fn message_rfc822() {
        let o = Options::default();
        let input = b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 300 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1) 12)";
        let (_, b) = body(&o, input, false, 0).unwrap();
        assert!(matches!(
            b,
            BodyStructure::Single {
                kind: SinglePartKind::Message { lines: 12, .. },
                ..
            }
        ));
    }

    /// (input, offset, rule)
    #[test]
    fn deviations() {
        let o = Options::default();
        let cases: &[(&[u8], usize, &str)] = &[
            (b"(\"TEXT\" \"PLAIN\" () NIL NIL \"7BIT\" 1 1)", 17, "body-fld-param"),
            (b"(\"TEXT\" \"PLAIN\" (\"boundary\" NIL) NIL NIL \"7BIT\" 1 1)", 28, "body-fld-param"),
            (b"(\"TEXT\" \"PLAIN\" NIL NIL NIL NIL 1 1)", 28, "body-fld-enc"),
            (b"(\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" -1)", 36, "body-fld-octets"),
            (b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 (\"a\" \"b\"))", 37, "body-fld-lines"),
            (b"(\"MULTIPART\" \"MIXED\" NIL NIL NIL \"7BIT\" 1)", 1, "body-type-1part"),
            (b"(\"TEXT\" \"PLAIN\" NIL NIL \"say \"hi\"\" \"7BIT\" 1 1)", 30, "body-fields"),
            (b"((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) \"MIXED\")", 40, "body-type-mpart"),
            (b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1 NIL \"attachment\")", 43, "body-fld-dsp"),
        ];
        for (input, offset, rule) in cases {
            match body(&o, input, true, 0) {
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

    #[test]
    fn depth_is_bounded() {
        let o = Options {
            max_depth: 4,
            ..Options::default()
        };
        let mut input = vec![b'('; 10];
        input.extend_from_slice(b"\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)");
        for _ in 0..9 {
            input.extend_from_slice(b" \"MIXED\")");
        }
        match body(&o, &input, true, 0) {
            Err(nom::Err::Error(e)) => {
                assert_eq!(e.rule, "body");
                assert_eq!(input.len() - e.rest.len(), 4);
                assert_eq!(e.expected, "nesting depth <= 4");
            }
            other => panic!("{other:?}"),
        }
    }
}
