//! The grammar corpus: real-looking server responses with their expected
//! verdicts, one case per file under `tests/data/corpus/` (format in the
//! README there). Every case is parsed and its verdict, deviation offset,
//! rule and quirk name (through `quirks::identify`) asserted.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use imapprobe::grammar::{parse_greeting, parse_response, Options, ParseError};
use imapprobe::quirks;

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

#[derive(Debug)]
struct Case {
    verdict: Verdict,
    offset: Option<usize>,
    rule: Option<String>,
    /// `Some("none")` when no quirk may be named.
    quirk: Option<String>,
    expected: Option<String>,
    responses: Option<usize>,
    greeting: bool,
    opts: Options,
    bytes: Vec<u8>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/data/corpus")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
}

/// `\r`, `\n`, `\t`, `\\` and `\xHH`; any other backslash is itself (so
/// `\Seen` needs no escaping).
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let esc = match b[i + 1] {
                b'r' => Some((b'\r', 2)),
                b'n' => Some((b'\n', 2)),
                b't' => Some((b'\t', 2)),
                b'\\' => Some((b'\\', 2)),
                b'x' => b
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|v| (v, 4)),
                _ => None,
            };
            if let Some((v, n)) = esc {
                out.push(v);
                i += n;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(out)
}

fn parse_case(path: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut case = Case {
        verdict: Verdict::Pass,
        offset: None,
        rule: None,
        quirk: None,
        expected: None,
        responses: None,
        greeting: false,
        opts: Options::default(),
        bytes: Vec::new(),
    };
    let mut verdict = None;
    let mut source = false;
    for (n, line) in text.lines().enumerate() {
        let at = |msg: String| format!("line {}: {msg}", n + 1);
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            let Some((key, value)) = rest.split_once(':') else {
                continue;
            };
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                continue; // a comment
            }
            let value = value.trim().to_string();
            match key {
                "verdict" => {
                    verdict = Some(match value.as_str() {
                        "pass" => Verdict::Pass,
                        "fail" => Verdict::Fail,
                        "incomplete" => Verdict::Incomplete,
                        v => return Err(at(format!("unknown verdict {v:?}"))),
                    })
                }
                "offset" => {
                    case.offset = Some(value.parse().map_err(|e| at(format!("offset: {e}")))?)
                }
                "rule" => case.rule = Some(value),
                "quirk" => case.quirk = Some(value),
                "expected" => case.expected = Some(value),
                "responses" => {
                    case.responses = Some(value.parse().map_err(|e| at(format!("responses: {e}")))?)
                }
                "greeting" => case.greeting = value == "yes",
                "options" => {
                    for o in value.split_whitespace() {
                        match o {
                            "utf8-accept" => case.opts.utf8_accept = true,
                            o => return Err(at(format!("unknown option {o:?}"))),
                        }
                    }
                }
                "source" => source = !value.is_empty(),
                k => return Err(at(format!("unknown header {k:?}"))),
            }
            continue;
        }
        let (crlf, content) = if let Some(c) = line.strip_prefix("S-") {
            (false, c)
        } else if let Some(c) = line.strip_prefix("S:") {
            (true, c)
        } else if line.trim().is_empty() {
            continue;
        } else {
            return Err(at(format!("neither a header nor S: / S- : {line:?}")));
        };
        let content = match content.strip_prefix(' ') {
            Some(c) => c,
            None if content.is_empty() => content,
            None => return Err(at("a SP must follow S: / S-".into())),
        };
        if content.ends_with([' ', '\t']) {
            return Err(at("trailing whitespace: write it as \\x20 or \\t".into()));
        }
        case.bytes.extend(unescape(content).map_err(at)?);
        if crlf {
            case.bytes.extend_from_slice(b"\r\n");
        }
    }
    case.verdict = verdict.ok_or("no `# verdict:`")?;
    if !source {
        return Err("no `# source:`".into());
    }
    if case.bytes.is_empty() {
        return Err("no S: lines".into());
    }
    let fail_fields = case.offset.is_some() && case.rule.is_some() && case.quirk.is_some();
    match case.verdict {
        Verdict::Fail if !fail_fields => {
            return Err("a failing case needs offset, rule and quirk (or `quirk: none`)".into())
        }
        Verdict::Pass | Verdict::Incomplete
            if case.offset.is_some() || case.rule.is_some() || case.quirk.is_some() =>
        {
            return Err("offset, rule and quirk only go with `verdict: fail`".into())
        }
        _ => {}
    }
    Ok(case)
}

/// Parses the case's stream response by response; returns what went wrong.
fn check(case: &Case) -> Result<(), String> {
    let input = &case.bytes;
    let mut at = 0;
    let mut count = 0;
    let show = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    while at < input.len() {
        let rest = &input[at..];
        let outcome = if case.greeting && count == 0 {
            parse_greeting(rest, &case.opts).map(|(_, n)| n)
        } else {
            parse_response(rest, &case.opts).map(|(_, n)| n)
        };
        match outcome {
            Ok(n) => {
                at += n;
                count += 1;
            }
            Err(ParseError::Incomplete { needed }) => {
                return match case.verdict {
                    Verdict::Incomplete => Ok(()),
                    v => Err(format!(
                        "expected {v:?}, got Incomplete ({needed:?}) in response {} at byte {at}: {:?}",
                        count + 1,
                        show(rest)
                    )),
                };
            }
            Err(ParseError::Invalid(d)) => {
                if case.verdict != Verdict::Fail {
                    return Err(format!(
                        "expected {:?}, got a deviation in response {}: {} expected {} at {}\n{}",
                        case.verdict,
                        count + 1,
                        d.rule,
                        d.expected,
                        d.offset,
                        d.excerpt(rest)
                    ));
                }
                let quirk = quirks::identify(rest, &d).map_or("none", |q| q.name);
                let mut problems = String::new();
                if Some(d.offset) != case.offset {
                    let _ = write!(problems, " offset {} (want {:?});", d.offset, case.offset);
                }
                if Some(d.rule) != case.rule.as_deref() {
                    let _ = write!(problems, " rule {} (want {:?});", d.rule, case.rule);
                }
                if Some(quirk) != case.quirk.as_deref() {
                    let _ = write!(problems, " quirk {quirk} (want {:?});", case.quirk);
                }
                if let Some(e) = &case.expected {
                    if !d.expected.contains(e.as_str()) {
                        let _ = write!(problems, " expected {:?} (want {e:?});", d.expected);
                    }
                }
                if problems.is_empty() {
                    return Ok(());
                }
                return Err(format!(
                    "response {}:{problems} deviation: {} expected {}\n{}",
                    count + 1,
                    d.rule,
                    d.expected,
                    d.excerpt(rest)
                ));
            }
        }
    }
    if case.verdict != Verdict::Pass {
        return Err(format!(
            "expected {:?}, but all {count} responses parsed",
            case.verdict
        ));
    }
    if let Some(want) = case.responses {
        if want != count {
            return Err(format!("{count} responses, want {want}"));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_case_has_its_verdict() {
    let files = corpus_files();
    assert!(files.len() >= 40, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        match parse_case(path).and_then(|c| check(&c)) {
            Ok(()) => {}
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Every grammar-level quirk in the catalogue has at least one corpus case
/// naming it, so an entry cannot rot without a witness.
#[test]
fn every_grammar_quirk_has_a_case() {
    // Quirks the grammar cannot see: the session and the analyses report them.
    const NOT_FROM_A_RESPONSE: &[&str] = &[
        "empty-status-list",
        "unterminated-line",
        "starttls-injection",
        "capabilities-change-with-tls",
        "mixed-hierarchy-delimiters",
        "invalid-modified-utf7",
    ];
    let named: Vec<String> = corpus_files()
        .iter()
        .filter_map(|p| parse_case(p).ok())
        .filter_map(|c| c.quirk)
        .collect();
    let missing: Vec<&str> = quirks::QUIRKS
        .iter()
        .map(|q| q.name)
        .filter(|n| !NOT_FROM_A_RESPONSE.contains(n) && !named.iter().any(|m| m == n))
        .collect();
    assert!(missing.is_empty(), "no corpus case for {missing:?}");
    for n in &named {
        assert!(
            n == "none" || quirks::by_name(n).is_some(),
            "corpus names unknown quirk {n}"
        );
    }
}

#[test]
fn the_format_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ok = write(
        "ok.txt",
        "# source: x\n# verdict: pass\nS: * OK [ALERT] \\Seen\\x20\\\\x\nS- + \\r\\n\n",
    );
    let c = parse_case(&ok).unwrap();
    assert_eq!(c.bytes, b"* OK [ALERT] \\Seen \\x\r\n+ \r\n");
    check(&c).unwrap();
    let trailing = write("t.txt", "# source: x\n# verdict: pass\nS: * SEARCH \n");
    assert!(parse_case(&trailing).unwrap_err().contains("trailing"));
    let no_offset = write("n.txt", "# source: x\n# verdict: fail\nS: * BAD\n");
    assert!(parse_case(&no_offset).is_err());
    let unknown = write("u.txt", "# source: x\n# verdcit: pass\nS: * OK x\n");
    assert!(parse_case(&unknown).unwrap_err().contains("verdcit"));
}
