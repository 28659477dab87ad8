//! Starts a throwaway Dovecot with a sample mailbox (the same fixture the
//! tests use) and runs imapprobe against it: `test-server` over STARTTLS
//! on the imap port (what Test-MigrationServerAvailability answers), then
//! `check` over implicit TLS on the imaps port (connection, folders,
//! messages, grammar and compliance probes in one report). `--keep` leaves the
//! server running until Enter is pressed and prints how to reach it;
//! `--serve FILE` only starts it, writes its ports, CA and password to FILE
//! as shell variables, and serves until FILE is removed (for benchmarks).
//! `--serve-bulk FILE FOLDERS PER_FOLDER` does the same after seeding the
//! bench user with `FOLDERS` folders of `PER_FOLDER` small messages each
//! (`Dovecot::seed_bulk`) and having Dovecot index them (for `bench/check.sh`).
//! `--serve-users FILE N` serves with N generated users (`user0001` …) and
//! writes their migration CSV to FILE.csv (for `bench/batch.sh`).
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
    let mut serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1).cloned());
    let bulk = args.iter().position(|a| a == "--serve-bulk").map(|i| {
        let arg = |k: usize, what: &str| {
            args.get(i + k)
                .unwrap_or_else(|| panic!("--serve-bulk FILE FOLDERS PER_FOLDER: missing {what}"))
                .clone()
        };
        let number = |k: usize, what: &str| -> usize {
            arg(k, what)
                .parse()
                .unwrap_or_else(|e| panic!("--serve-bulk: {what}: {e}"))
        };
        (
            arg(1, "FILE"),
            number(2, "FOLDERS"),
            number(3, "PER_FOLDER"),
        )
    });
    // `--serve-users FILE N`: as --serve, with N generated users and their
    // migration CSV in FILE.csv (for `bench/batch.sh`).
    let generated = args.iter().position(|a| a == "--serve-users").map(|i| {
        let file = args.get(i + 1).expect("--serve-users FILE N: missing FILE");
        let n: usize = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .expect("--serve-users FILE N: missing N");
        (file.clone(), n)
    });
    let exe = std::env::current_exe().expect("own path");
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("imapprobe"))
        .expect("target dir");
    // `bench` has an ASCII password: Python's imaplib, the benchmark's peer,
    // cannot send alice's (it refuses non-ASCII in LOGIN).
    let mut builder = Dovecot::builder()
        .user("alice", ALICE_PASSWORD)
        .user("bench", BENCH_PASSWORD);
    // The bulk mailbox is ~100,000 files: on a tmpfs they are written
    // several times faster, and the benchmark meets no disk noise.
    let shm = std::path::Path::new("/dev/shm");
    if bulk.is_some() && shm.is_dir() {
        builder = builder.temp_root(shm);
    }
    if let Some((_, n)) = &generated {
        builder = builder.users_generated(*n);
    }
    let dovecot = builder.start();
    if let Some((file, n)) = &generated {
        write_users_csv(&format!("{file}.csv"), *n);
        serve = Some(file.clone());
    }
    dovecot.seed_sample_mailbox("alice");
    if let Some((file, folders, per_folder)) = bulk {
        serve_bulk_seed(&dovecot, folders, per_folder);
        serve = Some(file);
    }
    let ca = dovecot.ca_file.display().to_string();
    if let Some(file) = serve {
        let vars = format!(
            "IMAPS_PORT={}\nIMAP_PORT={}\nCA_FILE={ca}\nIMAP_USER=bench\nIMAP_PW={BENCH_PASSWORD}\n",
            dovecot.imaps_port, dovecot.imap_port,
        );
        // The master's pid lets a benchmark read Dovecot's CPU time.
        let extra = match &generated {
            Some(_) => format!(
                "DOVECOT_PID={}\nUSERS_CSV={file}.csv\n",
                dovecot.master_pid().unwrap_or(0)
            ),
            None => String::new(),
        };
        std::fs::write(&file, vars + &extra).expect("write the serve file");
        // Serve until the file is removed: a signal would skip the fixture's
        // Drop and leave Dovecot running.
        while std::path::Path::new(&file).exists() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        return;
    }
    let mut worst = 0;
    for (command, port, tls) in [
        ("test-server", dovecot.imap_port, "starttls"),
        ("check", dovecot.imaps_port, "implicit"),
    ] {
        let port = port.to_string();
        let args = [
            command,
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

/// Seeds `bench` with `Dovecot::seed_bulk` and has Dovecot index every
/// folder (assign the UIDs, build the index and cache the fields a sweep
/// fetches), so that every benchmarked client meets a warm server.
/// Reports both times on stderr.
fn serve_bulk_seed(dovecot: &Dovecot, folders: usize, per_folder: usize) {
    let seed = dovecot.seed_bulk("bench", folders, per_folder);
    eprintln!(
        "local-dovecot: seed_bulk wrote {} folders x {} = {} messages, {:.1} MB, in {:.2?} (under {})",
        folders,
        per_folder,
        seed.messages,
        seed.bytes as f64 / 1e6,
        seed.elapsed,
        dovecot.dir.display()
    );
    let started = std::time::Instant::now();
    // One doveadm run over all of them (`mailbox` takes a wildcard).
    dovecot.doveadm_ok(&[
        "fetch",
        "-u",
        "bench",
        "uid size.virtual date.received flags",
        "mailbox",
        "Bulk*",
        "ALL",
    ]);
    eprintln!(
        "local-dovecot: Dovecot indexed them in {:.2?}",
        started.elapsed()
    );
}

/// The migration CSV of `users_generated(n)`: EmailAddress,UserName,Password.
fn write_users_csv(path: &str, n: usize) {
    let mut csv = String::from("EmailAddress,UserName,Password\n");
    for i in 1..=n {
        let (name, pw) = dovecot::generated_user(i);
        csv.push_str(&format!("{name}@example.org,{name},{pw}\n"));
    }
    std::fs::write(path, csv).expect("write the users CSV");
}
