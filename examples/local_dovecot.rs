//! Starts a throwaway Dovecot with a sample mailbox (the same fixture the
//! tests use) and runs `imapprobe test-server` against it: implicit TLS on
//! the imaps port, then STARTTLS on the imap port. `--keep` leaves the
//! server running until Enter is pressed and prints how to reach it;
//! `--serve FILE` only starts it, writes its ports, CA and password to FILE
//! as shell variables, and serves until FILE is removed (for benchmarks).
//! Run through `scripts/demo`, which builds the binary first.

#![allow(dead_code)]

// The fixture refers to its sibling as `super::certs`: both sit at the root here.
#[path = "../tests/common/certs.rs"]
mod certs;
#[path = "../tests/common/dovecot.rs"]
mod dovecot;

use dovecot::{Dovecot, ALICE_PASSWORD};

const BENCH_PASSWORD: &str = "bench-pw";
use std::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let keep = args.iter().any(|a| a == "--keep");
    let serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1).cloned());
    let exe = std::env::current_exe().expect("own path");
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("imapprobe"))
        .expect("target dir");
    // `bench` has an ASCII password: Python's imaplib, the benchmark's peer,
    // cannot send alice's (it refuses non-ASCII in LOGIN).
    let dovecot = Dovecot::builder()
        .user("alice", ALICE_PASSWORD)
        .user("bench", BENCH_PASSWORD)
        .start();
    dovecot.seed_sample_mailbox("alice");
    let ca = dovecot.ca_file.display().to_string();
    if let Some(file) = serve {
        let vars = format!(
            "IMAPS_PORT={}\nIMAP_PORT={}\nCA_FILE={ca}\nIMAP_USER=bench\nIMAP_PW={BENCH_PASSWORD}\n",
            dovecot.imaps_port, dovecot.imap_port,
        );
        std::fs::write(&file, vars).expect("write the serve file");
        // Serve until the file is removed: a signal would skip the fixture's
        // Drop and leave Dovecot running.
        while std::path::Path::new(&file).exists() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        return;
    }
    let mut worst = 0;
    for (port, tls) in [
        (dovecot.imaps_port, "implicit"),
        (dovecot.imap_port, "starttls"),
    ] {
        let port = port.to_string();
        let args = [
            "test-server",
            "--host",
            "localhost",
            "--port",
            &port,
            "--tls",
            tls,
            "--ca-file",
            &ca,
            "--user",
            "alice",
            "--password-env",
            "IMAPPROBE_DEMO_PASSWORD",
        ];
        println!("$ IMAPPROBE_DEMO_PASSWORD=… imapprobe {}\n", args.join(" "));
        let status = Command::new(&bin)
            .args(args)
            .env("IMAPPROBE_DEMO_PASSWORD", ALICE_PASSWORD)
            .status()
            .expect("run imapprobe (build it with `cargo build --release`)");
        worst = worst.max(status.code().unwrap_or(3));
        println!();
    }
    if keep {
        println!(
            "Dovecot keeps running: imaps localhost:{}, imap localhost:{}, CA {ca}, user alice, password in tests/common/dovecot.rs (ALICE_PASSWORD). Press Enter to stop it.",
            dovecot.imaps_port, dovecot.imap_port
        );
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    drop(dovecot);
    std::process::exit(worst);
}
