//! The read-only allowlist. imapprobe never changes a mailbox, and this is
//! where that is enforced: every command the session sends, whether built
//! in Rust or read from a probe file, passes [`check`] first. Anything not
//! known to be harmless is refused.
//!
//! Allowed: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE, ID,
//! ENABLE, NAMESPACE, LIST, XLIST, LSUB, STATUS, EXAMINE, UNSELECT, SEARCH,
//! FETCH, UID FETCH, UID SEARCH, GETQUOTA, GETQUOTAROOT, MYRIGHTS.
//! FETCH may not name an item that sets `\Seen` (RFC 3501 §6.4.5):
//! `BODY[…]`, `BINARY[…]` (RFC 3516), `RFC822` and `RFC822.TEXT`; the
//! `.PEEK` forms are allowed. SELECT, STORE, COPY, MOVE, APPEND, CREATE,
//! DELETE, RENAME, EXPUNGE, SUBSCRIBE, CLOSE and everything else are refused.

/// A command the allowlist refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub command: String,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refused by the read-only allowlist: {} ({})",
            self.command, self.reason
        )
    }
}

const ALLOWED: &[&str] = &[
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "LOGIN",
    "AUTHENTICATE",
    "ID",
    "ENABLE",
    "NAMESPACE",
    "LIST",
    "XLIST",
    "LSUB",
    "STATUS",
    "EXAMINE",
    "UNSELECT",
    "SEARCH",
    "FETCH",
    "GETQUOTA",
    "GETQUOTAROOT",
    "MYRIGHTS",
];

/// Checks a command line without its tag, e.g. `UID FETCH 1:* (FLAGS)`.
/// Literal bodies are not part of `line`: pass the text around them.
pub fn check(line: &str) -> Result<(), Refusal> {
    let upper = line.trim_start().to_ascii_uppercase();
    let mut words = upper.split([' ', '\r', '\n']).filter(|w| !w.is_empty());
    let first = words.next().unwrap_or("");
    let refuse = |reason: &str| {
        Err(Refusal {
            command: first_words(&upper),
            reason: reason.to_string(),
        })
    };
    let (name, fetch_items) = if first == "UID" {
        match words.next().unwrap_or("") {
            "FETCH" => ("FETCH", true),
            "SEARCH" => ("SEARCH", false),
            _ => return refuse("only UID FETCH and UID SEARCH are read-only"),
        }
    } else {
        (first, first == "FETCH")
    };
    if !ALLOWED.contains(&name) {
        return refuse("not a read-only command");
    }
    if fetch_items {
        for bad in ["BODY[", "BINARY["] {
            if token_starts_with(&upper, bad) {
                return refuse(&format!("{bad}…] sets \\Seen; use the .PEEK form"));
            }
        }
        for bad in ["RFC822", "RFC822.TEXT"] {
            if has_token(&upper, bad) {
                return refuse(&format!("{bad} sets \\Seen; use BODY.PEEK[…]"));
            }
        }
    }
    Ok(())
}

fn first_words(line: &str) -> String {
    line.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

fn is_delim(b: u8) -> bool {
    matches!(b, b' ' | b'(' | b')')
}

/// Whether an item starting with `prefix` begins anywhere at a token boundary.
fn token_starts_with(line: &str, prefix: &str) -> bool {
    line.match_indices(prefix)
        .any(|(i, _)| i == 0 || is_delim(line.as_bytes()[i - 1]))
}

/// Whether `token` stands alone as an item.
fn has_token(line: &str, token: &str) -> bool {
    line.match_indices(token).any(|(i, _)| {
        let before = i == 0 || is_delim(line.as_bytes()[i - 1]);
        let end = i + token.len();
        let after =
            end == line.len() || is_delim(line.as_bytes()[end]) || line.as_bytes()[end] == b'\r';
        before && after
    })
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn read_only_commands_pass() {
        for ok in [
            "CAPABILITY",
            "noop",
            "LOGIN alice \"pw\"",
            "EXAMINE INBOX",
            "LIST \"\" \"*\"",
            "STATUS INBOX (MESSAGES UIDNEXT)",
            "UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)",
            "UID FETCH 5 (INTERNALDATE UID BODY.PEEK[])",
            "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.HEADER)",
            "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])",
            "FETCH 1:* FULL",
            "UID SEARCH ALL",
            "ID NIL",
            "UNSELECT",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn anything_that_writes_is_refused() {
        for bad in [
            "SELECT INBOX",
            "STORE 1 +FLAGS (\\Seen)",
            "UID STORE 1 +FLAGS (\\Deleted)",
            "COPY 1 Trash",
            "UID COPY 1 Trash",
            "MOVE 1 Trash",
            "UID MOVE 1 Trash",
            "APPEND INBOX {3}",
            "CREATE Foo",
            "DELETE Foo",
            "RENAME Foo Bar",
            "EXPUNGE",
            "UID EXPUNGE 1",
            "SUBSCRIBE Foo",
            "UNSUBSCRIBE Foo",
            "CLOSE",
            "SETACL INBOX bob lr",
            "FETCH 1 BODY[]",
            "FETCH 1 (UID BODY[TEXT])",
            "UID FETCH 1 (BODY[HEADER])",
            "FETCH 1 RFC822",
            "FETCH 1 (RFC822 UID)",
            "FETCH 1 (RFC822.TEXT)",
            "FETCH 1 (BINARY[1])",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad} should be refused");
        }
    }
}
