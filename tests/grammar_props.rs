//! Property tests of the response grammar: generated valid responses parse
//! completely and give back what was put in; every strict prefix of one is
//! Incomplete; mutated and arbitrary input never panics and every deviation
//! points inside the input.
//!
//! The default case count is kept small so this file runs in seconds on two
//! cores; raise it with `PROPTEST_CASES=10000 cargo test --test grammar_props`.

use imapprobe::grammar::{
    parse_greeting, parse_response, utf7, Code, ContinueReq, Flag, MsgAtt, Options, ParseError,
    Response, StatusKind, Untagged,
};
use proptest::prelude::*;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        // Failures print the minimal input; no regression files in tests/.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------ generators

/// A string argument in one of its three wire forms.
#[derive(Debug, Clone)]
enum Str {
    Atom(String),
    Quoted(Vec<u8>),
    Literal(Vec<u8>),
}

impl Str {
    fn value(&self) -> &[u8] {
        match self {
            Str::Atom(s) => s.as_bytes(),
            Str::Quoted(v) | Str::Literal(v) => v,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Str::Atom(s) => out.extend_from_slice(s.as_bytes()),
            Str::Quoted(v) => {
                out.push(b'"');
                for &b in v {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            Str::Literal(v) => {
                out.extend_from_slice(format!("{{{}}}\r\n", v.len()).as_bytes());
                out.extend_from_slice(v);
            }
        }
    }
}

/// CHAR8: any byte but NUL.
fn char8(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

/// A quoted string's content: TEXT-CHARs (quotes and backslashes escaped on output).
fn quoted_content(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0x20u8..=0x7e, 0..max)
}

/// A string (quoted or literal).
fn string() -> impl Strategy<Value = Str> {
    prop_oneof![
        quoted_content(20).prop_map(Str::Quoted),
        char8(20).prop_map(Str::Literal),
    ]
}

/// An astring: atom form, quoted or literal.
fn astring() -> impl Strategy<Value = Str> {
    prop_oneof![
        "[A-Za-z0-9_./&\\[\\]-]{1,12}".prop_map(Str::Atom),
        quoted_content(16).prop_map(Str::Quoted),
        char8(16).prop_map(Str::Literal),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 .,:;!?()<>/'-]{0,30}"
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.]{1,8}"
}

/// What a generated response must parse back to.
#[derive(Debug, Clone)]
enum Expect {
    Status {
        tag: Option<String>,
        kind: StatusKind,
        code: Option<(String, Option<u64>)>,
        text: String,
    },
    Continue(String),
    Capability(Vec<String>),
    List {
        attrs: usize,
        delimiter: Option<u8>,
        mailbox: Vec<u8>,
    },
    StatusData {
        mailbox: Vec<u8>,
        items: Vec<(String, u64)>,
    },
    Search(Vec<u32>),
    Fetch {
        seq: u32,
        items: Vec<Item>,
    },
}

/// One generated FETCH item.
#[derive(Debug, Clone)]
enum Item {
    Flags(Vec<String>),
    Uid(u32),
    Size(u32),
    Date(Date),
    Envelope {
        subject: Option<Str>,
        from: Option<Vec<(Option<Str>, Str, Str)>>,
    },
    Body(Vec<u8>),
}

#[derive(Debug, Clone, Copy)]
struct Date {
    day: u8,
    month: u8,
    year: u16,
    hour: u8,
    minute: u8,
    second: u8,
    zone: i16,
    space_pad: bool,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn date() -> impl Strategy<Value = Date> {
    (
        1u8..=31,
        1u8..=12,
        1900u16..=2100,
        (0u8..=23, 0u8..=59, 0u8..=60),
        -720i16..=840,
        any::<bool>(),
    )
        .prop_map(
            |(day, month, year, (hour, minute, second), zone, space_pad)| Date {
                day,
                month,
                year,
                hour,
                minute,
                second,
                zone,
                space_pad,
            },
        )
}

fn status() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    let code = prop_oneof![
        Just(None),
        Just(Some(("ALERT".to_string(), None))),
        Just(Some(("READ-ONLY".to_string(), None))),
        Just(Some(("TRYCREATE".to_string(), None))),
        (
            prop_oneof![Just("UIDNEXT"), Just("UIDVALIDITY"), Just("UNSEEN")],
            1u32..
        )
            .prop_map(|(n, v)| Some((n.to_string(), Some(u64::from(v))))),
        (1u64..=i64::MAX as u64).prop_map(|v| Some(("HIGHESTMODSEQ".to_string(), Some(v)))),
    ];
    (prop::option::of(tag()), 0usize..4, code, text()).prop_map(|(tag, k, code, text)| {
        let (kind, word) = match (k, tag.is_some()) {
            (0, _) => (StatusKind::Ok, "OK"),
            (1, _) => (StatusKind::No, "NO"),
            (2, _) | (3, true) => (StatusKind::Bad, "BAD"),
            _ => (StatusKind::Bye, "BYE"),
        };
        let mut out = format!("{} {word} ", tag.as_deref().unwrap_or("*"));
        if let Some((name, num)) = &code {
            match num {
                Some(n) => out.push_str(&format!("[{name} {n}] ")),
                None => out.push_str(&format!("[{name}] ")),
            }
        }
        out.push_str(&text);
        out.push_str("\r\n");
        (
            out.into_bytes(),
            Expect::Status {
                tag,
                kind,
                code,
                text,
            },
        )
    })
}

fn continuation() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    text().prop_map(|t| (format!("+ {t}\r\n").into_bytes(), Expect::Continue(t)))
}

fn capability() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    (
        prop::collection::vec("[A-Z][A-Z0-9=+.-]{0,12}", 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut caps, at)| {
            let at = at.index(caps.len() + 1);
            caps.insert(at, "IMAP4rev1".to_string());
            let line = format!("* CAPABILITY {}\r\n", caps.join(" "));
            (line.into_bytes(), Expect::Capability(caps))
        })
}

fn list() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    let attrs = prop::sample::subsequence(
        vec![
            "\\HasNoChildren",
            "\\Noinferiors",
            "\\Marked",
            "\\Sent",
            "\\Foo",
        ],
        0..3,
    );
    let delimiter = prop_oneof![Just(None), Just(Some(b'/')), Just(Some(b'.'))];
    (attrs, delimiter, astring()).prop_map(|(attrs, delimiter, mailbox)| {
        let mut out = format!("* LIST ({}) ", attrs.join(" ")).into_bytes();
        match delimiter {
            Some(d) => out.extend_from_slice(&[b'"', d, b'"']),
            None => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        mailbox.write(&mut out);
        out.extend_from_slice(b"\r\n");
        (
            out,
            Expect::List {
                attrs: attrs.len(),
                delimiter,
                mailbox: mailbox.value().to_vec(),
            },
        )
    })
}

fn status_data() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    let item = prop_oneof![
        (
            prop_oneof![Just("MESSAGES"), Just("RECENT"), Just("UNSEEN")],
            any::<u32>()
        )
            .prop_map(|(n, v)| (n.to_string(), u64::from(v))),
        (prop_oneof![Just("UIDNEXT"), Just("UIDVALIDITY")], 1u32..)
            .prop_map(|(n, v)| (n.to_string(), u64::from(v))),
    ];
    (astring(), prop::collection::vec(item, 0..5)).prop_map(|(mailbox, items)| {
        let mut out = b"* STATUS ".to_vec();
        mailbox.write(&mut out);
        let list: Vec<String> = items.iter().map(|(n, v)| format!("{n} {v}")).collect();
        out.extend_from_slice(format!(" ({})\r\n", list.join(" ")).as_bytes());
        (
            out,
            Expect::StatusData {
                mailbox: mailbox.value().to_vec(),
                items,
            },
        )
    })
}

fn search() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    prop::collection::vec(1u32.., 0..10).prop_map(|nums| {
        let mut line = "* SEARCH".to_string();
        for n in &nums {
            line.push_str(&format!(" {n}"));
        }
        line.push_str("\r\n");
        (line.into_bytes(), Expect::Search(nums))
    })
}

fn fetch_item() -> impl Strategy<Value = Item> {
    let address = (prop::option::of(string()), astring(), astring());
    prop_oneof![
        prop::collection::vec(
            prop_oneof![
                Just("\\Seen".to_string()),
                Just("\\Answered".to_string()),
                Just("\\Recent".to_string()),
                "\\$?[A-Za-z][A-Za-z0-9_-]{0,8}".prop_map(|s| s.trim_start_matches('\\').into()),
            ],
            0..4
        )
        .prop_map(Item::Flags),
        (1u32..).prop_map(Item::Uid),
        any::<u32>().prop_map(Item::Size),
        date().prop_map(Item::Date),
        (
            prop::option::of(string()),
            prop::option::of(prop::collection::vec(address, 1..3))
        )
            .prop_map(|(subject, from)| Item::Envelope { subject, from }),
        char8(64).prop_map(Item::Body),
    ]
}

fn write_item(item: &Item, out: &mut Vec<u8>) {
    match item {
        Item::Flags(f) => out.extend_from_slice(format!("FLAGS ({})", f.join(" ")).as_bytes()),
        Item::Uid(n) => out.extend_from_slice(format!("UID {n}").as_bytes()),
        Item::Size(n) => out.extend_from_slice(format!("RFC822.SIZE {n}").as_bytes()),
        Item::Date(d) => {
            let day = if d.day < 10 && d.space_pad {
                format!(" {}", d.day)
            } else {
                format!("{:02}", d.day)
            };
            let sign = if d.zone < 0 { '-' } else { '+' };
            let z = d.zone.unsigned_abs();
            out.extend_from_slice(
                format!(
                    "INTERNALDATE \"{day}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}\"",
                    MONTHS[usize::from(d.month - 1)],
                    d.year,
                    d.hour,
                    d.minute,
                    d.second,
                    z / 60,
                    z % 60
                )
                .as_bytes(),
            );
        }
        Item::Envelope { subject, from } => {
            out.extend_from_slice(b"ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" ");
            match subject {
                Some(s) => s.write(out),
                None => out.extend_from_slice(b"NIL"),
            }
            out.push(b' ');
            match from {
                None => out.extend_from_slice(b"NIL"),
                Some(addrs) => {
                    out.push(b'(');
                    for (name, mailbox, host) in addrs {
                        out.push(b'(');
                        match name {
                            Some(n) => n.write(out),
                            None => out.extend_from_slice(b"NIL"),
                        }
                        out.extend_from_slice(b" NIL ");
                        // addr-mailbox and addr-host are nstrings: an atom is not allowed.
                        as_string(mailbox).write(out);
                        out.push(b' ');
                        as_string(host).write(out);
                        out.push(b')');
                    }
                    out.push(b')');
                }
            }
            out.extend_from_slice(b" NIL NIL NIL NIL NIL NIL \"<id@example.org>\")");
        }
        Item::Body(b) => {
            out.extend_from_slice(b"BODY[] ");
            Str::Literal(b.clone()).write(out);
        }
    }
}

/// The atom form written as a quoted string (where only string is allowed).
fn as_string(s: &Str) -> Str {
    match s {
        Str::Atom(a) => Str::Quoted(a.clone().into_bytes()),
        other => other.clone(),
    }
}

fn fetch() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    (1u32.., prop::collection::vec(fetch_item(), 1..5)).prop_map(|(seq, items)| {
        let mut out = format!("* {seq} FETCH (").into_bytes();
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push(b' ');
            }
            write_item(item, &mut out);
        }
        out.extend_from_slice(b")\r\n");
        (out, Expect::Fetch { seq, items })
    })
}

fn valid() -> impl Strategy<Value = (Vec<u8>, Expect)> {
    prop_oneof![
        1 => status(),
        1 => continuation(),
        1 => capability(),
        1 => list(),
        1 => status_data(),
        1 => search(),
        3 => fetch(),
    ]
}

// ---------------------------------------------------------------- checks

fn opt_bytes(v: &Option<std::borrow::Cow<'_, [u8]>>) -> Option<Vec<u8>> {
    v.as_ref().map(|c| c.to_vec())
}

/// Whether the parsed response carries what was generated.
fn round_trips(r: &Response<'_>, want: &Expect) -> Result<(), String> {
    let fail = || Err(format!("{r:?}\n  does not match\n{want:?}"));
    match (r, want) {
        (
            Response::Tagged(t),
            Expect::Status {
                tag: Some(tag),
                kind,
                code,
                text,
            },
        ) if t.tag == tag.as_bytes()
            && t.status.kind == *kind
            && t.status.text == text.as_bytes()
            && code_matches(&t.status.code, code) => {}
        (
            Response::Untagged(Untagged::Status(s)),
            Expect::Status {
                tag: None,
                kind,
                code,
                text,
            },
        ) if s.kind == *kind && s.text == text.as_bytes() && code_matches(&s.code, code) => {}
        (Response::Continue(ContinueReq::Text { code: None, text }), Expect::Continue(t))
            if *text == t.as_bytes() => {}
        (Response::Continue(ContinueReq::Base64(b)), Expect::Continue(t)) if *b == t.as_bytes() => {
        }
        (Response::Untagged(Untagged::Capability(caps)), Expect::Capability(want))
            if caps.len() == want.len()
                && caps.iter().zip(want).all(|(c, w)| *c == w.as_bytes()) => {}
        (
            Response::Untagged(Untagged::List(l)),
            Expect::List {
                attrs,
                delimiter,
                mailbox,
            },
        ) if l.attributes.len() == *attrs
            && l.delimiter == *delimiter
            && l.mailbox.as_bytes() == mailbox.as_slice() => {}
        (
            Response::Untagged(Untagged::StatusData { mailbox, items }),
            Expect::StatusData {
                mailbox: m,
                items: want,
            },
        ) if mailbox.as_bytes() == m.as_slice()
            && items.len() == want.len()
            && items
                .iter()
                .zip(want)
                .all(|((n, v), (wn, wv))| n.eq_ignore_ascii_case(wn.as_bytes()) && v == wv) => {}
        (Response::Untagged(Untagged::Search(nums, None)), Expect::Search(want))
            if nums == want => {}
        (Response::Untagged(Untagged::Fetch { seq, atts }), Expect::Fetch { seq: s, items })
            if seq == s && atts.len() == items.len() =>
        {
            for (att, item) in atts.iter().zip(items) {
                if !item_matches(att, item) {
                    return Err(format!("{att:?}\n  does not match\n{item:?}"));
                }
            }
        }
        _ => return fail(),
    }
    Ok(())
}

fn code_matches(got: &Option<Code<'_>>, want: &Option<(String, Option<u64>)>) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(c), Some((name, num))) => {
            let n = match c {
                Code::UidNext(n) | Code::UidValidity(n) | Code::Unseen(n) => Some(u64::from(*n)),
                Code::HighestModSeq(n) => Some(*n),
                _ => None,
            };
            c.name() == *name && n == *num
        }
        _ => false,
    }
}

fn item_matches(att: &MsgAtt<'_>, item: &Item) -> bool {
    match (att, item) {
        (MsgAtt::Flags(f), Item::Flags(want)) => {
            f.len() == want.len()
                && f.iter().zip(want).all(|(f, w)| match f {
                    Flag::Seen => w == "\\Seen",
                    Flag::Answered => w == "\\Answered",
                    Flag::Recent => w == "\\Recent",
                    Flag::Keyword(k) => *k == w.as_bytes(),
                    _ => false,
                })
        }
        (MsgAtt::Uid(n), Item::Uid(w)) | (MsgAtt::Rfc822Size(n), Item::Size(w)) => n == w,
        (MsgAtt::InternalDate(d), Item::Date(w)) => {
            (
                d.day,
                d.month,
                d.year,
                d.hour,
                d.minute,
                d.second,
                d.zone_minutes,
            ) == (
                w.day, w.month, w.year, w.hour, w.minute, w.second,
                // The zone is written as hours and minutes of its absolute value.
                w.zone,
            )
        }
        (MsgAtt::Envelope(e), Item::Envelope { subject, from }) => {
            let subject_ok = opt_bytes(&e.subject) == subject.as_ref().map(|s| s.value().to_vec());
            let from_ok = match (&e.from, from) {
                (None, None) => true,
                (Some(got), Some(want)) => {
                    got.len() == want.len()
                        && got.iter().zip(want).all(|(a, (name, mailbox, host))| {
                            opt_bytes(&a.name) == name.as_ref().map(|n| n.value().to_vec())
                                && opt_bytes(&a.mailbox).as_deref() == Some(mailbox.value())
                                && opt_bytes(&a.host).as_deref() == Some(host.value())
                        })
                }
                _ => false,
            };
            subject_ok && from_ok
        }
        (
            MsgAtt::BodySection {
                section,
                origin: None,
                data: Some(data),
            },
            Item::Body(want),
        ) => section.part.is_empty() && section.text.is_none() && **data == **want,
        _ => false,
    }
}

/// The properties every outcome must have, valid input or not.
fn sane<T>(input: &[u8], outcome: &Result<(T, usize), ParseError>) -> Result<(), TestCaseError> {
    match outcome {
        Ok((_, n)) => prop_assert!(
            *n > 0 && *n <= input.len(),
            "consumed {n} of {}",
            input.len()
        ),
        Err(ParseError::Invalid(d)) => {
            prop_assert!(
                d.offset <= input.len(),
                "offset {} past {} bytes",
                d.offset,
                input.len()
            );
            let at: Vec<u8> = input[d.offset..]
                .iter()
                .take(d.found.len())
                .copied()
                .collect();
            prop_assert_eq!(&d.found, &at, "`found` is not the input at `offset`");
            let excerpt = d.excerpt(input);
            prop_assert!(excerpt.lines().all(|l| l.len() < 100), "{}", excerpt);
            let _ = imapprobe::quirks::identify(input, d);
        }
        Err(ParseError::Incomplete { .. }) => {}
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

/// Bytes that matter to the grammar, so mutations hit structure, not just text.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b" ()[]{}<>\\\"+-.:*%0123456789NILnil\r\n\x00\x7f\x80\xff".to_vec()),
        any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), interesting_byte())
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut v: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if v.is_empty() {
            break;
        }
        match m {
            Mutation::Flip(i, b) => {
                let i = i.index(v.len());
                v[i] = *b;
            }
            Mutation::Insert(i, b) => {
                let i = i.index(v.len() + 1);
                v.insert(i, *b);
            }
            Mutation::Delete(i) => {
                let i = i.index(v.len());
                v.remove(i);
            }
            Mutation::Truncate(i) => {
                let i = i.index(v.len());
                v.truncate(i);
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(config(256))]

    /// A generated valid response parses completely and gives back its values.
    #[test]
    fn valid_responses_round_trip((input, want) in valid()) {
        match parse_response(&input, &Options::default()) {
            Ok((r, n)) => {
                prop_assert_eq!(n, input.len(), "{:?}", String::from_utf8_lossy(&input));
                if let Err(e) = round_trips(&r, &want) {
                    return Err(TestCaseError::fail(format!(
                        "{:?}\n{e}",
                        String::from_utf8_lossy(&input)
                    )));
                }
            }
            Err(e) => {
                let where_ = match &e {
                    ParseError::Invalid(d) => d.excerpt(&input),
                    _ => String::new(),
                };
                return Err(TestCaseError::fail(format!(
                    "{:?}: {e}\n{where_}",
                    String::from_utf8_lossy(&input)
                )));
            }
        }
    }

    /// Bytes after a complete response never change how it parses.
    #[test]
    fn trailing_bytes_do_not_matter((input, _) in valid(), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let o = Options::default();
        let (a, n) = parse_response(&input, &o).unwrap();
        let mut longer = input.clone();
        longer.extend_from_slice(&tail);
        let (b, m) = parse_response(&longer, &o).unwrap();
        prop_assert_eq!(n, m);
        prop_assert_eq!(a, b);
    }

    /// Mutated valid responses (byte flips, insertions, deletions,
    /// truncations) never panic, and deviations stay inside the input.
    #[test]
    fn mutations_are_handled((input, _) in valid(), muts in prop::collection::vec(mutation(), 1..4), flag in any::<u8>()) {
        let input = apply(input, &muts);
        let o = Options { utf8_accept: flag & 1 == 1, max_depth: if flag & 2 == 2 { 3 } else { 32 } };
        sane(&input, &parse_response(&input, &o))?;
        sane(&input, &parse_greeting(&input, &o))?;
    }

    /// Arbitrary bytes never panic either.
    #[test]
    fn arbitrary_bytes_are_handled(input in prop::collection::vec(any::<u8>(), 0..200)) {
        let o = Options { max_depth: 8, ..Options::default() };
        sane(&input, &parse_response(&input, &o))?;
        sane(&input, &parse_greeting(&input, &o))?;
    }

    /// Modified UTF-7 (mailbox names) round-trips any string.
    #[test]
    fn utf7_round_trips(s in "\\PC{0,24}") {
        prop_assert_eq!(utf7::decode(utf7::encode(&s).as_bytes()), Ok(s));
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Every strict prefix of a valid response is Incomplete, never a
    /// deviation: a server that is merely slow is never flagged.
    #[test]
    fn strict_prefixes_are_incomplete((input, _) in valid()) {
        let o = Options::default();
        for cut in 0..input.len() {
            let outcome = parse_response(&input[..cut], &o);
            prop_assert!(
                matches!(outcome, Err(ParseError::Incomplete { .. })),
                "{:?} cut at {cut}: {:?}",
                String::from_utf8_lossy(&input),
                outcome
            );
        }
    }
}
