//! The flags of `batch`: the shared connection and check options, plus the
//! CSV, how deep each row goes, how many at once, retries and the output.

use crate::cli::{CheckArgs, UsageError};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// How deep each row goes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Connect, TLS, greeting, capabilities; no login (the password is not used).
    Connect,
    /// And log in, as `test-server --user` does.
    Login,
    /// And walk the folder tree, as `folders` does.
    Folders,
    /// And sweep the messages, as `check` does.
    Check,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Connect => "connect",
            Level::Login => "login",
            Level::Folders => "folders",
            Level::Check => "check",
        }
    }
    /// The command whose report each row gets.
    pub fn command(self) -> &'static str {
        match self {
            Level::Connect | Level::Login => "test-server",
            Level::Folders => "folders",
            Level::Check => "check",
        }
    }
}

/// Options of `batch`.
#[derive(Args, Debug, Clone)]
pub struct BatchArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// The migration CSV: EmailAddress,UserName,Password (header names in
    /// any case; UTF-8 with or without BOM; EmailAddress optional).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// How deep each row goes.
    #[arg(long, value_enum, default_value = "login")]
    pub level: Level,
    /// Users probed at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub concurrency: u32,
    /// Connections to the server at once, whatever --concurrency says
    /// (Gmail allows about 15 per account, Dovecot 10 per user and IP).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_connections: u32,
    /// Retries of a row that failed transiently (timeout, BYE, reset, throttling).
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one (with jitter).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub retry_backoff: Duration,
    /// Write the JSON Lines (one per user, flushed as each finishes) to FILE.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip the users already in FILE (an earlier run's --output); with
    /// --output FILE the same file, new results are appended to it.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// The column holding an authorization identity: the UserName logs in
    /// (an admin) and acts for this mailbox (AUTHENTICATE PLAIN).
    #[arg(long, value_name = "COLUMN")]
    pub authz_column: Option<String>,
    /// How many of the slowest logins the summary lists.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub slowest: usize,
    /// Probe every row even when the first users all fail before login in
    /// the same way (by default the batch stops there: wrong port, TLS mode
    /// or CA would fail every row, each after --timeout).
    #[arg(long)]
    pub keep_going: bool,
}

impl BatchArgs {
    /// Flags of the single-user commands that make no sense here.
    pub fn refuse_single_user_flags(&self) -> Result<(), UsageError> {
        let conn = &self.check.folders.conn;
        let given = [
            ("--user", conn.user.is_some()),
            ("--authz-user", conn.authz_user.is_some()),
            ("--password-env", conn.password_env.is_some()),
            ("--password-file", conn.password_file.is_some()),
            ("--token-env", conn.token_env.is_some()),
            ("--token-file", conn.token_file.is_some()),
            (
                "--suggest-excludes",
                self.check.folders.suggest_excludes.is_some(),
            ),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            return Err(UsageError(format!(
                "{flag} is for one mailbox: batch takes user names and passwords from the CSV (--authz-column for admin logins)"
            )));
        }
        Ok(())
    }
}
