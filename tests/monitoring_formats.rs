//! `--format nagios` and `--format prometheus` for `test-server`, `check`
//! and `batch`: the Nagios line follows the Monitoring Plugins
//! guidelines' grammar (and its exit code its state), and the Prometheus
//! text passes a strict checker of the text exposition format 0.0.4 (the
//! rules promtool's `check metrics` and the Go parser enforce: names,
//! label syntax and escapes, one HELP and TYPE per family before its
//! samples, families not interleaved, no series twice, final newline).

mod common;

use common::dovecot::{Dovecot, ALICE_PASSWORD};
use common::run::{imapprobe, Outcome};
use common::scripted::{Mode, ScriptedServer};
use std::collections::{BTreeMap, HashSet};

// ---------------------------------------------------------------- Nagios

/// A parsed plugin line.
#[derive(Debug)]
struct Nagios {
    state: String,
    text: String,
    /// label → (value, unit, warn, crit, min, max)
    perf: BTreeMap<String, (f64, String, String, String, String, String)>,
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `[@]start:end`, `start:`, `~:end`, `end`, or empty.
fn is_range(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let s = s.strip_prefix('@').unwrap_or(s);
    match s.split_once(':') {
        None => is_number(s),
        Some((a, b)) => {
            (a.is_empty() || a == "~" || is_number(a)) && (b.is_empty() || is_number(b))
        }
    }
}

/// The guidelines' grammar: `SERVICE STATE - text | 'label'=value[UOM];[warn];[crit];[min];[max] …`.
fn parse_nagios(out: &Outcome) -> Nagios {
    let line = out
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no final newline: {out:?}"));
    assert!(!line.contains('\n'), "more than one line: {out:?}");
    assert!(line.len() < 4096, "first line too long");
    let (head, perf) = match line.split_once(" | ") {
        Some((h, p)) => (h, p),
        None => (line, ""),
    };
    assert!(!head.contains('|'), "a | in the text: {line}");
    let (service, rest) = head.split_once(' ').unwrap();
    assert!(service.chars().all(|c| c.is_ascii_uppercase()), "{line}");
    let (state, text) = rest
        .split_once(" - ")
        .unwrap_or_else(|| panic!("no ' - ': {line}"));
    assert!(
        ["OK", "WARNING", "CRITICAL", "UNKNOWN"].contains(&state),
        "state {state}: {line}"
    );
    let code = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        .iter()
        .position(|s| *s == state)
        .unwrap() as i32;
    assert_eq!(out.code, code, "exit code and state disagree: {out:?}");
    let mut parsed = BTreeMap::new();
    for item in perf.split(' ').filter(|s| !s.is_empty()) {
        let (label, data) = if let Some(q) = item.strip_prefix('\'') {
            let (l, d) = q
                .split_once("'=")
                .unwrap_or_else(|| panic!("bad label: {item}"));
            (l.to_string(), d)
        } else {
            let (l, d) = item
                .split_once('=')
                .unwrap_or_else(|| panic!("no '=': {item}"));
            assert!(
                !l.is_empty() && !l.contains(['\'', ' ']),
                "bad label: {item}"
            );
            (l.to_string(), d)
        };
        let fields: Vec<&str> = data.split(';').collect();
        assert!(fields.len() <= 5, "too many fields: {item}");
        let v = fields[0];
        let unit_at = v
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(v.len());
        let (num, unit) = v.split_at(unit_at);
        assert!(is_number(num), "bad value: {item}");
        assert!(
            ["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"].contains(&unit),
            "unit {unit:?} is not one the guidelines allow: {item}"
        );
        let get = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
        for i in [1, 2] {
            assert!(is_range(&get(i)), "bad threshold range: {item}");
        }
        for i in [3, 4] {
            let f = get(i);
            assert!(f.is_empty() || is_number(&f), "bad min/max: {item}");
        }
        assert!(
            parsed
                .insert(
                    label.clone(),
                    (
                        num.parse().unwrap(),
                        unit.to_string(),
                        get(1),
                        get(2),
                        get(3),
                        get(4)
                    )
                )
                .is_none(),
            "label twice: {label}"
        );
    }
    Nagios {
        state: state.to_string(),
        text: text.to_string(),
        perf: parsed,
    }
}

// ------------------------------------------------------------ Prometheus

/// One sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// `{a="x",b="y"}`: the labels and what follows the closing brace.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("no {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("label value not closed".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw line feed in a label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or }".into());
        }
    }
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// Checks the exposition strictly; returns its samples.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "no final newline");
    let mut samples = Vec::new();
    let mut helped = HashSet::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let fail = |why: &str| -> ! { panic!("line {}: {why}: {line:?}\n{text}", n + 1) };
        if line.is_empty() {
            fail("empty line");
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            if !valid_metric_name(name) {
                fail("bad metric name");
            }
            if current.as_deref() != Some(name) {
                if let Some(c) = current.take() {
                    finished.insert(c);
                }
                if finished.contains(name) {
                    fail("family interleaved with another");
                }
                current = Some(name.to_string());
            }
            match kw {
                "HELP" => {
                    if !helped.insert(name.to_string()) {
                        fail("HELP twice");
                    }
                    if tail.contains('\\')
                        && tail.replace("\\\\", "").replace("\\n", "").contains('\\')
                    {
                        fail("bad escape in HELP");
                    }
                }
                "TYPE" => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&tail) {
                        fail("bad TYPE");
                    }
                    if typed.insert(name.to_string(), tail.to_string()).is_some() {
                        fail("TYPE twice");
                    }
                    if samples.iter().any(|(s, _, _): &Sample| s == name) {
                        fail("TYPE after samples");
                    }
                }
                _ => fail("unknown comment keyword"),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        if !valid_metric_name(name) {
            fail("bad metric name");
        }
        if current.as_deref() != Some(name) {
            if let Some(c) = current.take() {
                finished.insert(c);
            }
            if finished.contains(name) {
                fail("family interleaved with another");
            }
            current = Some(name.to_string());
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).unwrap_or_else(|e| fail(&e))
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| fail("no space before the value"));
        let mut parts = rest.split(' ');
        let value = parse_value(parts.next().unwrap()).unwrap_or_else(|e| fail(&e));
        if let Some(ts) = parts.next() {
            if ts.parse::<i64>().is_err() {
                fail("bad timestamp");
            }
        }
        if parts.next().is_some() {
            fail("trailing fields");
        }
        if !series.insert(format!("{name}{labels:?}")) {
            fail("the same series twice");
        }
        samples.push((name.to_string(), labels, value));
    }
    for (name, _, _) in &samples {
        assert!(typed.contains_key(name), "{name} has no TYPE");
        assert!(helped.contains(name), "{name} has no HELP");
    }
    samples
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(samples, name, labels);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].2
}

#[test]
fn the_checkers_refuse_what_the_formats_forbid() {
    for bad in [
        "m 1",                                                                     // no TYPE/HELP
        "# HELP m h\n# TYPE m gauge\nm{a=\"x\"} 1\nm{a=\"x\"} 2\n",                // series twice
        "# HELP m h\n# TYPE m gauge\nm{a=\"x\\q\"} 1\n",                           // bad escape
        "# HELP m h\n# TYPE m gauge\nm 1\n# HELP n h\n# TYPE n gauge\nn 1\nm 2\n", // interleaved
        "# HELP m h\n# TYPE m gauge\nm{1a=\"x\"} 1\n",                             // label name
    ] {
        let text = if bad.ends_with('\n') {
            bad.to_string()
        } else {
            format!("{bad}\n")
        };
        assert!(
            std::panic::catch_unwind(|| parse_exposition(&text)).is_err(),
            "accepted: {bad:?}"
        );
    }
    assert!(is_range("14:") && is_range("@1:5") && is_range("~:3") && !is_range("a:"));
}

// ------------------------------------------------------------- the runs

fn probe(d: &Dovecot, command: &str, format: &str, pw: &str, extra: &[&str]) -> Outcome {
    let port = d.imaps_port.to_string();
    let mut args = vec![
        command,
        "--host",
        "localhost",
        "--port",
        &port,
        "--tls",
        "implicit",
        "--ca-file",
        d.ca_file.to_str().unwrap(),
        "--user",
        "alice",
        "--password-env",
        "PW",
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    imapprobe(&args, &[("PW", pw)])
}

#[test]
fn test_server_as_nagios_and_prometheus() {
    let d = Dovecot::start_default();
    let out = probe(
        &d,
        "test-server",
        "nagios",
        ALICE_PASSWORD,
        &["--warn-time", "20s", "--crit-time", "30s"],
    );
    let n = parse_nagios(&out);
    assert_eq!(n.state, "OK", "{out:?}");
    assert!(n.text.contains("LOGIN as alice"), "{out:?}");
    for label in ["connect", "tls", "login", "time", "cert_days"] {
        assert!(n.perf.contains_key(label), "no {label}: {out:?}");
    }
    let time = &n.perf["time"];
    assert_eq!(
        (time.1.as_str(), time.2.as_str(), time.3.as_str()),
        ("s", "20.000", "30.000")
    );
    assert_eq!(
        (
            n.perf["cert_days"].2.as_str(),
            n.perf["cert_days"].3.as_str()
        ),
        ("14:", "7:")
    );
    out.assert_no_secret(ALICE_PASSWORD);

    let out = probe(
        &d,
        "test-server",
        "nagios",
        ALICE_PASSWORD,
        &["--warn-time", "1ns"],
    );
    let n = parse_nagios(&out);
    assert_eq!(n.state, "WARNING", "{out:?}");
    assert!(n.text.contains("--warn-time"), "{out:?}");
    let out = probe(
        &d,
        "test-server",
        "nagios",
        ALICE_PASSWORD,
        &["--crit-time", "1ns"],
    );
    assert_eq!(parse_nagios(&out).state, "CRITICAL", "{out:?}");
    let out = probe(
        &d,
        "test-server",
        "nagios",
        ALICE_PASSWORD,
        &["--cert-crit-days", "100000"],
    );
    let n = parse_nagios(&out);
    assert_eq!(n.state, "CRITICAL", "{out:?}");
    assert!(n.text.contains("--cert-crit-days"), "{out:?}");
    let out = probe(&d, "test-server", "nagios", "wrong-password", &[]);
    let n = parse_nagios(&out);
    assert_eq!(n.state, "CRITICAL", "{out:?}");
    assert!(
        n.text.contains("auth.login") && n.text.contains("AUTHENTICATIONFAILED"),
        "{out:?}"
    );

    let out = probe(&d, "test-server", "prometheus", ALICE_PASSWORD, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let s = parse_exposition(&out.stdout);
    let me = [("host", "localhost"), ("user", "alice")];
    assert_eq!(value(&s, "imapprobe_probe_success", &me), 1.0);
    assert_eq!(
        value(&s, "imapprobe_check_status", &[("check", "auth.login")]),
        0.0
    );
    for phase in ["connect", "tls", "login", "total"] {
        let secs = value(&s, "imapprobe_phase_duration_seconds", &[("phase", phase)]);
        assert!((0.0..30.0).contains(&secs), "{phase} {secs}");
    }
    let not_after = value(&s, "imapprobe_tls_cert_not_after_seconds", &me);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(not_after > now + 86_400.0, "{not_after}");

    let out = probe(&d, "test-server", "prometheus", "wrong-password", &[]);
    let s = parse_exposition(&out.stdout);
    assert_eq!(value(&s, "imapprobe_probe_success", &me), 0.0);
    assert_eq!(
        value(&s, "imapprobe_check_status", &[("check", "auth.login")]),
        2.0
    );
    out.assert_no_secret("wrong-password");
}

#[test]
fn check_reports_folders_messages_and_sizes() {
    let d = Dovecot::start_default();
    d.seed_sample_mailbox("alice");
    // Label escaping on real names: a quote and a backslash.
    d.create_folder("alice", "Say \"hi\"", true);
    d.create_folder("alice", "back\\slash", true);
    let out = probe(&d, "check", "nagios", ALICE_PASSWORD, &["--no-probes"]);
    let n = parse_nagios(&out);
    assert_ne!(n.state, "UNKNOWN", "{out:?}");
    let folders = n.perf["folders"].0;
    let messages = n.perf["messages"].0;
    assert!(folders >= 4.0, "{out:?}");
    assert!(messages >= 5.0, "{out:?}");
    assert_eq!(n.perf["size"].1, "B");
    assert!(n.perf["size"].0 > 1000.0, "{out:?}");

    let out = probe(&d, "check", "prometheus", ALICE_PASSWORD, &["--no-probes"]);
    let s = parse_exposition(&out.stdout);
    assert_eq!(value(&s, "imapprobe_mailbox_folders", &[]), folders);
    assert_eq!(value(&s, "imapprobe_mailbox_messages", &[]), messages);
    assert!(value(&s, "imapprobe_mailbox_bytes", &[]) > 1000.0);
    assert_eq!(
        value(&s, "imapprobe_folder_messages", &[("folder", "INBOX")]),
        5.0
    );
    // The strict parser unescaped these back to the names.
    assert_eq!(
        find(&s, "imapprobe_folder_messages", &[("folder", "Say \"hi\"")]).len(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(
        find(
            &s,
            "imapprobe_folder_messages",
            &[("folder", "back\\slash")]
        )
        .len(),
        1,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"folder="Say \"hi\"""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(r#"folder="back\\slash""#),
        "{}",
        out.stdout
    );
}

#[test]
fn batch_as_nagios_and_prometheus() {
    const OK: &str = "
        S: * OK [CAPABILITY IMAP4rev1] scripted ready
        C: $tag LOGIN *
        S: $tag OK [CAPABILITY IMAP4rev1] Logged in
        C: $tag LOGOUT
        S: * BYE Logging out
        S: $tag OK Logout completed.
    ";
    const NO: &str = "
        S: * OK [CAPABILITY IMAP4rev1] scripted ready
        C: $tag LOGIN *
        S: $tag NO [AUTHENTICATIONFAILED] Authentication failed.
        C: $tag LOGOUT
        S: * BYE Logging out
        S: $tag OK Logout completed.
    ";
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "UserName,Password\nplain,pw1\n\"we\"\"ird\",pw2\n\"back\\slash\",pw3\nlast,pw4\nbroken,\"x\n",
    )
    .unwrap();
    // A fresh server per run: the second row's login is refused.
    let run = |format: &str| {
        let server = ScriptedServer::start(Mode::Plain, vec![OK, NO, OK, OK]);
        let port = server.port.to_string();
        imapprobe(
            &[
                "batch",
                "--csv",
                csv.to_str().unwrap(),
                "--host",
                "127.0.0.1",
                "--port",
                &port,
                "--tls",
                "none",
                "--allow-plaintext-auth",
                "--concurrency",
                "1",
                "--format",
                format,
                "--timeout",
                "3s",
            ],
            &[],
        )
    };
    let out = run("nagios");
    let n = parse_nagios(&out);
    assert_eq!(n.state, "CRITICAL", "{out:?}");
    assert!(n.text.contains("1 failed (auth.login 1)"), "{out:?}");
    assert!(n.text.contains("1 not run"), "{out:?}");
    assert_eq!(n.perf["users"].0, 5.0);
    assert_eq!(n.perf["failed"].0, 1.0);
    assert_eq!(n.perf["not_run"].0, 1.0);
    assert_eq!(n.perf["login_max"].1, "s");

    let out = run("prometheus");
    assert_eq!(out.code, 2, "{out:?}");
    let s = parse_exposition(&out.stdout);
    assert_eq!(
        value(&s, "imapprobe_batch_users", &[("result", "failed")]),
        1.0
    );
    assert_eq!(
        value(&s, "imapprobe_batch_users", &[("result", "not_run")]),
        1.0
    );
    assert_eq!(
        value(&s, "imapprobe_batch_failures", &[("check", "auth.login")]),
        1.0
    );
    assert_eq!(
        value(&s, "imapprobe_probe_success", &[("user", "we\"ird")]),
        0.0
    );
    assert_eq!(
        value(&s, "imapprobe_probe_success", &[("user", "back\\slash")]),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "imapprobe_check_status",
            &[("user", "we\"ird"), ("check", "auth.login")]
        ),
        2.0
    );
    assert!(
        find(
            &s,
            "imapprobe_phase_duration_seconds",
            &[("user", "plain"), ("phase", "login")]
        )
        .len()
            == 1
    );
    for pw in ["pw1", "pw2", "pw3", "pw4"] {
        out.assert_no_secret(pw);
    }
}
