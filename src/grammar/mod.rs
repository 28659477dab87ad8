//! Strict parser of IMAP server responses (RFC 3501 §9 and common
//! extensions), with byte-exact diagnostics.
//!
//! The parser never accepts a deviation silently and never rejects valid
//! syntax: every failure is a [`Deviation`] carrying the offset of the
//! offending byte, the ABNF rule being parsed and what was expected there.
//! Input that ends before the response does is [`ParseError::Incomplete`],
//! so a caller can read more and retry.
//!
//! # Design
//!
//! - Parsers are nom-compatible functions (`&[u8] -> IResult<&[u8], T,
//!   GErr>`), written as LL(1) recursive descent: each alternative is chosen
//!   by its first byte or keyword and never backtracked, so the error a
//!   parser raises is the deepest one. `GErr` implements nom's `ParseError`
//!   (keeping the furthest error in `or`) and `ContextError`.
//! - Streaming: running out of input anywhere is `Incomplete`; a literal
//!   longer than the input is `Incomplete { needed: Some(missing bytes) }`.
//!   Line length is the caller's business.
//! - Spacing mistakes in lists are reported at the offending space: a
//!   trailing SP before ")" or CRLF points at that SP (expected ")" or
//!   "CRLF"), a doubled SP at the second one (expected the item).
//! - Known response codes are parsed by their own definition (so
//!   `[UIDVALIDITY 0]` is a deviation, not an unknown code); unknown ones take
//!   the generic `atom [SP text]` form. A resp-text starting with "[" is
//!   always a code.
//! - Semantics that need context (IMAP4rev1 in CAPABILITY, an empty STATUS
//!   list answering a request, ID field limits, base64 vs text in a
//!   continuation) are left to the session.
//! - Untagged responses this grammar does not know (THREAD, METADATA, a
//!   server's own) are `Untagged::Other` with their raw bytes; everything
//!   RFC 3501 §9 and the extensions listed on [`Untagged`] define is typed.
//! - Nothing is copied except quoted strings with escapes: literal bytes
//!   (FETCH bodies included) are borrowed from the input.

pub mod body;
pub mod capability;
pub mod core;
pub mod datetime;
pub mod diag;
pub mod envelope;
pub mod extensions;
pub mod fetch;
pub mod mailbox;
pub mod response;
pub mod utf7;

pub use self::body::{
    BodyExtData, BodyExtension, BodyFields, BodyStructure, Disposition, SinglePartKind,
};
pub use self::core::Flag;
pub use self::datetime::DateTime;
pub use self::diag::{Deviation, ParseError};
pub use self::envelope::{Address, Envelope};
pub use self::extensions::{
    ESearch, ESearchItem, IdParams, Namespace, NamespaceDesc, Quota, QuotaResource, QuotaRoot,
    TaggedExtComp, TaggedExtVal,
};
pub use self::fetch::{MsgAtt, Section, SectionText};
pub use self::mailbox::{ListAttr, ListItem, Mailbox, StatusItems};
pub use self::response::{
    Code, ContinueReq, Greeting, GreetingKind, Response, Status, StatusKind, Tagged, Untagged,
};
pub use self::utf7::{Utf7Error, Utf7ErrorKind};

/// Quoted (unescaped) or literal bytes.
pub type IString<'a> = std::borrow::Cow<'a, [u8]>;

/// Parser settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Options {
    /// 8-bit UTF-8 in quoted strings and text is allowed (UTF8=ACCEPT
    /// enabled, or IMAP4rev2). Without it, any 8-bit byte there is a deviation.
    pub utf8_accept: bool,
    /// Deepest BODYSTRUCTURE nesting (and body-extension nesting) accepted.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            utf8_accept: false,
            max_depth: 32,
        }
    }
}

/// One bound of a sequence-set range: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SeqBound {
    Num(u32),
    Star,
}

/// One element of a sequence-set or uid-set: `a:b`, or `a` as `a:a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SeqRange {
    pub start: SeqBound,
    pub end: SeqBound,
}

/// greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
///
/// Returns the greeting and the number of bytes consumed (CRLF included).
pub fn parse_greeting<'a>(
    input: &'a [u8],
    opts: &Options,
) -> Result<(Greeting<'a>, usize), ParseError> {
    match response::greeting(opts, input) {
        Ok((rest, g)) => Ok((g, input.len() - rest.len())),
        Err(e) => Err(diag::to_parse_error(input, e)),
    }
}

/// One of continue-req / response-data / response-tagged / response-fatal,
/// CRLF included.
///
/// response = *(continue-req / response-data) response-done
///
/// Returns the response and the number of bytes consumed.
pub fn parse_response<'a>(
    input: &'a [u8],
    opts: &Options,
) -> Result<(Response<'a>, usize), ParseError> {
    match response::response(opts, input) {
        Ok((rest, r)) => Ok((r, input.len() - rest.len())),
        Err(e) => Err(diag::to_parse_error(input, e)),
    }
}

#[cfg(test)]
mod tests;
