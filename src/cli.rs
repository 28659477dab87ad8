//! Command-line flags (clap), and their resolution into the configuration
//! the rest of the program reads. Problems here are usage errors (exit 3).

use crate::auth::{Credentials, Mechanism};
use crate::config::{ProbeConfig, TlsMode};
use crate::report::Format;
use crate::secret::SecretSource;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "imapprobe",
    version,
    about = "Read-only IMAP server probe: can this server be migrated from, or trusted in production, and if not, why not",
    after_help = "Exit codes: 0 pass, 1 warnings only, 2 failures, 3 could not run."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CommandKind,
}

/// Flags of one mailbox that `batch` shares through its flattened
/// arguments but refuses (the CSV gives users and passwords): hidden from
/// `batch --help`, still refused with a reason when given.
const SINGLE_MAILBOX_FLAGS: &[&str] = &[
    "user",
    "authz_user",
    "password_env",
    "password_file",
    "token_env",
    "token_file",
    "suggest_excludes",
];

impl Cli {
    /// Parses the process's arguments, with the help of each subcommand
    /// showing only the flags it takes.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command().mut_subcommand("batch", |mut batch| {
            for id in SINGLE_MAILBOX_FLAGS {
                batch = batch.mut_arg(*id, |a| a.hide(true));
            }
            batch
        });
        let mut matches = command.try_get_matches()?;
        Cli::from_arg_matches_mut(&mut matches)
    }
}

#[derive(Subcommand, Debug)]
pub enum CommandKind {
    /// Connectivity, TLS, greeting, capabilities and (with --user) login,
    /// like Test-MigrationServerAvailability but local and with reasons.
    TestServer(Box<ConnArgs>),
    /// The folder tree, like Get-ImapFolders.ps1 but with the findings
    /// that break migrations: hidden parents, invalid names, collisions,
    /// limits, and every folder examined (read-only).
    Folders(Box<FoldersArgs>),
    /// Everything before a migration: connection, TLS, login, the folder
    /// tree, every message's metadata, sampled (or all) messages fetched
    /// whole as a migration fetches them, large items, sizes and a time
    /// estimate. Read-only.
    Check(Box<CheckArgs>),
    /// Check a saved transcript (`S: `/`C: ` lines, an imapprobe --trace
    /// file, or raw server bytes) against the RFC 3501 grammar.
    Lint(LintArgs),
    /// List the compliance probes (the built-in suite, and --probes-dir's):
    /// id, title, RFC, required capabilities and state.
    Probes(Box<ProbesArgs>),
    /// Every row of a migration CSV (EmailAddress,UserName,Password):
    /// connect, log in, and with --level the folders or the whole check,
    /// many users at once; one JSON line per user as each finishes.
    Batch(Box<crate::batch::BatchArgs>),
}

/// Options of `folders`.
#[derive(Args, Debug, Clone)]
pub struct FoldersArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The migration target whose limits and rules apply.
    #[arg(long, value_enum, default_value = "exchange-online")]
    pub target: crate::targets::Target,
    /// Only look into folders matching this glob (`*`, `?`), on decoded names; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out folders matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Write the folders to exclude from the migration batch to FILE, one per line.
    #[arg(long, value_name = "FILE")]
    pub suggest_excludes: Option<PathBuf>,
}

impl FoldersArgs {
    /// Which folders to look into.
    pub fn selection(&self) -> crate::folders::Selection {
        crate::folders::Selection {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

/// Options of `check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub folders: FoldersArgs,
    /// UIDs per metadata FETCH.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunk: u32,
    /// Messages per folder fetched whole (first, last, largest, then random).
    #[arg(long, default_value_t = 3)]
    pub sample: usize,
    /// Fetch every message whole, not a sample.
    #[arg(long)]
    pub full: bool,
    /// Messages above this many MiB are large items (default: the target's, 35 for Exchange Online).
    #[arg(long, value_name = "MIB")]
    pub large_item_mib: Option<u64>,
    /// Messages above this many MiB cannot move at all (default: the target's, 150 for Exchange Online).
    #[arg(long, value_name = "MIB")]
    pub max_item_mib: Option<u64>,
    /// The migration rate to estimate for, e.g. 300MB/h, 2GB/24h.
    #[arg(long, default_value = "300MB/h", value_parser = crate::sweep::parse_rate)]
    pub target_rate: f64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Run only this compliance probe (repeatable; `imapprobe probes` lists them).
    #[arg(long = "probe", value_name = "ID")]
    pub probe: Vec<String>,
    /// Also run the probes (`*.probe`) in DIR.
    #[arg(long, value_name = "DIR")]
    pub probes_dir: Option<PathBuf>,
    /// Do not run the compliance probes.
    #[arg(long, conflicts_with_all = ["probe", "probes_dir"])]
    pub no_probes: bool,
}

impl CheckArgs {
    /// The sweep's options: flags first, then the target's limits.
    pub fn sweep_options(&self) -> crate::sweep::SweepOptions {
        let limits = self.folders.target.limits();
        crate::sweep::SweepOptions {
            chunk: self.chunk as usize,
            sample: self.sample,
            full: self.full,
            large_item: self
                .large_item_mib
                .map_or(limits.large_item_bytes, |m| m * 1024 * 1024),
            max_item: self
                .max_item_mib
                .map_or(limits.max_item_bytes, |m| m * 1024 * 1024),
            target_rate: self.target_rate,
            ..crate::sweep::SweepOptions::default()
        }
    }
}

impl CheckArgs {
    /// The compliance probes to run: none with --no-probes; a probe file
    /// that does not load (or writes) is a usage error.
    pub fn probes(&self) -> Result<Vec<crate::probe::Probe>, UsageError> {
        if self.no_probes {
            return Ok(Vec::new());
        }
        crate::probe::select(&self.probe, self.probes_dir.as_deref()).map_err(UsageError)
    }
}

/// Options of `probes`.
#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProbesArgs {
    /// Also list the probes (`*.probe`) in DIR.
    #[arg(long, value_name = "DIR")]
    pub probes_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Option<ProbesAction>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ProbesAction {
    /// Connect, log in and run the selected probes, nothing else (for
    /// tests and probe authors: no folder walk, no sweep).
    #[command(hide = true)]
    Run(Box<ProbesRunArgs>),
}

/// Options of `probes run`.
#[derive(Args, Debug, Clone)]
pub struct ProbesRunArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Only this probe (repeatable).
    #[arg(long = "probe", value_name = "ID")]
    pub probe: Vec<String>,
    /// Also run the probes (`*.probe`) in DIR.
    #[arg(long, value_name = "DIR")]
    pub probes_dir: Option<PathBuf>,
}

/// Options of `lint`.
#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// The transcript file, or `-` for standard input.
    pub file: PathBuf,
    /// Allow 8-bit UTF-8 in quoted strings from the start (UTF8=ACCEPT was
    /// enabled before the transcript begins); an ENABLED UTF8=ACCEPT in the
    /// transcript switches it on by itself.
    #[arg(long)]
    pub utf8_accept: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Never use colours (NO_COLOR in the environment does the same).
    #[arg(long)]
    pub no_color: bool,
}

impl LintArgs {
    /// Reads the input; an unreadable file is a usage error.
    pub fn read(&self) -> Result<(String, Vec<u8>), UsageError> {
        use std::io::Read;
        if self.file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| UsageError(format!("cannot read standard input: {e}")))?;
            return Ok(("-".into(), buf));
        }
        let bytes = std::fs::read(&self.file)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", self.file.display())))?;
        Ok((self.file.display().to_string(), bytes))
    }

    pub fn output(&self) -> Output {
        output(self.format, self.no_color)
    }
}

/// Format and colour: colours only for text on a TTY, never with NO_COLOR.
fn output(format: FormatArg, no_color: bool) -> Output {
    use std::io::IsTerminal;
    let format = match format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Nagios => Format::Nagios,
        FormatArg::Prometheus => Format::Prometheus,
    };
    let color = format == Format::Text
        && !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    Output {
        format,
        color,
        thresholds: crate::report::nagios::Thresholds::default(),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsArg {
    Implicit,
    Starttls,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthArg {
    Login,
    Plain,
    Xoauth2,
    Oauthbearer,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Text,
    Json,
    /// Folders (or findings) as CSV for spreadsheets.
    Csv,
    /// One Nagios/Icinga plugin status line with perfdata; exit 0/1/2/3.
    Nagios,
    /// Prometheus text exposition, for node_exporter's textfile collector.
    Prometheus,
}

/// Connection, TLS, authentication and output options shared by commands.
#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Server host name or address.
    #[arg(long)]
    pub host: String,
    /// Port (993 implies implicit TLS, anything else STARTTLS, unless --tls says otherwise).
    #[arg(long, default_value_t = 993)]
    pub port: u16,
    /// How TLS is used: implicit, starttls or none.
    #[arg(long, value_enum)]
    pub tls: Option<TlsArg>,
    /// Bound on every network step (resolve, connect, handshake, each response), e.g. 30s, 500ms.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// PEM file with extra CA certificates to trust (a private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Do not let certificate problems stop the handshake (reported as a warning).
    #[arg(long)]
    pub insecure: bool,
    /// Warn when the certificate expires within this many days.
    #[arg(long, default_value_t = 14)]
    pub cert_warn_days: i64,
    /// User to log in as (for admin logins, the admin; Dovecot's user*master works too).
    #[arg(long)]
    pub user: Option<String>,
    /// Authorization identity: the mailbox to act for with an admin login (AUTHENTICATE PLAIN).
    #[arg(long, value_name = "USER")]
    pub authz_user: Option<String>,
    /// Force a mechanism instead of picking one from the capabilities.
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["password_file", "token_env", "token_file"])]
    pub password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["token_env", "token_file"])]
    pub password_file: Option<PathBuf>,
    /// Read an OAuth2 access token from this environment variable (XOAUTH2 / OAUTHBEARER).
    #[arg(long, value_name = "VAR", conflicts_with = "token_file")]
    pub token_env: Option<String>,
    /// Read an OAuth2 access token from the first line of this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Allow sending credentials over a connection without TLS.
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Longest server line (outside literals) read before giving up: bounds
    /// memory whatever the server sends.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_line_bytes: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// Write the whole conversation to FILE (credentials redacted).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Never use colours (NO_COLOR in the environment does the same).
    #[arg(long)]
    pub no_color: bool,
    #[command(flatten)]
    pub monitor: MonitorArgs,
}

/// Alert thresholds of `--format nagios`.
#[derive(Args, Debug, Clone)]
pub struct MonitorArgs {
    /// Nagios: WARNING when the run (in batch: a user's) takes longer, e.g. 2s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub warn_time: Option<Duration>,
    /// Nagios: CRITICAL when the run (in batch: a user's) takes longer, e.g. 10s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub crit_time: Option<Duration>,
    /// Nagios: CRITICAL when the certificate expires within this many days.
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub cert_crit_days: i64,
}

/// A usage problem: the run cannot start (exit 3).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Output settings.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    /// `--format nagios` thresholds.
    pub thresholds: crate::report::nagios::Thresholds,
}

impl ConnArgs {
    /// Resolves flags into a configuration, loading the secret.
    pub fn resolve(&self) -> Result<(ProbeConfig, Output), UsageError> {
        let mut cfg = ProbeConfig::new(&self.host, self.port);
        if self.host.is_empty() {
            return Err(UsageError("--host is empty".into()));
        }
        cfg.tls_mode = match self.tls {
            Some(TlsArg::Implicit) => TlsMode::Implicit,
            Some(TlsArg::Starttls) => TlsMode::Starttls,
            Some(TlsArg::None) => TlsMode::None,
            None => TlsMode::default_for_port(self.port),
        };
        if self.timeout.is_zero() {
            return Err(UsageError("--timeout must be more than zero".into()));
        }
        cfg.timeout = self.timeout;
        if self.max_line_bytes < 1024 {
            return Err(UsageError("--max-line-bytes must be at least 1024".into()));
        }
        cfg.max_line = self.max_line_bytes;
        cfg.tls.ca_file = self.ca_file.clone();
        cfg.tls.insecure = self.insecure;
        cfg.cert_warn_days = self.cert_warn_days;
        cfg.allow_plaintext_auth = self.allow_plaintext_auth;
        cfg.trace = self.trace.clone();
        cfg.mechanism = self.auth.map(|a| match a {
            AuthArg::Login => Mechanism::Login,
            AuthArg::Plain => Mechanism::Plain,
            AuthArg::Xoauth2 => Mechanism::XOAuth2,
            AuthArg::Oauthbearer => Mechanism::OAuthBearer,
        });
        let token_source = match (&self.token_env, &self.token_file) {
            (Some(v), _) => Some(SecretSource::Env(v.clone())),
            (_, Some(p)) => Some(SecretSource::File(p.clone())),
            _ => None,
        };
        let password_source = match (&self.password_env, &self.password_file) {
            (Some(v), _) => Some(SecretSource::Env(v.clone())),
            (_, Some(p)) => Some(SecretSource::File(p.clone())),
            _ => None,
        };
        match &self.user {
            None => {
                if token_source.is_some() || password_source.is_some() || self.authz_user.is_some()
                {
                    return Err(UsageError(
                        "a password, token or --authz-user needs --user".into(),
                    ));
                }
            }
            Some(user) => {
                let is_token = token_source.is_some();
                let source = token_source
                    .or(password_source)
                    .unwrap_or_else(|| SecretSource::Prompt(format!("IMAP password for {user}: ")));
                let secret = source.load().map_err(|e| UsageError(e.to_string()))?;
                cfg.credentials = Some(Credentials {
                    user: user.clone(),
                    authz: self.authz_user.clone(),
                    secret,
                    is_token,
                });
            }
        }
        let mut out = output(self.format, self.no_color);
        out.thresholds = crate::report::nagios::Thresholds {
            warn_time: self.monitor.warn_time,
            crit_time: self.monitor.crit_time,
            cert_warn_days: self.cert_warn_days,
            cert_crit_days: self.monitor.cert_crit_days,
        };
        if let (Some(w), Some(c)) = (out.thresholds.warn_time, out.thresholds.crit_time) {
            if w > c {
                return Err(UsageError("--warn-time is longer than --crit-time".into()));
            }
        }
        Ok((cfg, out))
    }
}
