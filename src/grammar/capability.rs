//! Capabilities (RFC 3501 §7.2.1), in CAPABILITY responses, response codes
//! and ENABLED (RFC 5161).
//!
//! Only syntax is checked here: whether IMAP4rev1 or IMAP4rev2 is listed is
//! for the session to report.

use super::core::{atom, sp_items};
use super::diag::PResult;

/// capability = ("AUTH=" auth-type) / atom
/// auth-type = atom
///
/// "AUTH=" auth-type is itself an atom, so one atom covers both forms.
pub(crate) fn capability(i: &[u8]) -> PResult<'_, &[u8]> {
    atom(i, "capability")
}

/// *(SP capability), up to a byte for which `is_end` holds (CRLF for
/// capability-data and ENABLED, "]" in a response code).
pub(crate) fn capability_list<'a>(
    i: &'a [u8],
    rule: &'static str,
    end_name: &'static str,
    is_end: impl Fn(u8) -> bool,
) -> PResult<'a, Vec<&'a [u8]>> {
    sp_items(i, rule, "capability", end_name, is_end, capability)
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;
    use crate::grammar::core::is_eol;

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], &[&[u8]], &[u8])] = &[
            (
                b" IMAP4rev1 AUTH=PLAIN\r\n",
                &[b"IMAP4rev1", b"AUTH=PLAIN"],
                b"\r\n",
            ),
            (b"\r\n", &[], b"\r\n"),
            (
                b" I18NLEVEL=1 SORT=DISPLAY]",
                &[b"I18NLEVEL=1", b"SORT=DISPLAY"],
                b"]",
            ),
        ];
        for (input, want, rest) in cases {
            let (r, v) = capability_list(input, "t", "end", |b| is_eol(b) || b == b']').unwrap();
            assert_eq!(v, *want);
            assert_eq!(r, *rest);
        }
    }

    #[test]
    fn trailing_space_is_reported_at_the_space() {
        let input = b" IMAP4rev1 \r\n";
        match capability_list(input, "t", "CRLF", is_eol) {
            Err(nom::Err::Error(e)) => assert_eq!(e.rest.len(), 3),
            other => panic!("{other:?}"),
        }
    }
}
