//! The message sweep of `imapprobe check`: every selected folder examined
//! (never selected), its messages' metadata fetched in UID chunks with the
//! very items a migration reads, and a sample of messages (or all, with
//! `--full`) fetched whole with the exact command an Exchange IMAP migration
//! sends, `UID FETCH n (INTERNALDATE UID BODY.PEEK[])`, streamed through
//! checks in constant memory. Sizes, dates, large items, throughput and a
//! time estimate come out of it.

use crate::connectivity::Recorder;
use crate::findings::Finding;
use crate::grammar::{self, DateTime, MsgAtt, Response, Untagged};
use crate::mailboxes::{ExamineOutcome, Tree};
use crate::reconnect::Reconnecting;
use crate::session::{Command, PipelineSink, Reply, StreamedReply};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What the sweep does, and the thresholds it judges by.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// UIDs per metadata FETCH.
    pub chunk: usize,
    /// Messages fetched whole per folder: first, last, largest, then random.
    pub sample: usize,
    /// Fetch every message whole.
    pub full: bool,
    /// Messages above this need a setting changed on the target.
    pub large_item: u64,
    /// Messages above this cannot move at all.
    pub max_item: u64,
    /// The rate the estimate is made for, in bytes per second.
    pub target_rate: f64,
    /// Literals above this many bytes are streamed, not held.
    pub stream_over: u64,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            chunk: 500,
            sample: 3,
            full: false,
            large_item: 35 * 1024 * 1024,
            max_item: 150 * 1024 * 1024,
            target_rate: 300.0 * 1_000_000.0 / 3600.0,
            stream_over: 64 * 1024,
        }
    }
}

/// The size classes of the histogram, as upper bounds (the last is open).
pub const HISTOGRAM_BOUNDS: &[(&str, u64)] = &[
    ("<4KiB", 4 * 1024),
    ("<64KiB", 64 * 1024),
    ("<1MiB", 1024 * 1024),
    ("<10MiB", 10 * 1024 * 1024),
    ("<35MiB", 35 * 1024 * 1024),
    ("<150MiB", 150 * 1024 * 1024),
    (">=150MiB", u64::MAX),
];

/// A message and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub folder: String,
    pub uid: u32,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internaldate: Option<String>,
}

/// One folder's numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderSweep {
    pub folder: String,
    /// EXISTS from EXAMINE.
    pub exists: u64,
    /// How many UIDs `UID SEARCH ALL` returned.
    pub searched: u64,
    /// Messages whose metadata came back.
    pub messages: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biggest: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Counts per size class of [`HISTOGRAM_BOUNDS`].
    pub histogram: Vec<u64>,
    /// Messages fetched whole.
    pub probed: u64,
    pub duration_ms: u64,
}

/// Rates measured during the sweep.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    /// Message bytes fetched whole, per second of fetching them.
    pub bytes_per_second: f64,
    /// Messages whose metadata was read, per second of reading it.
    pub messages_per_second: f64,
}

/// How long moving the mailbox would take.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Estimate {
    pub mailbox_bytes: u64,
    /// At the rate measured from this host (None when nothing was fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_measured_rate_s: Option<u64>,
    pub target_rate_bytes_per_second: f64,
    pub at_target_rate_s: u64,
}

/// Everything the sweep learnt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sweep {
    pub folders: Vec<FolderSweep>,
    pub messages: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biggest: Option<Item>,
    pub histogram_bounds: Vec<&'static str>,
    pub histogram: Vec<u64>,
    /// Every message above the large-item threshold.
    pub large_items: Vec<Item>,
    pub fetch_responses: u64,
    /// Bytes of message bodies fetched whole (and checked).
    pub body_bytes: u64,
    pub body_probes: u64,
    pub throughput: Throughput,
    pub estimate: Estimate,
    /// The sweep stopped before the end (too many faults in a row).
    pub incomplete: bool,
}

/// Checks a message body as it streams by: length, header block, line
/// lengths, bare LF, and keeps the start for excerpts.
#[derive(Debug, Default, Clone)]
pub struct BodyChecker {
    pub bytes: u64,
    /// Offset of the blank line ending the header block, once seen.
    pub header_end: Option<u64>,
    pub longest_line: u64,
    /// Offset of the start of the longest line.
    pub longest_at: u64,
    pub bare_lf: u64,
    pub first_bare_lf: Option<u64>,
    /// The first bytes, for excerpts.
    pub head: Vec<u8>,
    line_len: u64,
    line_start: u64,
    last: [u8; 3],
}

const HEAD_KEPT: usize = 512;

impl BodyChecker {
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.head.len() < HEAD_KEPT {
            let take = (HEAD_KEPT - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        let base = self.bytes;
        // The byte at `i` of this chunk, reaching back into the previous
        // chunks' last three bytes for negative `i`.
        let last = self.last;
        let byte_at = |i: isize| -> u8 {
            if i >= 0 {
                bytes[i as usize]
            } else {
                last[(3 + i).max(0) as usize]
            }
        };
        let mut line_begin = 0usize;
        // Only line ends need looking at: memchr finds them a vector at a time.
        for lf in memchr::memchr_iter(b'\n', bytes) {
            let at = base + lf as u64;
            let i = lf as isize;
            let cr = byte_at(i - 1) == b'\r' && (lf > 0 || base > 0);
            if !cr {
                self.bare_lf += 1;
                self.first_bare_lf.get_or_insert(at);
            }
            // "\r\n\r\n" (or a message starting "\r\n"): end of the header block.
            if self.header_end.is_none()
                && cr
                && ((byte_at(i - 3) == b'\r' && byte_at(i - 2) == b'\n' && at >= 3) || at == 1)
            {
                self.header_end = Some(at + 1);
            }
            let len = self.line_len + (lf - line_begin) as u64 - u64::from(cr);
            if len > self.longest_line {
                self.longest_line = len;
                self.longest_at = self.line_start;
            }
            self.line_len = 0;
            self.line_start = at + 1;
            line_begin = lf + 1;
        }
        self.line_len += (bytes.len() - line_begin) as u64;
        self.bytes += bytes.len() as u64;
        let n = bytes.len();
        self.last = [
            byte_at(n as isize - 3),
            byte_at(n as isize - 2),
            byte_at(n as isize - 1),
        ];
    }

    fn finish(&mut self) {
        if self.line_len > self.longest_line {
            self.longest_line = self.line_len;
            self.longest_at = self.line_start;
        }
    }
}

/// One checker per pipelined command, and the UID each command fetches,
/// to tell which command an interleaved response answers.
struct Bodies {
    uids: Vec<u32>,
    checkers: Vec<BodyChecker>,
}

impl PipelineSink for Bodies {
    fn owner(&mut self, response: &[u8]) -> Option<usize> {
        let uid = loose_number(response, b"(UID ").or_else(|| loose_number(response, b" UID "))?;
        self.uids.iter().position(|&u| u64::from(u) == uid)
    }
    fn chunk(&mut self, command: usize, bytes: &[u8]) {
        if let Some(c) = self.checkers.get_mut(command) {
            c.feed(bytes);
        }
    }
}

/// Commands in flight at once. Measured against Dovecot on loopback
/// (bench/check.sh): 16 left the server idle between answers (check --full
/// at 1.5x the raw stream), 64 keeps it busy, 128 gains nothing more.
const PIPELINE_WINDOW: usize = 64;

/// Seconds since the epoch of an INTERNALDATE (days-from-civil).
pub fn unix_seconds(d: &DateTime) -> i64 {
    let (y, m) = if d.month <= 2 {
        (d.year as i64 - 1, d.month as i64 + 9)
    } else {
        (d.year as i64, d.month as i64 - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d.day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + d.hour as i64 * 3600 + d.minute as i64 * 60 + d.second as i64
        - d.zone_minutes as i64 * 60
}

fn format_date(d: &DateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let zone = d.zone_minutes.unsigned_abs();
    format!(
        "{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}",
        d.day,
        MONTHS[(d.month.clamp(1, 12) - 1) as usize],
        d.year,
        d.hour,
        d.minute,
        d.second,
        if d.zone_minutes < 0 { '-' } else { '+' },
        zone / 60,
        zone % 60
    )
}

/// One message's metadata.
#[derive(Debug, Clone, Copy)]
struct Meta {
    uid: u32,
    size: u64,
    date: Option<(i64, DateTime)>,
}

/// The number after `name ` in a response that failed the grammar, so one
/// malformed item does not hide the message's UID and size.
fn loose_number(raw: &[u8], name: &[u8]) -> Option<u64> {
    let upper = raw.to_ascii_uppercase();
    let at = upper.windows(name.len()).position(|w| w == name)? + name.len();
    let digits: Vec<u8> = raw[at..]
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn metas(reply: &Reply, opts: &grammar::Options) -> Vec<Meta> {
    let mut out = Vec::new();
    for r in &reply.untagged {
        let parsed = grammar::parse_response(&r.0, opts);
        if parsed.is_err() && r.0.windows(6).any(|w| w.eq_ignore_ascii_case(b" FETCH")) {
            // The grammar finding is made already; keep what can be read.
            let uid = loose_number(&r.0, b"(UID ").or_else(|| loose_number(&r.0, b" UID "));
            if let (Some(uid), Some(size)) = (uid, loose_number(&r.0, b"RFC822.SIZE ")) {
                out.push(Meta {
                    uid: uid as u32,
                    size,
                    date: None,
                });
            }
            continue;
        }
        if let Ok((Response::Untagged(Untagged::Fetch { atts, .. }), _)) = parsed {
            let mut m = Meta {
                uid: 0,
                size: 0,
                date: None,
            };
            for a in atts {
                match a {
                    MsgAtt::Uid(u) => m.uid = u,
                    MsgAtt::Rfc822Size(s) => m.size = s as u64,
                    MsgAtt::InternalDate(d) => m.date = Some((unix_seconds(&d), d)),
                    _ => {}
                }
            }
            if m.uid != 0 {
                out.push(m);
            }
        }
    }
    out
}

/// UID ranges of at most `chunk` UIDs each, as `a:b` sets over the sorted UIDs.
fn chunks(uids: &[u32], chunk: usize) -> Vec<String> {
    uids.chunks(chunk.max(1))
        .map(|c| match (c.first(), c.last()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}:{b}"),
            _ => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The messages to fetch whole: first, last, largest, then pseudo-random
/// ones (seeded by the folder's UIDVALIDITY, so runs repeat), `n` at most.
fn sample(metas: &[Meta], n: usize, seed: u64) -> Vec<Meta> {
    let mut picked: Vec<Meta> = Vec::new();
    let take = |m: Meta, picked: &mut Vec<Meta>| {
        if picked.len() < n && !picked.iter().any(|p| p.uid == m.uid) {
            picked.push(m);
        }
    };
    if let Some(m) = metas.first() {
        take(*m, &mut picked);
    }
    if let Some(m) = metas.last() {
        take(*m, &mut picked);
    }
    if let Some(m) = metas.iter().max_by_key(|m| m.size) {
        take(*m, &mut picked);
    }
    let mut x = seed | 1;
    let mut tries = 0;
    while picked.len() < n.min(metas.len()) && tries < 4 * n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        take(metas[(x % metas.len() as u64) as usize], &mut picked);
        tries += 1;
    }
    picked
}

fn bucket(size: u64) -> usize {
    HISTOGRAM_BOUNDS
        .iter()
        .position(|(_, b)| size < *b)
        .unwrap_or(HISTOGRAM_BOUNDS.len() - 1)
}

/// Sweeps every folder of `tree` that was examined successfully.
pub async fn sweep(
    w: &mut Reconnecting<'_>,
    tree: &Tree,
    opts: &SweepOptions,
    progress: &crate::progress::Progress,
    rec: &mut Recorder,
) -> Sweep {
    let gopts = grammar::Options::default();
    let mut out = Sweep {
        histogram_bounds: HISTOGRAM_BOUNDS.iter().map(|(n, _)| *n).collect(),
        histogram: vec![0; HISTOGRAM_BOUNDS.len()],
        ..Sweep::default()
    };
    let (mut meta_time, mut body_time) = (Duration::ZERO, Duration::ZERO);
    for folder in &tree.folders {
        if folder.excluded
            || !matches!(
                folder.examine.as_ref().map(|e| &e.outcome),
                Some(ExamineOutcome::Ok { .. })
            )
        {
            continue;
        }
        if w.gave_up {
            out.incomplete = true;
            break;
        }
        let t = Instant::now();
        let name = folder.name.clone();
        w.set_context(Some(format!("folder {name}")));
        let mut fs = FolderSweep {
            folder: name.clone(),
            histogram: vec![0; HISTOGRAM_BOUNDS.len()],
            ..FolderSweep::default()
        };
        let Some(Ok(ex)) = w
            .run(Command::new("EXAMINE").string(&folder.raw), rec)
            .await
        else {
            continue;
        };
        if !ex.is_ok() {
            continue;
        }
        w.selected = Some(folder.raw.clone());
        let mut uidvalidity = 0u64;
        for u in crate::session::untagged_of(&ex, &gopts) {
            match u {
                Untagged::Exists(n) => fs.exists = n as u64,
                Untagged::Status(s) => {
                    if let Some(grammar::Code::UidValidity(v)) = s.code {
                        uidvalidity = v as u64;
                    }
                }
                _ => {}
            }
        }
        // UID SEARCH ALL: the UIDs to fetch, and a count to hold against EXISTS.
        let mut uids: Vec<u32> = Vec::new();
        if fs.exists > 0 {
            if let Some(Ok(r)) = w.run(Command::new("UID SEARCH ALL"), rec).await {
                for u in crate::session::untagged_of(&r, &gopts) {
                    if let Untagged::Search(list, _) = u {
                        uids.extend(list);
                    }
                }
            }
        }
        uids.sort_unstable();
        uids.dedup();
        fs.searched = uids.len() as u64;
        if fs.searched != fs.exists {
            rec.add(
                Finding::warn(
                    "messages.search-mismatch",
                    format!(
                        "UID SEARCH ALL returned {} UIDs, EXAMINE said {} EXISTS",
                        fs.searched, fs.exists
                    ),
                )
                .with_subject(name.clone())
                .with_rule("RFC 3501 §6.4.4 / §7.3.1")
                .with_remedy("the folder's index disagrees with itself: repair it on the server (doveadm force-resync, reconstruct)"),
            );
        }
        // Metadata in chunks, pipelined.
        let mut all: Vec<Meta> = Vec::with_capacity(uids.len());
        let tm = Instant::now();
        let sets = chunks(&uids, opts.chunk);
        let cmds: Vec<Command> = sets
            .iter()
            .map(|set| {
                Command::new(&format!(
                    "UID FETCH {set} (UID RFC822.SIZE INTERNALDATE FLAGS)"
                ))
            })
            .collect();
        let mut start = 0;
        while start < cmds.len() {
            let Some((done, fault)) = w
                .run_pipelined(
                    &cmds[start..],
                    PIPELINE_WINDOW,
                    u64::MAX,
                    &mut crate::session::Discard,
                    rec,
                )
                .await
            else {
                break;
            };
            for (i, r) in done.iter().enumerate() {
                let set = &sets[start + i];
                if r.reply.is_ok() {
                    out.fetch_responses += r.reply.untagged.len() as u64;
                    all.extend(metas(&r.reply, &gopts));
                } else {
                    rec.add(
                        Finding::fail("messages.fetch-failed", format!("UID FETCH {set} refused: {}", r.reply.text))
                            .with_subject(name.clone())
                            .with_evidence(r.reply.tagged.0.clone())
                            .with_predicts("the migration stops on this folder with the server's NO to FetchCommand"),
                    );
                }
            }
            let failed = start + done.len();
            match fault {
                None => break,
                Some(e) => {
                    if let Some(set) = sets.get(failed) {
                        rec.add(
                            Finding::fail("messages.fetch-fault", format!("UID FETCH {set}: {e}"))
                                .with_subject(name.clone())
                                .with_evidence(e.evidence())
                                .with_predicts("a transient failure; enough of them end the job with \"encountered too many transient failures\""),
                        );
                    }
                    if w.gave_up {
                        break;
                    }
                    start = failed + 1;
                }
            }
        }
        meta_time += tm.elapsed();
        for m in &all {
            fs.messages += 1;
            fs.bytes += m.size;
            fs.histogram[bucket(m.size)] += 1;
            let item = |m: &Meta| Item {
                folder: name.clone(),
                uid: m.uid,
                size: m.size,
                internaldate: m.date.as_ref().map(|(_, d)| format_date(d)),
            };
            if fs.biggest.as_ref().is_none_or(|b| m.size > b.size) {
                fs.biggest = Some(item(m));
            }
            if m.size > opts.large_item {
                out.large_items.push(item(m));
            }
        }
        let dated = all.iter().filter_map(|m| m.date.as_ref());
        fs.oldest = dated
            .clone()
            .min_by_key(|(t, _)| *t)
            .map(|(_, d)| format_date(d));
        fs.newest = dated.max_by_key(|(t, _)| *t).map(|(_, d)| format_date(d));

        // Whole messages, with the migration's own command.
        let probes = if opts.full {
            all.clone()
        } else {
            sample(&all, opts.sample, uidvalidity)
        };
        let tb = Instant::now();
        let cmds: Vec<Command> = probes
            .iter()
            .map(|m| {
                Command::new(&format!(
                    "UID FETCH {} (INTERNALDATE UID BODY.PEEK[])",
                    m.uid
                ))
            })
            .collect();
        let mut start = 0;
        while start < cmds.len() && !w.gave_up {
            let mut bodies = Bodies {
                uids: probes[start..].iter().map(|m| m.uid).collect(),
                checkers: vec![BodyChecker::default(); cmds.len() - start],
            };
            let Some((done, fault)) = w
                .run_pipelined(
                    &cmds[start..],
                    PIPELINE_WINDOW,
                    opts.stream_over,
                    &mut bodies,
                    rec,
                )
                .await
            else {
                break;
            };
            let finished = done.len();
            for (i, (reply, checker)) in done.into_iter().zip(bodies.checkers.drain(..)).enumerate()
            {
                body_findings_of(&name, probes[start + i], reply, checker, &mut out, rec);
                fs.probed += 1;
            }
            progress.status(tally(&out, &fs, body_rate(out.body_bytes, &tb)));
            let Some(e) = fault else { break };
            if let Some(m) = probes.get(start + finished) {
                rec.add(
                    Finding::fail("messages.fetch-fault", format!("UID FETCH {} (INTERNALDATE UID BODY.PEEK[]): {e}", m.uid))
                        .with_subject(format!("{name} UID {}", m.uid))
                        .with_evidence(e.evidence())
                        .with_predicts("a transient failure on this message; enough of them end the job with \"encountered too many transient failures\""),
                );
            }
            start += finished + 1;
        }
        body_time += tb.elapsed();
        fs.duration_ms = t.elapsed().as_millis() as u64;
        out.messages += fs.messages;
        out.bytes += fs.bytes;
        for (i, n) in fs.histogram.iter().enumerate() {
            out.histogram[i] += n;
        }
        if let Some(b) = &fs.biggest {
            if out.biggest.as_ref().is_none_or(|o| b.size > o.size) {
                out.biggest = Some(b.clone());
            }
        }
        progress.folder_done(tally(
            &out,
            &FolderSweep::default(),
            rate(out.body_bytes as f64, body_time),
        ));
        out.folders.push(fs);
    }
    progress.finish();
    w.set_context(None);
    if w.gave_up {
        out.incomplete = true;
    }
    out.throughput = Throughput {
        bytes_per_second: rate(out.body_bytes as f64, body_time),
        messages_per_second: rate(out.messages as f64, meta_time),
    };
    out.estimate = Estimate {
        mailbox_bytes: out.bytes,
        at_measured_rate_s: (out.throughput.bytes_per_second > 0.0)
            .then(|| (out.bytes as f64 / out.throughput.bytes_per_second).ceil() as u64),
        target_rate_bytes_per_second: opts.target_rate,
        at_target_rate_s: (out.bytes as f64 / opts.target_rate.max(1.0)).ceil() as u64,
    };
    out
}

/// "12,345 messages, 1.2 GiB, 45 MiB/s" for the progress bar.
fn tally(out: &Sweep, current: &FolderSweep, bytes_per_second: f64) -> String {
    let h = crate::report::text::human_size;
    format!(
        "{} messages, {}, {}/s",
        out.messages + current.messages,
        h(out.bytes + current.bytes),
        h(bytes_per_second as u64)
    )
}

fn body_rate(bytes: u64, since: &Instant) -> f64 {
    rate(bytes as f64, since.elapsed())
}

fn rate(amount: f64, d: Duration) -> f64 {
    if d.as_secs_f64() > 0.0 {
        amount / d.as_secs_f64()
    } else {
        0.0
    }
}

/// Judges one message fetched with `UID FETCH n (INTERNALDATE UID
/// BODY.PEEK[])`: `checker` saw its body if it was streamed.
fn body_findings_of(
    folder: &str,
    m: Meta,
    reply: StreamedReply,
    mut checker: BodyChecker,
    out: &mut Sweep,
    rec: &mut Recorder,
) {
    let subject = format!("{folder} UID {}", m.uid);
    out.body_probes += 1;
    if !reply.reply.is_ok() {
        rec.add(
            Finding::fail(
                "messages.fetch-failed",
                format!("BODY.PEEK[] refused: {}", reply.reply.text),
            )
            .with_subject(subject)
            .with_evidence(reply.reply.tagged.0.clone())
            .with_predicts(
                "the migration reports the server's NO to FetchCommand for this message",
            ),
        );
        return;
    }
    // Small bodies stayed in the response: check them the same way.
    let gopts = grammar::Options::default();
    let mut found_body = checker.bytes > 0 || !reply.streamed.is_empty();
    if !found_body {
        for r in &reply.reply.untagged {
            if let Ok((Response::Untagged(Untagged::Fetch { atts, .. }), _)) =
                grammar::parse_response(&r.0, &gopts)
            {
                for a in atts {
                    if let MsgAtt::BodySection { data: Some(d), .. } = a {
                        checker.feed(&d);
                        found_body = true;
                    }
                }
            }
        }
    }
    checker.finish();
    out.body_bytes += checker.bytes;
    if !found_body {
        rec.add(
            Finding::fail(
                "messages.no-body",
                "the FETCH of BODY.PEEK[] came back without a BODY[] item",
            )
            .with_subject(subject)
            .with_evidence(
                reply
                    .reply
                    .untagged
                    .first()
                    .map(|r| r.0.clone())
                    .unwrap_or_default(),
            )
            .with_rule("RFC 3501 §6.4.5")
            .with_predicts(crate::findings::predicts::COULD_NOT_PARSE),
        );
        return;
    }
    body_findings(&subject, m.size, &checker, rec);
}

/// Findings about one fetched body.
fn body_findings(subject: &str, rfc822_size: u64, c: &BodyChecker, rec: &mut Recorder) {
    if c.bytes != rfc822_size {
        rec.add(
            Finding::fail(
                "messages.size-mismatch",
                format!(
                    "BODY[] has {} bytes, RFC822.SIZE said {rfc822_size}",
                    c.bytes
                ),
            )
            .with_subject(subject.to_string())
            .with_rule("RFC 3501 §2.3.4: RFC822.SIZE is the size of the message as BODY[] returns it")
            .with_predicts("the migration's size checks disagree with the data: the message may be skipped or fail to append")
            .with_remedy("the server's cached size is stale: rebuild the folder's index (doveadm force-resync, reconstruct)"),
        );
    }
    if c.header_end.is_none() && c.bytes > 0 {
        rec.add(
            Finding::fail(
                "messages.no-header",
                "the message has no header block (no blank line ends any header)",
            )
            .with_subject(subject.to_string())
            .with_evidence(c.head.clone())
            .with_rule("RFC 5322 §2.1")
            .with_predicts("the target refuses to append a message without headers")
            .with_remedy("exclude or repair the message"),
        );
    }
    if c.longest_line > 10_000 {
        rec.add(
            Finding::warn(
                "messages.long-line",
                format!(
                    "a line of {} characters (at byte {}); targets reject lines above about 10,000",
                    c.longest_line, c.longest_at
                ),
            )
            .with_subject(subject.to_string())
            .with_rule("RFC 5322 §2.1.1: at most 998 characters per line")
            .with_predicts("the target rejects the message on append")
            .with_remedy("exclude the message or re-encode it"),
        );
    }
    if let Some(h) = c.header_end.filter(|&h| h > 256 * 1024) {
        rec.add(
            Finding::warn(
                "messages.large-header",
                format!("a header block of {h} bytes; targets reject headers above 256 KB"),
            )
            .with_subject(subject.to_string())
            .with_predicts("the target rejects the message on append")
            .with_remedy("exclude the message"),
        );
    }
    if let Some(at) = c.first_bare_lf {
        let start = at.saturating_sub(32) as usize;
        let excerpt = c
            .head
            .get(start..(at as usize + 8).min(c.head.len()))
            .map(|s| s.to_vec());
        let mut f = Finding::warn(
            "messages.bare-lf",
            format!(
                "{} bare LF line ends (the first at byte {at}); IMAP sends messages with CRLF",
                c.bare_lf
            ),
        )
        .with_subject(subject.to_string())
        .with_rule("RFC 3501 §4.3 / RFC 5322 §2.1")
        .with_predicts("some targets reject or rewrite the message");
        if let Some(e) = excerpt {
            f = f.with_evidence(e);
        }
        rec.add(f);
    }
}

/// The findings about the whole sweep: summary, large items, grammar, estimate.
pub fn findings(s: &Sweep, opts: &SweepOptions, grammar_deviations: usize, rec: &mut Recorder) {
    let mib = |b: u64| crate::report::text::human_size(b);
    rec.add(Finding::pass(
        "messages.summary",
        format!(
            "{} folders swept, {} messages, {}{}",
            s.folders.len(),
            s.messages,
            mib(s.bytes),
            s.biggest
                .as_ref()
                .map(|b| format!(", biggest {} ({} UID {})", mib(b.size), b.folder, b.uid))
                .unwrap_or_default()
        ),
    ));
    if !s.large_items.is_empty() {
        let list: Vec<String> = s
            .large_items
            .iter()
            .take(20)
            .map(|i| {
                format!(
                    "{} UID {} ({}{})",
                    i.folder,
                    i.uid,
                    mib(i.size),
                    if i.size > opts.max_item {
                        ", above the maximum: cannot move"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        let over_max = s
            .large_items
            .iter()
            .filter(|i| i.size > opts.max_item)
            .count();
        rec.add(
            Finding::fail(
                "messages.large-item",
                format!(
                    "{} messages above {}{}: {}{}",
                    s.large_items.len(),
                    mib(opts.large_item),
                    if over_max > 0 { format!(" ({over_max} above {})", mib(opts.max_item)) } else { String::new() },
                    list.join(", "),
                    if s.large_items.len() > 20 { ", …" } else { "" }
                ),
            )
            .with_predicts("TooManyLargeItemsPermanentException")
            .with_remedy(format!(
                "raise the target's limit (Set-Mailbox -MaxReceiveSize up to {}), or set LargeItemLimit on the batch so they are skipped{}",
                mib(opts.max_item),
                if over_max > 0 { "; messages above the maximum cannot move at all" } else { "" }
            )),
        );
    }
    if grammar_deviations == 0 {
        rec.add(Finding::pass(
            "grammar.fetch",
            format!(
                "{} FETCH responses and {} of message bodies ({} messages fetched whole): RFC 3501 compliant",
                s.fetch_responses,
                mib(s.body_bytes),
                s.body_probes
            ),
        ));
    }
    let est = &s.estimate;
    let dur = |secs: u64| humantime::format_duration(Duration::from_secs(secs)).to_string();
    let measured = match est.at_measured_rate_s {
        Some(t) => format!(
            "measured {}/s from this host ({} at that rate); ",
            mib(s.throughput.bytes_per_second as u64),
            dur(t)
        ),
        None => String::new(),
    };
    rec.add(Finding::pass(
        "estimate.time",
        format!(
            "{measured}at {:.0} MB/h the mailbox ({}) needs about {}",
            est.target_rate_bytes_per_second * 3600.0 / 1e6,
            mib(est.mailbox_bytes),
            dur(est.at_target_rate_s)
        ),
    ));
    if s.incomplete {
        rec.add(Finding::fail(
            "messages.incomplete",
            "the sweep stopped early: not every folder was checked",
        ));
    }
}

/// Parses a rate like `300MB/h`, `5MiB/s`, `1.5GB/24h` into bytes per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (amount, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text}: a rate is SIZE/TIME, e.g. 300MB/h"))?;
    let amount = amount.trim();
    let split = amount
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(amount.len());
    let (num, unit) = amount.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("{text}: no number before the unit"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("{text}: unknown size unit {other}")),
    };
    let per = per.trim();
    let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
        per.to_string()
    } else {
        format!("1{per}")
    };
    let d = humantime::parse_duration(&per).map_err(|e| format!("{text}: {e}"))?;
    if d.is_zero() || num <= 0.0 {
        return Err(format!("{text}: the rate must be more than zero"));
    }
    Ok(num * mult / d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_checker_finds_headers_lines_and_bare_lf() {
        let mut c = BodyChecker::default();
        for piece in [
            &b"Subject: x\r\nFrom: a\r"[..],
            b"\n\r\nbody line\nsecond\r\n",
        ] {
            c.feed(piece);
        }
        c.finish();
        assert_eq!(c.bytes, 41);
        assert_eq!(c.header_end, Some(23));
        assert_eq!(c.bare_lf, 1);
        assert_eq!(c.first_bare_lf, Some(32));
        assert_eq!(c.longest_line, 10);

        let mut no_header = BodyChecker::default();
        no_header.feed(b"just text\r\nand more\r\n");
        no_header.finish();
        assert_eq!(no_header.header_end, None);

        let mut long = BodyChecker::default();
        long.feed(b"A: b\r\n\r\n");
        long.feed(&vec![b'x'; 12_000]);
        long.feed(b"\r\n");
        long.finish();
        assert_eq!(long.longest_line, 12_000);
        assert_eq!(long.longest_at, 8);
    }

    #[test]
    fn body_checker_is_the_same_whatever_the_chunks() {
        let msg: &[u8] = b"\r\nA: b\nC: d\r\n\r\nline one\r\nbare\nlast line without end";
        let mut whole = BodyChecker::default();
        whole.feed(msg);
        whole.finish();
        for size in 1..msg.len() {
            let mut c = BodyChecker::default();
            for piece in msg.chunks(size) {
                c.feed(piece);
            }
            c.finish();
            assert_eq!(
                (
                    c.bytes,
                    c.header_end,
                    c.longest_line,
                    c.longest_at,
                    c.bare_lf,
                    c.first_bare_lf
                ),
                (
                    whole.bytes,
                    whole.header_end,
                    whole.longest_line,
                    whole.longest_at,
                    whole.bare_lf,
                    whole.first_bare_lf
                ),
                "chunks of {size}"
            );
        }
        assert_eq!(
            whole.header_end,
            Some(2),
            "a message starting with CRLF has an empty header block"
        );
        assert_eq!(whole.bare_lf, 2);
        assert_eq!(whole.longest_line, 21);
    }

    #[test]
    fn rates() {
        assert!((parse_rate("300MB/h").unwrap() - 300e6 / 3600.0).abs() < 1e-6);
        assert!((parse_rate("1MiB/s").unwrap() - 1_048_576.0).abs() < 1e-6);
        assert!((parse_rate("2.5GB/24h").unwrap() - 2.5e9 / 86_400.0).abs() < 1e-3);
        assert!(parse_rate("300MB").is_err());
        assert!(parse_rate("0MB/h").is_err());
        assert!(parse_rate("3XB/h").is_err());
    }

    #[test]
    fn internaldate_to_unix() {
        let d = DateTime {
            day: 17,
            month: 7,
            year: 1996,
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420,
        };
        assert_eq!(unix_seconds(&d), 837_596_665);
        assert_eq!(format_date(&d), "17-Jul-1996 02:44:25 -0700");
    }

    #[test]
    fn a_broken_fetch_still_gives_its_uid_and_size() {
        let raw = b"* 1 FETCH (UID 7 RFC822.SIZE 12 INTERNALDATE \"2018-11-29 10:40:44\")\r\n";
        assert_eq!(loose_number(raw, b"(UID "), Some(7));
        assert_eq!(loose_number(raw, b"RFC822.SIZE "), Some(12));
        assert_eq!(loose_number(raw, b"FLAGS "), None);
    }

    #[test]
    fn chunks_and_samples() {
        assert_eq!(chunks(&[1, 2, 3, 7, 9], 2), ["1:2", "3:7", "9"]);
        let metas: Vec<Meta> = (1..=100)
            .map(|u| Meta {
                uid: u,
                size: if u == 40 { 9_999 } else { 10 },
                date: None,
            })
            .collect();
        let s: Vec<u32> = sample(&metas, 5, 42).iter().map(|m| m.uid).collect();
        assert_eq!(&s[..3], &[1, 100, 40]);
        assert_eq!(s.len(), 5);
        assert_eq!(sample(&metas, 5, 42).len(), 5, "deterministic");
        assert_eq!(sample(&metas[..2], 5, 1).len(), 2);
    }
}
