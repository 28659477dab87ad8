//! Shared test fixtures: certificates, a real Dovecot, a scripted server,
//! and a runner for the binary.
#![allow(dead_code)]

pub mod certs;
pub mod dovecot;
pub mod run;
pub mod scripted;
