//! Proves the fixture's large and bulk seeding against the real Dovecot:
//! `seed_large_items` (UIDs and sizes as doveadm and IMAP report them, a
//! valid MIME structure, a clean log), `add_large_message` (exact sizes,
//! line lengths, valid base64) and `seed_bulk` on a small scale.

mod common;

use base64::Engine as _;
use common::dovecot::{
    bulk_folder_name, rfc5322_datetime, Dovecot, LARGE_151M_SIZE, LARGE_36M_SIZE, LARGE_FOLDER,
    LARGE_MESSAGE_MIN_SIZE,
};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const USER: &str = "big";
const PASSWORD: &str = "big-pw";
/// Same length as [`USER`], so seeded sizes match.
const TWIN: &str = "bag";

fn start() -> Dovecot {
    Dovecot::builder()
        .user(USER, PASSWORD)
        .user(TWIN, "bag-pw")
        .start()
}

/// A minimal plaintext IMAP client (no literals in what it reads).
struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Imap {
    fn login(dovecot: &Dovecot, user: &str, password: &str) -> Imap {
        let s = TcpStream::connect(dovecot.imap_addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut imap = Imap {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            tag: 0,
        };
        let greeting = imap.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        imap.ok(&format!("LOGIN \"{user}\" \"{password}\""));
        imap
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("read from server");
        assert!(n > 0, "server closed the connection");
        assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
        assert!(
            !line.trim_end().ends_with('}'),
            "unexpected literal: {line:?}"
        );
        line.truncate(line.len() - 2);
        line
    }

    /// Sends a command; returns the untagged lines; panics unless OK.
    fn ok(&mut self, command: &str) -> Vec<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{command}: {line}\n{lines:#?}");
                return lines;
            }
            lines.push(line);
        }
    }
}

/// The number after `name ` in a FETCH line.
fn fetch_number(line: &str, name: &str) -> u64 {
    let at = line
        .find(&format!("{name} "))
        .unwrap_or_else(|| panic!("no {name} in {line}"));
    line[at + name.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `(UID, RFC822.SIZE)` of every message of `folder`, over IMAP.
fn imap_sizes(imap: &mut Imap, folder: &str) -> Vec<(u32, u64)> {
    imap.ok(&format!("EXAMINE \"{folder}\""));
    imap.ok("UID FETCH 1:* (UID RFC822.SIZE)")
        .iter()
        .filter(|l| l.contains(" FETCH "))
        .map(|l| {
            (
                fetch_number(l, "UID") as u32,
                fetch_number(l, "RFC822.SIZE"),
            )
        })
        .collect()
}

fn assert_clean_log(dovecot: &Dovecot) {
    let log = dovecot.log();
    for bad in ["Error", "Warning", "Panic", "Fatal"] {
        assert!(
            !log.lines().any(|l| l.contains(&format!("{bad}:"))),
            "{bad} in the Dovecot log:\n{log}"
        );
    }
}

/// Checks what `add_large_message` promises about a file, reading it whole
/// (use on small sizes only): exact size, CRLF lines of at most 76
/// characters, a multipart whose attachment is valid base64.
fn check_large_file(path: &PathBuf, size: u64) {
    let data = fs::read(path).unwrap();
    assert_eq!(data.len() as u64, size, "{}", path.display());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.contains(&format!(",S={size},W={size}:2,")), "{name}");
    assert!(data.ends_with(b"\r\n"));
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line.strip_suffix(b"\r").expect("CRLF line ends only");
        assert!(line.len() <= 76, "line of {} chars", line.len());
        assert!(line.iter().all(|b| (b' '..=b'~').contains(b)) || line.is_empty());
    }
    let text = std::str::from_utf8(&data).unwrap();
    let head_end = text.find("\r\n\r\n").unwrap();
    assert!(text[..head_end].contains("Content-Type: multipart/mixed; boundary="));
    let b64_start = text
        .find("Content-Transfer-Encoding: base64\r\n\r\n")
        .unwrap()
        + 37;
    let b64_end = text.rfind("--=_imapprobe_large_0001--\r\n").unwrap();
    assert_eq!(b64_end + 28, text.len(), "closing delimiter at the end");
    let b64: String = text[b64_start..b64_end]
        .split("\r\n")
        .collect::<Vec<_>>()
        .concat();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .unwrap_or_else(|e| panic!("size {size}: attachment is not base64: {e}"));
    assert_eq!(decoded.len() * 4, b64.len() * 3);
}

#[test]
fn large_items_have_predictable_uids_and_sizes() {
    let dovecot = start();
    let t = Instant::now();
    let items = dovecot.seed_large_items(USER);
    let seeded = t.elapsed();
    eprintln!(
        "seed_large_items: {:.1} MB in {seeded:.2?} (uids() checked inside)",
        items.total_bytes() as f64 / 1e6
    );

    assert_eq!(items.folder, LARGE_FOLDER);
    let expected = vec![
        (1, items.small_first.size),
        (2, LARGE_36M_SIZE),
        (3, LARGE_151M_SIZE),
        (4, items.small_last.size),
    ];
    for m in items.all() {
        assert_eq!(
            fs::metadata(&m.path).unwrap().len(),
            m.size,
            "file size of UID {}",
            m.uid
        );
        assert!(m.size < 2000 || m.size >= LARGE_36M_SIZE);
    }
    assert_eq!(dovecot.uids(USER, LARGE_FOLDER), expected, "doveadm");

    let t = Instant::now();
    let mut imap = Imap::login(&dovecot, USER, PASSWORD);
    assert_eq!(
        imap_sizes(&mut imap, LARGE_FOLDER),
        expected,
        "IMAP RFC822.SIZE"
    );
    // The first session to open the folder also sees \Recent.
    let flags: Vec<String> = imap
        .ok("UID FETCH 1:* (UID FLAGS INTERNALDATE)")
        .iter()
        .map(|l| l.replace(" \\Recent", "").replace("\\Recent", ""))
        .collect();
    assert!(flags[0].contains("FLAGS (\\Seen)"), "{flags:?}");
    assert!(flags[1].contains("FLAGS (\\Seen)"), "{flags:?}");
    assert!(flags[2].contains("FLAGS ()"), "{flags:?}");
    assert!(flags[3].contains("FLAGS (\\Flagged \\Seen)"), "{flags:?}");
    assert!(
        flags[1].contains("INTERNALDATE \"03-Jun-2024 10:00:00 +0000\""),
        "{flags:?}"
    );
    // Dovecot parses the whole 36 MB message for BODYSTRUCTURE: a text
    // part and a base64 attachment.
    let structure = imap.ok("UID FETCH 2 (BODYSTRUCTURE)").concat();
    assert!(
        structure.contains("(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\""),
        "{structure}"
    );
    assert!(
        structure.contains("\"application\" \"octet-stream\" (\"name\" \"archive-37748859.bin\") NIL NIL \"base64\""),
        "{structure}"
    );
    assert!(structure.contains("\"mixed\""), "{structure}");
    let attachment = fetch_number(&structure, "\"base64\"");
    assert!(
        attachment < LARGE_36M_SIZE && attachment > LARGE_36M_SIZE - 1100,
        "the attachment is nearly all of the message: {structure}"
    );
    imap.ok("LOGOUT");
    eprintln!(
        "IMAP sizes, flags and BODYSTRUCTURE of the 36 MB message: {:.2?}",
        t.elapsed()
    );
    assert_clean_log(&dovecot);
}

/// The rule `Dovecot::uids` documents: files new to a sync are numbered in
/// the order of (seconds, `M` microseconds, rest of the name); the order of
/// writing, mtime and `new/` vs `cur/` do not matter.
#[test]
fn dovecot_numbers_new_files_by_name() {
    let dovecot = start();
    let fdir = dovecot.create_folder(USER, "Order", true);
    assert!(dovecot.uids(USER, "Order").is_empty(), "an empty folder");
    // (directory, base name, mtime): written in this order; the UID each
    // should get is the position in `expected` below.
    let files = [
        ("cur", "1700000000.M3P1Q1.host", 1_600_000_000),
        ("new", "1700000000.M20P1Q2.host", 1_500_000_000),
        ("cur", "1699999999.M999999P1Q3.host", 1_700_000_000),
        ("new", "1700000000.M3P1Q0.host", 1_400_000_000),
        ("cur", "1700000000.M3P0Q9.host", 1_650_000_000),
    ];
    for (i, (dir, base, mtime)) in files.iter().enumerate() {
        // Sizes tell the files apart.
        let raw = format!("Subject: {}\r\n\r\n{}\r\n", i, "x".repeat(i));
        let name = if *dir == "cur" {
            format!("{base},S={}:2,", raw.len())
        } else {
            format!("{base},S={}", raw.len())
        };
        let path = fdir.join(dir).join(name);
        fs::write(&path, &raw).unwrap();
        let f = fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(*mtime))
            .unwrap();
        std::os::unix::fs::chown(&path, Some(dovecot.mail_uid), Some(dovecot.mail_gid)).unwrap();
    }
    let size = |i: u64| 16 + i;
    let expected: Vec<(u32, u64)> = vec![
        (1, size(2)),
        (2, size(4)),
        (3, size(3)),
        (4, size(0)),
        (5, size(1)),
    ];
    assert_eq!(dovecot.uids(USER, "Order"), expected);
    // A file written after the folder was opened comes last, whatever its name.
    let raw = "Subject: late\r\n\r\n";
    let path = fdir
        .join("cur")
        .join(format!("1.M0P0Q0.host,S={}:2,", raw.len()));
    fs::write(&path, raw).unwrap();
    std::os::unix::fs::chown(&path, Some(dovecot.mail_uid), Some(dovecot.mail_gid)).unwrap();
    let mut expected = expected;
    expected.push((6, raw.len() as u64));
    assert_eq!(dovecot.uids(USER, "Order"), expected);
    assert_clean_log(&dovecot);
}

#[test]
fn large_messages_are_exact_and_valid_at_every_size() {
    let dovecot = start();
    let block = 840 * 78;
    let mut sizes: Vec<u64> = (LARGE_MESSAGE_MIN_SIZE..LARGE_MESSAGE_MIN_SIZE + 160).collect();
    for around in [block, 2 * block, 1_000_000] {
        sizes.extend(around - 4..around + 80);
    }
    let paths: Vec<PathBuf> = sizes
        .iter()
        .map(|&size| dovecot.add_large_message(USER, "Sizes", size, "S"))
        .collect();
    for (path, &size) in paths.iter().zip(&sizes) {
        check_large_file(path, size);
    }
    let numbered: Vec<(u32, u64)> = sizes.iter().zip(1..).map(|(&s, uid)| (uid, s)).collect();
    assert_eq!(
        dovecot.uids(USER, "Sizes"),
        numbered,
        "UIDs in the order written"
    );
    let mut imap = Imap::login(&dovecot, USER, PASSWORD);
    assert_eq!(imap_sizes(&mut imap, "Sizes"), numbered);
    imap.ok("LOGOUT");
    assert_clean_log(&dovecot);
}

#[test]
#[should_panic(expected = "at least 1024 bytes")]
fn large_message_below_the_minimum_is_refused() {
    let dovecot = start();
    dovecot.add_large_message(USER, "Sizes", LARGE_MESSAGE_MIN_SIZE - 1, "");
}

#[test]
fn dates_are_formatted_like_rfc5322() {
    assert_eq!(
        rfc5322_datetime(0, 0, "+0000"),
        "Thu, 01 Jan 1970 00:00:00 +0000"
    );
    assert_eq!(
        rfc5322_datetime(1_717_408_800, 0, "+0000"),
        "Mon, 03 Jun 2024 10:00:00 +0000"
    );
    // 2000-02-29 (a leap day in a year divisible by 400).
    assert_eq!(
        rfc5322_datetime(951_782_400 + 3_600, 7_200, "+0200"),
        "Tue, 29 Feb 2000 03:00:00 +0200"
    );
    // Back across midnight and the year end.
    assert_eq!(
        rfc5322_datetime(1_420_070_400 + 3_600, -18_000, "-0500"),
        "Wed, 31 Dec 2014 20:00:00 -0500"
    );
}

/// Every message file of a user's bulk folders, by folder and UID order
/// (the order of the file names, see `Dovecot::uids`).
fn bulk_files(dovecot: &Dovecot, user: &str, folders: usize) -> BTreeMap<String, Vec<Vec<u8>>> {
    (0..folders)
        .map(bulk_folder_name)
        .map(|name| {
            let mut paths: Vec<PathBuf> = fs::read_dir(dovecot.folder_dir(user, &name).join("cur"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            paths.sort_by_key(|p| {
                let n = p.file_name().unwrap().to_str().unwrap().to_string();
                let (secs, rest) = n.split_once(".M").unwrap();
                let usecs = rest.split('P').next().unwrap().to_string();
                (secs.parse::<u64>().unwrap(), usecs.parse::<u64>().unwrap())
            });
            let contents = paths.iter().map(|p| fs::read(p).unwrap()).collect();
            (name, contents)
        })
        .collect()
}

#[test]
fn bulk_seed_small_scale() {
    let (folders, per_folder) = (3, 50);
    let dovecot = start();
    let seed = dovecot.seed_bulk(USER, folders, per_folder);
    eprintln!(
        "seed_bulk {folders} x {per_folder}: {} messages, {} bytes in {:.2?}",
        seed.messages, seed.bytes, seed.elapsed
    );
    assert_eq!(seed.folders, ["Bulk000", "Bulk001", "Bulk002"]);
    assert_eq!(seed.messages, 150);
    assert_eq!(seed.folder_bytes.iter().sum::<u64>(), seed.bytes);
    assert!(seed.seen > 75 && seed.seen < 150, "{seed:?}");
    assert!(seed.flagged > 0 && seed.answered > 0, "{seed:?}");
    let (oldest, newest) = (seed.oldest.unwrap(), seed.newest.unwrap());
    assert!(
        newest.duration_since(oldest).unwrap() > Duration::from_secs(5 * 365 * 86_400),
        "dates spread over years"
    );

    // Deterministic: the same seeding for another user gives the same bytes.
    let twin = dovecot.seed_bulk(TWIN, folders, per_folder);
    assert_eq!(
        (twin.bytes, twin.seen, twin.flagged),
        (seed.bytes, seed.seen, seed.flagged)
    );
    let mine = bulk_files(&dovecot, USER, folders);
    let theirs = bulk_files(&dovecot, TWIN, folders);
    let replace = |files: &BTreeMap<String, Vec<Vec<u8>>>, user: &str| {
        files
            .values()
            .flatten()
            .map(|m| String::from_utf8(m.clone()).unwrap().replace(user, "USER"))
            .collect::<Vec<_>>()
    };
    assert_eq!(replace(&mine, USER), replace(&theirs, TWIN));

    let mut imap = Imap::login(&dovecot, USER, PASSWORD);
    let mut seen = 0;
    let mut flagged = 0;
    for (i, name) in seed.folders.iter().enumerate() {
        let files = &mine[name];
        let uids = dovecot.uids(USER, name);
        let expected: Vec<(u32, u64)> = files
            .iter()
            .zip(1..)
            .map(|(m, uid)| (uid, m.len() as u64))
            .collect();
        assert_eq!(uids, expected, "{name}: UIDs in write order, sizes");
        assert_eq!(imap_sizes(&mut imap, name), expected, "{name} over IMAP");
        assert_eq!(
            expected.iter().map(|e| e.1).sum::<u64>(),
            seed.folder_bytes[i]
        );
        for (_, size) in &expected {
            assert!(
                (1024..=8 * 1024 + 512).contains(size),
                "{name}: size {size}"
            );
        }
        let count = |lines: Vec<String>| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix("* SEARCH"))
                .map_or(0, |r| r.split_whitespace().count())
        };
        seen += count(imap.ok("UID SEARCH SEEN"));
        flagged += count(imap.ok("UID SEARCH FLAGGED"));
        // Well-formed for Dovecot: every message has a parsed From and Date.
        let envelopes = imap.ok("UID FETCH 1:* (UID ENVELOPE)");
        assert_eq!(envelopes.len(), per_folder, "{name}: {envelopes:?}");
        assert!(
            envelopes.iter().all(|l| !l.contains("ENVELOPE (NIL")),
            "{name}: a message without Date: {envelopes:?}"
        );
    }
    assert_eq!((seen, flagged), (seed.seen, seed.flagged));
    imap.ok("LOGOUT");
    assert_clean_log(&dovecot);
}
