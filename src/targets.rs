//! Where the mail is going: the migration targets imapprobe knows, and the
//! limits a source mailbox tree is held against. Plain data; the hierarchy
//! analysis (`hierarchy`) and the message sweep read it.
//!
//! Every value says where it comes from. Exchange Online's are documented
//! limits of its IMAP migration (the knowledge base, migration-failures.md).
//! Gmail and a generic IMAP server document far less; where no source gives
//! a number the limit is `None` (not checked) rather than a guess, and the
//! few guesses we do make are marked as ours.

use std::fmt;

const MIB: u64 = 1024 * 1024;

/// The system a mailbox is migrated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Target {
    /// Microsoft 365 / Exchange Online IMAP migration (migration batches).
    #[default]
    #[value(name = "exchange-online")]
    ExchangeOnline,
    /// Gmail / Google Workspace.
    #[value(name = "gmail")]
    Gmail,
    /// Any other IMAP server, copied to by a client-side tool (imapsync and the like).
    #[value(name = "generic")]
    Generic,
}

/// What a target accepts. Counts are `None` when no limit is known: the
/// check is then skipped, never run against an invented number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Folders in one mailbox. No target we know documents a hard ceiling,
    /// so exceeding this is a warning, not a failure.
    pub max_folders: Option<u64>,
    /// Hierarchy depth; a root folder has depth 1.
    pub max_depth: Option<u64>,
    /// Direct subfolders of one folder (the mailbox root counts as a folder).
    pub max_subfolders_per_folder: Option<u64>,
    pub max_items_per_folder: Option<u64>,
    pub max_items_per_mailbox: Option<u64>,
    /// Messages above this size need a setting changed before they move.
    pub large_item_bytes: u64,
    /// Messages above this size never move.
    pub max_item_bytes: u64,
    /// Whether `Sent` and `sent` are one folder on the target.
    pub case_insensitive: bool,
    /// The target's hierarchy separator; source names are translated to it.
    pub delimiter: char,
    /// Root folder names the target refuses to create (compared case-insensitively).
    pub reserved_names: &'static [&'static str],
}

impl Target {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::ExchangeOnline => "exchange-online",
            Target::Gmail => "gmail",
            Target::Generic => "generic",
        }
    }

    /// The product name, for sentences.
    pub fn label(self) -> &'static str {
        match self {
            Target::ExchangeOnline => "Exchange Online",
            Target::Gmail => "Gmail",
            Target::Generic => "a generic IMAP target",
        }
    }

    pub fn limits(self) -> Limits {
        match self {
            // All from migration-failures.md ("Limits of the common targets"),
            // which follows Microsoft's Exchange Online limits and IMAP
            // migration articles. Sizes are binary megabytes because Exchange
            // counts them that way ("35 MB (36,700,160 bytes)").
            Target::ExchangeOnline => Limits {
                // Microsoft documents per-folder limits, not a per-mailbox
                // folder count; a flat tree is still caught by the subfolder limit.
                max_folders: None,
                max_depth: Some(300),
                max_subfolders_per_folder: Some(10_000),
                max_items_per_folder: Some(1_000_000),
                max_items_per_mailbox: Some(500_000),
                large_item_bytes: 35 * MIB,
                max_item_bytes: 150 * MIB,
                case_insensitive: true,
                delimiter: '/',
                reserved_names: &["Files"],
            },
            // Google publishes recommendations, not migration limits.
            Target::Gmail => Limits {
                // "use fewer than 500 labels (including nested labels)":
                // Google Workspace Admin Help, "Best practices for accounts"
                // (support.google.com/a/answer/1409688). Advice, hence a warning.
                max_folders: Some(500),
                max_depth: None,
                max_subfolders_per_folder: None,
                max_items_per_folder: None,
                max_items_per_mailbox: None,
                // Our conservative choice: Gmail sends at most 25 MB and
                // receives at most 50 MB; we have no documented figure for
                // IMAP APPEND, so we treat the sending limit as "large" and
                // the receiving limit as the ceiling.
                large_item_bytes: 25 * MIB,
                max_item_bytes: 50 * MIB,
                // Label names compare case-insensitively in Gmail's UI; we
                // take the cautious reading for IMAP too.
                case_insensitive: true,
                // Nested labels are written "parent/child".
                delimiter: '/',
                // Gmail's system labels cannot be created, but we have no
                // documented wording of the refusal over IMAP; none checked.
                reserved_names: &[],
            },
            // A server we know nothing about. RFC 3501 sets no limits, so none
            // are checked; the sizes are our conservative placeholders (the
            // common hosted ceilings of 25 and 50 MB). Names are taken as
            // case-sensitive, as RFC 3501 §5.1 allows: collisions that
            // differ only in case are then warnings. '/' is the most common
            // separator and the one that makes '/' inside names collide.
            Target::Generic => Limits {
                max_folders: None,
                max_depth: None,
                max_subfolders_per_folder: None,
                max_items_per_folder: None,
                max_items_per_mailbox: None,
                large_item_bytes: 25 * MIB,
                max_item_bytes: 50 * MIB,
                case_insensitive: false,
                delimiter: '/',
                reserved_names: &[],
            },
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn exchange_online_limits_match_the_knowledge_base() {
        let l = Target::ExchangeOnline.limits();
        assert_eq!(l.max_items_per_mailbox, Some(500_000));
        assert_eq!(l.max_items_per_folder, Some(1_000_000));
        assert_eq!(l.max_subfolders_per_folder, Some(10_000));
        assert_eq!(l.max_depth, Some(300));
        assert_eq!(l.large_item_bytes, 36_700_160);
        assert_eq!(l.max_item_bytes, 157_286_400);
        assert!(l.case_insensitive);
        assert_eq!(l.delimiter, '/');
        assert_eq!(l.reserved_names, &["Files"]);
    }

    #[test]
    fn default_target_is_exchange_online() {
        assert_eq!(Target::default(), Target::ExchangeOnline);
    }

    #[test]
    fn command_line_names_are_kebab_case() {
        for (name, target) in [
            ("exchange-online", Target::ExchangeOnline),
            ("gmail", Target::Gmail),
            ("generic", Target::Generic),
        ] {
            assert_eq!(Target::from_str(name, false), Ok(target));
            assert_eq!(target.to_string(), name);
        }
        assert!(Target::from_str("exchange", false).is_err());
    }

    #[test]
    fn large_is_never_above_the_ceiling() {
        for t in Target::value_variants() {
            let l = t.limits();
            assert!(l.large_item_bytes <= l.max_item_bytes, "{t}");
        }
    }

    #[test]
    fn unknown_limits_are_none_not_guesses() {
        let l = Target::Generic.limits();
        assert_eq!(l.max_depth, None);
        assert_eq!(l.max_items_per_mailbox, None);
        assert!(!l.case_insensitive);
    }
}
