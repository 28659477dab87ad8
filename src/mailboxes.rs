//! The mailbox tree as the server showed it: what LIST, LSUB, STATUS and
//! EXAMINE said about each folder. Plain data, filled in by `folders` (the
//! walk over IMAP) and judged by `hierarchy` (the analysis); the report
//! renders it as a tree, CSV or JSON.

use serde::Serialize;
use std::time::Duration;

/// One folder.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Folder {
    /// The name exactly as LIST returned it (modified UTF-7 on the wire).
    #[serde(serialize_with = "ser_lossy")]
    pub raw: Vec<u8>,
    /// The name decoded from modified UTF-7; the raw bytes, lossily, when
    /// they are not valid modified UTF-7 (see `utf7_error`).
    pub name: String,
    /// Why the raw name is not valid modified UTF-7 (RFC 3501 §5.1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utf7_error: Option<String>,
    /// The hierarchy delimiter LIST gave for it; `None` for NIL (flat).
    pub delimiter: Option<char>,
    /// Attributes as sent, e.g. `\Noselect`, `\HasChildren`, `\Sent`.
    pub attributes: Vec<String>,
    /// The special-use attribute (RFC 6154), if any: `\Sent`, `\Trash`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_use: Option<String>,
    pub subscribed: bool,
    /// Returned by `LIST "" "*"`. False for a parent that only a direct
    /// `LIST "" "<parent>"` (or nothing at all) showed.
    pub listed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<FolderStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examine: Option<Examine>,
    /// Left out by `--exclude` / `--include`: listed, not probed further.
    pub excluded: bool,
}

fn ser_lossy<S: serde::Serializer>(raw: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(raw))
}

impl Folder {
    /// Whether an attribute is present (case-insensitive, backslash included).
    pub fn has_attr(&self, attr: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attr))
    }

    /// `\Noselect` or `\NonExistent`: a name in the tree, not a mailbox.
    pub fn is_selectable(&self) -> bool {
        !self.has_attr("\\Noselect") && !self.has_attr("\\NonExistent")
    }

    /// The decoded name split at the delimiter (the whole name when flat).
    pub fn components(&self) -> Vec<&str> {
        match self.delimiter {
            Some(d) => self.name.split(d).collect(),
            None => vec![self.name.as_str()],
        }
    }

    /// The parent's decoded name, if the name has a delimiter in it.
    pub fn parent(&self) -> Option<&str> {
        let d = self.delimiter?;
        self.name.rfind(d).map(|i| &self.name[..i])
    }

    /// How deep the folder is: 1 for a root.
    pub fn depth(&self) -> usize {
        self.components().len()
    }
}

/// STATUS of a folder; each item only when the server gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unseen: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uidnext: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uidvalidity: Option<u64>,
    /// RFC 8438 STATUS=SIZE, in octets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// How EXAMINE of a folder went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum ExamineOutcome {
    /// Tagged OK, with what the untagged data said.
    Ok {
        #[serde(skip_serializing_if = "Option::is_none")]
        exists: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uidvalidity: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uidnext: Option<u64>,
        read_only: bool,
    },
    /// Tagged NO: the response code and text, as the server wrote them.
    No {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        text: String,
    },
    /// Tagged BAD.
    Bad {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        text: String,
    },
    /// The server said BYE instead of answering.
    Bye { text: String },
    /// Timeout, reset, or an over-long response.
    Fault { text: String },
}

/// EXAMINE's outcome and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Examine {
    #[serde(flatten)]
    pub outcome: ExamineOutcome,
    /// When EXAMINE was sent (UTC, RFC 3339): where to look in the server's log.
    pub at: String,
    #[serde(rename = "duration_ms", serialize_with = "ser_ms")]
    pub duration: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What a direct `LIST "" "<parent>"` said of a parent missing from the
/// `LIST "" "*"` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParentState {
    /// Not returned at all.
    Absent,
    /// Returned with `\NonExistent`.
    NonExistent,
    /// Returned with `\Noselect`.
    Noselect,
    /// Returned as a selectable mailbox (yet hidden from `*`).
    Selectable,
}

/// The probe of one missing parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentProbe {
    /// The parent's decoded name.
    pub name: String,
    pub state: ParentState,
    /// The children that led to it (decoded names).
    pub children: Vec<String>,
    /// EXAMINE of the parent, when it was tried (it may hold mail that a
    /// migration would not see).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examine: Option<Examine>,
}

/// A namespace (RFC 2342): prefix and delimiter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceEntry {
    pub prefix: String,
    pub delimiter: Option<char>,
}

/// The namespaces the server declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Namespaces {
    pub personal: Vec<NamespaceEntry>,
    pub other_users: Vec<NamespaceEntry>,
    pub shared: Vec<NamespaceEntry>,
}

/// Everything the walk learnt about the mailbox tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tree {
    /// The delimiter from `LIST "" ""` (`None`: NIL, or not answered).
    pub delimiter: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Namespaces>,
    /// Folders in the order LIST returned them, then probed parents.
    pub folders: Vec<Folder>,
    pub parent_probes: Vec<ParentProbe>,
    /// The server is Gmail (X-GM-EXT-1 advertised).
    pub gmail: bool,
}
