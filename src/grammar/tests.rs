//! Response-level tests: real server lines, the deviations of
//! shared/knowledge/server-quirks.md with their exact offsets, and the
//! "valid though odd" list that must never be flagged.

use std::borrow::Cow;

use super::*;

fn ok(input: &[u8]) -> Response<'_> {
    match parse_response(input, &Options::default()) {
        Ok((r, n)) => {
            assert_eq!(
                n,
                input.len(),
                "{}: consumed {n}",
                String::from_utf8_lossy(input)
            );
            r
        }
        Err(e) => panic!("{}: {e}", String::from_utf8_lossy(input)),
    }
}

fn untagged(input: &[u8]) -> Untagged<'_> {
    match ok(input) {
        Response::Untagged(u) => u,
        other => panic!("{other:?}"),
    }
}

fn deviation(input: &[u8], opts: &Options) -> Deviation {
    match parse_response(input, opts) {
        Err(ParseError::Invalid(d)) => d,
        other => panic!(
            "{}: expected a deviation, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn dovecot_greeting() {
    let input = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n";
    let (g, n) = parse_greeting(input, &Options::default()).unwrap();
    assert_eq!(n, input.len());
    assert_eq!(g.kind, GreetingKind::Ok);
    assert_eq!(g.text, b"Dovecot (Debian) ready.");
    let Some(Code::Capability(caps)) = g.code else {
        panic!()
    };
    assert_eq!(caps.len(), 10);
    assert_eq!(caps[9], b"AUTH=LOGIN");
}

#[test]
fn greeting_kinds_and_deviations() {
    let o = Options::default();
    assert_eq!(
        parse_greeting(b"* PREAUTH hi\r\n", &o).unwrap().0.kind,
        GreetingKind::Preauth
    );
    assert_eq!(
        parse_greeting(b"* bye [UNAVAILABLE] gone\r\n", &o)
            .unwrap()
            .0
            .kind,
        GreetingKind::Bye
    );
    match parse_greeting(b"* NO go away\r\n", &o) {
        Err(ParseError::Invalid(d)) => assert_eq!((d.offset, d.rule), (2, "greeting")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_greeting(b"* OK [CAPABILITY IMAP4rev1", &o),
        Err(ParseError::Incomplete { needed: None })
    );
}

#[test]
fn dovecot_login_response() {
    let input = b"a1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in\r\n";
    let Response::Tagged(t) = ok(input) else {
        panic!()
    };
    assert_eq!(t.tag, b"a1");
    assert_eq!(t.status.kind, StatusKind::Ok);
    assert_eq!(t.status.text, b"Logged in");
    let Some(Code::Capability(caps)) = t.status.code else {
        panic!()
    };
    assert!(caps.contains(&&b"SPECIAL-USE"[..]));
    assert_eq!(caps.len(), 38);
}

#[test]
fn id_enabled_capability() {
    assert_eq!(
        untagged(b"* ID (\"name\" \"Dovecot\")\r\n"),
        Untagged::Id(Some(vec![(
            Cow::Borrowed(&b"name"[..]),
            Some(Cow::Borrowed(&b"Dovecot"[..]))
        )]))
    );
    assert_eq!(untagged(b"* ID NIL\r\n"), Untagged::Id(None));
    assert_eq!(
        untagged(b"* ENABLED CONDSTORE QRESYNC\r\n"),
        Untagged::Enabled(vec![b"CONDSTORE", b"QRESYNC"])
    );
    assert_eq!(untagged(b"* ENABLED\r\n"), Untagged::Enabled(vec![]));
    assert_eq!(
        untagged(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"),
        Untagged::Capability(vec![
            b"IMAP4rev1",
            b"STARTTLS",
            b"AUTH=GSSAPI",
            b"LOGINDISABLED"
        ])
    );
}

#[test]
fn continuation_requests() {
    assert_eq!(ok(b"+ \r\n"), Response::Continue(ContinueReq::Base64(b"")));
    assert_eq!(
        ok(b"+ YWJj\r\n"),
        Response::Continue(ContinueReq::Base64(b"YWJj"))
    );
    assert_eq!(
        ok(b"+ YWI=\r\n"),
        Response::Continue(ContinueReq::Base64(b"YWI="))
    );
    assert_eq!(
        ok(b"+ Ready for additional command text\r\n"),
        Response::Continue(ContinueReq::Text {
            code: None,
            text: b"Ready for additional command text"
        })
    );
    assert_eq!(
        ok(b"+ [ALERT] go on\r\n"),
        Response::Continue(ContinueReq::Text {
            code: Some(Code::Alert),
            text: b"go on"
        })
    );
}

#[test]
fn status_responses_and_codes() {
    let cases: &[(&[u8], Code)] = &[
        (
            b"* OK [UNSEEN 12] Message 12 is first unseen\r\n",
            Code::Unseen(12),
        ),
        (
            b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
            Code::UidValidity(3857529045),
        ),
        (
            b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
            Code::UidNext(4392),
        ),
        (
            b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
            Code::PermanentFlags(vec![Flag::Deleted, Flag::Seen, Flag::Wildcard]),
        ),
        (
            b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
            Code::HighestModSeq(715194045007),
        ),
        (
            b"* NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
            Code::Named(b"AUTHENTICATIONFAILED"),
        ),
        (b"* OK [read-write] ok\r\n", Code::ReadWrite),
        (
            b"* NO [BADCHARSET (UTF-8 \"US-ASCII\")] no\r\n",
            Code::BadCharset(vec![Cow::Borrowed(b"UTF-8"), Cow::Borrowed(b"US-ASCII")]),
        ),
        (b"* BYE [ALERT] shutting down\r\n", Code::Alert),
        (
            b"* OK [XYZ something odd here] hi\r\n",
            Code::Other {
                atom: b"XYZ",
                text: Some(b"something odd here"),
            },
        ),
        (
            b"* OK [XYZ] hi\r\n",
            Code::Other {
                atom: b"XYZ",
                text: None,
            },
        ),
        (
            b"* OK [REFERRAL imap://user;AUTH=*@SERVER2/] Try another\r\n",
            Code::Other {
                atom: b"REFERRAL",
                text: Some(b"imap://user;AUTH=*@SERVER2/"),
            },
        ),
    ];
    for (input, want) in cases {
        match untagged(input) {
            Untagged::Status(s) => assert_eq!(
                s.code.as_ref(),
                Some(want),
                "{}",
                String::from_utf8_lossy(input)
            ),
            other => panic!("{other:?}"),
        }
    }
    let Response::Tagged(t) = ok(b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n") else {
        panic!()
    };
    assert_eq!(
        t.status.code,
        Some(Code::AppendUid {
            uidvalidity: 38505,
            uids: vec![SeqRange {
                start: SeqBound::Num(3955),
                end: SeqBound::Num(3955)
            }]
        })
    );
    let Response::Tagged(t) = ok(b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n") else {
        panic!()
    };
    assert!(matches!(
        t.status.code,
        Some(Code::CopyUid {
            uidvalidity: 38505,
            ..
        })
    ));
    assert_eq!(
        Code::Named(b"authenticationfailed").name(),
        "AUTHENTICATIONFAILED"
    );
    assert_eq!(Code::ReadOnly.name(), "READ-ONLY");
    assert_eq!(
        Code::Other {
            atom: b"xYz",
            text: None
        }
        .name(),
        "XYZ"
    );
}

#[test]
fn mailbox_data() {
    assert_eq!(untagged(b"* 23 EXISTS\r\n"), Untagged::Exists(23));
    assert_eq!(untagged(b"* 0 RECENT\r\n"), Untagged::Recent(0));
    assert_eq!(untagged(b"* 44 EXPUNGE\r\n"), Untagged::Expunge(44));
    assert_eq!(
        untagged(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
        Untagged::Flags(vec![
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft
        ])
    );
    assert_eq!(
        untagged(b"* SEARCH 2 3 6\r\n"),
        Untagged::Search(vec![2, 3, 6], None)
    );
    assert_eq!(untagged(b"* SEARCH\r\n"), Untagged::Search(vec![], None));
    let Untagged::StatusData { mailbox, items } =
        untagged(b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n")
    else {
        panic!()
    };
    assert_eq!(mailbox.as_bytes(), b"blurdybloop");
    assert_eq!(items, vec![(&b"MESSAGES"[..], 231), (b"UIDNEXT", 44292)]);
    let Untagged::List(l) = untagged(b"* LIST (\\HasChildren \\Noselect) \".\" \"#news.comp\"\r\n")
    else {
        panic!()
    };
    assert_eq!(l.delimiter, Some(b'.'));
    assert_eq!(
        l.attributes,
        vec![ListAttr::HasChildren, ListAttr::Noselect]
    );
    let Untagged::List(l) = untagged(b"* LIST (\\Subscribed) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"Bar\"))\r\n") else { panic!() };
    assert_eq!(l.extended.len(), 2);
    assert!(matches!(
        untagged(b"* LSUB () \"/\" Drafts\r\n"),
        Untagged::Lsub(_)
    ));
}

#[test]
fn fetch_responses() {
    let Untagged::Fetch { seq, atts } = untagged(b"* 1 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" UID 5 BODY[] {3}\r\nabc UID 6)\r\n") else { panic!() };
    assert_eq!(seq, 1);
    assert_eq!(atts.len(), 4);
    assert!(matches!(
        atts[0],
        MsgAtt::InternalDate(DateTime {
            day: 17,
            month: 7,
            year: 1996,
            zone_minutes: -420,
            ..
        })
    ));
    let Untagged::Fetch { atts, .. } = untagged(b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n") else { panic!() };
    assert_eq!(atts.len(), 5);
    assert_eq!(atts[2], MsgAtt::Rfc822Size(4286));
}

#[test]
fn extension_responses() {
    assert!(matches!(
        untagged(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"),
        Untagged::Namespace(_)
    ));
    assert!(matches!(
        untagged(b"* ESEARCH (TAG \"a\") UID COUNT 3\r\n"),
        Untagged::ESearch(_)
    ));
    assert!(matches!(
        untagged(b"* QUOTA \"\" (STORAGE 10 512)\r\n"),
        Untagged::Quota(_)
    ));
    assert!(matches!(
        untagged(b"* QUOTAROOT INBOX \"\"\r\n"),
        Untagged::QuotaRoot(_)
    ));
    assert!(matches!(
        untagged(b"* VANISHED (EARLIER) 300:310,405\r\n"),
        Untagged::Vanished { earlier: true, .. }
    ));
    assert_eq!(
        untagged(b"* XAPPLEPUSHSERVICE aps-version 2\r\n"),
        Untagged::Other {
            name: b"XAPPLEPUSHSERVICE",
            rest: b" aps-version 2"
        }
    );
    assert_eq!(
        untagged(b"* METADATA INBOX (/private/x {2}\r\nab)\r\n"),
        Untagged::Other {
            name: b"METADATA",
            rest: b" INBOX (/private/x {2}\r\nab)"
        }
    );
}

/// Valid, though they look odd (server-quirks.md): never flagged.
#[test]
fn valid_though_odd() {
    let cases: &[&[u8]] = &[
        b"* LIST (\\HasNoChildren) \"/\" [Gmail]/Starred\r\n",
        b"* LIST (\\HasNoChildren) \"/\" 200\r\n",
        b"* LIST (\\HasNoChildren) NIL \"Archive\"\r\n",
        b"* LIST (\\HasNoChildren) nil \"Archive\"\r\n",
        b"* LIST (\\HasNoChildren) Nil \"Archive\"\r\n",
        b"* list (\\hasnochildren) \"/\" inbox\r\n",
        b"* LIST () \"/\" {5}\r\nhello\r\n",
        b"* STATUS {5}\r\nhello (MESSAGES 1)\r\n",
        b"a1 ok done\r\n",
        b"Tag.With-Odd]Chars OK done\r\n",
        b"* 1 fetch (uid 5 flags (\\seen))\r\n",
        b"* 1 FETCH (ENVELOPE (nil {5}\r\nhello NIL NIL NIL NIL NIL NIL Nil {3}\r\n<a>))\r\n",
        b"* 1 FETCH (X-GM-LABELS (\"\\\\Important\" [Gmail]/All]Mail \\Sent))\r\n",
        b"* OK [XYZ something] hi\r\n",
        b"* OK [X-UNKNOWN-CODE] hi\r\n",
        b"* SEARCH 1 2 (MODSEQ 5)\r\n",
        b"* 0 EXISTS\r\n",
        b"* 007 EXISTS\r\n",
        b"* STATUS x ()\r\n",
    ];
    for input in cases {
        ok(input);
    }
}

/// The deviations of server-quirks.md: (input, offset, rule).
#[test]
fn quirk_deviations() {
    let cases: &[(&[u8], usize, &str)] = &[
        // Response text
        (b"* OK [HIGHESTMODSEQ 5]\r\n", 22, "resp-text"),
        (b"a1 OK\r\n", 5, "resp-cond-state"),
        (b"a1 OK \r\n", 6, "resp-text"),
        (b"* OK [ALERT]\r\n", 12, "resp-text"),
        // Framing
        (b"* OK hello\n", 10, "CRLF"),
        (b"* OK hel\0lo\r\n", 8, "text"),
        (b"* OK hello\rx\n", 11, "CRLF"),
        (b"* OK caf\xc3\xa9\r\n", 8, "text"),
        (b"* LIST () \"/\" \"caf\xc3\xa9\"\r\n", 18, "quoted"),
        (b"+\r\n", 1, "continue-req"),
        // Spaces
        (b"* SEARCH 1 2 \r\n", 12, "mailbox-data"),
        (b"* SEARCH 1  2\r\n", 11, "mailbox-data"),
        (b"* STATUS INBOX (MESSAGES 1 )\r\n", 26, "status-att-list"),
        (b"* ID (\"name\" \"x\" )\r\n", 16, "id-params-list"),
        (b"* CAPABILITY IMAP4rev1 \r\n", 22, "capability-data"),
        (b"* 1 FETCH (UID 19436 )\r\n", 20, "msg-att"),
        (b"* 1 FETCH (UID 5  FLAGS ())\r\n", 17, "msg-att"),
        (b"* 1 FETCH (BODY[] {3}\r\nabcUID 5 FLAGS (\\Seen))\r\n", 26, "msg-att"),
        (b"* 1 FETCH (UID 5 BODY[] {3}\r\nabc )\r\n", 32, "msg-att"),
        (b"* 1 FETCH  (UID 5)\r\n", 10, "msg-att"),
        // Literals
        (b"* 1 FETCH (BODY[] {5}\r\nabc)\r\n", 28, "msg-att"),
        (b"* 1 FETCH (BODY[] {2}\r\nabc)\r\n", 25, "msg-att"),
        (b"* 1 FETCH (BODY[] {3}\r\nabc) UID 5\r\n", 27, "response-data"),
        (b"* LIST () \"/\" {3+}\r\nabc\r\n", 16, "literal"),
        (b"* LIST () \"/\" {3}\nabc\r\n", 17, "CRLF"),
        (b"* LIST () \"/\" {3}\r\na\0c\r\n", 20, "literal"),
        // INTERNALDATE
        (b"* 1 FETCH (INTERNALDATE \"8-Mar-2023 10:00:00 +0000\")\r\n", 25, "date-day-fixed"),
        (b"* 1 FETCH (INTERNALDATE \"00-Jan-0000 00:00:00 +0000\")\r\n", 25, "date-day-fixed"),
        (b"* 1 FETCH (INTERNALDATE \"2018-11-29 10:40:44\")\r\n", 27, "date-time"),
        (b"* 1 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25\")\r\n", 45, "date-time"),
        // Numbers
        (b"* 1 FETCH (BODY (\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" -1))\r\n", 52, "body-fld-octets"),
        (b"* OK [UIDVALIDITY 0] x\r\n", 18, "resp-text-code"),
        (b"* 4294967296 EXISTS\r\n", 2, "response-data"),
        (b"* 0 FETCH (UID 1)\r\n", 2, "message-data"),
        (b"* 1 FETCH (UID 4294967296)\r\n", 15, "uniqueid"),
        // NIL, "" and () confused
        (b"* 1 FETCH (ENVELOPE (NIL NIL () NIL NIL NIL NIL NIL NIL NIL))\r\n", 30, "env-from"),
        (b"* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"boundary\" NIL) NIL NIL \"7BIT\" 1 1))\r\n", 44, "body-fld-param"),
        (b"* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL NIL 1 1))\r\n", 44, "body-fld-enc"),
        // BODYSTRUCTURE
        (b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL \"say \"hi\"\" \"7BIT\" 1 1))\r\n", 55, "body-fields"),
        (b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 (\"a\" \"b\")))\r\n", 62, "body-fld-lines"),
        (b"* 1 FETCH (BODYSTRUCTURE (\"MULTIPART\" \"MIXED\" NIL NIL NIL \"7BIT\" 1))\r\n", 26, "body-type-1part"),
        (b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1 NIL \"attachment\"))\r\n", 68, "body-fld-dsp"),
        // Status conditions
        (b"* PREAUTH hi\r\n", 2, "response-data"),
        (b"a1 BYE hi\r\n", 3, "resp-cond-state"),
        (b"+a OK hi\r\n", 1, "continue-req"),
    ];
    let o = Options::default();
    let mut wrong = Vec::new();
    for (input, offset, rule) in cases {
        let d = deviation(input, &o);
        if (d.offset, d.rule) != (*offset, *rule) {
            wrong.push(format!(
                "{:?}: got ({}, {:?}) expected {}\n{}",
                String::from_utf8_lossy(input),
                d.offset,
                d.rule,
                d.expected,
                d.excerpt(input)
            ));
        }
        assert_eq!(
            d.found,
            input[d.offset..]
                .iter()
                .take(8)
                .copied()
                .collect::<Vec<u8>>()
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn utf8_accept_allows_8bit() {
    let o = Options {
        utf8_accept: true,
        ..Options::default()
    };
    assert!(parse_response("* LIST () \"/\" \"café\"\r\n".as_bytes(), &o).is_ok());
    assert!(parse_response("* OK café\r\n".as_bytes(), &o).is_ok());
    let d = deviation(b"* OK caf\xff\r\n", &o);
    assert_eq!((d.offset, d.rule), (8, "text"));
}

#[test]
fn incomplete_input() {
    let o = Options::default();
    let full: &[u8] = b"* 1 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" UID 5 BODY[] {3}\r\nabc ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) FLAGS (\\Seen))\r\n";
    for n in 0..full.len() {
        match parse_response(&full[..n], &o) {
            Err(ParseError::Incomplete { .. }) => {}
            other => panic!("prefix {n}: {other:?}"),
        }
    }
    assert_eq!(parse_response(full, &o).unwrap().1, full.len());
    assert_eq!(
        parse_response(b"* 1 FETCH (BODY[] {10}\r\nabc", &o),
        Err(ParseError::Incomplete { needed: Some(7) })
    );
    // Only one response is consumed; the rest stays for the next call.
    assert_eq!(
        parse_response(b"* 3 EXISTS\r\n* 1 RECENT\r\n", &o)
            .unwrap()
            .1,
        12
    );
}

/// Replays a transcript: `S: ` lines are joined with CRLF into the wire
/// bytes (a line ending in `{N}` continues with the literal); `C: ` lines
/// are skipped. Returns how many responses parsed.
fn replay(transcript: &str, opts: &Options) -> usize {
    let mut wire = Vec::new();
    for line in transcript.lines() {
        if let Some(s) = line.strip_prefix("S: ") {
            wire.extend_from_slice(s.as_bytes());
            wire.extend_from_slice(b"\r\n");
        } else {
            assert!(line.starts_with("C: ") || line.is_empty(), "{line}");
        }
    }
    let (_, mut at) = parse_greeting(&wire, opts).unwrap_or_else(|e| panic!("greeting: {e}"));
    let mut count = 1;
    while at < wire.len() {
        match parse_response(&wire[at..], opts) {
            Ok((_, n)) => at += n,
            Err(ParseError::Invalid(d)) => panic!("{}\n{}", d.expected, d.excerpt(&wire[at..])),
            Err(e) => panic!("at {at}: {e}"),
        }
        count += 1;
    }
    count
}

/// A Dovecot 2.3 session as Debian ships it (read-only commands only).
#[test]
fn dovecot_transcript() {
    let transcript = r#"S: * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.
C: a1 LOGIN user pass
S: a1 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in
C: a2 ID ("name" "imapprobe")
S: * ID ("name" "Dovecot")
S: a2 OK ID completed (0.001 + 0.000 secs).
C: a3 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: a3 OK Namespace completed (0.001 + 0.000 secs).
C: a4 LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UIDVALIDITY SIZE))
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * STATUS Trash (MESSAGES 0 UIDVALIDITY 1700000000 SIZE 0)
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * STATUS Sent (MESSAGES 2 UIDVALIDITY 1700000001 SIZE 2048)
S: * LIST (\HasNoChildren) "/" "Entw&APw-rfe"
S: * STATUS "Entw&APw-rfe" (MESSAGES 0 UIDVALIDITY 1700000002 SIZE 0)
S: * LIST (\HasNoChildren) "/" INBOX
S: * STATUS INBOX (MESSAGES 1 UIDVALIDITY 1700000003 SIZE 512)
S: a4 OK List completed (0.002 + 0.000 + 0.001 secs).
C: a5 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: a5 OK Enabled (0.001 + 0.000 secs).
C: a6 EXAMINE INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
S: * 1 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY 1700000003] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S: * OK [HIGHESTMODSEQ 3] Highest
S: a6 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).
C: a7 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE MODSEQ ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Message-ID)])
S: * 1 FETCH (UID 1 FLAGS (\Seen) RFC822.SIZE 512 INTERNALDATE " 8-Mar-2023 10:00:00 +0100" MODSEQ (3) ENVELOPE ("Wed, 08 Mar 2023 10:00:00 +0100" "Hello" (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL "<1@example.org>") BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 120 4 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "base64" 200 3 NIL NIL NIL NIL) "alternative" ("boundary" "b1") NIL NIL NIL) BODY[HEADER.FIELDS (MESSAGE-ID)] {27}
S: Message-ID: <1@example.org>)
S: a7 OK Fetch completed (0.001 + 0.000 secs).
C: a8 UID SEARCH RETURN (ALL COUNT) ALL
S: * ESEARCH (TAG "a8") UID ALL 1 COUNT 1
S: a8 OK Search completed (0.001 + 0.000 secs).
C: a9 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX "User quota"
S: * QUOTA "User quota" (STORAGE 1 1048576)
S: a9 OK Getquotaroot completed (0.001 + 0.000 secs).
C: a10 IDLE
S: + idling
C: DONE
S: a10 OK Idle completed (0.001 + 0.000 secs).
C: a11 LOGOUT
S: * BYE Logging out
S: a11 OK Logout completed (0.001 + 0.000 secs).
"#;
    assert_eq!(replay(transcript, &Options::default()), 36);
}

/// Parses a capture of a server's bytes (greeting first) and returns every
/// response, failing on the first deviation with its excerpt.
fn parse_capture<'a>(wire: &'a [u8], opts: &Options) -> Vec<Response<'a>> {
    let (_, mut at) = parse_greeting(wire, opts).unwrap_or_else(|e| panic!("greeting: {e}"));
    let mut out = Vec::new();
    while at < wire.len() {
        match parse_response(&wire[at..], opts) {
            Ok((r, n)) => {
                out.push(r);
                at += n;
            }
            Err(ParseError::Invalid(d)) => {
                panic!(
                    "deviation at {}: {} expected {}\n{}",
                    at + d.offset,
                    d.rule,
                    d.expected,
                    d.excerpt(&wire[at..])
                )
            }
            Err(e) => panic!("at {at}: {e}"),
        }
    }
    out
}

/// Real Dovecot 2.3 output (see testdata/README.md): a sane server must
/// produce no grammar finding at all.
#[test]
fn dovecot_capture_has_no_deviation() {
    let o = Options::default();
    let rs = parse_capture(include_bytes!("testdata/dovecot-2.3.19-session.wire"), &o);
    assert_eq!(rs.len(), 109);
    let untagged: Vec<&Untagged> = rs
        .iter()
        .filter_map(|r| match r {
            Response::Untagged(u) => Some(u),
            _ => None,
        })
        .collect();
    let names: Vec<String> = untagged
        .iter()
        .filter_map(|u| match u {
            Untagged::List(l) => Some(l.mailbox.decoded().unwrap()),
            _ => None,
        })
        .collect();
    for want in [
        "Tom & Jerry",
        "Entwürfe",
        "quo\"te",
        "200",
        "[Gmail]/Starred",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(untagged
        .iter()
        .any(|u| matches!(u, Untagged::List(l) if l.attributes.contains(&ListAttr::Trash))));
    // The NUL travels only inside a literal8.
    assert!(untagged.iter().any(|u| matches!(u,
        Untagged::Fetch { atts, .. } if atts.iter().any(|a| matches!(a, MsgAtt::Binary { data: Some(d), .. } if d.contains(&0))))));
    // The nested multipart with a message/rfc822 part and extension data.
    let bs = untagged
        .iter()
        .find_map(|u| match u {
            Untagged::Fetch { seq: 1, atts } => atts.iter().find_map(|a| match a {
                MsgAtt::BodyStructure(b) => Some(b),
                _ => None,
            }),
            _ => None,
        })
        .unwrap();
    let BodyStructure::Multi {
        parts,
        ext: Some(ext),
        ..
    } = &**bs
    else {
        panic!("{bs:?}")
    };
    assert_eq!(parts.len(), 3);
    assert!(ext.params.is_some());
    assert!(matches!(
        &parts[2],
        BodyStructure::Single {
            kind: SinglePartKind::Message { .. },
            ..
        }
    ));
    assert!(untagged
        .iter()
        .any(|u| matches!(u, Untagged::ESearch(e) if e.uid && e.items.len() == 4)));
    assert!(untagged
        .iter()
        .any(|u| matches!(u, Untagged::Quota(q) if q.resources[0].name == b"STORAGE")));

    let rs = parse_capture(include_bytes!("testdata/dovecot-2.3.19-auth-idle.wire"), &o);
    assert_eq!(rs.len(), 17);
    assert_eq!(rs[0], Response::Continue(ContinueReq::Base64(b"")));
    assert!(
        matches!(&rs[1], Response::Tagged(t) if t.status.code == Some(Code::Named(b"AUTHENTICATIONFAILED")))
    );
    assert!(rs.contains(&Response::Continue(ContinueReq::Text {
        code: None,
        text: b"idling"
    })));
}

/// The default depth limit holds on a test thread's small stack, and one
/// level more is a deviation rather than a crash.
#[test]
fn default_depth_limit() {
    let o = Options::default();
    let nested = |levels: usize| {
        let mut v = b"* 1 FETCH (BODYSTRUCTURE ".to_vec();
        v.resize(v.len() + levels, b'(');
        v.extend_from_slice(b"\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)");
        for _ in 1..levels {
            v.extend_from_slice(b" \"MIXED\")");
        }
        v.extend_from_slice(b")\r\n");
        v
    };
    let ok_input = nested(32);
    assert_eq!(parse_response(&ok_input, &o).unwrap().1, ok_input.len());
    let deep = nested(33);
    let d = deviation(&deep, &o);
    assert_eq!(
        (d.offset, d.rule, d.expected.as_str()),
        (25 + 32, "body", "nesting depth <= 32")
    );
    // message/rfc822 nesting counts too.
    let mut v = b"* 1 FETCH (BODYSTRUCTURE ".to_vec();
    for _ in 0..40 {
        v.extend_from_slice(b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ");
    }
    v.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)");
    for _ in 0..40 {
        v.extend_from_slice(b" 1)");
    }
    v.extend_from_slice(b")\r\n");
    assert_eq!(deviation(&v, &o).rule, "body");
}

/// A transcript replayed as the session would see it (RFC 3501 §8).
#[test]
fn rfc3501_section8_transcript() {
    let transcript = "\
S: * OK IMAP4rev1 Service Ready
S: a001 OK LOGIN completed
S: * 18 EXISTS
S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
S: * 2 RECENT
S: * OK [UNSEEN 17] Message 17 is the first unseen message
S: * OK [UIDVALIDITY 3857529045] UIDs valid
S: a002 OK [READ-WRITE] SELECT completed
S: * 12 FETCH (BODY[HEADER] {39}
S: Date: Wed, 17 Jul 1996 02:23:25 -0700
S: )
S: a004 OK FETCH completed
S: * 12 FETCH (FLAGS (\\Seen \\Deleted))
S: a005 OK +FLAGS completed
S: * BYE IMAP4rev1 server terminating connection
S: a006 OK LOGOUT completed
";
    let mut wire = Vec::new();
    for line in transcript.lines() {
        wire.extend_from_slice(line.strip_prefix("S: ").unwrap().as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    let o = Options::default();
    let (_, mut at) = parse_greeting(&wire, &o).unwrap();
    let mut count = 0;
    while at < wire.len() {
        let (_, n) = parse_response(&wire[at..], &o).unwrap_or_else(|e| panic!("at {at}: {e}"));
        at += n;
        count += 1;
    }
    assert_eq!(count, 13);
}

#[test]
fn never_panics_on_prefixes_and_mutations() {
    let o = Options {
        max_depth: 8,
        ..Options::default()
    };
    let seeds: &[&[u8]] = &[
        b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"a\" \"b\") NIL NIL \"7BIT\" 1 1 NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 3 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) 1) \"MIXED\" NIL NIL NIL (1 (2))))\r\n",
        b"* LIST (\\Noselect) \"/\" \"a\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        b"* OK [PERMANENTFLAGS (\\* $X)] x\r\n",
    ];
    for seed in seeds {
        for n in 0..seed.len() {
            let _ = parse_response(&seed[..n], &o);
            for b in [0u8, b' ', b'(', b')', b'{', b'"', b'\\', b'\n', 0xff, b'9'] {
                let mut m = seed.to_vec();
                m[n] = b;
                if let Err(ParseError::Invalid(d)) = parse_response(&m, &o) {
                    assert!(d.offset <= m.len());
                    let _ = d.excerpt(&m);
                }
            }
        }
    }
}

/// Deterministic fuzzing (xorshift; no extra dev-dependency): random bytes
/// and random mutations of valid responses never panic, and every deviation
/// offset lies inside the input.
#[test]
fn pseudo_random_inputs_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[u8] = b"* ()[]{}\"+-.:0123456789NILnilOKBODY\r\nFETCHUID\x00\xff\"";
    let seeds: &[&[u8]] = &[
        b"* 1 FETCH (UID 5 BODY[] {3}\r\nabc FLAGS (\\Seen))\r\n",
        b"* LIST (\\HasNoChildren) \"/\" {5}\r\nhello\r\n",
        b"a1 OK [CAPABILITY IMAP4rev1 IDLE] done\r\n",
        b"* 2 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 1 1) \"ALTERNATIVE\"))\r\n",
    ];
    let o = Options {
        max_depth: 6,
        ..Options::default()
    };
    for round in 0..20_000 {
        let input: Vec<u8> = if round % 2 == 0 {
            let len = (next() % 120) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        } else {
            let mut v = seeds[(next() % seeds.len() as u64) as usize].to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() % v.len() as u64) as usize;
                v[at] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            v
        };
        match parse_response(&input, &o) {
            Ok((_, n)) => assert!(n <= input.len()),
            Err(ParseError::Invalid(d)) => {
                assert!(d.offset <= input.len());
                let _ = d.excerpt(&input);
            }
            Err(ParseError::Incomplete { .. }) => {}
        }
        let _ = parse_greeting(&input, &o);
    }
}
