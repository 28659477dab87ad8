//! `imapprobe batch`: every row of a migration CSV probed as `test-server`,
//! `folders` or `check` would probe it, many users at once, each result
//! written as one JSON line the moment it is known.
//!
//! The parts, in the order data flows through them: [`args`] (flags),
//! [`input`] (the CSV: rows, malformed rows, duplicates), [`resume`] (what
//! an earlier run's output already holds), [`run`] (workers, connection
//! cap, retries of transient failures), [`record`] (the JSON Lines), and
//! [`summary`] (the table at the end, and the Nagios and Prometheus views
//! of a whole batch).

pub mod args;
pub mod input;
pub mod record;
pub mod resume;
pub mod retry;
pub mod run;
pub mod summary;

pub use args::{BatchArgs, Level};
pub use run::run;
