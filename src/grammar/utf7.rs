//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3).
//!
//! Printable US-ASCII except "&" (0x20-0x25, 0x27-0x7e) stands for itself;
//! "&" is written "&-"; everything else is UTF-16BE in modified BASE64
//! ("," instead of "/", no "=" padding) between "&" and "-".
//!
//! The decoder is strict: it accepts exactly what a conforming encoder can
//! produce, so that a name which decodes is also one that re-encodes to the
//! same bytes (with one exception: two adjacent base64 runs, which RFC 3501
//! does not forbid, are accepted although [`encode`] merges them).

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Utf7ErrorKind {
    /// "&" not starting a base64 run nor written "&-" (e.g. `Tom & Jerry`).
    BareAmpersand,
    /// A base64 run not closed by "-" (every run must shift back to US-ASCII).
    UnterminatedShift,
    /// A byte outside printable US-ASCII written as itself (it must be encoded).
    RawNonAscii,
    /// A base64 run whose final bits are not zero.
    BadPadding,
    /// A base64 run with more characters than its UTF-16 needs, or "=" padding.
    NonMinimal,
    /// A base64 run that ends inside a UTF-16 code unit.
    PartialUtf16,
    /// Unpaired UTF-16 surrogate.
    InvalidUtf16,
    /// A printable US-ASCII character that was base64-encoded instead of
    /// written as itself.
    DirectlyEncodedAscii,
}

/// A modified UTF-7 error at a byte offset into the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Utf7Error {
    pub offset: usize,
    pub kind: Utf7ErrorKind,
}

impl std::fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid modified UTF-7 at byte {}: {:?}",
            self.offset, self.kind
        )
    }
}

impl std::error::Error for Utf7Error {}

/// modified BASE64 alphabet value of `b`.
fn b64_value(b: u8) -> Option<u32> {
    match b {
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn err<T>(offset: usize, kind: Utf7ErrorKind) -> Result<T, Utf7Error> {
    Err(Utf7Error { offset, kind })
}

/// Decodes a mailbox name from modified UTF-7.
pub fn decode(name: &[u8]) -> Result<String, Utf7Error> {
    use Utf7ErrorKind::*;
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return err(i, RawNonAscii);
            }
            out.push(b as char);
            i += 1;
            continue;
        }
        let amp = i;
        i += 1;
        match name.get(i) {
            Some(b'-') => {
                out.push('&');
                i += 1;
                continue;
            }
            Some(&c) if b64_value(c).is_some() => {}
            _ => return err(amp, BareAmpersand),
        }
        // A base64 run: collect UTF-16 units.
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        let mut unit_end: Vec<usize> = Vec::new(); // offset of the char completing each unit
        while let Some(v) = name.get(i).copied().and_then(b64_value) {
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push((bits >> nbits) as u16);
                unit_end.push(i);
                bits &= (1 << nbits) - 1;
            }
            i += 1;
        }
        match name.get(i) {
            Some(b'-') => {}
            Some(b'=') => return err(i, NonMinimal),
            _ => return err(i, UnterminatedShift),
        }
        if nbits >= 6 {
            let kind = if bits == 0 { NonMinimal } else { PartialUtf16 };
            return err(i - 1, kind);
        }
        if bits != 0 {
            return err(i - 1, BadPadding);
        }
        // UTF-16 to chars, refusing printable ASCII that could stand for itself.
        let mut k = 0;
        while k < units.len() {
            let u = units[k];
            let at = unit_end[k];
            let c = if (0xd800..0xdc00).contains(&u) {
                match units.get(k + 1) {
                    Some(&lo) if (0xdc00..0xe000).contains(&lo) => {
                        k += 1;
                        let cp =
                            0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(lo) - 0xdc00);
                        char::from_u32(cp).ok_or(Utf7Error {
                            offset: at,
                            kind: InvalidUtf16,
                        })?
                    }
                    _ => return err(at, InvalidUtf16),
                }
            } else if (0xdc00..0xe000).contains(&u) {
                return err(at, InvalidUtf16);
            } else {
                let c = char::from_u32(u32::from(u)).ok_or(Utf7Error {
                    offset: at,
                    kind: InvalidUtf16,
                })?;
                if (0x20..=0x7e).contains(&u) && u != u16::from(b'&') {
                    return err(at, DirectlyEncodedAscii);
                }
                c
            };
            out.push(c);
            k += 1;
        }
        i += 1; // the "-"
    }
    Ok(out)
}

/// Encodes a mailbox name to modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for &u in pending.iter() {
            bits = (bits << 16) | u32::from(u);
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(B64[((bits >> nbits) & 63) as usize] as char);
            }
            bits &= (1 << nbits) - 1;
        }
        if nbits > 0 {
            out.push(B64[((bits << (6 - nbits)) & 63) as usize] as char);
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        match c {
            '&' => {
                flush(&mut pending, &mut out);
                out.push_str("&-");
            }
            ' '..='~' => {
                flush(&mut pending, &mut out);
                out.push(c);
            }
            _ => {
                let mut buf = [0u16; 2];
                pending.extend_from_slice(c.encode_utf16(&mut buf));
            }
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Utf7ErrorKind::*;

    #[test]
    fn known_answers() {
        let cases: &[(&str, &str)] = &[
            ("INBOX", "INBOX"),
            ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
            ("Tom &- Jerry", "Tom & Jerry"),
            ("&AOk-t&AOk-", "été"),
            ("Entw&APw-rfe", "Entwürfe"),
            ("&2D3eAA-", "\u{1f600}"),
            ("", ""),
            ("[Gmail]/Gesendet", "[Gmail]/Gesendet"),
        ];
        for (enc, dec) in cases {
            assert_eq!(decode(enc.as_bytes()).as_deref(), Ok(*dec), "{enc}");
            assert_eq!(encode(dec), *enc, "{dec}");
        }
    }

    /// (name, offset, kind)
    #[test]
    fn errors() {
        let cases: &[(&[u8], usize, Utf7ErrorKind)] = &[
            (b"Tom & Jerry", 4, BareAmpersand),
            (b"a&", 1, BareAmpersand),
            (b"&AOk", 4, UnterminatedShift),
            (b"&AOk.x", 4, UnterminatedShift),
            (b"caf\xc3\xa9", 3, RawNonAscii),
            (b"a\tb", 1, RawNonAscii),
            (b"&AOl-", 3, BadPadding),
            (b"&AOkA-", 4, NonMinimal),
            (b"&AOk=-", 4, NonMinimal),
            (b"&AOkB-", 4, PartialUtf16),
            (b"&AGE-", 3, DirectlyEncodedAscii),
            (b"&2D0-", 3, InvalidUtf16),
            (b"&3gA-", 3, InvalidUtf16),
        ];
        for (name, offset, kind) in cases {
            assert_eq!(
                decode(name),
                Err(Utf7Error {
                    offset: *offset,
                    kind: *kind
                }),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn adjacent_runs_are_accepted() {
        assert_eq!(decode(b"&AOk-&AOk-").as_deref(), Ok("éé"));
    }
}
