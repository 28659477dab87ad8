//! `imapprobe batch` against scripted servers, for the faults a real
//! server does not make on demand: every third login times out (retried
//! with backoff, and failed without retries), a BYE greeting ("too many
//! connections") retried, the connection cap, and `--trace` with the
//! passwords of many users redacted.

mod common;

use common::run::{imapprobe_owned, scripted_batch_args, Outcome};
use common::scripted::{Mode, ScriptedServer};
use serde_json::Value;
use std::path::{Path, PathBuf};

const OK: &str = "
    S: * OK [CAPABILITY IMAP4rev1] scripted ready
    C: $tag LOGIN *
    S: $tag OK [CAPABILITY IMAP4rev1] Logged in
    C: $tag LOGOUT
    S: * BYE Logging out
    S: $tag OK Logout completed.
";

/// Takes the LOGIN and never answers.
const HANG: &str = "
    S: * OK [CAPABILITY IMAP4rev1] scripted ready
    C: $tag LOGIN *
    !hang
";

/// Every third connection hangs on LOGIN; enough scripts for any retry.
fn flaky() -> ScriptedServer {
    let scripts: Vec<&str> = (0..90)
        .map(|i| if i % 3 == 2 { HANG } else { OK })
        .collect();
    ScriptedServer::start(Mode::Plain, scripts)
}

fn csv(dir: &Path, users: usize) -> PathBuf {
    let mut text = String::from("EmailAddress,UserName,Password\n");
    for i in 1..=users {
        text.push_str(&format!("u{i}@example.org,u{i},Secret-{i}!\n"));
    }
    let path = dir.join("users.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// `batch` over `csv` against the plaintext scripted server on `port`, with
/// a short timeout and backoff.
fn batch_args(port: u16, csv: &Path, extra: &[&str]) -> Vec<String> {
    let mut all = vec!["--timeout", "300ms", "--retry-backoff", "20ms"];
    all.extend_from_slice(extra);
    scripted_batch_args(port, csv, &all)
}

fn batch(port: u16, csv: &Path, extra: &[&str]) -> Outcome {
    imapprobe_owned(&batch_args(port, csv, extra))
}

fn users(stdout: &str) -> Vec<Value> {
    let mut v: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["type"] == "user")
        .map(|v| v["data"].clone())
        .collect();
    v.sort_by_key(|u| u["line"].as_u64());
    v
}

#[test]
fn every_third_login_times_out_and_retries_recover_every_user() {
    let server = flaky();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 10);
    // One at a time: connection n is row n's until the first hang, so the
    // retries are predictable.
    let out = batch(
        server.port,
        &csv,
        &["--format", "json", "--concurrency", "1", "--retries", "2"],
    );
    let users = users(&out.stdout);
    assert_eq!(users.len(), 10, "{out:?}");
    for u in &users {
        assert_ne!(u["verdict"], "fail", "{u}");
    }
    // Connections 3, 6, 9, 12 hung: rows 3, 5, 7 and 9 needed a second try.
    let retried: Vec<u64> = users
        .iter()
        .filter(|u| u["attempts"] == 2)
        .map(|u| u["line"].as_u64().unwrap() - 1)
        .collect();
    assert_eq!(retried, [3, 5, 7, 9], "{}", out.stdout);
    for u in users.iter().filter(|u| u["attempts"] == 2) {
        let r = &u["retried"][0];
        assert_eq!(r["attempt"], 1);
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("no answer within 300ms"),
            "{u}"
        );
        assert!(r["wait_ms"].as_u64().unwrap() >= 15, "{u}");
    }
    assert_eq!(server.connections(), 14);
    for i in 1..=10 {
        out.assert_no_secret(&format!("Secret-{i}!"));
    }
}

#[test]
fn without_retries_the_timeouts_are_failures_and_the_others_go_on() {
    let server = flaky();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 9);
    let out = batch(
        server.port,
        &csv,
        &["--format", "json", "--concurrency", "1", "--retries", "0"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let users = users(&out.stdout);
    let failed: Vec<u64> = users
        .iter()
        .filter(|u| u["verdict"] == "fail")
        .map(|u| u["line"].as_u64().unwrap() - 1)
        .collect();
    assert_eq!(failed, [3, 6, 9], "{}", out.stdout);
    for u in users.iter().filter(|u| u["verdict"] == "fail") {
        assert_eq!(u["attempts"], 1);
        assert!(
            u["reason"].as_str().unwrap().contains("no answer within"),
            "{u}"
        );
    }
    assert!(out.stderr.contains("auth.login"), "{out:?}");
}

#[test]
fn concurrent_flaky_run_recovers_within_the_connection_cap() {
    let server = flaky();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 12);
    let out = batch(
        server.port,
        &csv,
        &[
            "--format",
            "json",
            "--concurrency",
            "6",
            "--max-connections",
            "3",
            "--retries",
            "6",
        ],
    );
    let users = users(&out.stdout);
    assert_eq!(users.len(), 12, "{out:?}");
    assert!(
        users.iter().all(|u| u["verdict"] != "fail"),
        "{}",
        out.stdout
    );
    assert!(users.iter().any(|u| u["attempts"].as_u64().unwrap() > 1));
    let summary: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["data"]["max_connections"], 3);
}

#[test]
fn a_bye_greeting_is_transient() {
    let server = ScriptedServer::start(
        Mode::Plain,
        vec![
            "S: * BYE Too many connections from your IP, try again later\n!close",
            OK,
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 1);
    let out = batch(server.port, &csv, &["--format", "json"]);
    let u = &users(&out.stdout)[0];
    assert_ne!(u["verdict"], "fail", "{u}");
    assert_eq!(u["attempts"], 2, "{u}");
    assert!(u["retried"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("Too many connections"));
}

#[test]
fn text_output_and_trace_keep_every_password_out() {
    let server = flaky();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 5);
    let trace = dir.path().join("batch.trace");
    let jsonl = dir.path().join("out.jsonl");
    let out = batch(
        server.port,
        &csv,
        &[
            "--concurrency",
            "2",
            "--trace",
            trace.to_str().unwrap(),
            "--output",
            jsonl.to_str().unwrap(),
        ],
    );
    // Text: one line per user as it finishes, then the summary table.
    assert!(out.stdout.contains("u1 (line 2)"), "{out:?}");
    assert!(out.stdout.contains("rows:"), "{out:?}");
    assert!(out.stdout.contains("verdict:"), "{out:?}");
    let traced = std::fs::read_to_string(&trace).unwrap();
    let jsonl = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(jsonl.matches(r#""type":"user""#).count(), 5);
    for i in 1..=5 {
        assert!(
            traced.contains(&format!("user=u{i} line={}", i + 1)),
            "{traced}"
        );
        let secret = format!("Secret-{i}!");
        assert!(!traced.contains(&secret), "{traced}");
        assert!(!jsonl.contains(&secret));
        out.assert_no_secret(&secret);
    }
    assert!(traced.contains("LOGIN \"u1\" <redacted>"), "{traced}");
}

#[test]
fn connect_level_does_not_log_in() {
    let server = ScriptedServer::start_plain(
        "
        S: * OK [CAPABILITY IMAP4rev1] scripted ready
        C: $tag LOGOUT
        S: * BYE Logging out
        S: $tag OK Logout completed.
    ",
    );
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), 3);
    let out = batch(
        server.port,
        &csv,
        &["--format", "json", "--level", "connect"],
    );
    let users = users(&out.stdout);
    assert_eq!(users.len(), 3, "{out:?}");
    assert!(users.iter().all(|u| u["level"] == "connect"));
    server.assert_no_failures();
    assert!(!String::from_utf8_lossy(&server.received()).contains("LOGIN"));
}

/// A login the server takes its time over, so that a run can be
/// interrupted in the middle.
const SLOW: &str = "
    S: * OK [CAPABILITY IMAP4rev1] scripted ready
    C: $tag LOGIN *
    !sleep 150
    S: $tag OK [CAPABILITY IMAP4rev1] Logged in
    C: $tag LOGOUT
    S: * BYE Logging out
    S: $tag OK Logout completed.
";

/// Ctrl-C in the middle of a batch: the users in progress finish, the
/// summary says how many were never probed and how to resume (exit 3),
/// and `--resume` then probes exactly those.
#[test]
fn an_interrupted_run_finishes_its_users_and_resumes() {
    const N: usize = 20;
    let server = ScriptedServer::start(Mode::Plain, vec![SLOW; 2 * N]);
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), N);
    let out_file = dir.path().join("out.jsonl");
    let out = out_file.to_str().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_imapprobe"))
        .args(batch_args(
            server.port,
            &csv,
            &["--concurrency", "2", "--output", out],
        ))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&out_file)
        .map(|t| t.matches(r#""type":"user""#).count())
        .unwrap_or(0)
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(3),
        "{stderr}{stdout}{:?}",
        done.status
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The summary table (on stdout) says how to pick up.
    assert!(
        stdout.contains(&format!("--resume {out} --output {out}")),
        "{stdout}"
    );
    assert!(stdout.contains("users were not probed"), "{stdout}");

    let text = std::fs::read_to_string(&out_file).unwrap();
    let first = users(&text);
    assert!(first.len() >= 2 && first.len() < N, "{} users", first.len());
    // Every user that started finished: none was cut off mid-login (the
    // warning is --tls none's).
    assert!(
        first
            .iter()
            .all(|u| u["verdict"] == "warn" && u["login_ms"].is_u64()),
        "{text}"
    );
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary", "{text}");
    assert_eq!(summary["data"]["stopped"]["kind"], "interrupted");
    assert_eq!(summary["data"]["exit_code"], 3);
    assert_eq!(
        summary["data"]["counts"]["unprobed"].as_u64().unwrap() as usize,
        N - first.len(),
        "{summary}"
    );

    let resumed = batch(
        server.port,
        &csv,
        &["--resume", out, "--output", out, "--concurrency", "4"],
    );
    assert_eq!(resumed.code, 1, "warnings only: {resumed:?}");
    let all = users(&std::fs::read_to_string(&out_file).unwrap());
    let mut lines: Vec<u64> = all.iter().map(|u| u["line"].as_u64().unwrap()).collect();
    lines.dedup();
    assert_eq!(
        lines,
        (2..=N as u64 + 1).collect::<Vec<_>>(),
        "each user once"
    );
    server.assert_no_failures();
}

/// Wrong connection settings fail every row, each only after --timeout:
/// when the first users all fail before login the same way, the batch
/// starts no more of them and says what to fix; --keep-going probes every
/// row anyway.
#[test]
fn a_server_that_never_greets_stops_the_batch_early() {
    const N: usize = 12;
    // Accepts and never says a word, as a TLS port does to a plaintext client.
    let server = common::scripted::raw_tcp_listener_that_speaks(b"");
    let dir = tempfile::tempdir().unwrap();
    let csv = csv(dir.path(), N);
    let json = ["--format", "json", "--retries", "0", "--concurrency", "2"];

    let out = batch(server.port, &csv, &json);
    assert_eq!(out.code, 2, "{out:?}");
    let probed = users(&out.stdout);
    // Three users failed alike (the rule); at most the users already in
    // progress then (two per worker at this concurrency) come after them.
    assert!(
        (3..=3 + 2 * 2).contains(&probed.len()),
        "{} users probed",
        probed.len()
    );
    assert!(probed
        .iter()
        .all(|u| u["failures"] == serde_json::json!(["imap.greeting"])));
    let summary: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    let stopped = &summary["data"]["stopped"];
    assert_eq!(stopped["kind"], "server", "{summary}");
    assert!(
        stopped["reason"]
            .as_str()
            .unwrap()
            .starts_with("imap.greeting: no greeting"),
        "{summary}"
    );
    assert_eq!(
        summary["data"]["counts"]["unprobed"].as_u64().unwrap() as usize,
        N - probed.len()
    );
    assert!(out.stderr.contains("--keep-going"), "{}", out.stderr);
    assert!(out.stderr.contains("STOPPED EARLY"), "{}", out.stderr);

    let mut all = json.to_vec();
    all.push("--keep-going");
    let out = batch(server.port, &csv, &all);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(users(&out.stdout).len(), N);
    let summary: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert!(summary["data"]["stopped"].is_null(), "{summary}");
}
