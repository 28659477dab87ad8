//! `imapprobe batch` against a real Dovecot with 200 generated users:
//! every row's result is right at `--level login` and `--level folders`,
//! including the rows with wrong passwords, and a run killed with SIGKILL
//! in the middle then `--resume`d yields every user exactly once.

mod common;

use common::dovecot::{generated_user, Dovecot};
use common::run::{imapprobe, Outcome};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

const USERS: usize = 200;

/// Every tenth row carries a wrong password.
fn wrong(i: usize) -> bool {
    i % 10 == 7
}

fn write_csv(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from("EmailAddress,UserName,Password\r\n");
    for i in 1..=USERS {
        let (name, mut pw) = generated_user(i);
        if wrong(i) {
            pw = format!("wrong-{i}");
        }
        csv.push_str(&format!("{name}@example.org,{name},{pw}\r\n"));
    }
    let path = dir.join("users.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn start() -> Dovecot {
    Dovecot::builder().users_generated(USERS).start()
}

/// `batch` over `csv` against the fixture's implicit-TLS port.
fn batch_args(d: &Dovecot, csv: &Path, extra: &[&str]) -> Vec<String> {
    let port = d.imaps_port.to_string();
    let mut args = vec![
        "batch",
        "--csv",
        csv.to_str().unwrap(),
        "--host",
        "localhost",
        "--port",
        &port,
        "--tls",
        "implicit",
        "--ca-file",
        d.ca_file.to_str().unwrap(),
        "--timeout",
        "20s",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

fn batch(d: &Dovecot, csv: &Path, extra: &[&str]) -> Outcome {
    let args = batch_args(d, csv, extra);
    imapprobe(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
}

/// The `user` records of a JSON Lines file, by user name; panics on a
/// user seen twice.
fn users_in(text: &str) -> HashMap<String, Value> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        if v["type"] == "user" {
            let name = v["data"]["user"].as_str().unwrap().to_string();
            assert!(
                users.insert(name.clone(), v["data"].clone()).is_none(),
                "{name} twice"
            );
        }
    }
    users
}

/// Every row's verdict is right, and no password reached the output.
fn assert_rows_right(users: &HashMap<String, Value>, all_text: &str) {
    assert_eq!(users.len(), USERS);
    for i in 1..=USERS {
        let (name, pw) = generated_user(i);
        let u = &users[&name];
        assert_eq!(u["line"], i + 1, "{u}");
        assert_eq!(u["email"], format!("{name}@example.org"));
        if wrong(i) {
            assert_eq!(u["verdict"], "fail", "{name}: {u}");
            assert_eq!(u["failures"], serde_json::json!(["auth.login"]), "{u}");
            assert!(
                u["reason"]
                    .as_str()
                    .unwrap()
                    .contains("[AUTHENTICATIONFAILED]"),
                "{u}"
            );
            assert_eq!(u["attempts"], 1, "a refused login is not retried: {u}");
            assert!(!all_text.contains(&format!("wrong-{i},")));
        } else {
            assert_ne!(u["verdict"], "fail", "{name}: {u}");
            let login = u["report"]["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == "auth.login")
                .unwrap()
                .clone();
            assert_eq!(login["status"], "pass", "{u}");
            assert!(u["login_ms"].as_u64().is_some(), "{u}");
        }
        // Every row reports the certificate it was shown, not only the
        // first: the chain's verdict is reused, its report is not dropped.
        let tls = &u["report"]["facts"]["tls"];
        assert_eq!(tls["verification"], "trusted", "{name}: {tls}");
        assert_eq!(tls["chain"][0]["subject"], "CN=localhost", "{tls}");
        assert_eq!(tls["host_matches"], true, "{tls}");
        assert!(tls["days_left"].as_i64().unwrap() > 30, "{tls}");
        assert!(!all_text.contains(&pw), "password of {name} leaked");
    }
}

#[test]
fn login_level_gets_every_row_right() {
    let d = start();
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path());
    let out_file = dir.path().join("out.jsonl");
    let t = Instant::now();
    let out = batch(
        &d,
        &csv,
        &[
            "--format",
            "json",
            "--output",
            out_file.to_str().unwrap(),
            "--concurrency",
            "20",
            "--max-connections",
            "20",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    let users = users_in(&text);
    assert_rows_right(&users, &format!("{text}{}{}", out.stdout, out.stderr));
    // With --output, stdout is the summary record; the table is on stderr.
    let summary: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(summary["type"], "summary");
    let counts = &summary["data"]["counts"];
    assert_eq!(counts["failed"], 20, "{summary}");
    assert_eq!(
        counts["passed"].as_u64().unwrap() + counts["warned"].as_u64().unwrap(),
        180
    );
    assert_eq!(summary["data"]["failures_by_id"][0]["id"], "auth.login");
    // The run's memory is in the summary, once, not in every row.
    assert!(summary["data"]["peak_rss_kib"].as_u64().unwrap() > 1000);
    assert!(users
        .values()
        .all(|u| u["report"]["facts"]["peak_rss_kib"].is_null()));
    assert!(out.stderr.contains("FAILURES BY CHECK"), "{out:?}");
    assert!(out.stderr.contains("SLOWEST LOGINS"), "{out:?}");
    // The last line of the file is the same summary.
    assert_eq!(text.lines().last().unwrap(), out.stdout.trim());
    eprintln!("200 logins at concurrency 20: {:?}", t.elapsed());
}

#[test]
fn folders_level_gets_every_row_right() {
    let d = start();
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path());
    let t = Instant::now();
    // No --output: with --format json the JSON Lines go to stdout.
    let out = batch(
        &d,
        &csv,
        &[
            "--level",
            "folders",
            "--format",
            "json",
            "--concurrency",
            "20",
            "--max-connections",
            "20",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let users = users_in(&out.stdout);
    assert_rows_right(&users, &format!("{}{}", out.stdout, out.stderr));
    for i in (1..=USERS).filter(|&i| !wrong(i)) {
        let u = &users[&generated_user(i).0];
        assert_eq!(u["level"], "folders");
        assert_eq!(u["report"]["command"], "folders");
        let folders = u["report"]["tree"]["folders"].as_array().unwrap();
        assert!(folders.iter().any(|f| f["name"] == "INBOX"), "{u}");
    }
    for i in (1..=USERS).filter(|&i| wrong(i)) {
        assert!(users[&generated_user(i).0]["report"]["tree"].is_null());
    }
    eprintln!("200 users at --level folders: {:?}", t.elapsed());
}

#[test]
fn a_killed_run_resumed_yields_every_user_once() {
    let d = start();
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path());
    let out_file = dir.path().join("out.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imapprobe"))
        .args(batch_args(
            &d,
            &csv,
            &["--concurrency", "2", "--output", out_file.to_str().unwrap()],
        ))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = std::fs::read_to_string(&out_file)
            .map(|t| t.matches(r#""type":"user""#).count())
            .unwrap_or(0);
        if done >= 30 {
            break;
        }
        assert!(Instant::now() < deadline, "the batch made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to finish anything
    child.wait().unwrap();
    let before = std::fs::read_to_string(&out_file).unwrap();
    let first_run = before.matches(r#""type":"user""#).count();
    assert!(first_run < USERS, "the run finished before it was killed");
    assert!(!before.contains(r#""type":"summary""#));

    let out = batch(
        &d,
        &csv,
        &[
            "--resume",
            out_file.to_str().unwrap(),
            "--output",
            out_file.to_str().unwrap(),
            "--format",
            "json",
            "--concurrency",
            "20",
            "--max-connections",
            "20",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    // A line a kill tore in half would be the only one that is not JSON.
    let torn = text
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_err())
        .count();
    assert!(torn <= 1, "{torn} lines are not JSON");
    let valid: String = text
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .map(|l| format!("{l}\n"))
        .collect();
    let users = users_in(&valid);
    assert_rows_right(&users, &text);
    let summary: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let resumed = summary["data"]["counts"]["resumed"].as_u64().unwrap() as usize;
    assert!(
        resumed + torn >= first_run && resumed <= first_run,
        "{summary}"
    );
}

/// A certificate for another name is caught on every row (--keep-going),
/// not only on the first one whose verdict the later handshakes reuse; by
/// default the batch stops after the first users, since every row would
/// fail alike; with `--insecure` every row logs in and still says what is
/// wrong with the certificate.
#[test]
fn a_wrong_certificate_fails_every_row() {
    const N: usize = 24;
    let d = Dovecot::builder()
        .users_generated(N)
        .cert(common::certs::CertKind::WrongHost)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("UserName,Password\n");
    for i in 1..=N {
        let (name, pw) = generated_user(i);
        csv.push_str(&format!("{name},{pw}\n"));
    }
    let csv_path = dir.path().join("users.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let common = ["--format", "json", "--concurrency", "4", "--retries", "0"];

    let out = batch(&d, &csv_path, &common);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(users_in(&out.stdout).len() < N, "{out:?}");
    let summary: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    let reason = summary["data"]["stopped"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("tls.handshake:") && reason.contains("not valid for this host name"),
        "{summary}"
    );

    let mut every = common.to_vec();
    every.push("--keep-going");
    let out = batch(&d, &csv_path, &every);
    assert_eq!(out.code, 2, "{out:?}");
    let users = users_in(&out.stdout);
    assert_eq!(users.len(), N);
    for (name, u) in &users {
        assert_eq!(u["verdict"], "fail", "{name}: {u}");
        let failures = u["failures"].as_array().unwrap();
        assert!(
            failures
                .iter()
                .any(|f| f.as_str().unwrap().starts_with("tls.")),
            "{name}: {u}"
        );
        assert!(u["login_ms"].is_null(), "{name} logged in: {u}");
    }

    let mut insecure = common.to_vec();
    insecure.push("--insecure");
    let out = batch(&d, &csv_path, &insecure);
    assert_eq!(out.code, 2, "{out:?}");
    let users = users_in(&out.stdout);
    assert_eq!(users.len(), N);
    for (name, u) in &users {
        assert!(u["login_ms"].as_u64().is_some(), "{name}: {u}");
        assert_eq!(
            u["failures"],
            serde_json::json!(["tls.certificate.trust", "tls.certificate.hostname"]),
            "{name}: {u}"
        );
        let tls = &u["report"]["facts"]["tls"];
        assert_eq!(
            tls["verification"], "certificate is not valid for this host name",
            "{tls}"
        );
        assert_eq!(tls["host_matches"], false, "{tls}");
        assert_eq!(
            tls["chain"][0]["sans"][0], "DNS:mail.example.invalid",
            "{tls}"
        );
    }
}
