#![forbid(unsafe_code)]

use clap::Parser;
use imapprobe::cli::{Cli, CommandKind};
use imapprobe::secret::redact;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("imapprobe: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match cli.command {
        CommandKind::TestServer(args) => {
            let (cfg, out) = match args.resolve() {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("imapprobe: {e}");
                    return ExitCode::from(3);
                }
            };
            let report = match runtime.block_on(imapprobe::commands::test_server(&cfg)) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("imapprobe: {e}");
                    return ExitCode::from(3);
                }
            };
            let secrets: Vec<_> = cfg.credentials.iter().map(|c| &c.secret).collect();
            let text = redact(
                &imapprobe::report::render(&report, out.format, out.color),
                &secrets,
            );
            print_quietly(&text);
            ExitCode::from(report.exit_code)
        }
        CommandKind::Lint(args) => {
            let (name, bytes) = match args.read() {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("imapprobe: {e}");
                    return ExitCode::from(3);
                }
            };
            let out = args.output();
            let report = imapprobe::commands::lint(&name, &bytes, args.utf8_accept);
            print_quietly(&imapprobe::report::render(&report, out.format, out.color));
            ExitCode::from(report.exit_code)
        }
    }
}

/// Prints, and exits quietly when the reader went away (`| head`).
fn print_quietly(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("imapprobe: {e}");
        }
    }
}
