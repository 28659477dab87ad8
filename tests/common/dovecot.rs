//! A throwaway Dovecot 2.3 (Debian `dovecot-imapd`) for integration tests.
//!
//! Everything lives in a temp dir: configuration, sockets, state, logs, the
//! passwd files, the TLS identity and each user's home with a Maildir++
//! store (delimiter `.`). The master runs in the foreground (`dovecot -F`)
//! as a child of the test and is stopped on drop. Mail processes run as
//! `nobody`/`nogroup` (never root); the fixture chowns what it writes.
//!
//! A missing Dovecot makes the test fail, never skip.

use super::certs::{CertKind, TestPki};
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Password of the default user `alice`: a quote, a backslash, a space and
/// non-ASCII, so a client must quote it properly or send a literal.
pub const ALICE_PASSWORD: &str = "p\"a\\ss wörd 42";

/// Where Debian installs the binaries.
pub const DOVECOT_BIN: &str = "/usr/sbin/dovecot";
pub const DOVEADM_BIN: &str = "/usr/bin/doveadm";

/// What [`Dovecot::seed_sample_mailbox`] creates: `(folder, messages, unseen)`.
/// `Archive` is an empty, selectable parent of `Archive.2024` (so no
/// `\Noselect` placeholder shows up in LIST).
pub const SAMPLE_FOLDERS: &[(&str, usize, usize)] = &[
    ("INBOX", 5, 2),
    ("Sent", 2, 0),
    ("Drafts", 1, 1),
    ("Trash", 1, 0),
    ("Archive", 0, 0),
    ("Archive.2024", 2, 0),
];

/// Hierarchy delimiter of the Maildir++ store.
pub const DELIMITER: char = '.';

/// Why a folder is in [`PATHOLOGICAL_TREE`] (what a folder-hierarchy check
/// should say about it); [`Pathology::None`] for ordinary folders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pathology {
    /// Nothing wrong.
    None,
    /// A mailbox with messages that `LIST "" "*"` does not return (no ACL
    /// lookup right `l`) while its children are listed.
    HiddenParent,
    /// A listed child of a [`Pathology::HiddenParent`].
    ChildOfHiddenParent,
    /// Listed `\Noselect` because only its children exist on disk.
    NoselectParent,
    /// The name contains `/` although the delimiter is `.` (listescape).
    ForeignDelimiter,
    /// Same name as another folder apart from letter case (`Sent`/`sent`).
    CaseCollision,
    /// A folder named like INBOX (`INBOX.INBOX`).
    InboxLookalike,
    /// Non-ASCII name (modified UTF-7 on the wire and on disk).
    NonAscii,
    /// A link of the 11-level chain `Deep` .. `Deep.L1.….L10`.
    DeepChain,
    /// A name ending in the delimiter or with adjacent delimiters (a
    /// directory written by other software, or the `\Noselect`
    /// placeholders Dovecot lists above it); EXAMINE fails.
    InvalidName,
    /// Listed, but its `cur/` is unreadable (mode 000): EXAMINE fails with
    /// `[SERVERBUG] Internal error occurred.`
    Unreadable,
    /// The name ends in a space.
    TrailingSpace,
}

/// One folder of [`PATHOLOGICAL_TREE`] or [`CLEAN_TREE`], as Dovecot 2.3.19
/// (Maildir++, `.` delimiter, acl + listescape plugins) really shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeFolder {
    /// The name exactly as LIST returns it (modified UTF-7, without the
    /// quotes Dovecot puts around names with spaces); what EXAMINE takes.
    pub raw: &'static str,
    /// The decoded (UTF-8) name.
    pub name: &'static str,
    /// Whether `LIST "" "*"` returns it.
    pub listed: bool,
    /// Attributes in Dovecot's order, both in `LIST "" "*"` (if listed) and
    /// in `LIST "" "<raw>"`. Dovecot may add `\Marked` / `\UnMarked` from
    /// its index (e.g. after an earlier EXAMINE); these are left out.
    pub attributes: &'static [&'static str],
    /// Messages stored in the folder's directory; EXAMINE shows this many
    /// EXISTS (and STATUS as MESSAGES) when it succeeds.
    pub messages: usize,
    /// `None` if EXAMINE (and STATUS) succeed; else the start of the
    /// tagged NO text (after `NO `). Dovecot continues it with its timing
    /// ` (0.001 + 0.000 secs).`, and for `[SERVERBUG]` first with the
    /// time of the error ` [2026-11-25 21:17:53]`.
    pub examine_no: Option<&'static str>,
    /// Its directory below `Maildir/` (`""` = the Maildir itself, i.e.
    /// INBOX); `None` for a `\Noselect` placeholder with no directory.
    pub disk: Option<&'static str>,
    pub pathology: Pathology,
}

impl TreeFolder {
    /// True if EXAMINE succeeds.
    pub fn examinable(&self) -> bool {
        self.examine_no.is_none()
    }
}

const HNC: &[&str] = &["\\HasNoChildren"];
const HC: &[&str] = &["\\HasChildren"];
const NOSEL: &[&str] = &["\\Noselect", "\\HasChildren"];

/// `NO` text of EXAMINE for a name with `..` in it.
pub const NO_ADJACENT: &str = "[CANNOT] Invalid mailbox name: Has adjacent hierarchy separators";
/// `NO` text of EXAMINE for a name ending in `.`.
pub const NO_ENDS_WITH_DELIMITER: &str =
    "[CANNOT] Invalid mailbox name: Ends with hierarchy separator";
/// `NO` text of EXAMINE for a folder whose `cur/` cannot be read (the log
/// has `opendir(…/cur) failed: Permission denied`).
pub const NO_SERVERBUG: &str =
    "[SERVERBUG] Internal error occurred. Refer to server log for more information.";

const fn mailbox(
    raw: &'static str,
    name: &'static str,
    attributes: &'static [&'static str],
    messages: usize,
    disk: &'static str,
    pathology: Pathology,
) -> TreeFolder {
    TreeFolder {
        raw,
        name,
        listed: true,
        attributes,
        messages,
        examine_no: None,
        disk: Some(disk),
        pathology,
    }
}

const fn placeholder(raw: &'static str, no: &'static str, pathology: Pathology) -> TreeFolder {
    TreeFolder {
        raw,
        name: raw,
        listed: true,
        attributes: NOSEL,
        messages: 0,
        examine_no: Some(no),
        disk: None,
        pathology,
    }
}

/// What [`Dovecot::seed_pathological_tree`] creates, checked against the
/// real server by `tests/dovecot_tree_fixture.rs`. Facts worth knowing:
///
/// * `Hidden` (3 messages, a `dovecot-acl` with `user=<user> rwstipekx`,
///   i.e. without `l`) is missing from `LIST "" "*"` (and from
///   `LIST "" "*" RETURN (CHILDREN)`), while `Hidden.Folder1`/`2` are
///   listed. `LIST "" "Hidden"` (and `LIST "" "%"`) still answer
///   `* LIST (\Noselect \HasChildren) "." Hidden`, and EXAMINE/STATUS of
///   `Hidden` succeed (the `r` right) with its 3 messages. MYRIGHTS says
///   `rwstipekxcd`.
/// * `Projects` has no directory: Dovecot lists it as
///   `(\Noselect \HasChildren)`; EXAMINE says `NO Mailbox doesn't exist:
///   Projects`.
/// * `Reports/Q1` is the directory `.Reports\2fQ1` (listescape).
/// * A root `Inbox` cannot be made with Maildir++: the directories
///   `.Inbox`, `.INBOX`, `.inbox` are silently ignored by LIST, and
///   `EXAMINE Inbox` opens the real INBOX (see [`INVISIBLE_ROOT_INBOX_DIR`]).
///   `INBOX.INBOX` (directory `.INBOX.INBOX`) works, and makes INBOX
///   `\HasChildren`.
/// * `.Old Mail..` and `.Broken..X` are listed as `"Old Mail.."` and
///   `Broken..X`, plus `\Noselect \HasChildren` placeholders for every
///   prefix: `"Old Mail"`, `"Old Mail."`, `Broken`, `Broken.` (names
///   ending in the delimiter themselves). EXAMINE: [`NO_ADJACENT`] for the
///   folders, [`NO_ENDS_WITH_DELIMITER`] for `"Old Mail."`/`Broken.`,
///   `Mailbox doesn't exist: …` for `"Old Mail"`/`Broken`.
/// * `Unreadable` (directory fine, `cur/` mode 000): listed normally,
///   EXAMINE and STATUS answer [`NO_SERVERBUG`]. (A whole directory with
///   mode 000 or owned by root is not listed at all; `cur/` readable but
///   the directory not writable gives an EXAMINE OK with 0 EXISTS.)
/// * `"Trailing "` is listed (quoted) and opens fine.
#[rustfmt::skip]
pub const PATHOLOGICAL_TREE: &[TreeFolder] = &[
    mailbox("INBOX", "INBOX", HC, 2, "", Pathology::None),
    mailbox("INBOX.INBOX", "INBOX.INBOX", HNC, 1, ".INBOX.INBOX", Pathology::InboxLookalike),
    TreeFolder {
        listed: false,
        attributes: NOSEL,
        ..mailbox("Hidden", "Hidden", HC, 3, ".Hidden", Pathology::HiddenParent)
    },
    mailbox("Hidden.Folder1", "Hidden.Folder1", HNC, 2, ".Hidden.Folder1", Pathology::ChildOfHiddenParent),
    mailbox("Hidden.Folder2", "Hidden.Folder2", HNC, 1, ".Hidden.Folder2", Pathology::ChildOfHiddenParent),
    placeholder("Projects", "Mailbox doesn't exist: Projects", Pathology::NoselectParent),
    mailbox("Projects.2023", "Projects.2023", HNC, 2, ".Projects.2023", Pathology::None),
    mailbox("Reports/Q1", "Reports/Q1", HNC, 2, ".Reports\\2fQ1", Pathology::ForeignDelimiter),
    mailbox("Sent", "Sent", HNC, 2, ".Sent", Pathology::CaseCollision),
    mailbox("sent", "sent", HNC, 1, ".sent", Pathology::CaseCollision),
    mailbox("Entw&APw-rfe", "Entwürfe", HNC, 1, ".Entw&APw-rfe", Pathology::NonAscii),
    mailbox("Gr&APYA3w-e", "Größe", HNC, 1, ".Gr&APYA3w-e", Pathology::NonAscii),
    mailbox("Deep", "Deep", HC, 1, ".Deep", Pathology::DeepChain),
    mailbox("Deep.L1", "Deep.L1", HC, 1, ".Deep.L1", Pathology::DeepChain),
    mailbox("Deep.L1.L2", "Deep.L1.L2", HC, 1, ".Deep.L1.L2", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3", "Deep.L1.L2.L3", HC, 1, ".Deep.L1.L2.L3", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4", "Deep.L1.L2.L3.L4", HC, 1, ".Deep.L1.L2.L3.L4", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5", "Deep.L1.L2.L3.L4.L5", HC, 1, ".Deep.L1.L2.L3.L4.L5", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5.L6", "Deep.L1.L2.L3.L4.L5.L6", HC, 1, ".Deep.L1.L2.L3.L4.L5.L6", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5.L6.L7", "Deep.L1.L2.L3.L4.L5.L6.L7", HC, 1, ".Deep.L1.L2.L3.L4.L5.L6.L7", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5.L6.L7.L8", "Deep.L1.L2.L3.L4.L5.L6.L7.L8", HC, 1, ".Deep.L1.L2.L3.L4.L5.L6.L7.L8", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9", "Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9", HC, 1, ".Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9", Pathology::DeepChain),
    mailbox("Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9.L10", "Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9.L10", HNC, 1, ".Deep.L1.L2.L3.L4.L5.L6.L7.L8.L9.L10", Pathology::DeepChain),
    placeholder("Old Mail", "Mailbox doesn't exist: Old Mail", Pathology::InvalidName),
    placeholder("Old Mail.", NO_ENDS_WITH_DELIMITER, Pathology::InvalidName),
    TreeFolder {
        examine_no: Some(NO_ADJACENT),
        ..mailbox("Old Mail..", "Old Mail..", HNC, 2, ".Old Mail..", Pathology::InvalidName)
    },
    placeholder("Broken", "Mailbox doesn't exist: Broken", Pathology::InvalidName),
    placeholder("Broken.", NO_ENDS_WITH_DELIMITER, Pathology::InvalidName),
    TreeFolder {
        examine_no: Some(NO_ADJACENT),
        ..mailbox("Broken..X", "Broken..X", HNC, 1, ".Broken..X", Pathology::InvalidName)
    },
    mailbox("Trailing ", "Trailing ", HNC, 1, ".Trailing ", Pathology::TrailingSpace),
    TreeFolder {
        examine_no: Some(NO_SERVERBUG),
        ..mailbox("Unreadable", "Unreadable", HNC, 2, ".Unreadable", Pathology::Unreadable)
    },
];

/// A root-level `Inbox` lookalike as Maildir++ stores it. The pathological
/// tree has this directory with [`INVISIBLE_ROOT_INBOX_MESSAGES`]
/// messages, but Dovecot never shows it: `LIST "" "*"` omits it,
/// `LIST "" "Inbox"` answers with the real `INBOX`, and `EXAMINE Inbox`
/// opens the real INBOX. Its mail is unreachable over IMAP.
pub const INVISIBLE_ROOT_INBOX_DIR: &str = ".Inbox";
pub const INVISIBLE_ROOT_INBOX_MESSAGES: usize = 1;

/// What [`Dovecot::seed_clean_tree`] creates: an ordinary tree, all
/// folders subscribed, listed, selectable, none of the pathologies.
#[rustfmt::skip]
pub const CLEAN_TREE: &[TreeFolder] = &[
    mailbox("INBOX", "INBOX", HNC, 3, "", Pathology::None),
    mailbox("Sent", "Sent", HNC, 2, ".Sent", Pathology::None),
    mailbox("Drafts", "Drafts", HNC, 1, ".Drafts", Pathology::None),
    mailbox("Trash", "Trash", HNC, 1, ".Trash", Pathology::None),
    mailbox("Archive", "Archive", HC, 1, ".Archive", Pathology::None),
    mailbox("Archive.2024", "Archive.2024", HNC, 2, ".Archive.2024", Pathology::None),
    mailbox("Projects", "Projects", HC, 1, ".Projects", Pathology::None),
    mailbox("Projects.Alpha", "Projects.Alpha", HNC, 1, ".Projects.Alpha", Pathology::None),
];

static INSTANCE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The `i`-th user of [`DovecotBuilder::users_generated`] (1-based): name
/// and password, both ASCII (Python's imaplib, a benchmark peer, sends
/// nothing else).
pub fn generated_user(i: usize) -> (String, String) {
    (format!("user{i:04}"), format!("pw-{i:04}-Gen"))
}

/// A login the server accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: String,
}

impl User {
    fn new(name: &str, password: &str) -> User {
        for (what, v) in [("user name", name), ("password", password)] {
            assert!(
                !v.is_empty() && !v.contains([':', '\n', '\r', '\0']),
                "dovecot fixture: {what} {v:?} must be non-empty and contain no ':' or line breaks (passwd-file format)"
            );
        }
        assert!(
            !name.contains(['*', '/', ' ', '.']),
            "dovecot fixture: user name {name:?} must not contain '*', '/', '.' or a space"
        );
        User {
            name: name.to_string(),
            password: password.to_string(),
        }
    }
}

/// Configures a [`Dovecot`]; obtained from [`Dovecot::builder`].
#[derive(Clone, Debug)]
pub struct DovecotBuilder {
    users: Vec<User>,
    master: Option<User>,
    cert: CertKind,
    disable_plaintext_auth: bool,
    max_userip_connections: u32,
    auth_penalty: bool,
    acl: bool,
    listescape: bool,
    extra_config: String,
    temp_root: Option<PathBuf>,
}

impl Default for DovecotBuilder {
    fn default() -> Self {
        DovecotBuilder {
            users: Vec::new(),
            master: None,
            cert: CertKind::Good,
            disable_plaintext_auth: false,
            max_userip_connections: 50,
            auth_penalty: false,
            acl: false,
            listescape: false,
            extra_config: String::new(),
            temp_root: None,
        }
    }
}

impl DovecotBuilder {
    /// Adds a user (repeatable). Without any call, the only user is
    /// `alice` with [`ALICE_PASSWORD`].
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push(User::new(name, password));
        self
    }

    /// Adds a Dovecot master user (separator `*`): `LOGIN "alice*admin" pw`
    /// and `AUTHENTICATE PLAIN` with authzid `alice`, authcid `admin` both
    /// log in as alice.
    pub fn master_user(mut self, name: &str, password: &str) -> Self {
        self.master = Some(User::new(name, password));
        self
    }

    /// The server certificate (default [`CertKind::Good`]).
    pub fn cert(mut self, kind: CertKind) -> Self {
        self.cert = kind;
        self
    }

    /// `disable_plaintext_auth` (default `false`). Dovecot counts 127.0.0.1
    /// as a secure connection, so `true` changes little on loopback.
    pub fn disable_plaintext_auth(mut self, yes: bool) -> Self {
        self.disable_plaintext_auth = yes;
        self
    }

    /// `mail_max_userip_connections` (default 50).
    pub fn max_userip_connections(mut self, n: u32) -> Self {
        self.max_userip_connections = n;
        self
    }

    /// Adds `n` users named and with passwords as [`generated_user`] gives
    /// them (`user0001` …), for batch tests and benchmarks; each gets an
    /// empty Maildir like any user. Cheap: a passwd line and three
    /// directories each (1,000 users start in well under a second).
    pub fn users_generated(mut self, n: usize) -> Self {
        self.users.reserve(n);
        for i in 1..=n {
            let (name, password) = generated_user(i);
            self.users.push(User { name, password });
        }
        self
    }

    /// Dovecot's per-IP auth penalty (default off). When on, every auth
    /// attempt from 127.0.0.1 after a failed one waits 2, 4, 8, 15 s (anvil
    /// `PENALTY-GET`), also on new connections. Dovecot 2.3 has no setting
    /// for it (`login_trusted_networks` does not help: its login processes
    /// never send `no-penalty`), so "off" removes the `anvil-auth-penalty`
    /// socket before the auth process first starts; auth then silently runs
    /// without penalties. Independent of this, imap-login stalls the *same*
    /// connection for 5 s after a failed attempt (hard-coded).
    pub fn auth_penalty(mut self, yes: bool) -> Self {
        self.auth_penalty = yes;
        self
    }

    /// The ACL plugin with per-folder ACL files (default off):
    /// `mail_plugins = $mail_plugins acl`, `imap_acl` for IMAP (so the
    /// server announces `ACL RIGHTS=texk` and answers MYRIGHTS/GETACL) and
    /// `plugin { acl = vfile }`. A folder without a `dovecot-acl` file gives
    /// its owner all rights, so nothing changes until a file is written
    /// (see [`Dovecot::seed_pathological_tree`]).
    pub fn acl(mut self, yes: bool) -> Self {
        self.acl = yes;
        self
    }

    /// The listescape plugin (default off): folder names may then contain
    /// characters the Maildir++ store cannot hold, e.g. `/` under the `.`
    /// delimiter. Dovecot 2.3 stores them as `\NN` hex escapes with the
    /// default `listescape_char` `\`: IMAP `Reports/Q1` is the directory
    /// `.Reports\2fQ1` (see [`listescape_storage_name`]). The delimiter
    /// itself still cannot be part of a name.
    pub fn listescape(mut self, yes: bool) -> Self {
        self.listescape = yes;
        self
    }

    /// Both plugins [`Dovecot::seed_pathological_tree`] needs:
    /// `.acl(true).listescape(true)`.
    pub fn pathological_tree_plugins(self) -> Self {
        self.acl(true).listescape(true)
    }

    /// Raw lines appended to the generated `dovecot.conf` (later settings win).
    pub fn extra_config(mut self, text: &str) -> Self {
        self.extra_config.push_str(text);
        self.extra_config.push('\n');
        self
    }

    /// Where the temp dir holding everything is made (default: the
    /// system's temp dir). A tmpfs such as `/dev/shm` makes writing many
    /// files much faster than a journaling disk file system (on the
    /// project's VM about 0.2 s against 1–5 s per 20,000 small files), at
    /// the cost of RAM: `local-dovecot --serve-bulk` uses it.
    pub fn temp_root(mut self, dir: &Path) -> Self {
        self.temp_root = Some(dir.to_path_buf());
        self
    }

    /// Writes the configuration, starts `dovecot -F` and waits until both
    /// listeners accept connections. Panics (with the Dovecot log) on failure.
    pub fn start(mut self) -> Dovecot {
        assert!(
            Path::new(DOVECOT_BIN).exists(),
            "dovecot not installed: apt-get install dovecot-imapd"
        );
        if self.users.is_empty() {
            self.users.push(User::new("alice", ALICE_PASSWORD));
        }
        let started = Instant::now();
        let mut tmp = tempfile::Builder::new();
        tmp.prefix("imapprobe-dovecot-");
        let tmp = match &self.temp_root {
            Some(root) => tmp.tempdir_in(root),
            None => tmp.tempdir(),
        }
        .expect("dovecot fixture: create temp dir");
        let dir = tmp.path().to_path_buf();
        // Dovecot's unprivileged processes (auth as `dovecot`, mail as
        // nobody) must be able to traverse the tree.
        set_mode(&dir, 0o755);
        let (mail_uid, mail_gid) = mail_ids();
        let pki = TestPki::new(self.cert);
        let (cert_file, key_file, ca_file) = pki.write_to(&dir);
        set_mode(&cert_file, 0o644);
        set_mode(&key_file, 0o600);
        set_mode(&ca_file, 0o644);

        for sub in ["run", "state", "home"] {
            fs::create_dir_all(dir.join(sub)).expect("dovecot fixture: mkdir");
            set_mode(&dir.join(sub), 0o755);
        }
        let mut passwd = String::new();
        for u in &self.users {
            let home = dir.join("home").join(&u.name);
            passwd.push_str(&format!(
                "{}:{{PLAIN}}{}:{}:{}::{}::\n",
                u.name,
                u.password,
                mail_uid,
                mail_gid,
                home.display()
            ));
            let maildir = home.join("Maildir");
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(maildir.join(sub)).expect("dovecot fixture: mkdir Maildir");
            }
            for p in [&home, &maildir] {
                chown_tree(p, mail_uid, mail_gid);
            }
            set_mode(&home, 0o700);
        }
        let passwd_file = dir.join("users.passwd");
        fs::write(&passwd_file, passwd).expect("dovecot fixture: write passwd");
        set_mode(&passwd_file, 0o644);
        let masters_file = dir.join("masters.passwd");
        if let Some(m) = &self.master {
            fs::write(
                &masters_file,
                format!("{}:{{PLAIN}}{}::::::\n", m.name, m.password),
            )
            .expect("dovecot fixture: write master passwd");
            set_mode(&masters_file, 0o644);
        }

        let instance_name = format!(
            "imapprobe-test-{}-{}",
            std::process::id(),
            INSTANCE_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let conf = dir.join("dovecot.conf");
        let log_file = dir.join("dovecot.log");
        let stderr_file = dir.join("dovecot.stderr");

        let mut attempts = 0;
        loop {
            attempts += 1;
            let (imap_port, imaps_port) = two_free_ports();
            let text = self.config_text(&ConfigParams {
                dir: &dir,
                instance_name: &instance_name,
                imap_port,
                imaps_port,
                cert_file: &cert_file,
                key_file: &key_file,
                passwd_file: &passwd_file,
                masters_file: &masters_file,
                mail_uid,
                mail_gid,
            });
            fs::write(&conf, text).expect("dovecot fixture: write dovecot.conf");
            let _ = fs::remove_file(&log_file);
            let stderr = fs::File::create(&stderr_file).expect("dovecot fixture: stderr file");
            let mut child = Command::new(DOVECOT_BIN)
                .arg("-F")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("dovecot fixture: cannot run {DOVECOT_BIN}: {e}"));
            let ready = if self.auth_penalty {
                Ok(())
            } else {
                disable_auth_penalty(&mut child, &dir.join("run"))
            };
            match ready.and_then(|()| wait_ready(&mut child, &[imap_port, imaps_port])) {
                Ok(()) => {
                    return Dovecot {
                        imap_port,
                        imaps_port,
                        ca_file,
                        conf,
                        dir,
                        users: self.users,
                        master: self.master,
                        pki,
                        mail_uid,
                        mail_gid,
                        acl: self.acl,
                        listescape: self.listescape,
                        instance_name,
                        startup_time: started.elapsed(),
                        child: Some(child),
                        _tmp: tmp,
                    };
                }
                Err(why) => {
                    stop_instance(&mut child, &instance_name);
                    let log = read_logs(&log_file, &stderr_file);
                    if log.contains("Address already in use") && attempts < 5 {
                        continue;
                    }
                    panic!(
                        "dovecot fixture: start failed ({why}) after {attempts} attempt(s)\n\
                         --- {} ---\n{}\n--- log ---\n{log}",
                        conf.display(),
                        fs::read_to_string(&conf).unwrap_or_default()
                    );
                }
            }
        }
    }

    fn config_text(&self, p: &ConfigParams<'_>) -> String {
        let d = p.dir.display();
        let mut c = String::new();
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        c.push_str(&format!(
            "# Generated by imapprobe's test fixture; reads nothing from /etc/dovecot.\n\
             instance_name = {instance}\n\
             base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             info_log_path = {d}/dovecot.log\n\
             debug_log_path = {d}/dovecot.log\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             ssl = yes\n\
             ssl_cert = <{cert}\n\
             ssl_key = <{key}\n\
             ssl_min_protocol = TLSv1.2\n\
             disable_plaintext_auth = {dpa}\n\
             auth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             auth_verbose = yes\n\
             auth_master_user_separator = *\n\
             first_valid_uid = {uid}\n\
             last_valid_uid = {uid}\n\
             first_valid_gid = {gid}\n\
             last_valid_gid = {gid}\n\
             mail_location = maildir:~/Maildir\n\
             mail_max_userip_connections = {maxconn}\n\
             \n",
            instance = p.instance_name,
            cert = p.cert_file.display(),
            key = p.key_file.display(),
            dpa = yes_no(self.disable_plaintext_auth),
            uid = p.mail_uid,
            gid = p.mail_gid,
            maxconn = self.max_userip_connections,
        ));
        if self.master.is_some() {
            // The master passdb must come first; `result_success = continue`
            // then looks the target user up in the next passdb.
            c.push_str(&format!(
                "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {}\n  master = yes\n  result_success = continue\n}}\n",
                p.masters_file.display()
            ));
        }
        c.push_str(&format!(
            "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {f}\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {f}\n}}\n",
            f = p.passwd_file.display()
        ));
        c.push_str(&format!(
            "service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {}\n    ssl = yes\n  }}\n}}\n",
            p.imap_port, p.imaps_port
        ));
        let mut plugins = Vec::new();
        if self.acl {
            plugins.push("acl");
        }
        if self.listescape {
            plugins.push("listescape");
        }
        if !plugins.is_empty() {
            c.push_str(&format!(
                "mail_plugins = $mail_plugins {}\n",
                plugins.join(" ")
            ));
        }
        if self.acl {
            c.push_str(
                "protocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n\
                 plugin {\n  acl = vfile\n}\n",
            );
        }
        c.push_str(&self.extra_config);
        c
    }
}

struct ConfigParams<'a> {
    dir: &'a Path,
    instance_name: &'a str,
    imap_port: u16,
    imaps_port: u16,
    cert_file: &'a Path,
    key_file: &'a Path,
    passwd_file: &'a Path,
    masters_file: &'a Path,
    mail_uid: u32,
    mail_gid: u32,
}

/// A running Dovecot; stopped (and its temp dir removed) on drop.
pub struct Dovecot {
    /// Plain IMAP port (STARTTLS offered) on 127.0.0.1.
    pub imap_port: u16,
    /// Implicit-TLS IMAP port on 127.0.0.1.
    pub imaps_port: u16,
    /// PEM of the CA the client should trust (for `SelfSignedCa`, the server certificate itself).
    pub ca_file: PathBuf,
    /// The generated `dovecot.conf`.
    pub conf: PathBuf,
    /// The temp dir holding everything.
    pub dir: PathBuf,
    /// Regular users (not the master user).
    pub users: Vec<User>,
    /// The master user, if configured.
    pub master: Option<User>,
    /// The TLS identity the server presents.
    pub pki: TestPki,
    /// uid/gid the mail processes run as and the mail files belong to.
    pub mail_uid: u32,
    pub mail_gid: u32,
    /// Whether the ACL plugin is on ([`DovecotBuilder::acl`]).
    pub acl: bool,
    /// Whether the listescape plugin is on ([`DovecotBuilder::listescape`]).
    pub listescape: bool,
    /// Dovecot `instance_name` (also in the process titles).
    pub instance_name: String,
    /// How long `start()` took.
    pub startup_time: Duration,
    child: Option<Child>,
    _tmp: tempfile::TempDir,
}

impl Dovecot {
    pub fn builder() -> DovecotBuilder {
        DovecotBuilder::default()
    }

    /// One user `alice` / [`ALICE_PASSWORD`], good certificate.
    pub fn start_default() -> Dovecot {
        Dovecot::builder().start()
    }

    /// `127.0.0.1:imap_port`.
    pub fn imap_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imap_port))
    }

    /// `127.0.0.1:imaps_port`.
    pub fn imaps_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imaps_port))
    }

    /// Password of a configured user (or the master user).
    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .chain(self.master.iter())
            .find(|u| u.name == user)
            .map(|u| u.password.as_str())
            .unwrap_or_else(|| panic!("dovecot fixture: no user {user:?}"))
    }

    /// Runs `doveadm -c conf ARGS...` and returns its output (not checked).
    pub fn doveadm(&self, args: &[&str]) -> Output {
        Command::new(DOVEADM_BIN)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("dovecot fixture: cannot run {DOVEADM_BIN}: {e}"))
    }

    /// Like [`Dovecot::doveadm`] but panics with stderr and the log unless it succeeds; returns stdout.
    pub fn doveadm_ok(&self, args: &[&str]) -> String {
        let out = self.doveadm(args);
        assert!(
            out.status.success(),
            "doveadm {args:?} failed ({}):\n{}\n--- log ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Home directory of a user.
    pub fn home(&self, user: &str) -> PathBuf {
        self.dir.join("home").join(user)
    }

    /// Root of a user's Maildir (the INBOX).
    pub fn maildir(&self, user: &str) -> PathBuf {
        self.home(user).join("Maildir")
    }

    /// Directory of a folder (`INBOX`, `Sent`, `Archive.2024`, ...; the
    /// delimiter is `.`). Non-ASCII names are stored in modified UTF-7.
    pub fn folder_dir(&self, user: &str, folder: &str) -> PathBuf {
        let root = self.maildir(user);
        if folder.eq_ignore_ascii_case("INBOX") {
            root
        } else {
            root.join(format!(".{}", mutf7_encode(folder)))
        }
    }

    /// Creates a folder (and its Maildir subdirectories) if missing;
    /// subscribes it when `subscribe` is set. Returns its directory.
    pub fn create_folder(&self, user: &str, folder: &str, subscribe: bool) -> PathBuf {
        assert!(
            self.users.iter().any(|u| u.name == user),
            "dovecot fixture: no user {user:?}"
        );
        let fdir = self.folder_dir(user, folder);
        let is_inbox = fdir == self.maildir(user);
        self.make_maildir(&fdir, !is_inbox);
        if subscribe && !is_inbox {
            self.subscribe(user, folder);
        }
        fdir
    }

    /// Creates `cur/`, `new/`, `tmp/` (and `maildirfolder` for a
    /// subfolder) in `fdir` if missing, owned by the mail user.
    fn make_maildir(&self, fdir: &Path, subfolder: bool) {
        if fdir.join("cur").is_dir() {
            return;
        }
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(fdir.join(sub)).expect("dovecot fixture: mkdir folder");
        }
        if subfolder {
            fs::write(fdir.join("maildirfolder"), b"").expect("dovecot fixture: maildirfolder");
        }
        chown_tree(fdir, self.mail_uid, self.mail_gid);
    }

    /// Adds `folder` to the user's subscriptions file (if not yet there).
    pub fn subscribe(&self, user: &str, folder: &str) {
        let path = self.maildir(user).join("subscriptions");
        let old = fs::read_to_string(&path).unwrap_or_default();
        let v2 = old.starts_with("V\t2");
        let entry = if v2 {
            mutf7_encode(folder).replace(DELIMITER, "\t")
        } else {
            mutf7_encode(folder)
        };
        if old.lines().any(|l| l == entry) {
            return;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("dovecot fixture: open subscriptions");
        writeln!(f, "{entry}").expect("dovecot fixture: write subscriptions");
        drop(f);
        chown(&path, self.mail_uid, self.mail_gid);
    }

    /// Writes one message straight into `folder`'s `cur/` (creating and
    /// subscribing the folder if needed). `flags` are Maildir letters:
    /// `D` \Draft, `F` \Flagged, `R` \Answered, `S` \Seen, `T` \Deleted;
    /// `""` for none. INTERNALDATE is now. Returns the file written.
    pub fn add_message(&self, user: &str, folder: &str, raw: &[u8], flags: &str) -> PathBuf {
        self.add_message_at(user, folder, raw, flags, SystemTime::now())
    }

    /// [`Dovecot::add_message`] with a given INTERNALDATE (the file's mtime).
    pub fn add_message_at(
        &self,
        user: &str,
        folder: &str,
        raw: &[u8],
        flags: &str,
        internal_date: SystemTime,
    ) -> PathBuf {
        let fdir = self.create_folder(user, folder, true);
        self.write_message(&fdir, raw, flags, internal_date)
    }

    /// Writes one message into the Maildir `fdir` (which must exist):
    /// `tmp/` first, then renamed into `cur/`. The file name's timestamp
    /// comes from [`next_maildir_time`], so files written by one process
    /// get UIDs in the order they were written (see [`Dovecot::uids`]).
    fn write_message(
        &self,
        fdir: &Path,
        raw: &[u8],
        flags: &str,
        internal_date: SystemTime,
    ) -> PathBuf {
        let bare_lf = raw
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
            .count() as u64;
        let len = raw.len() as u64;
        let file = MaildirFile {
            size: len,
            virtual_size: len + bare_lf,
            flags,
            internal_date,
        };
        write_maildir_file(fdir, (self.mail_uid, self.mail_gid), &file, |f| {
            f.write_all(raw)
        })
    }

    /// A small realistic mailbox (see [`SAMPLE_FOLDERS`]): INBOX with five
    /// messages (three \Seen, two not; one \Flagged, one \Answered, one
    /// multipart with an attachment, one with an encoded-word subject),
    /// Sent, Drafts, Trash, Archive and Archive.2024. All CRLF, RFC 5322.
    pub fn seed_sample_mailbox(&self, user: &str) {
        let addr = format!("{user}@example.test");
        let day = |d: u64| UNIX_EPOCH + Duration::from_secs(1_717_236_000 + d * 86_400); // 2024-06-01 10:00Z + d days
        let inbox: [(&str, &str, &str, &str, u64); 5] = [
            (
                "Bob Example <bob@example.test>",
                "Lunch on Friday?",
                "S",
                "Are you free for lunch on Friday?\r\n\r\nBob\r\n",
                0,
            ),
            (
                "\"Carol Q. Admin\" <carol@example.test>",
                "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
                "RS",
                "Hallo,\r\nviele Gr=C3=BC=C3=9Fe!\r\n",
                1,
            ),
            (
                "Build Bot <ci@example.test>",
                "[ci] build #4711 failed",
                "FS",
                "The build failed at step 3.\r\n",
                2,
            ),
            ("Dave <dave@example.test>", "Quarterly report", "", "", 3),
            (
                "Newsletter <news@example.test>",
                "June news",
                "",
                "This month: nothing happened.\r\n",
                4,
            ),
        ];
        for (i, (from, subject, flags, body, d)) in inbox.iter().enumerate() {
            let raw = if body.is_empty() {
                multipart_message(from, &addr, subject, *d, i)
            } else {
                let qp = subject.starts_with("=?");
                simple_message(from, &addr, subject, body, *d, i, qp)
            };
            self.add_message_at(user, "INBOX", raw.as_bytes(), flags, day(*d));
        }
        let me = format!("Alice Example <{addr}>");
        let others: [(&str, &str, &str, &str, u64); 6] = [
            (
                "Sent",
                "Bob Example <bob@example.test>",
                "Re: Lunch on Friday?",
                "S",
                5,
            ),
            (
                "Sent",
                "Carol Q. Admin <carol@example.test>",
                "Re: Gruesse",
                "S",
                6,
            ),
            (
                "Drafts",
                "Dave <dave@example.test>",
                "Draft: comments on the report",
                "D",
                7,
            ),
            ("Trash", "Spam <spam@example.test>", "You have won", "S", 8),
            (
                "Archive.2024",
                "Bob Example <bob@example.test>",
                "Old thread",
                "S",
                9,
            ),
            (
                "Archive.2024",
                "Erin <erin@example.test>",
                "Invoice 2024-01",
                "S",
                10,
            ),
        ];
        for (i, (folder, to, subject, flags, d)) in others.iter().enumerate() {
            let (from, to) = if *folder == "Trash" || folder.starts_with("Archive") {
                (*to, me.as_str())
            } else {
                (me.as_str(), *to)
            };
            let body = format!("Message in {folder}.\r\n");
            let raw = simple_message(from, to, subject, &body, *d, 100 + i, false);
            self.add_message_at(user, folder, raw.as_bytes(), flags, day(*d));
        }
        self.create_folder(user, "Archive", true);
    }

    /// Builds [`PATHOLOGICAL_TREE`] for `user` (a user with an empty
    /// mailbox) the way real servers end up with one: directories and
    /// messages written straight into the Maildir++ store, an ACL file,
    /// file modes. Needs [`DovecotBuilder::pathological_tree_plugins`].
    /// Nothing is subscribed. Also writes [`INVISIBLE_ROOT_INBOX_DIR`].
    pub fn seed_pathological_tree(&self, user: &str) {
        assert!(
            self.acl && self.listescape,
            "dovecot fixture: seed_pathological_tree needs .acl(true).listescape(true)"
        );
        self.seed_tree(user, PATHOLOGICAL_TREE, false);
        let root = self.maildir(user);

        let hidden = root.join(".Hidden");
        let acl = hidden.join("dovecot-acl");
        // Every right but `l` (lookup) and `a` (admin).
        fs::write(&acl, format!("user={user} rwstipekx\n"))
            .expect("dovecot fixture: write dovecot-acl");
        chown(&acl, self.mail_uid, self.mail_gid);

        set_mode(&root.join(".Unreadable").join("cur"), 0o000);

        let lookalike = root.join(INVISIBLE_ROOT_INBOX_DIR);
        self.make_maildir(&lookalike, true);
        for i in 0..INVISIBLE_ROOT_INBOX_MESSAGES {
            self.write_tree_message(user, &lookalike, "Inbox (invisible)", i);
        }
    }

    /// Builds [`CLEAN_TREE`] for `user` (a user with an empty mailbox):
    /// an ordinary healthy tree, every folder subscribed. Works with any
    /// builder options.
    pub fn seed_clean_tree(&self, user: &str) {
        self.seed_tree(user, CLEAN_TREE, true);
    }

    fn seed_tree(&self, user: &str, tree: &[TreeFolder], subscribe: bool) {
        assert!(
            self.users.iter().any(|u| u.name == user),
            "dovecot fixture: no user {user:?}"
        );
        let root = self.maildir(user);
        for f in tree {
            let Some(disk) = f.disk else { continue };
            let expected = if f.raw == "INBOX" {
                String::new()
            } else {
                format!(".{}", listescape_storage_name(f.raw))
            };
            assert_eq!(disk, expected, "dovecot fixture: tree entry {:?}", f.raw);
            assert_eq!(
                mutf7_encode(f.name),
                f.raw,
                "dovecot fixture: tree entry {:?}",
                f.raw
            );
            let fdir = root.join(disk);
            self.make_maildir(&fdir, !disk.is_empty());
            for i in 0..f.messages {
                self.write_tree_message(user, &fdir, f.raw, i);
            }
            if subscribe && !disk.is_empty() {
                self.subscribe(user, f.name);
            }
        }
    }

    fn write_tree_message(&self, user: &str, fdir: &Path, folder: &str, i: usize) {
        let day = (i % 28) as u64;
        let raw = simple_message(
            "Bob Example <bob@example.test>",
            &format!("{user}@example.test"),
            &format!("Message {} in {folder}", i + 1),
            &format!("Message {} in folder {folder}.\r\n", i + 1),
            day,
            i,
            false,
        );
        let date = UNIX_EPOCH + Duration::from_secs(1_717_236_000 + day * 86_400);
        self.write_message(fdir, raw.as_bytes(), "S", date);
    }

    /// Writes a valid RFC 5322 message of exactly `size` bytes into
    /// `folder` (created and subscribed if needed), in constant memory:
    /// CRLF line ends, a header block, a short `text/plain` part and an
    /// `application/octet-stream` attachment of base64 lines of 76
    /// characters (deterministic, repeating content), `multipart/mixed`.
    /// The file name carries `,S=<size>,W=<size>`, so Dovecot's physical
    /// size and RFC822.SIZE are both `size` without reading the file.
    /// INTERNALDATE (and the Date header) is 2024-06-03 10:00:00 UTC.
    /// `flags` as in [`Dovecot::add_message`]. Panics if `size` is below
    /// [`LARGE_MESSAGE_MIN_SIZE`]. Returns the file written.
    ///
    /// Fast: 64 KiB blocks made once and written repeatedly; on the
    /// project's machine the 196 MB of [`Dovecot::seed_large_items`] take
    /// 0.1–0.2 s, also in a debug build.
    pub fn add_large_message(&self, user: &str, folder: &str, size: u64, flags: &str) -> PathBuf {
        let fdir = self.create_folder(user, folder, true);
        let layout = LargeLayout::new(user, size);
        let file = MaildirFile {
            size,
            virtual_size: size,
            flags,
            internal_date: UNIX_EPOCH + Duration::from_secs(LARGE_MESSAGE_DATE),
        };
        write_maildir_file(&fdir, (self.mail_uid, self.mail_gid), &file, |f| {
            layout.write_to(f)
        })
    }

    /// `(uid, physical size)` of every message in `folder`, in UID order,
    /// as Dovecot itself reports them:
    /// `doveadm -f tab fetch -u USER 'uid size.physical' mailbox FOLDER ALL`
    /// (Dovecot 2.3's field names; `size.virtual` would be RFC822.SIZE).
    /// This opens the folder like a client does: files written straight
    /// into the Maildir get their UIDs now, if they have none yet.
    ///
    /// How Dovecot 2.3 numbers files it finds in a Maildir (maildir-sync
    /// and maildir-uidlist): files already in `dovecot-uidlist` keep their
    /// UID; all files new to one sync are sorted by the name, namely by the
    /// seconds before the first `.`, then by the number after `M` in the
    /// second part (microseconds), then by the rest of the base name as
    /// bytes (up to `:`), and numbered from the folder's UIDNEXT in that
    /// order. Neither mtime nor `new/` vs `cur/` matters. The fixture
    /// names every file `<secs>.M<usecs>P<pid>Q<n>.imapprobe,S=..,W=..`
    /// with a (secs, usecs) pair that is strictly increasing within the
    /// process ([`next_maildir_time`]), so messages written before the
    /// folder is next opened get consecutive UIDs in the order they were
    /// written; messages written after an open come after all earlier ones.
    pub fn uids(&self, user: &str, folder: &str) -> Vec<(u32, u64)> {
        let out = self.doveadm_ok(&[
            "-f",
            "tab",
            "fetch",
            "-u",
            user,
            "uid size.physical",
            "mailbox",
            folder,
            "ALL",
        ]);
        let mut lines = out.lines();
        let header = lines.next().unwrap_or_default();
        assert!(
            out.is_empty() || header == "uid\tsize.physical",
            "dovecot fixture: unexpected doveadm fetch header {header:?}"
        );
        lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let parsed = l
                    .split_once('\t')
                    .and_then(|(u, s)| Some((u.parse().ok()?, s.parse().ok()?)));
                parsed.unwrap_or_else(|| panic!("dovecot fixture: doveadm fetch line {l:?}"))
            })
            .collect()
    }

    /// Creates the folder [`LARGE_FOLDER`] (which must not hold messages
    /// yet) with, in UID order: UID 1 a small message (\Seen), UID 2 a
    /// message of [`LARGE_36M_SIZE`] bytes (\Seen), UID 3 one of
    /// [`LARGE_151M_SIZE`] bytes (no flags), UID 4 a small message
    /// (\Flagged). The big ones are [`Dovecot::add_large_message`]s. The
    /// UIDs and sizes are checked with [`Dovecot::uids`] (which also has
    /// Dovecot index the folder). About 190 MB on disk; the whole call
    /// takes well under 2 s.
    pub fn seed_large_items(&self, user: &str) -> LargeItems {
        let fdir = self.create_folder(user, LARGE_FOLDER, true);
        for sub in ["cur", "new"] {
            let used = fs::read_dir(fdir.join(sub))
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            assert!(
                !used,
                "dovecot fixture: {LARGE_FOLDER} already holds messages"
            );
        }
        let small = |n: usize, flags: &str| {
            let raw = simple_message(
                "Archive Bot <archive@example.test>",
                &format!("{user}@example.test"),
                &format!("Small message {n} next to the large ones"),
                &format!("Small message {n}: the large ones are UIDs 2 and 3.\r\n"),
                1 + n as u64,
                900 + n,
                false,
            );
            let date = UNIX_EPOCH + Duration::from_secs(1_717_236_000 + (1 + n as u64) * 86_400);
            let path = self.add_message_at(user, LARGE_FOLDER, raw.as_bytes(), flags, date);
            (path, raw.len() as u64)
        };
        let (p1, s1) = small(1, "S");
        let p2 = self.add_large_message(user, LARGE_FOLDER, LARGE_36M_SIZE, "S");
        let p3 = self.add_large_message(user, LARGE_FOLDER, LARGE_151M_SIZE, "");
        let (p4, s4) = small(4, "FS");
        let items = LargeItems {
            folder: LARGE_FOLDER.to_string(),
            small_first: SeededMessage::new(1, s1, p1),
            large_36m: SeededMessage::new(2, LARGE_36M_SIZE, p2),
            large_151m: SeededMessage::new(3, LARGE_151M_SIZE, p3),
            small_last: SeededMessage::new(4, s4, p4),
        };
        let expected: Vec<(u32, u64)> = items.all().iter().map(|m| (m.uid, m.size)).collect();
        assert_eq!(
            self.uids(user, LARGE_FOLDER),
            expected,
            "dovecot fixture: {LARGE_FOLDER} as Dovecot numbers it"
        );
        items
    }

    /// Writes `folders` folders [`bulk_folder_name`]`(0..folders)`
    /// (`Bulk000`, `Bulk001`, …; created if missing and subscribed) with
    /// `per_folder` small realistic messages each: 1–8 KB, CRLF, varied
    /// senders, recipients, Cc, subjects (replies, forwards, encoded
    /// words), mailers, mailing-list headers, `text/plain` (7bit or
    /// quoted-printable) or `multipart/alternative` with HTML; about 75 %
    /// \Seen, 10 % of those \Answered, 6 % \Flagged; INTERNALDATE (mtime)
    /// increasing within a folder over about ten years from 2014–2015,
    /// with a matching Date header in one of several time zones.
    /// Deterministic: the same arguments and user give byte-identical
    /// files (a fixed-seed xorshift per folder). Files go straight into
    /// the Maildir from up to 4 threads; into an empty folder they get
    /// UIDs `1..=per_folder` in message order (see [`Dovecot::uids`]).
    /// 100 × 1,000 messages (≈ 450 MB) take a few seconds in a release
    /// build; Dovecot indexes each folder when it is first opened.
    pub fn seed_bulk(&self, user: &str, folders: usize, per_folder: usize) -> BulkSeed {
        let started = Instant::now();
        let names: Vec<String> = (0..folders).map(bulk_folder_name).collect();
        let dirs: Vec<PathBuf> = names
            .iter()
            .map(|n| self.create_folder(user, n, true))
            .collect();
        let owner = (self.mail_uid, self.mail_gid);
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(folders.max(1));
        let results: Vec<(usize, BulkFolderStats)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let dirs = &dirs;
                    scope.spawn(move || {
                        (t..dirs.len())
                            .step_by(threads)
                            .map(|i| (i, write_bulk_folder(&dirs[i], owner, user, i, per_folder)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("dovecot fixture: seed_bulk thread"))
                .collect()
        });
        let mut folder_bytes = vec![0u64; folders];
        let mut seed = BulkSeed {
            folders: names,
            per_folder,
            messages: folders * per_folder,
            bytes: 0,
            folder_bytes: Vec::new(),
            seen: 0,
            flagged: 0,
            answered: 0,
            oldest: None,
            newest: None,
            elapsed: Duration::ZERO,
        };
        for (i, st) in results {
            folder_bytes[i] = st.bytes;
            seed.bytes += st.bytes;
            seed.seen += st.seen;
            seed.flagged += st.flagged;
            seed.answered += st.answered;
            seed.oldest = match (seed.oldest, st.oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            seed.newest = seed.newest.max(st.newest);
        }
        seed.folder_bytes = folder_bytes;
        seed.elapsed = started.elapsed();
        seed
    }

    /// The Dovecot log (and whatever the master wrote to stderr).
    pub fn log(&self) -> String {
        read_logs(
            &self.dir.join("dovecot.log"),
            &self.dir.join("dovecot.stderr"),
        )
    }

    /// Process id of the Dovecot master.
    pub fn master_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_instance(&mut child, &self.instance_name);
        }
    }
}

/// Stops the master and every process of this instance. A SIGTERMed master
/// exits after ~1 s but leaves `imap` processes with connected clients (and
/// the `log`/`stats` processes they hold) running, so: note the master's
/// children, SIGKILL the master, then SIGKILL the noted children and
/// anything else whose process title carries `instance_name`.
fn stop_instance(child: &mut Child, instance_name: &str) {
    let master = child.id();
    let mut pids = instance_pids(master, instance_name);
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        pids.extend(instance_pids(master, instance_name));
        pids.sort_unstable();
        pids.dedup();
        pids.retain(|&pid| process_alive(pid));
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Live (non-zombie) processes that are children of `master` or whose
/// title is `<prefix>instance_name/<service>`.
fn instance_pids(master: u32, instance_name: &str) -> Vec<u32> {
    let tag = format!("{instance_name}/");
    let mut pids = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == master || pid == std::process::id() {
            continue;
        }
        let Some((state, ppid)) = proc_state_ppid(pid) else {
            continue;
        };
        if state == 'Z' {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let titled = String::from_utf8_lossy(&cmdline).contains(&tag);
        if ppid == master || titled {
            pids.push(pid);
        }
    }
    pids
}

/// `(state, ppid)` from `/proc/PID/stat`.
fn proc_state_ppid(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn process_alive(pid: u32) -> bool {
    matches!(proc_state_ppid(pid), Some((state, _)) if state != 'Z')
}

/// Removes `base_dir/anvil-auth-penalty` as soon as the master has created
/// its listeners and before any client can make it spawn the auth process
/// (`auth` has `process_min_avail = 0`, so it starts on the first login or
/// doveadm lookup). Auth ignores a missing anvil socket (ENOENT is hidden).
fn disable_auth_penalty(child: &mut Child, base_dir: &Path) -> Result<(), String> {
    let socket = base_dir.join("anvil-auth-penalty");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("dovecot exited with {status}"));
        }
        if fs::symlink_metadata(&socket).is_ok() {
            return fs::remove_file(&socket)
                .map_err(|e| format!("remove {}: {e}", socket.display()));
        }
        if Instant::now() > deadline {
            return Err(format!("{} not created after 10 s", socket.display()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_ready(child: &mut Child, ports: &[u16]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    for &port in ports {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("dovecot exited with {status}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("port {port} not accepting connections after 10 s"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

fn two_free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("dovecot fixture: bind port 0");
    let b = TcpListener::bind("127.0.0.1:0").expect("dovecot fixture: bind port 0");
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn read_logs(log: &Path, stderr: &Path) -> String {
    let mut s = fs::read_to_string(log).unwrap_or_default();
    let e = fs::read_to_string(stderr).unwrap_or_default();
    if !e.is_empty() {
        s.push_str("--- stderr ---\n");
        s.push_str(&e);
    }
    s
}

/// uid of `nobody` and gid of `nogroup` (65534 if not found).
fn mail_ids() -> (u32, u32) {
    let lookup = |file: &str, name: &str| -> Option<u32> {
        fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
        })
    };
    let uid = lookup("/etc/passwd", "nobody").unwrap_or(65534);
    let gid = lookup("/etc/group", "nogroup")
        .or_else(|| lookup("/etc/group", "nobody"))
        .unwrap_or(65534);
    (uid, gid)
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("dovecot fixture: chmod {}: {e}", path.display()));
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| {
        panic!(
            "dovecot fixture: chown {} (the fixture must run as root): {e}",
            path.display()
        )
    });
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    chown(path, uid, gid);
    if path.is_dir() {
        for entry in fs::read_dir(path).expect("dovecot fixture: read_dir") {
            chown_tree(&entry.expect("dovecot fixture: dir entry").path(), uid, gid);
        }
    }
}

/// IMAP modified UTF-7 (RFC 3501 5.1.3), as Dovecot stores Maildir++ names.
pub fn mutf7_encode(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut pending, &mut out);
            out.push(ch);
            if ch == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// The Maildir++ storage name of an IMAP (modified UTF-7) name under the
/// listescape plugin, for the one character the fixture needs: `/` becomes
/// the hex escape `\2f` (`Reports/Q1` -> `Reports\2fQ1`, as Dovecot 2.3.19
/// writes it on `CREATE "Reports/Q1"`).
pub fn listescape_storage_name(raw: &str) -> String {
    raw.replace('/', "\\2f")
}

fn rfc5322_date(days_after_2024_06_01: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Sat", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri"];
    let d = days_after_2024_06_01;
    assert!(d < 30, "sample dates stay in June 2024");
    format!(
        "{}, {:02} Jun 2024 12:00:00 +0200",
        WEEKDAYS[(d % 7) as usize],
        d + 1
    )
}

fn simple_message(
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    day: u64,
    n: usize,
    qp: bool,
) -> String {
    let cte = if qp { "quoted-printable" } else { "7bit" };
    format!(
        "Return-Path: <sender@example.test>\r\n\
         Date: {date}\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Message-ID: <sample-{n}@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: {cte}\r\n\
         \r\n\
         {body}",
        date = rfc5322_date(day)
    )
}

fn multipart_message(from: &str, to: &str, subject: &str, day: u64, n: usize) -> String {
    format!(
        "Date: {date}\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Message-ID: <sample-{n}@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=_sample_boundary\"\r\n\
         \r\n\
         This is a multi-part message in MIME format.\r\n\
         \r\n\
         --=_sample_boundary\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         Please find the report attached.\r\n\
         \r\n\
         --=_sample_boundary\r\n\
         Content-Type: application/pdf; name=\"report.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKJSVFT0YK\r\n\
         \r\n\
         --=_sample_boundary--\r\n",
        date = rfc5322_date(day)
    )
}

/// Folder of [`Dovecot::seed_large_items`].
pub const LARGE_FOLDER: &str = "Large";
/// Size of UID 2 in [`LARGE_FOLDER`]: 36 MiB and 123 bytes.
pub const LARGE_36M_SIZE: u64 = 36 * 1024 * 1024 + 123;
/// Size of UID 3 in [`LARGE_FOLDER`]: 151 MiB and 7 bytes.
pub const LARGE_151M_SIZE: u64 = 151 * 1024 * 1024 + 7;
/// The smallest size [`Dovecot::add_large_message`] accepts.
pub const LARGE_MESSAGE_MIN_SIZE: u64 = 1024;
/// INTERNALDATE of [`Dovecot::add_large_message`]: 2024-06-03 10:00:00 UTC.
pub const LARGE_MESSAGE_DATE: u64 = 1_717_408_800;

/// One message a seeding function wrote, as Dovecot numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededMessage {
    pub uid: u32,
    /// Size in bytes (file size = RFC822.SIZE: the fixture writes CRLF).
    pub size: u64,
    /// The Maildir file.
    pub path: PathBuf,
}

impl SeededMessage {
    fn new(uid: u32, size: u64, path: PathBuf) -> SeededMessage {
        SeededMessage { uid, size, path }
    }
}

/// What [`Dovecot::seed_large_items`] wrote to [`LARGE_FOLDER`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LargeItems {
    pub folder: String,
    /// UID 1, a small \Seen message.
    pub small_first: SeededMessage,
    /// UID 2, [`LARGE_36M_SIZE`] bytes, \Seen.
    pub large_36m: SeededMessage,
    /// UID 3, [`LARGE_151M_SIZE`] bytes, no flags.
    pub large_151m: SeededMessage,
    /// UID 4, a small \Flagged \Seen message.
    pub small_last: SeededMessage,
}

impl LargeItems {
    /// The four messages in UID order.
    pub fn all(&self) -> [&SeededMessage; 4] {
        [
            &self.small_first,
            &self.large_36m,
            &self.large_151m,
            &self.small_last,
        ]
    }

    /// Sum of the four sizes.
    pub fn total_bytes(&self) -> u64 {
        self.all().iter().map(|m| m.size).sum()
    }
}

/// What [`Dovecot::seed_bulk`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkSeed {
    /// `Bulk000`, `Bulk001`, … (IMAP names, all ASCII).
    pub folders: Vec<String>,
    pub per_folder: usize,
    /// `folders.len() * per_folder`.
    pub messages: usize,
    /// Sum of all message sizes (= the RFC822.SIZEs).
    pub bytes: u64,
    /// Bytes per folder, in the order of `folders`.
    pub folder_bytes: Vec<u64>,
    /// Messages with \Seen, \Flagged, \Answered.
    pub seen: usize,
    pub flagged: usize,
    pub answered: usize,
    /// Earliest and latest INTERNALDATE (`None` without messages).
    pub oldest: Option<SystemTime>,
    pub newest: Option<SystemTime>,
    /// How long writing took.
    pub elapsed: Duration,
}

/// Name of the `i`-th folder of [`Dovecot::seed_bulk`]: `Bulk000`, ….
pub fn bulk_folder_name(i: usize) -> String {
    format!("Bulk{i:03}")
}

/// Maildir flag letters, checked, sorted and deduplicated (the `:2,`
/// info of a file name must list them in ASCII order).
fn maildir_flags(flags: &str) -> String {
    let mut letters: Vec<char> = flags.chars().collect();
    assert!(
        letters.iter().all(|c| "DFRST".contains(*c)),
        "dovecot fixture: flags {flags:?} must be made of D, F, R, S, T"
    );
    letters.sort_unstable();
    letters.dedup();
    letters.into_iter().collect()
}

/// A Maildir file apart from its content.
struct MaildirFile<'a> {
    /// Bytes the content closure writes (checked).
    size: u64,
    /// Size with CRLF line ends (the `W=` part; RFC822.SIZE).
    virtual_size: u64,
    /// Maildir letters, as in [`Dovecot::add_message`].
    flags: &'a str,
    /// The file's mtime, which Dovecot reports as INTERNALDATE.
    internal_date: SystemTime,
}

static MESSAGE_COUNTER: AtomicU64 = AtomicU64::new(0);
static MAILDIR_CLOCK_US: AtomicU64 = AtomicU64::new(0);

/// `(seconds, microseconds)` for the next Maildir file name: the current
/// time, but strictly greater than every value returned before in this
/// process (it runs ahead of the clock by 1 µs per file when files are
/// written faster than that). Dovecot sorts new files by exactly this pair
/// before giving them UIDs (see [`Dovecot::uids`]).
fn next_maildir_time() -> (u64, u32) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64;
    let prev = MAILDIR_CLOCK_US
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |prev| {
            Some(now.max(prev + 1))
        })
        .expect("fetch_update with Some never fails");
    let t = now.max(prev + 1);
    (t / 1_000_000, (t % 1_000_000) as u32)
}

/// Writes one file into the Maildir `fdir` (`tmp/`, then renamed into
/// `cur/`), named for Dovecot: `<secs>.M<usecs>P<pid>Q<n>.imapprobe,
/// S=<size>,W=<virtual size>:2,<flags>`; owned by `owner`, mtime the
/// INTERNALDATE. `content` writes the bytes; their count is checked
/// against `file.size`.
fn write_maildir_file(
    fdir: &Path,
    owner: (u32, u32),
    file: &MaildirFile<'_>,
    content: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> PathBuf {
    let flags = maildir_flags(file.flags);
    let (secs, usecs) = next_maildir_time();
    let n = MESSAGE_COUNTER.fetch_add(1, Ordering::SeqCst);
    let base = format!(
        "{secs}.M{usecs}P{}Q{n}.imapprobe,S={},W={}",
        std::process::id(),
        file.size,
        file.virtual_size
    );
    let tmp_path = fdir.join("tmp").join(&base);
    let final_path = fdir.join("cur").join(format!("{base}:2,{flags}"));
    {
        let mut f = fs::File::create(&tmp_path)
            .unwrap_or_else(|e| panic!("dovecot fixture: create {}: {e}", tmp_path.display()));
        content(&mut f).expect("dovecot fixture: write message");
        let written = f.metadata().expect("dovecot fixture: fstat").len();
        assert_eq!(
            written,
            file.size,
            "dovecot fixture: {} has the wrong size",
            tmp_path.display()
        );
        f.set_modified(file.internal_date)
            .expect("dovecot fixture: set mtime");
        std::os::unix::fs::fchown(&f, Some(owner.0), Some(owner.1)).unwrap_or_else(|e| {
            panic!(
                "dovecot fixture: chown {} (the fixture must run as root): {e}",
                tmp_path.display()
            )
        });
    }
    fs::rename(&tmp_path, &final_path).expect("dovecot fixture: move message to cur/");
    final_path
}

/// Boundary of [`Dovecot::add_large_message`]'s multipart.
const LARGE_BOUNDARY: &str = "=_imapprobe_large_0001";
/// Base64 lines per block written at once (840 × 78 = 65,520 bytes).
const LARGE_BLOCK_LINES: usize = 840;

/// The shape of a message of an exact size: a head (headers, text part,
/// attachment headers), `b64_chars` base64 characters in lines of 76
/// (the last one shorter), then the closing boundary.
struct LargeLayout {
    head: String,
    b64_chars: u64,
    tail: String,
}

impl LargeLayout {
    fn new(user: &str, size: u64) -> LargeLayout {
        assert!(
            size >= LARGE_MESSAGE_MIN_SIZE,
            "dovecot fixture: a large message needs at least {LARGE_MESSAGE_MIN_SIZE} bytes, not {size}"
        );
        let n = MESSAGE_COUNTER.fetch_add(1, Ordering::SeqCst);
        let before_filler = format!(
            "Return-Path: <archive@example.test>\r\n\
             Date: Mon, 03 Jun 2024 10:00:00 +0000\r\n\
             From: Archive Bot <archive@example.test>\r\n\
             To: {user}@example.test\r\n\
             Subject: Large attachment ({size} bytes)\r\n\
             Message-ID: <large-{size}-{pid}-{n}@example.test>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\
             \r\n\
             This is a multi-part message in MIME format.\r\n\
             \r\n\
             --{b}\r\n\
             Content-Type: text/plain; charset=US-ASCII\r\n\
             Content-Transfer-Encoding: 7bit\r\n\
             \r\n\
             The attached archive makes this message exactly {size} bytes long.\r\n",
            pid = std::process::id(),
            b = LARGE_BOUNDARY,
        );
        let after_filler = format!(
            "\r\n\
             --{b}\r\n\
             Content-Type: application/octet-stream; name=\"archive-{size}.bin\"\r\n\
             Content-Disposition: attachment; filename=\"archive-{size}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n",
            b = LARGE_BOUNDARY,
        );
        // The CRLF ending the last base64 line is the one before the
        // delimiter (RFC 2046), so the tail starts with the delimiter.
        let tail = format!("--{LARGE_BOUNDARY}--\r\n");
        let fixed = (before_filler.len() + after_filler.len() + tail.len()) as u64;
        let avail = size
            .checked_sub(fixed + 3)
            .expect("dovecot fixture: LARGE_MESSAGE_MIN_SIZE too small for the headers");
        // Base64: full lines of 76 characters (78 bytes with CRLF) and a
        // last line of a multiple of 4 characters, so the whole is valid
        // base64; a filler line of 1..=6 characters in the text part (3..=8
        // bytes with CRLF) takes up the rest.
        let full_lines = avail / 78;
        let rest = avail % 78;
        let last = if rest >= 6 { (rest - 2) / 4 * 4 } else { 0 };
        let b64_bytes = full_lines * 78 + if last > 0 { last + 2 } else { 0 };
        let filler = (avail + 3 - b64_bytes) as usize;
        debug_assert!((3..=8).contains(&filler));
        let mut head = before_filler;
        head.push_str(&"-".repeat(filler - 2));
        head.push_str("\r\n");
        head.push_str(&after_filler);
        let layout = LargeLayout {
            head,
            b64_chars: full_lines * 76 + last,
            tail,
        };
        assert_eq!(
            layout.total(),
            size,
            "dovecot fixture: large message layout"
        );
        layout
    }

    /// Bytes of base64 lines, CRLFs included.
    fn b64_bytes(&self) -> u64 {
        self.b64_chars + 2 * self.b64_chars.div_ceil(76)
    }

    fn total(&self) -> u64 {
        self.head.len() as u64 + self.b64_bytes() + self.tail.len() as u64
    }

    /// Writes the message: one block of base64 lines is made once and
    /// written as often as needed.
    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = XorShift::new(0x1a2b_3c4d_5e6f_7081);
        let mut block = Vec::with_capacity(LARGE_BLOCK_LINES * 78);
        for _ in 0..LARGE_BLOCK_LINES {
            for _ in 0..76 {
                block.push(B64[(rng.next() >> 58) as usize]);
            }
            block.extend_from_slice(b"\r\n");
        }
        w.write_all(self.head.as_bytes())?;
        let full_lines = self.b64_chars / 76;
        for _ in 0..full_lines / LARGE_BLOCK_LINES as u64 {
            w.write_all(&block)?;
        }
        let lines_left = (full_lines % LARGE_BLOCK_LINES as u64) as usize;
        w.write_all(&block[..lines_left * 78])?;
        let last = (self.b64_chars % 76) as usize;
        if last > 0 {
            w.write_all(&block[..last])?;
            w.write_all(b"\r\n")?;
        }
        w.write_all(self.tail.as_bytes())
    }
}

/// xorshift64* with a fixed seed: deterministic content without a crate.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Counts of one folder of [`Dovecot::seed_bulk`].
#[derive(Default)]
struct BulkFolderStats {
    bytes: u64,
    seen: usize,
    flagged: usize,
    answered: usize,
    oldest: Option<SystemTime>,
    newest: Option<SystemTime>,
}

/// 2014-01-01 00:00:00 UTC.
const BULK_EPOCH: u64 = 1_388_534_400;
const BULK_SPAN_SECS: u64 = 10 * 365 * 86_400;

fn write_bulk_folder(
    fdir: &Path,
    owner: (u32, u32),
    user: &str,
    folder: usize,
    per_folder: usize,
) -> BulkFolderStats {
    let mut rng = XorShift::new(
        0x9e37_79b9_7f4a_7c15 ^ (folder as u64 + 1).wrapping_mul(0xff51_afd7_ed55_8ccd),
    );
    let mut stats = BulkFolderStats::default();
    let mut t = BULK_EPOCH + rng.below(2 * 365 * 86_400);
    let mean_gap = (BULK_SPAN_SECS / per_folder.max(1) as u64).max(2);
    let mut msg = String::with_capacity(10 * 1024);
    for i in 0..per_folder {
        t += 1 + rng.below(2 * mean_gap);
        msg.clear();
        let flags = bulk_message(&mut rng, user, folder, i, t, &mut msg);
        let date = UNIX_EPOCH + Duration::from_secs(t);
        let file = MaildirFile {
            size: msg.len() as u64,
            virtual_size: msg.len() as u64,
            flags,
            internal_date: date,
        };
        write_maildir_file(fdir, owner, &file, |f| f.write_all(msg.as_bytes()));
        stats.bytes += msg.len() as u64;
        stats.seen += usize::from(flags.contains('S'));
        stats.flagged += usize::from(flags.contains('F'));
        stats.answered += usize::from(flags.contains('R'));
        stats.oldest = Some(stats.oldest.map_or(date, |d| d.min(date)));
        stats.newest = Some(stats.newest.map_or(date, |d| d.max(date)));
    }
    stats
}

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Jones", "Miller", "Garcia", "Nguyen", "Schmidt", "Rossi", "Dubois", "Kowalski",
    "Tanaka", "Okafor", "Silva", "O'Brien",
];
const DOMAINS: &[&str] = &[
    "example.test",
    "example.org",
    "example.net",
    "mail.example.com",
    "corp.example",
    "lists.example.org",
];
const SUBJECT_WORDS: &[&str] = &[
    "quarterly",
    "report",
    "invoice",
    "meeting",
    "agenda",
    "update",
    "budget",
    "review",
    "draft",
    "release",
    "notes",
    "travel",
    "plans",
    "server",
    "migration",
    "backup",
    "schedule",
    "contract",
    "proposal",
    "feedback",
    "lunch",
    "team",
    "project",
    "status",
    "ticket",
    "order",
    "shipping",
    "newsletter",
    "security",
    "alert",
    "Q3",
    "2019",
    "v2.1",
    "(urgent)",
];
const BODY_WORDS: &[&str] = &[
    "the",
    "a",
    "we",
    "will",
    "please",
    "find",
    "attached",
    "below",
    "meeting",
    "on",
    "Monday",
    "Tuesday",
    "report",
    "numbers",
    "look",
    "good",
    "as",
    "discussed",
    "let",
    "me",
    "know",
    "if",
    "you",
    "have",
    "any",
    "questions",
    "thanks",
    "for",
    "your",
    "help",
    "with",
    "migration",
    "server",
    "mailbox",
    "folder",
    "budget",
    "plan",
    "is",
    "still",
    "open",
    "schedule",
    "next",
    "week",
    "and",
    "to",
    "of",
    "in",
    "that",
    "it",
    "should",
    "be",
    "done",
    "by",
    "Friday",
    "customer",
    "ticket",
    "update",
    "review",
    "draft",
    "version",
    "changes",
    "approved",
    "team",
    "project",
    "deadline",
    "invoice",
    "payment",
    "received",
    "order",
    "shipped",
    "tracking",
];
const ENCODED_SUBJECTS: &[&str] = &[
    "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
    "=?ISO-8859-1?Q?R=E9sum=E9_=E0_revoir?=",
    "=?UTF-8?B?5pel5pys6Kqe44Gu44OG44K544OI?=",
    "=?UTF-8?B?R3LDtsOfZSAmIMOcYmVyc2ljaHQ=?=",
    "=?UTF-8?B?zpXOu867zrfOvc65zrrOrCDOvc6tzrE=?=",
];
const MAILERS: &[&str] = &[
    "Mozilla Thunderbird 115.6",
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3731.700.6)",
    "Roundcube Webmail/1.6.5",
    "Mutt/2.2.9",
];
/// (offset in seconds, as written in a Date header).
const ZONES: &[(i64, &str)] = &[
    (0, "+0000"),
    (3_600, "+0100"),
    (7_200, "+0200"),
    (-18_000, "-0500"),
    (-28_800, "-0800"),
    (19_800, "+0530"),
    (32_400, "+0900"),
];

/// RFC 5322 date of `secs` (Unix time) in the zone `offset`/`zone`.
pub fn rfc5322_datetime(secs: u64, offset: i64, zone: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let local = secs as i64 + offset;
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} {zone}",
        WEEKDAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        sod / 3_600,
        sod / 60 % 60,
        sod % 60
    )
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (proleptic Gregorian, computed in 400-year eras).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // 0..146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..365, from March 1
    let mp = (5 * doy + 2) / 153; // March = 0
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Pushes words to `out` as CRLF lines of at most 72 columns until
/// `out` holds at least `until` bytes.
fn push_words(rng: &mut XorShift, out: &mut String, until: usize) {
    let mut col = 0;
    while out.len() < until {
        let w = rng.pick(BODY_WORDS);
        if col > 0 && col + 1 + w.len() > 72 {
            out.push_str("\r\n");
            col = 0;
        }
        if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(w);
        col += w.len();
        if col > 40 && rng.chance(8) {
            out.push_str(".\r\n");
            col = 0;
        }
    }
    if col > 0 {
        out.push_str("\r\n");
    }
}

/// One message of [`Dovecot::seed_bulk`] (1–8 KB) into `out`; returns
/// its Maildir flags.
fn bulk_message(
    rng: &mut XorShift,
    user: &str,
    folder: usize,
    i: usize,
    t: u64,
    out: &mut String,
) -> &'static str {
    use std::fmt::Write as _;
    let target = 1024 + rng.below(7 * 1024) as usize;
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let domain = rng.pick(DOMAINS);
    let from_addr = format!(
        "{}.{}@{domain}",
        first.to_lowercase(),
        last.to_lowercase().replace('\'', "")
    );
    let (offset, zone) = rng.pick(ZONES);
    let date = rfc5322_datetime(t, offset, zone);
    let received = rfc5322_datetime(t + 1 + rng.below(30), 0, "+0000");
    let id = rng.next();
    let _ = write!(
        out,
        "Return-Path: <{from_addr}>\r\n\
         Received: from mx{mx}.{domain} (mx{mx}.{domain} [192.0.2.{ip}])\r\n\
         \tby mail.example.test (Postfix) with ESMTPS id {qid:010X}\r\n\
         \tfor <{user}@example.test>; {received}\r\n\
         Date: {date}\r\n",
        mx = 1 + rng.below(4),
        ip = 1 + rng.below(254),
        qid = id & 0xff_ffff_ffff,
    );
    if last.contains('\'') {
        let _ = write!(out, "From: \"{first} {last}\" <{from_addr}>\r\n");
    } else {
        let _ = write!(out, "From: {first} {last} <{from_addr}>\r\n");
    }
    let _ = write!(out, "To: {user} <{user}@example.test>");
    for _ in 0..rng.below(3) {
        let _ = write!(
            out,
            ",\r\n {0} <{0}@{1}>",
            rng.pick(FIRST_NAMES).to_lowercase(),
            rng.pick(DOMAINS)
        );
    }
    out.push_str("\r\n");
    if rng.chance(25) {
        let _ = write!(
            out,
            "Cc: {0} <{0}@{1}>\r\n",
            rng.pick(FIRST_NAMES).to_lowercase(),
            rng.pick(DOMAINS)
        );
    }
    let reply = rng.chance(25);
    out.push_str("Subject: ");
    if reply {
        out.push_str("Re: ");
    } else if rng.chance(5) {
        out.push_str("Fwd: ");
    }
    if rng.chance(8) {
        out.push_str(rng.pick(ENCODED_SUBJECTS));
    } else {
        for k in 0..2 + rng.below(6) {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(rng.pick(SUBJECT_WORDS));
        }
    }
    out.push_str("\r\n");
    let _ = write!(
        out,
        "Message-ID: <{t:x}.{folder}.{i}.{id:016x}@{domain}>\r\n"
    );
    if reply {
        let parent = rng.next();
        let _ = write!(
            out,
            "In-Reply-To: <{parent:016x}@example.test>\r\nReferences: <{parent:016x}@example.test>\r\n"
        );
    }
    if rng.chance(15) {
        let _ = write!(
            out,
            "List-Id: Team announcements <team.{domain}>\r\nPrecedence: list\r\n"
        );
    }
    let _ = write!(
        out,
        "X-Mailer: {}\r\nMIME-Version: 1.0\r\n",
        rng.pick(MAILERS)
    );
    match rng.below(3) {
        0 => {
            let b = format!("=_alt_{id:016x}");
            let _ = write!(
                out,
                "Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n\
                 --{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            );
            let half = out.len() + (target.saturating_sub(out.len())) / 3;
            push_words(rng, out, half);
            let _ = write!(
                out,
                "\r\n--{b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
                 <html><body>\r\n<p>\r\n"
            );
            push_words(rng, out, target);
            let _ = write!(out, "</p>\r\n</body></html>\r\n\r\n--{b}--\r\n");
        }
        1 => {
            out.push_str(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                 Gr=C3=BC=C3=9Fe,\r\n\r\n",
            );
            push_words(rng, out, target);
            out.push_str("\r\nCaf=C3=A9 at 10?\r\n");
        }
        _ => {
            out.push_str("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
            push_words(rng, out, target);
            let _ = write!(out, "\r\n-- \r\n{first} {last}\r\n");
        }
    }
    let seen = rng.chance(75);
    let answered = seen && rng.chance(10);
    let flagged = rng.chance(6);
    match (seen, answered, flagged) {
        (true, true, true) => "FRS",
        (true, true, false) => "RS",
        (true, false, true) => "FS",
        (true, false, false) => "S",
        (false, _, true) => "F",
        (false, _, false) => "",
    }
}
