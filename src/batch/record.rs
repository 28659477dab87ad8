//! The JSON Lines of a batch, `{"type": …, "data": …}` one per line:
//!
//! - `user`: one per probed user, written and flushed the moment it
//!   finishes: the row (line, user, email, authz), the verdict, the ids of
//!   failed and warned checks, login and total times, attempts (with the
//!   transient failures retried), and the whole report of its last attempt
//!   (the `test-server` / `folders` / `check` JSON, schema_version 1);
//! - `row`: a row that was not run (malformed, duplicate), with its line;
//! - `summary`: last, the counts and groups of the summary table.
//!
//! Every line passes [`redact`] with the row's password (as written and as
//! JSON escapes it) before it is written: the password never reaches the
//! file, even if a server echoed it back.

use super::input::{Problem, Row};
use super::summary::Outcome;
use crate::report::Report;
use crate::secret::{redact, Secret};
use serde::Serialize;
use std::io::Write;

/// A transient failure that was retried.
#[derive(Debug, Clone, Serialize)]
pub struct Retried {
    pub attempt: u32,
    pub reason: String,
    pub wait_ms: u64,
}

/// The `user` record, serialised straight from the outcome and the report
/// (no intermediate JSON tree: a thousand-row batch writes megabytes).
#[derive(Serialize)]
pub struct User<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: UserData<'a>,
}

#[derive(Serialize)]
struct UserData<'a> {
    #[serde(flatten)]
    outcome: &'a Outcome,
    /// `"authz": null` when the row has none (the outcome leaves it out).
    #[serde(
        rename = "authz",
        skip_serializing_if = "std::ops::Not::not",
        serialize_with = "null"
    )]
    no_authz: bool,
    level: super::Level,
    exit_code: u8,
    retried: &'a [Retried],
    elapsed_ms: u64,
    report: &'a Report,
}

fn null<S: serde::Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_none()
}

pub fn user<'a>(
    row: &Row,
    outcome: &'a Outcome,
    level: super::Level,
    retried: &'a [Retried],
    elapsed_ms: u64,
    report: &'a Report,
) -> User<'a> {
    User {
        kind: "user",
        data: UserData {
            outcome,
            no_authz: row.authz.is_none(),
            level,
            exit_code: report.exit_code,
            retried,
            elapsed_ms,
            report,
        },
    }
}

/// The `row` record of a row not run.
pub fn row(p: &Problem) -> serde_json::Value {
    serde_json::json!({"type": "row", "data": p})
}

/// `secret` as it stands inside a JSON string, when that differs.
fn json_escaped(secret: &Secret) -> Option<Secret> {
    let quoted = serde_json::to_string(secret.expose()).ok()?;
    let inner = &quoted[1..quoted.len() - 1];
    (inner != secret.expose()).then(|| Secret::new(inner))
}

/// One line of JSON with every form of the secrets replaced.
pub fn line<T: Serialize + ?Sized>(value: &T, secrets: &[&Secret]) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    let escaped: Vec<Secret> = secrets.iter().filter_map(|s| json_escaped(s)).collect();
    let mut all: Vec<&Secret> = secrets.to_vec();
    all.extend(escaped.iter());
    let mut out = redact(&text, &all);
    out.push('\n');
    out
}

/// Where the JSON Lines go: a file (each line one `write`), standard
/// output, or nowhere.
pub enum Sink {
    File(std::fs::File),
    Stdout,
    Off,
}

impl Sink {
    /// Writes one line and flushes it. Standard output going away (`| head`)
    /// turns the sink off; a file that cannot be written is an error.
    pub fn write(&mut self, line: &str) -> std::io::Result<()> {
        match self {
            Sink::File(f) => {
                f.write_all(line.as_bytes())?;
                f.flush()
            }
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(line.as_bytes()).and_then(|_| out.flush()) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        *self = Sink::Off;
                        return Ok(());
                    }
                    return Err(e);
                }
                Ok(())
            }
            Sink::Off => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_password_is_redacted() {
        let s = Secret::new("p\"w\\1é");
        let v = serde_json::json!({"a": "x p\"w\\1é y", "b": "p\"w\\1é"});
        let l = line(&v, &[&s]);
        assert!(!l.contains("p\\\"w\\\\1é"), "{l}");
        assert!(l.contains("<redacted>"), "{l}");
        assert!(serde_json::from_str::<serde_json::Value>(&l).is_ok(), "{l}");
    }
}
