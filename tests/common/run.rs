//! Runs the real `imapprobe` binary, the way an admin or a monitor would.

use std::process::{Command, Stdio};

/// What one run of the binary produced.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The JSON report on stdout; panics with the output when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The finding with this id, from the JSON report.
    pub fn finding(&self, id: &str) -> serde_json::Value {
        let json = self.json();
        json["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["id"] == id).cloned())
            .unwrap_or_else(|| panic!("no finding {id} in:\n{}", self.stdout))
    }

    /// The finding with this id, asserted to have failed with `words` in
    /// its message.
    pub fn failed_with(&self, id: &str, words: &str) -> serde_json::Value {
        let f = self.finding(id);
        assert_eq!(f["status"], "fail", "{id}: {self:?}");
        let message = f["message"].as_str().unwrap_or("");
        assert!(message.contains(words), "{id}: {message:?} lacks {words:?}");
        f
    }

    /// Every finding with this id.
    pub fn with_id(&self, id: &str) -> Vec<serde_json::Value> {
        self.json()["findings"]
            .as_array()
            .map(|fs| fs.iter().filter(|f| f["id"] == id).cloned().collect())
            .unwrap_or_default()
    }

    /// Whether a finding with this id exists.
    pub fn has_finding(&self, id: &str) -> bool {
        self.json()["findings"]
            .as_array()
            .is_some_and(|fs| fs.iter().any(|f| f["id"] == id))
    }

    /// The status of the finding with this id.
    pub fn status(&self, id: &str) -> String {
        self.finding(id)["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Asserts the secret appears nowhere in what the run printed.
    pub fn assert_no_secret(&self, secret: &str) {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "the secret leaked into the output:\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `imapprobe ARGS` with extra environment variables, no stdin.
pub fn imapprobe(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imapprobe"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run imapprobe");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `imapprobe COMMAND` against the fixture Dovecot's implicit-TLS port
/// as alice, JSON unless `extra` names a format.
pub fn against_dovecot(d: &super::dovecot::Dovecot, command: &str, extra: &[&str]) -> Outcome {
    let port = d.imaps_port.to_string();
    let ca = d.ca_file.to_string_lossy().into_owned();
    let mut args = vec![
        command,
        "--host",
        "localhost",
        "--port",
        &port,
        "--tls",
        "implicit",
        "--ca-file",
        &ca,
        "--user",
        "alice",
        "--password-env",
        "PW",
        "--timeout",
        "30s",
    ];
    if !extra.contains(&"--format") {
        args.extend_from_slice(&["--format", "json"]);
    }
    args.extend_from_slice(extra);
    imapprobe(&args, &[("PW", super::dovecot::ALICE_PASSWORD)])
}

/// Runs `imapprobe COMMAND…` (e.g. `["folders"]`, `["probes", "run"]`)
/// against a scripted server on `port` in plaintext as alice with password
/// `pw` (the scripts' LOGIN line), JSON unless `extra` names a format.
pub fn against_scripted(command: &[&str], port: u16, extra: &[&str]) -> Outcome {
    let port = port.to_string();
    let mut args: Vec<&str> = command.to_vec();
    args.extend_from_slice(&[
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--tls",
        "none",
        "--allow-plaintext-auth",
        "--user",
        "alice",
        "--password-env",
        "PW",
    ]);
    if !extra.contains(&"--timeout") {
        args.extend_from_slice(&["--timeout", "5s"]);
    }
    if !extra.contains(&"--format") {
        args.extend_from_slice(&["--format", "json"]);
    }
    args.extend_from_slice(extra);
    imapprobe(&args, &[("PW", "pw")])
}

/// `batch` over `csv` against a plaintext scripted server on `port`
/// (credentials allowed in the clear); `--timeout 3s` unless `extra` has one.
pub fn scripted_batch_args(port: u16, csv: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let port = port.to_string();
    let mut args = vec![
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
    ];
    if !extra.contains(&"--timeout") {
        args.extend_from_slice(&["--timeout", "3s"]);
    }
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

/// Runs imapprobe with owned arguments and no extra environment.
pub fn imapprobe_owned(args: &[String]) -> Outcome {
    imapprobe(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
}
