//! Runs probes: puts the session in the state each needs, sends its
//! commands (through the session, so through the read-only allowlist
//! again), holds every response to the grammar and to the probe's
//! expectations, and turns the outcome into a finding.

use super::check;
use super::format::{Exchange, Kind, Probe, State, Step};
use super::value::{self, Elem, Env};
use super::{ComplianceSummary, ProbeResult};
use crate::connectivity::{self, Opened, Recorder};
use crate::findings::{Finding, Status};
use crate::grammar::{self, ParseError};
use crate::reconnect::Reconnecting;
use crate::session::{Command, RawResponse, Reply};
use std::time::Instant;

/// How a probe ended.
enum Outcome {
    Pass,
    Fail {
        why: String,
        evidence: Vec<u8>,
        subject: Option<String>,
    },
    Skip(String),
}

fn fail(why: impl Into<String>, evidence: Vec<u8>, subject: Option<String>) -> Outcome {
    Outcome::Fail {
        why: why.into(),
        evidence,
        subject,
    }
}

/// The connection a probe talks over.
enum Link {
    /// The logged-in session the other checks share.
    Shared,
    /// A connection of the probe's own, with the state it is in.
    Own {
        opened: Box<Opened>,
        state: u8,
        logged_out: bool,
    },
}

struct Ctx<'c> {
    env: Env,
    caps: &'c [String],
    opts: grammar::Options,
    /// The last exchange, for a failing check's evidence.
    last_excerpt: Vec<u8>,
    /// Findings of the probe's own connection (kept out of the report).
    scratch: Recorder,
}

fn has_cap(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Runs `probes` in order; each adds a `probe.<id>` finding to `rec`.
pub async fn run(
    w: &mut Reconnecting<'_>,
    probes: &[Probe],
    caps: &[String],
    rec: &mut Recorder,
) -> ComplianceSummary {
    let mut summary = ComplianceSummary::default();
    for p in probes {
        let t = Instant::now();
        let outcome = run_one(w, p, caps, rec).await;
        let took = t.elapsed();
        let id = format!("probe.{}", p.id);
        let finding = match outcome {
            Outcome::Pass => {
                summary.passed += 1;
                Finding::pass(id, p.title.clone())
            }
            Outcome::Skip(why) => {
                summary.skipped += 1;
                Finding::skip(id, format!("{}: skipped, {why}", p.title))
            }
            Outcome::Fail {
                why,
                evidence,
                subject,
            } => {
                summary.failed += 1;
                let mut f = Finding::new(id, p.severity.status(), format!("{}: {why}", p.title));
                if !evidence.is_empty() {
                    f = f.with_evidence(evidence);
                }
                if let Some(s) = subject {
                    f = f.with_subject(s);
                }
                if let Some(r) = &p.remedy {
                    f = f.with_remedy(r.clone());
                }
                if let Some(pr) = &p.predicts {
                    f = f.with_predicts(pr.clone());
                }
                f
            }
        };
        let finding = finding.with_rule(p.rfc.clone()).with_duration(took);
        summary.results.push(ProbeResult {
            id: p.id.clone(),
            title: p.title.clone(),
            rfc: p.rfc.clone(),
            status: finding.status,
            message: finding.message.clone(),
            duration_ms: took.as_millis() as u64,
        });
        rec.add(finding);
    }
    summary
}

async fn run_one(
    w: &mut Reconnecting<'_>,
    p: &Probe,
    caps: &[String],
    rec: &mut Recorder,
) -> Outcome {
    let missing: Vec<&str> = p
        .requires
        .iter()
        .filter(|c| !has_cap(caps, c))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Outcome::Skip(format!(
            "the server does not advertise {}",
            missing.join(", ")
        ));
    }
    let mut ctx = Ctx {
        env: Env::new(),
        caps,
        opts: grammar::Options::default(),
        last_excerpt: Vec::new(),
        scratch: Recorder::default(),
    };
    let mut link = if p.own_connection {
        let (cfg, tls, trace) = w.endpoint();
        match connectivity::open(cfg, tls, trace, &mut ctx.scratch).await {
            Some(opened) => Link::Own {
                opened: Box::new(opened),
                state: 0,
                logged_out: false,
            },
            None => {
                return fail(
                    format!(
                        "could not open a connection of its own: {}",
                        first_failure(&ctx.scratch)
                    ),
                    Vec::new(),
                    None,
                )
            }
        }
    } else {
        Link::Shared
    };
    w.set_context(Some(format!("probe {}", p.id)));
    let outcome = steps(w, &mut link, p, &mut ctx, rec).await;
    w.set_context(None);
    if let Link::Own {
        mut opened,
        logged_out,
        ..
    } = link
    {
        if logged_out {
            opened.session.conn.shutdown().await;
        } else {
            connectivity::log_out(&mut opened.session, &mut ctx.scratch).await;
        }
    }
    outcome
}

fn first_failure(rec: &Recorder) -> String {
    rec.findings
        .iter()
        .find(|f| f.status == Status::Fail)
        .map(|f| f.message.clone())
        .unwrap_or_else(|| "no reason given".into())
}

async fn steps(
    w: &mut Reconnecting<'_>,
    link: &mut Link,
    p: &Probe,
    ctx: &mut Ctx<'_>,
    rec: &mut Recorder,
) -> Outcome {
    if let Err(o) = enter(w, link, &p.state, ctx, rec).await {
        return o;
    }
    for step in &p.steps {
        let r = match step {
            Step::State(s) => enter(w, link, s, ctx, rec).await,
            Step::Exchange(ex) => match build(&ex.command, &ctx.env) {
                Ok(cmd) => exchange(w, link, cmd, ex, ctx, rec).await,
                Err(why) => Err(fail(why, Vec::new(), Some(ex.command.clone()))),
            },
            Step::Check { cond, text } => match check::eval(cond, &ctx.env) {
                Ok(true) => Ok(()),
                Ok(false) => Err(fail(
                    format!(
                        "check `{text}` does not hold ({})",
                        values_of(cond, &ctx.env)
                    ),
                    ctx.last_excerpt.clone(),
                    None,
                )),
                Err(why) => Err(fail(
                    format!("check `{text}`: {why}"),
                    ctx.last_excerpt.clone(),
                    None,
                )),
            },
            Step::SkipIf { cond, text, reason } => match check::eval(cond, &ctx.env) {
                Ok(true) => Err(Outcome::Skip(match reason {
                    Some(r) => r.clone(),
                    None => format!("`{text}`"),
                })),
                Ok(false) => Ok(()),
                Err(why) => Err(fail(
                    format!("skip-if `{text}`: {why}"),
                    ctx.last_excerpt.clone(),
                    None,
                )),
            },
        };
        if let Err(o) = r {
            return o;
        }
    }
    Outcome::Pass
}

/// `$a = 1, $b = (2 3)` for the variables a condition reads.
fn values_of(c: &check::Cond, env: &Env) -> String {
    let mut seen = Vec::new();
    for v in check::variables(c) {
        if seen
            .iter()
            .any(|s: &String| s.starts_with(&format!("${v} ")))
        {
            continue;
        }
        seen.push(match env.get(v) {
            Some(e) => format!("${v} = {}", short(&e.to_string())),
            None => format!("${v} unbound"),
        });
    }
    seen.join(", ")
}

fn short(s: &str) -> String {
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Puts the link in `state`: logs in on an own connection, examines a folder.
async fn enter(
    w: &mut Reconnecting<'_>,
    link: &mut Link,
    state: &State,
    ctx: &mut Ctx<'_>,
    rec: &mut Recorder,
) -> Result<(), Outcome> {
    if let Link::Own {
        opened, state: now, ..
    } = link
    {
        if *state == State::NotAuthenticated && opened.preauth {
            return Err(Outcome::Skip(
                "the server pre-authenticates (PREAUTH): there is no not-authenticated state"
                    .into(),
            ));
        }
        if *now == 0 && *state != State::NotAuthenticated && !opened.preauth {
            let (cfg, _, _) = w.endpoint();
            if !connectivity::log_in(cfg, opened, &mut ctx.scratch).await {
                return Err(fail(
                    format!(
                        "could not log in on a connection of its own: {}",
                        first_failure(&ctx.scratch)
                    ),
                    Vec::new(),
                    None,
                ));
            }
        }
        *now = match state {
            State::NotAuthenticated => 0,
            State::Authenticated => 1,
            State::Examined(_) => 2,
        };
    }
    let State::Examined(folder) = state else {
        return Ok(());
    };
    // The examined state binds what every selected-state probe needs.
    for v in ["exists", "uidnext", "uidvalidity"] {
        ctx.env.remove(v);
    }
    let prelude = super::format::parse(
        "builtin:examine",
        "id: examine\ntitle: examine\nrfc: -\n> EXAMINE $__folder\n? $exists EXISTS\n? OK [UIDNEXT $uidnext]\n? OK [UIDVALIDITY $uidvalidity]\n= OK\n",
    )
    .map_err(|e| fail(e, Vec::new(), None))?;
    let Some(Step::Exchange(ex)) = prelude.steps.first() else {
        return Ok(());
    };
    let cmd = Command::new("EXAMINE").string(folder.as_bytes());
    if matches!(link, Link::Shared) {
        w.selected = Some(folder.as_bytes().to_vec());
    }
    exchange(w, link, cmd, ex, ctx, rec)
        .await
        .map_err(|o| match o {
            Outcome::Fail {
                why,
                evidence,
                subject,
            } => Outcome::Fail {
                why: format!("examining {folder}, the state the probe needs: {why}"),
                evidence,
                subject,
            },
            o => o,
        })
}

/// The command, with each `$var` replaced by its value: atoms as they
/// are, strings quoted (or sent as literals when they must be).
fn build(text: &str, env: &Env) -> Result<Command, String> {
    let mut cmd = Command::default();
    let mut rest = text;
    let mut pending = String::new();
    while let Some(i) = rest.find('$') {
        pending.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(after.len());
        let name = &after[..len];
        let v = env.get(name).ok_or_else(|| {
            format!("the command `{text}` needs ${name}, which no response bound")
        })?;
        match v {
            Elem::Str(s) if pending.ends_with(' ') => {
                pending.pop();
                cmd = cmd.raw(&pending).string(s);
                pending.clear();
            }
            other => pending.push_str(&other.to_string()),
        }
        rest = &after[len..];
    }
    pending.push_str(rest);
    Ok(cmd.raw(&pending))
}

async fn send(
    w: &mut Reconnecting<'_>,
    link: &mut Link,
    cmd: Command,
    rec: &mut Recorder,
) -> Result<Reply, (String, Vec<u8>)> {
    let r = match link {
        Link::Shared => match w.run(cmd, rec).await {
            Some(r) => r,
            None => {
                return Err((
                    "no session: the run stopped after repeated faults".into(),
                    Vec::new(),
                ))
            }
        },
        Link::Own { opened, .. } => opened.session.run(cmd).await,
    };
    r.map_err(|e| (e.to_string(), e.evidence()))
}

/// Up to this many bytes of each response in evidence.
const EXCERPT_RESPONSE: usize = 600;
/// Up to this many untagged responses in evidence.
const EXCERPT_RESPONSES: usize = 12;

/// `C: tag command` and the `S:` lines that answered it (the tagged one
/// last); `only` picks one untagged response instead of the first few.
fn excerpt(label: &str, reply: &Reply, only: Option<usize>) -> Vec<u8> {
    let mut out = format!("C: {} {label}\r\n", reply.tag).into_bytes();
    let mut line = |r: &RawResponse| {
        out.extend_from_slice(b"S: ");
        if r.0.len() > EXCERPT_RESPONSE {
            out.extend_from_slice(&r.0[..EXCERPT_RESPONSE]);
            out.extend_from_slice(format!("… ({} bytes)\r\n", r.0.len()).as_bytes());
        } else {
            out.extend_from_slice(&r.0);
        }
    };
    match only {
        Some(i) => {
            if i > 0 {
                line(&RawResponse(
                    format!("… {i} responses before\r\n").into_bytes(),
                ));
            }
            line(&reply.untagged[i]);
        }
        None => {
            for r in reply.untagged.iter().take(EXCERPT_RESPONSES) {
                line(r);
            }
            if reply.untagged.len() > EXCERPT_RESPONSES {
                let more = reply.untagged.len() - EXCERPT_RESPONSES;
                line(&RawResponse(
                    format!("… {more} more responses\r\n").into_bytes(),
                ));
            }
        }
    }
    line(&reply.tagged);
    out
}

/// Sends one command and holds its responses to the grammar and to the
/// exchange's expectations.
async fn exchange(
    w: &mut Reconnecting<'_>,
    link: &mut Link,
    cmd: Command,
    ex: &Exchange,
    ctx: &mut Ctx<'_>,
    rec: &mut Recorder,
) -> Result<(), Outcome> {
    let label = cmd.traced_text();
    let is_logout = label.trim().eq_ignore_ascii_case("LOGOUT");
    let reply = match send(w, link, cmd, rec).await {
        Ok(r) => r,
        Err((why, evidence)) => {
            let mut ev = format!("C: {label}\r\n").into_bytes();
            if !evidence.is_empty() {
                ev.extend_from_slice(b"S: ");
                ev.extend_from_slice(&evidence);
            }
            return Err(fail(format!("`{label}`: {why}"), ev, Some(label)));
        }
    };
    if is_logout {
        if let Link::Own { logged_out, .. } = link {
            *logged_out = true;
        }
    }
    ctx.last_excerpt = excerpt(&label, &reply, None);
    let subject = Some(label.clone());

    for (i, r) in reply.untagged.iter().chain([&reply.tagged]).enumerate() {
        let deviation = match grammar::parse_response(&r.0, &ctx.opts) {
            Ok(_) => continue,
            Err(ParseError::Invalid(d)) => d,
            Err(ParseError::Incomplete { .. }) => grammar::Deviation {
                offset: r.0.len(),
                rule: "response",
                expected: "the rest of the response".into(),
                found: Vec::new(),
            },
        };
        let shown = if i < reply.untagged.len() {
            Some(i)
        } else {
            None
        };
        return Err(fail(
            format!(
                "the answer to `{label}` breaks RFC 3501 §9 rule {} at byte {}: expected {}",
                deviation.rule, deviation.offset, deviation.expected
            ),
            excerpt(&label, &reply, shown),
            subject,
        ));
    }

    // The tagged result first: a NO or BAD explains any missing data.
    let tagged = value::read_response(&reply.tagged.0);
    if !value::match_response(&ex.tagged, &tagged, &mut ctx.env) {
        return Err(fail(
            format!(
                "`{label}`: expected `{}`, the server answered `{}`",
                ex.tagged_text,
                short(String::from_utf8_lossy(&reply.tagged.0).trim_end())
            ),
            ctx.last_excerpt.clone(),
            subject,
        ));
    }
    let responses: Vec<Vec<Elem>> = reply
        .untagged
        .iter()
        .map(|r| value::read_response(&r.0))
        .collect();
    for e in &ex.expects {
        if e.if_cap.as_deref().is_some_and(|c| !has_cap(ctx.caps, c)) {
            continue;
        }
        match e.kind {
            Kind::Must => {
                if !responses
                    .iter()
                    .any(|r| value::match_response(&e.pattern, r, &mut ctx.env))
                {
                    return Err(fail(
                        format!(
                            "`{label}`: expected `{}`{}, and no response matched",
                            e.text,
                            bound_note(&e.pattern, &ctx.env)
                        ),
                        ctx.last_excerpt.clone(),
                        subject,
                    ));
                }
            }
            Kind::MustNot => {
                for (i, r) in responses.iter().enumerate() {
                    let mut scratch = ctx.env.clone();
                    if value::match_response(&e.pattern, r, &mut scratch) {
                        return Err(fail(
                            format!("`{label}`: `{}` must not appear, and it did", e.text),
                            excerpt(&label, &reply, Some(i)),
                            subject,
                        ));
                    }
                }
            }
            Kind::May => {
                let _ = responses
                    .iter()
                    .any(|r| value::match_response(&e.pattern, r, &mut ctx.env));
            }
        }
    }
    Ok(())
}

/// ` (with $a = 1, $b = 2)` for the variables a pattern expected to meet again.
fn bound_note(pattern: &[Elem], env: &Env) -> String {
    let mut names = Vec::new();
    value::variables(pattern, &mut names);
    names.dedup();
    let bound: Vec<String> = names
        .iter()
        .filter_map(|n| {
            env.get(n)
                .map(|v| format!("${n} = {}", short(&v.to_string())))
        })
        .collect();
    if bound.is_empty() {
        String::new()
    } else {
        format!(" (with {})", bound.join(", "))
    }
}
