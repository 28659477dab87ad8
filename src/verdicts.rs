//! Grammar deviations as findings: the rule, the byte offset, what was
//! expected and found, an excerpt with a caret under the offending byte,
//! and the command the response answered. One place, so a live probe and
//! `lint` over a saved transcript say the same thing the same way.

use crate::findings::{predicts, Evidence, Finding};
use crate::grammar::Deviation;

/// Where a deviating response came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The command the response answered, e.g. `UID FETCH 16967 (…)`.
    pub command: Option<String>,
    /// Where the response starts in the source: "line 12".
    pub location: Option<String>,
    /// The offending byte's offset on the wire, when large literals were
    /// streamed out of the response shown (offsets in it differ then).
    pub wire_offset: Option<u64>,
}

/// One `grammar.response` finding for `deviation` in `response`.
pub fn deviation_finding(response: &[u8], deviation: &Deviation, origin: &Origin) -> Finding {
    let found = if deviation.found.is_empty() {
        "end of input".to_string()
    } else {
        format!("\"{}\"", Evidence(deviation.found.clone()).display(20))
    };
    let at = match origin.wire_offset {
        Some(w) if w != deviation.offset as u64 => {
            format!("byte {w} (large literals left out of the excerpt)")
        }
        _ => format!("byte {}", deviation.offset),
    };
    let mut message = format!(
        "response breaks rule {} at {at}: expected {}, found {found}",
        deviation.rule, deviation.expected,
    );
    if let Some(q) = crate::quirks::identify(response, deviation) {
        message.push_str(&format!(" — known quirk {}: {}", q.name, q.summary));
    }
    message.push('\n');
    message.push_str(&deviation.excerpt(response));
    // A FETCH response names its message: say which.
    let location = match (&origin.location, uid_in(response)) {
        (Some(l), Some(uid)) => Some(format!("{l} UID {uid}")),
        (None, Some(uid)) if response.starts_with(b"* ") => Some(format!("UID {uid}")),
        (l, _) => l.clone(),
    };
    let subject = match (&location, &origin.command) {
        (Some(l), Some(c)) => Some(format!("{l}: {c}")),
        (Some(l), None) => Some(l.clone()),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => None,
    };
    let mut f = Finding::fail("grammar.response", message)
        .with_evidence(response.to_vec())
        .with_rule(format!("RFC 3501 §9 {}", deviation.rule))
        .with_predicts(predicts::COULD_NOT_PARSE)
        .with_remedy(
            "the server's vendor must fix the response; meanwhile exclude the folder or message that triggers it",
        );
    if let Some(s) = subject {
        f = f.with_subject(s);
    }
    f
}

/// The UID a FETCH response carries (`UID 123`), if it says.
fn uid_in(response: &[u8]) -> Option<u32> {
    let head = &response[..response.len().min(4096)];
    let upper = head.to_ascii_uppercase();
    let at = upper
        .windows(5)
        .position(|w| w == b" UID " || w == b"(UID ")?;
    let digits: Vec<u8> = head[at + 5..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::uid_in;

    #[test]
    fn the_uid_of_a_fetch_response() {
        assert_eq!(
            uid_in(b"* 3 FETCH (UID 16967 BODY[] {3}\r\nabc )\r\n"),
            Some(16967)
        );
        assert_eq!(uid_in(b"* 3 FETCH (FLAGS () UID 7)\r\n"), Some(7));
        assert_eq!(uid_in(b"* OK [UIDNEXT 5] x\r\n"), None);
    }
}
