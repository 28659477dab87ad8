//! Starts a throwaway Dovecot with a sample mailbox (the same fixture the
//! tests use) and runs `imapprobe test-server` against it: implicit TLS on
//! the imaps port, then STARTTLS on the imap port. `--keep` leaves the
//! server running until Ctrl-C and prints how to reach it.
//! Run through `scripts/demo`, which builds the binary first.

#![allow(dead_code)]

// The fixture refers to its sibling as `super::certs`: both sit at the root here.
#[path = "../tests/common/certs.rs"]
mod certs;
#[path = "../tests/common/dovecot.rs"]
mod dovecot;

use dovecot::{Dovecot, ALICE_PASSWORD};
use std::process::Command;

fn main() {
    let keep = std::env::args().any(|a| a == "--keep");
    let exe = std::env::current_exe().expect("own path");
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("imapprobe"))
        .expect("target dir");
    let dovecot = Dovecot::start_default();
    dovecot.seed_sample_mailbox("alice");
    let ca = dovecot.ca_file.display().to_string();
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
            "Dovecot keeps running: imaps localhost:{}, imap localhost:{}, CA {ca}, user alice, password in tests/common/dovecot.rs (ALICE_PASSWORD). Ctrl-C stops it.",
            dovecot.imaps_port, dovecot.imap_port
        );
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    drop(dovecot);
    std::process::exit(worst);
}
