//! The probe file format (see `probes/README.md`): a header of `key: value`
//! lines, then commands (`>`), expectations (`*` must appear, `!` must not
//! appear, `?` may appear, `=` the tagged result), `state:` changes and
//! `check` / `skip-if` conditions. Every command passes the read-only
//! allowlist here, when the file is loaded, and again when it is sent.

use super::check::{self, Cond};
use super::value::{self, Elem};
use crate::findings::Status;
use serde::Serialize;

/// The state a probe (or a part of it) runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    NotAuthenticated,
    Authenticated,
    /// A folder examined (read-only selected), by name.
    Examined(String),
}

impl State {
    fn rank(&self) -> u8 {
        match self {
            State::NotAuthenticated => 0,
            State::Authenticated => 1,
            State::Examined(_) => 2,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            State::NotAuthenticated => "not-authenticated".into(),
            State::Authenticated => "authenticated".into(),
            State::Examined(f) => format!("examined {f}"),
        }
    }
}

/// Which expectation an untagged line states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `*`: at least one response matches.
    Must,
    /// `!`: no response matches.
    MustNot,
    /// `?`: binds its variables when a response matches; never fails.
    May,
}

/// An expectation about the untagged responses to a command.
#[derive(Debug, Clone)]
pub struct Expect {
    pub kind: Kind,
    pub pattern: Vec<Elem>,
    /// Only checked when the server advertises this capability.
    pub if_cap: Option<String>,
    /// The line as written, for messages.
    pub text: String,
}

/// One command and what must come back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub command: String,
    pub expects: Vec<Expect>,
    /// The tagged result; `OK` when the probe does not say.
    pub tagged: Vec<Elem>,
    pub tagged_text: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum Step {
    Exchange(Exchange),
    State(State),
    Check {
        cond: Cond,
        text: String,
    },
    /// `skip-if COND [-- REASON]`: the reason is what the report says.
    SkipIf {
        cond: Cond,
        text: String,
        reason: Option<String>,
    },
}

/// What a failing probe is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
}

impl Severity {
    pub fn status(self) -> Status {
        match self {
            Severity::Fail => Status::Fail,
            Severity::Warn => Status::Warn,
        }
    }
}

/// One probe, as loaded from its file.
#[derive(Debug, Clone)]
pub struct Probe {
    pub id: String,
    pub title: String,
    pub rfc: String,
    pub requires: Vec<String>,
    /// The state it starts in.
    pub state: State,
    /// Runs on a connection of its own (not-authenticated, state changes,
    /// LOGOUT, ENABLE), not on the session the other checks share.
    pub own_connection: bool,
    pub severity: Severity,
    pub remedy: Option<String>,
    pub predicts: Option<String>,
    pub steps: Vec<Step>,
    /// The file it came from (`builtin:NAME` for the compiled-in suite).
    pub source: String,
}

/// Commands a probe may not send: the probe states the state it needs,
/// and the runner logs in and out itself.
const RESERVED: &[&str] = &["LOGIN", "AUTHENTICATE", "STARTTLS"];

/// Parses one probe file; `source` names it in errors (`file:line: …`).
pub fn parse(source: &str, text: &str) -> Result<Probe, String> {
    let err = |line: usize, msg: String| format!("{source}:{line}: {msg}");
    let mut header: Vec<(String, String, usize)> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut in_header = true;
    let mut changes_state = false;
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step_start =
            line.starts_with('>') || line.starts_with("check ") || line.starts_with("skip-if ");
        if in_header && !step_start {
            let Some((k, v)) = line.split_once(':') else {
                return Err(err(
                    n,
                    format!(
                        "expected a header line `key: value` or a command `> …`, found `{line}`"
                    ),
                ));
            };
            header.push((k.trim().to_ascii_lowercase(), v.trim().to_string(), n));
            continue;
        }
        in_header = false;
        if let Some(cmd) = line.strip_prefix('>') {
            let command = cmd.trim().to_string();
            check_command(&command).map_err(|m| err(n, m))?;
            steps.push(Step::Exchange(Exchange {
                command,
                expects: Vec::new(),
                tagged: value::read(b"OK"),
                tagged_text: "= OK".into(),
                line: n,
            }));
            continue;
        }
        if let Some(v) = line.strip_prefix("state:") {
            let s = parse_state(v.trim()).map_err(|m| err(n, m))?;
            steps.push(Step::State(s));
            changes_state = true;
            continue;
        }
        if let Some(c) = line.strip_prefix("check ") {
            let cond = check::parse(c.trim()).map_err(|m| err(n, m))?;
            steps.push(Step::Check {
                cond,
                text: c.trim().to_string(),
            });
            continue;
        }
        if let Some(c) = line.strip_prefix("skip-if ") {
            let (c, reason) = match c.split_once(" -- ") {
                Some((c, r)) if !r.trim().is_empty() => (c, Some(r.trim().to_string())),
                _ => (c, None),
            };
            let cond = check::parse(c.trim()).map_err(|m| err(n, m))?;
            steps.push(Step::SkipIf {
                cond,
                text: c.trim().to_string(),
                reason,
            });
            continue;
        }
        let (if_cap, rest) = match line.strip_prefix("if-cap ") {
            Some(r) => {
                let r = r.trim_start();
                let (cap, rest) = r
                    .split_once(' ')
                    .ok_or_else(|| err(n, "if-cap CAPABILITY, then an expectation".into()))?;
                (Some(cap.to_string()), rest.trim_start())
            }
            None => (None, line),
        };
        // Expectations belong to the command before them (checks in between
        // still run after the command).
        let Some(Step::Exchange(ex)) = steps
            .iter_mut()
            .rev()
            .find(|s| !matches!(s, Step::Check { .. }))
        else {
            return Err(err(
                n,
                format!("`{line}`: an expectation needs a command (`> …`) before it"),
            ));
        };
        let (mark, pattern) = rest.split_at(1);
        let pattern = pattern.strip_prefix(' ').unwrap_or(pattern);
        let kind = match mark {
            "*" => Kind::Must,
            "!" => Kind::MustNot,
            "?" => Kind::May,
            "=" => {
                if if_cap.is_some() {
                    return Err(err(
                        n,
                        "if-cap applies to untagged expectations only".into(),
                    ));
                }
                ex.tagged = value::read(pattern.as_bytes());
                ex.tagged_text = rest.to_string();
                check_pattern(&ex.tagged).map_err(|m| err(n, m))?;
                continue;
            }
            _ => {
                return Err(err(
                    n,
                    format!("`{line}`: not a command, expectation, state, check or skip-if line"),
                ))
            }
        };
        let pattern = value::read(pattern.as_bytes());
        check_pattern(&pattern).map_err(|m| err(n, m))?;
        if pattern.is_empty() {
            return Err(err(n, "an empty expectation".into()));
        }
        ex.expects.push(Expect {
            kind,
            pattern,
            if_cap,
            text: rest.to_string(),
        });
    }

    let mut get = |key: &str| -> Option<(String, usize)> {
        let i = header.iter().position(|(k, _, _)| k == key)?;
        let (_, v, n) = header.remove(i);
        Some((v, n))
    };
    let need = |v: Option<(String, usize)>, key: &str| {
        v.map(|(v, _)| v)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{source}: the header has no `{key}:`"))
    };
    let id = need(get("id"), "id")?;
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(format!("{source}: id `{id}`: use a-z, 0-9, `.` and `-`"));
    }
    let title = need(get("title"), "title")?;
    let rfc = need(get("rfc"), "rfc")?;
    let requires = get("requires")
        .map(|(v, _)| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let state = match get("state") {
        Some((v, n)) => parse_state(&v).map_err(|m| err(n, m))?,
        None => State::Authenticated,
    };
    let connection = get("connection");
    let own_declared = match &connection {
        None => false,
        Some((v, _)) if v == "shared" => false,
        Some((v, _)) if v == "own" => true,
        Some((v, n)) => return Err(err(*n, format!("connection: `{v}`: shared or own"))),
    };
    let severity = match get("severity") {
        None => Severity::Fail,
        Some((v, _)) if v == "fail" => Severity::Fail,
        Some((v, _)) if v == "warn" => Severity::Warn,
        Some((v, n)) => return Err(err(n, format!("severity: `{v}`: fail or warn"))),
    };
    let remedy = get("remedy").map(|(v, _)| v);
    let predicts = get("predicts").map(|(v, _)| v);
    if let Some((k, _, n)) = header.first() {
        return Err(err(*n, format!("unknown header `{k}:` (known: id, title, rfc, requires, state, connection, severity, remedy, predicts)")));
    }
    if steps.is_empty() {
        return Err(format!("{source}: no commands"));
    }

    // Commands that change the session for everyone else run alone.
    let mut rank = state.rank();
    let mut logged_out = false;
    let mut session_changing = false;
    for s in &steps {
        match s {
            Step::State(next) => {
                if next.rank() < rank || (next.rank() == rank && rank < 2) {
                    return Err(format!(
                        "{source}: state: {} after {}: states only move forward (not-authenticated, authenticated, examined)",
                        next.describe(),
                        if rank == 0 { "not-authenticated" } else if rank == 1 { "authenticated" } else { "examined" }
                    ));
                }
                rank = next.rank();
            }
            Step::Exchange(ex) => {
                if logged_out {
                    return Err(err(ex.line, "nothing can follow LOGOUT".into()));
                }
                let first = first_word(&ex.command);
                logged_out = first == "LOGOUT";
                session_changing |= matches!(first.as_str(), "LOGOUT" | "ENABLE" | "UNSELECT");
                if rank == 0 && !matches!(first.as_str(), "CAPABILITY" | "NOOP" | "LOGOUT" | "ID") {
                    return Err(err(ex.line, format!("{first} needs a logged-in state; not-authenticated allows CAPABILITY, NOOP, ID and LOGOUT")));
                }
            }
            _ => {}
        }
    }
    if logged_out && !matches!(steps.last(), Some(Step::Exchange(_))) {
        return Err(format!("{source}: LOGOUT must be the last step"));
    }
    let own_connection =
        own_declared || state == State::NotAuthenticated || changes_state || session_changing;
    Ok(Probe {
        id,
        title,
        rfc,
        requires,
        state,
        own_connection,
        severity,
        remedy,
        predicts,
        steps,
        source: source.to_string(),
    })
}

fn parse_state(v: &str) -> Result<State, String> {
    let mut words = v.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("not-authenticated"), None, _) => Ok(State::NotAuthenticated),
        (Some("authenticated"), None, _) => Ok(State::Authenticated),
        (Some("examined"), None, _) => Ok(State::Examined("INBOX".into())),
        (Some("examined"), Some(f), None) => Ok(State::Examined(f.trim_matches('"').to_string())),
        _ => Err(format!(
            "state `{v}`: not-authenticated, authenticated or examined [FOLDER]"
        )),
    }
}

fn first_word(command: &str) -> String {
    command
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// A command as the allowlist will see it: every `$var` stands for `1`.
pub fn with_placeholders(command: &str) -> String {
    let mut out = String::new();
    let mut rest = command;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let name_len = rest[i + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len() - i - 1);
        out.push('1');
        rest = &rest[i + 1 + name_len..];
    }
    out.push_str(rest);
    out
}

/// Refuses, at load time, what could write or cannot run.
fn check_command(command: &str) -> Result<(), String> {
    if command.is_empty() {
        return Err("an empty command".into());
    }
    if command.starts_with('$') {
        return Err(format!(
            "`{command}`: the command name cannot be a variable"
        ));
    }
    if command.contains(['\r', '\n', '{']) {
        return Err(format!("`{command}`: no literals or line breaks in probe commands (a variable holding a string is sent as a literal when it must be)"));
    }
    let first = first_word(command);
    if RESERVED.contains(&first.as_str()) {
        return Err(format!(
            "`{command}`: {first} is the runner's job; say `state: authenticated` instead"
        ));
    }
    crate::readonly::check(&with_placeholders(command))
        .map_err(|r| format!("rejected: `{command}` is {r}"))
}

fn check_pattern(p: &[Elem]) -> Result<(), String> {
    fn walk(p: &[Elem]) -> Result<(), String> {
        for e in p {
            match e {
                Elem::Atom(a) if a.starts_with(b"$") && e.variable().is_none() => {
                    return Err(format!(
                        "`{e}`: not a variable name (letters, digits, _ and -)"
                    ));
                }
                Elem::List(x) | Elem::Code(x) => walk(x)?,
                _ => {}
            }
        }
        Ok(())
    }
    walk(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# a comment
id: t.one
title: A test
rfc: RFC 3501 §6.3.1
requires: IMAP4rev1 ID
state: examined
remedy: fix it

> FETCH 1 (UID)
* 1 FETCH (UID $uid)
! * FETCH (FLAGS (... \\Deleted ...))
if-cap IMAP4rev1 ? * $n RECENT
= OK ...
check $uid is nz-number
";

    #[test]
    fn a_probe_file_parses() {
        let p = parse("t.probe", GOOD).unwrap();
        assert_eq!(p.id, "t.one");
        assert_eq!(p.state, State::Examined("INBOX".into()));
        assert_eq!(p.requires, ["IMAP4rev1", "ID"]);
        assert!(!p.own_connection);
        let Step::Exchange(ex) = &p.steps[0] else {
            panic!()
        };
        assert_eq!(ex.expects.len(), 3);
        assert_eq!(ex.expects[2].if_cap.as_deref(), Some("IMAP4rev1"));
        assert!(matches!(p.steps[1], Step::Check { .. }));
    }

    #[test]
    fn writing_probes_are_rejected_when_loaded() {
        for bad in [
            "> STORE 1 +FLAGS (\\Seen)",
            "> UID STORE $uid +FLAGS (\\Deleted)",
            "> SELECT INBOX",
            "> FETCH 1 BODY[]",
            "> FETCH $n (RFC822)",
            "> APPEND INBOX {3}",
            "> EXPUNGE",
            "> $cmd INBOX",
            "> LOGIN a b",
        ] {
            let text = format!("id: t\ntitle: t\nrfc: r\n{bad}\n");
            let e = parse("w.probe", &text).unwrap_err();
            assert!(e.starts_with("w.probe:4: "), "{bad}: {e}");
        }
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let e = parse("m.probe", "id: t\ntitle: t\nrfc: r\n* 1 EXISTS\n").unwrap_err();
        assert!(e.contains("m.probe:4:"), "{e}");
        let e = parse("m.probe", "id: t\ntitle: t\nrfc: r\ncolour: blue\n> NOOP\n").unwrap_err();
        assert!(e.contains("unknown header `colour:`"), "{e}");
        let e = parse(
            "m.probe",
            "id: t\ntitle: t\nrfc: r\n> NOOP\ncheck $x is blue\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown shape"), "{e}");
        let e = parse("m.probe", "id: t\ntitle: t\nrfc: r\n> LOGOUT\n> NOOP\n").unwrap_err();
        assert!(e.contains("nothing can follow LOGOUT"), "{e}");
        let e = parse(
            "m.probe",
            "id: t\ntitle: t\nrfc: r\nstate: not-authenticated\n> LIST \"\" \"\"\n",
        )
        .unwrap_err();
        assert!(e.contains("needs a logged-in state"), "{e}");
    }

    #[test]
    fn state_changes_and_logout_get_their_own_connection() {
        let p = parse(
            "s",
            "id: t\ntitle: t\nrfc: r\n> NOOP\nstate: examined\n> NOOP\n",
        )
        .unwrap();
        assert!(p.own_connection);
        let p = parse("s", "id: t\ntitle: t\nrfc: r\n> LOGOUT\n* BYE ...\n").unwrap();
        assert!(p.own_connection);
    }
}
