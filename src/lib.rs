//! imapprobe: a read-only IMAP server probe. See the README for the tour.
//!
//! Data flows one way: `cli` → `config` → `transport` (TCP, TLS, trace)
//! → `session` (tags, encoding, the `readonly` allowlist) → `grammar`
//! (strict parser) → checks (`connectivity`, `auth`) → `findings` →
//! `report`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connectivity;
pub mod findings;
pub mod folders;
pub mod framing;
pub mod grammar;
pub mod hierarchy;
pub mod mailboxes;
pub mod probe;
pub mod progress;
pub mod quirks;
pub mod readonly;
pub mod reconnect;
pub mod report;
pub mod secret;
pub mod session;
pub mod sweep;
pub mod targets;
pub mod tls;
pub mod trace;
pub mod transcript;
pub mod transport;
pub mod verdicts;
