#![forbid(unsafe_code)]

use imapprobe::cli::{Cli, CommandKind, FoldersArgs, Output};
use imapprobe::config::ProbeConfig;
use imapprobe::report::{Format, Report};
use imapprobe::secret::redact;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return ExitCode::from(0);
            }
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            unknown_for_nagios(first);
            return ExitCode::from(3);
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
                Err(e) => return could_not_run(e),
            };
            match runtime.block_on(imapprobe::commands::test_server(&cfg)) {
                Ok(report) => finish(&report, out, &cfg),
                Err(e) => could_not_run(e),
            }
        }
        CommandKind::Folders(args) => {
            let (cfg, out) = match args.conn.resolve() {
                Ok(x) => x,
                Err(e) => return could_not_run(e),
            };
            let selection = args.selection();
            let run = imapprobe::commands::folders(&cfg, args.target, &selection);
            match runtime.block_on(run) {
                Ok(report) => excludes_then_finish(&report, &args, out, &cfg),
                Err(e) => could_not_run(e),
            }
        }
        CommandKind::Check(args) => {
            let (cfg, out) = match args.folders.conn.resolve() {
                Ok(x) => x,
                Err(e) => return could_not_run(e),
            };
            let probes = match args.probes() {
                Ok(p) => p,
                Err(e) => return could_not_run(e),
            };
            let f = &args.folders;
            let (selection, sweep) = (f.selection(), args.sweep_options());
            let run =
                imapprobe::commands::check(&cfg, f.target, &selection, &sweep, args.quiet, &probes);
            match runtime.block_on(run) {
                Ok(report) => excludes_then_finish(&report, f, out, &cfg),
                Err(e) => could_not_run(e),
            }
        }
        CommandKind::Batch(args) => match runtime.block_on(imapprobe::batch::run(&args)) {
            Ok(code) => ExitCode::from(code),
            Err(e) => could_not_run(e),
        },
        CommandKind::Probes(args) => {
            let run = match &args.action {
                Some(imapprobe::cli::ProbesAction::Run(run)) => run,
                None => {
                    return match imapprobe::probe::select(&[], args.probes_dir.as_deref()) {
                        Ok(probes) => {
                            print_quietly(&imapprobe::probe::list(&probes));
                            ExitCode::SUCCESS
                        }
                        Err(e) => could_not_run(e),
                    };
                }
            };
            let probes = match imapprobe::probe::select(&run.probe, run.probes_dir.as_deref()) {
                Ok(p) => p,
                Err(e) => return could_not_run(e),
            };
            let (cfg, out) = match run.conn.resolve() {
                Ok(x) => x,
                Err(e) => return could_not_run(e),
            };
            match runtime.block_on(imapprobe::commands::run_probes(&cfg, &probes)) {
                Ok(report) => finish(&report, out, &cfg),
                Err(e) => could_not_run(e),
            }
        }
        CommandKind::Lint(args) => {
            let (name, bytes) = match args.read() {
                Ok(x) => x,
                Err(e) => return could_not_run(e),
            };
            let out = args.output();
            let report = imapprobe::commands::lint(&name, &bytes, args.utf8_accept);
            print_quietly(&imapprobe::report::render(&report, out.format, out.color));
            ExitCode::from(report.exit_code)
        }
    }
}

/// Writes `--suggest-excludes` when asked, then prints the report.
fn excludes_then_finish(
    report: &Report,
    args: &FoldersArgs,
    out: Output,
    cfg: &ProbeConfig,
) -> ExitCode {
    if let (Some(path), Some(tree)) = (&args.suggest_excludes, &report.tree) {
        let names = imapprobe::hierarchy::suggested_excludes(tree, &report.findings);
        let text: String = names.iter().map(|n| format!("{n}\n")).collect();
        if let Err(e) = std::fs::write(path, text) {
            return could_not_run(format!("cannot write {}: {e}", path.display()));
        }
    }
    finish(report, out, cfg)
}

/// Exit 3 with the reason on stderr — and, for a monitor that asked for
/// `--format nagios`, an UNKNOWN status line on stdout, as the plugin
/// guidelines want.
fn could_not_run(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("imapprobe: {e}");
    unknown_for_nagios(&e.to_string());
    ExitCode::from(3)
}

/// The UNKNOWN line, when Nagios output was asked for.
fn unknown_for_nagios(reason: &str) {
    if wants_nagios() {
        // '|' would start perfdata.
        let reason = reason.lines().next().unwrap_or("").replace('|', "/");
        print_quietly(&format!("IMAP UNKNOWN - {reason}\n"));
    }
}

/// Whether the command line asks for Nagios output (read raw, because the
/// arguments may not have parsed).
fn wants_nagios() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|w| w[0] == "--format" && w[1] == "nagios")
        || args.iter().any(|a| a == "--format=nagios")
}

/// Prints the report with every secret of the run redacted, and maps the
/// verdict to the exit code.
fn finish(report: &Report, out: Output, cfg: &ProbeConfig) -> ExitCode {
    let secrets: Vec<_> = cfg.credentials.iter().map(|c| &c.secret).collect();
    // Nagios has its own exit codes: the thresholds may raise the state.
    let (rendered, code) = match out.format {
        Format::Nagios => imapprobe::report::nagios::render(report, &out.thresholds),
        f => (
            imapprobe::report::render(report, f, out.color),
            report.exit_code,
        ),
    };
    print_quietly(&redact(&rendered, &secrets));
    ExitCode::from(code)
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
