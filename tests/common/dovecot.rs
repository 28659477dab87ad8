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

static INSTANCE_COUNTER: AtomicU64 = AtomicU64::new(0);
static MESSAGE_COUNTER: AtomicU64 = AtomicU64::new(0);

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
    extra_config: String,
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
            extra_config: String::new(),
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

    /// Raw lines appended to the generated `dovecot.conf` (later settings win).
    pub fn extra_config(mut self, text: &str) -> Self {
        self.extra_config.push_str(text);
        self.extra_config.push('\n');
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
        let tmp = tempfile::Builder::new()
            .prefix("imapprobe-dovecot-")
            .tempdir()
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
        if !fdir.join("cur").is_dir() {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(fdir.join(sub)).expect("dovecot fixture: mkdir folder");
            }
            if !is_inbox {
                fs::write(fdir.join("maildirfolder"), b"").expect("dovecot fixture: maildirfolder");
            }
            chown_tree(&fdir, self.mail_uid, self.mail_gid);
        }
        if subscribe && !is_inbox {
            self.subscribe(user, folder);
        }
        fdir
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
        let mut letters: Vec<char> = flags.chars().collect();
        assert!(
            letters.iter().all(|c| "DFRST".contains(*c)),
            "dovecot fixture: flags {flags:?} must be made of D, F, R, S, T"
        );
        letters.sort_unstable();
        letters.dedup();
        let flags: String = letters.into_iter().collect();

        let fdir = self.create_folder(user, folder, true);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = MESSAGE_COUNTER.fetch_add(1, Ordering::SeqCst);
        let bare_lf = raw
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
            .count();
        let base = format!(
            "{}.M{}P{}Q{}.imapprobe,S={},W={}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            n,
            raw.len(),
            raw.len() + bare_lf
        );
        let tmp_path = fdir.join("tmp").join(&base);
        let final_path = fdir.join("cur").join(format!("{base}:2,{flags}"));
        {
            let mut f = fs::File::create(&tmp_path).expect("dovecot fixture: write message");
            f.write_all(raw).expect("dovecot fixture: write message");
            f.set_modified(internal_date)
                .expect("dovecot fixture: set mtime");
        }
        chown(&tmp_path, self.mail_uid, self.mail_gid);
        fs::rename(&tmp_path, &final_path).expect("dovecot fixture: move message to cur/");
        final_path
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
