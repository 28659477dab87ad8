//! The connection-level checks `test-server` runs and every deeper command
//! starts with: resolve, connect, TLS (implicit or STARTTLS), greeting,
//! capabilities, ID, login, logout. Each step adds a finding with its time;
//! a failed step ends the walk, and what was seen until then stays in the
//! report.

use crate::auth::{self, Credentials};
use crate::config::{ProbeConfig, TlsMode};
use crate::findings::{predicts, Finding, Status};
use crate::grammar::{self, Code, GreetingKind, Untagged};
use crate::session::{untagged_of, Command, Reply, Session, SessionFault};
use crate::tls::{self, TlsClient, TlsFacts};
use crate::trace::Trace;
use crate::transport::{self, ConnectError, Connection, HandshakeFailure};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Facts about the server, reported beside the findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerFacts {
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities_before_tls: Vec<String>,
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities_after_login: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_mechanism: Option<String>,
    /// Milliseconds per phase: dns, connect, tls, greeting, login, total.
    pub timings_ms: BTreeMap<String, u64>,
    /// imapprobe's own peak resident memory (Linux), for memory bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_kib: Option<u64>,
}

/// This process's peak resident set size, from /proc (Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Collects findings and facts as the checks run.
#[derive(Debug, Default)]
pub struct Recorder {
    pub findings: Vec<Finding>,
    pub facts: ServerFacts,
}

impl Recorder {
    pub fn add(&mut self, f: Finding) {
        self.findings.push(f);
    }
    fn time(&mut self, phase: &str, d: Duration) {
        self.facts
            .timings_ms
            .insert(phase.to_string(), d.as_millis() as u64);
    }
}

/// Capabilities that matter to a migration, in the order they are listed.
pub const NOTABLE_CAPABILITIES: &[&str] = &[
    "IDLE",
    "UIDPLUS",
    "MOVE",
    "CONDSTORE",
    "QRESYNC",
    "LITERAL+",
    "LITERAL-",
    "NAMESPACE",
    "ID",
    "SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "COMPRESS=DEFLATE",
    "ENABLE",
    "UTF8=ACCEPT",
    "QUOTA",
    "X-GM-EXT-1",
];

fn has_cap(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// A session that got through greeting, TLS and capabilities.
pub struct Opened {
    pub session: Session,
    pub caps: Vec<String>,
    /// The greeting was PREAUTH: already logged in.
    pub preauth: bool,
}

/// Resolves, connects, sets up TLS, reads the greeting and the
/// capabilities. `None` when a step failed (its finding says why).
pub async fn open(
    cfg: &ProbeConfig,
    tls: &TlsClient,
    trace: Trace,
    rec: &mut Recorder,
) -> Option<Opened> {
    let t = Instant::now();
    let resolved = match &cfg.addresses {
        Some(cache) => cache.resolve(&cfg.host, cfg.port, cfg.timeout).await,
        None => transport::resolve(&cfg.host, cfg.port, cfg.timeout)
            .await
            .map(|a| (a, false)),
    };
    let (addrs, cached) = match resolved {
        Ok(a) => a,
        Err(e) => {
            rec.add(connect_failure("connect.dns", &e, t.elapsed()));
            return None;
        }
    };
    rec.facts.addresses = addrs.iter().map(|a| a.ip().to_string()).collect();
    let how = if cached {
        // No lookup was timed: the phase is left out, not reported as 0 ms.
        "(resolved earlier in this run)".to_string()
    } else {
        rec.time("dns", t.elapsed());
        format!("in {}", ms(t.elapsed()))
    };
    rec.add(
        Finding::pass(
            "connect.dns",
            format!("{} → {} {how}", cfg.host, rec.facts.addresses.join(", ")),
        )
        .with_duration(t.elapsed()),
    );

    let t = Instant::now();
    let (tcp, peer) = match transport::connect(&addrs, cfg.timeout).await {
        Ok(x) => x,
        Err(e) => {
            rec.add(connect_failure("connect.tcp", &e, t.elapsed()));
            return None;
        }
    };
    rec.time("connect", t.elapsed());
    rec.facts.peer = Some(peer.to_string());
    rec.add(
        Finding::pass("connect.tcp", format!("{peer} in {}", ms(t.elapsed())))
            .with_duration(t.elapsed()),
    );

    let mut conn = Connection::new(tcp, peer, cfg.timeout, trace);
    if cfg.tls_mode == TlsMode::Implicit {
        let t = Instant::now();
        let r = conn.start_tls(tls, &cfg.host).await;
        rec.time("tls", t.elapsed());
        if !handshake_findings(cfg, tls, &conn, r, t.elapsed(), rec, "implicit TLS") {
            return None;
        }
    }

    let mut session = Session::new(conn);
    session.limits.max_line = cfg.max_line;
    let (caps, preauth) = greeting(cfg, tls, &mut session, rec).await?;
    let mut caps = match caps {
        Some(c) => c,
        None => capability(&mut session, rec).await?,
    };
    session.literal_plus = has_cap(&caps, "LITERAL+");

    match cfg.tls_mode {
        TlsMode::Implicit => {}
        TlsMode::Starttls => {
            rec.facts.capabilities_before_tls = caps.clone();
            if let Some(after) = starttls(cfg, tls, &mut session, &caps, rec).await {
                caps = after;
            } else if session.conn.is_tls() || !has_cap(&caps, "STARTTLS") {
                // Upgrade failed after STARTTLS was accepted, or never offered:
                // with no STARTTLS the walk goes on in plaintext.
                if session.conn.is_tls() {
                    return None;
                }
            } else {
                return None;
            }
        }
        TlsMode::None => rec.add(
            Finding::warn("tls.none", "the connection is not encrypted (--tls none)").with_remedy(
                "use port 993 (implicit TLS) or STARTTLS on 143; migration services expect TLS",
            ),
        ),
    }
    capability_findings(&caps, rec);
    rec.facts.capabilities = caps.clone();
    session.literal_plus = has_cap(&caps, "LITERAL+");
    if has_cap(&caps, "ID") {
        server_id(&mut session, rec).await;
    }
    Some(Opened {
        session,
        caps,
        preauth,
    })
}

fn connect_failure(id: &str, e: &ConnectError, took: Duration) -> Finding {
    let (predicts, remedy) = match e {
        ConnectError::NameNotFound { .. } | ConnectError::DnsTimedOut { .. } => (
            predicts::CONNECTION_FAILED,
            "fix the DNS name (the migration endpoint must resolve it publicly)",
        ),
        ConnectError::Refused { .. } => (
            predicts::CONNECTION_FAILED,
            "nothing listens on that port: check the port (993 implicit TLS, 143 STARTTLS) and that the IMAP service runs",
        ),
        ConnectError::TimedOut { .. } => (
            predicts::CONNECTION_TIMED_OUT,
            "a firewall drops the connection: open 993/143 to the migration service",
        ),
        _ => (
            predicts::CONNECTION_FAILED,
            "check routing and firewalls between here and the server",
        ),
    };
    Finding::fail(id, e.to_string())
        .with_predicts(predicts)
        .with_remedy(remedy)
        .with_duration(took)
}

/// Turns a handshake's outcome into findings; true when TLS is up.
fn handshake_findings(
    cfg: &ProbeConfig,
    tls: &TlsClient,
    conn: &Connection,
    result: Result<(), HandshakeFailure>,
    took: Duration,
    rec: &mut Recorder,
    how: &str,
) -> bool {
    match result {
        Ok(()) => {
            let Some(c) = conn.tls_connection() else {
                return false;
            };
            let facts = tls::facts_after_handshake(c, &tls.record(), &cfg.host, tls.insecure);
            rec.add(
                Finding::pass(
                    "tls.handshake",
                    format!(
                        "{how}: {}, {} in {}",
                        facts.version,
                        facts.cipher_suite,
                        ms(took)
                    ),
                )
                .with_duration(took),
            );
            certificate_findings(cfg, &facts, rec);
            rec.facts.tls = Some(facts);
            true
        }
        Err(f) => {
            let record = tls.record();
            let mut finding = if f.server_spoke_plaintext() {
                Finding::fail(
                    "tls.handshake",
                    format!(
                        "{how} failed: the server answered in plaintext ({}): this port speaks plain IMAP",
                        crate::findings::Evidence::new(f.received.clone()).display(60)
                    ),
                )
                .with_remedy("use --tls starttls (port 143 style), or point the migration endpoint at the TLS port (993)")
                .with_evidence(f.received.clone())
            } else {
                Finding::fail("tls.handshake", format!("{how} failed: {}", f.reason))
                    .with_remedy("enable TLS 1.2 or later with a certificate from a public CA")
            };
            finding = finding
                .with_predicts(predicts::TLS_FAILED)
                .with_duration(took);
            rec.add(finding);
            // The verifier ran before the failure: say what was wrong with the chain.
            if !record.chain.is_empty() {
                let facts = TlsFacts {
                    version: String::new(),
                    cipher_suite: String::new(),
                    // Parsed by the verifier when it saw the chain.
                    chain: record.facts.as_deref().cloned().unwrap_or_default(),
                    verification: match &record.result {
                        Some(Err(e)) => e.clone(),
                        Some(Ok(())) => "trusted".into(),
                        None => "not verified".into(),
                    },
                    trusted: matches!(record.result, Some(Ok(()))),
                    host_matches: None,
                    days_left: None,
                    insecure: tls.insecure,
                };
                let leaf = facts.chain.first().cloned();
                let facts = TlsFacts {
                    host_matches: leaf.as_ref().map(|l| tls::host_matches(&cfg.host, &l.sans)),
                    days_left: leaf.as_ref().map(|l| tls::days_left(l.not_after_unix)),
                    ..facts
                };
                certificate_findings(cfg, &facts, rec);
                rec.facts.tls = Some(facts);
            }
            false
        }
    }
}

/// Trust, host name and expiry of the presented certificate.
fn certificate_findings(cfg: &ProbeConfig, facts: &TlsFacts, rec: &mut Recorder) {
    let Some(leaf) = facts.chain.first() else {
        return;
    };
    let who = format!("{}, issued by {}", leaf.subject, leaf.issuer);
    if facts.trusted {
        rec.add(Finding::pass(
            "tls.certificate.trust",
            format!("{who}: trusted"),
        ));
    } else {
        let mut f = Finding::fail(
            "tls.certificate.trust",
            format!("{who}: {}", facts.verification),
        )
        .with_predicts(predicts::TLS_FAILED)
        .with_remedy("install a certificate from a public CA with the full chain; --ca-file adds a private CA for this probe only");
        if facts.insecure {
            f.message.push_str(" (accepted because of --insecure)");
        }
        rec.add(f);
    }
    match facts.host_matches {
        Some(true) => rec.add(Finding::pass(
            "tls.certificate.hostname",
            format!("{} matches {}", cfg.host, leaf.sans.join(", ")),
        )),
        Some(false) => rec.add(
            Finding::fail(
                "tls.certificate.hostname",
                format!(
                    "{} is not among the certificate's names ({})",
                    cfg.host,
                    if leaf.sans.is_empty() { "no subject alternative names".to_string() } else { leaf.sans.join(", ") }
                ),
            )
            .with_predicts(predicts::TLS_FAILED)
            .with_remedy("connect with a name the certificate carries, or reissue it with this name as a SAN"),
        ),
        None => {}
    }
    if let Some(days) = facts.days_left {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let not_before_future = leaf_not_before_future(leaf, now);
        if days < 0 {
            rec.add(
                Finding::fail(
                    "tls.certificate.expiry",
                    format!("expired on {}", leaf.not_after),
                )
                .with_predicts(predicts::TLS_FAILED)
                .with_remedy("renew the certificate"),
            );
        } else if not_before_future {
            rec.add(
                Finding::fail(
                    "tls.certificate.expiry",
                    format!("not valid before {}", leaf.not_before),
                )
                .with_predicts(predicts::TLS_FAILED)
                .with_remedy("check the server's clock and the certificate's dates"),
            );
        } else if days < cfg.cert_warn_days {
            rec.add(
                Finding::warn(
                    "tls.certificate.expiry",
                    format!("expires in {days} days ({})", leaf.not_after),
                )
                .with_remedy("renew before the migration window; the migration service rejects expired certificates"),
            );
        } else {
            rec.add(Finding::pass(
                "tls.certificate.expiry",
                format!("valid until {} ({days} days left)", leaf.not_after),
            ));
        }
    }
    if facts.insecure {
        rec.add(
            Finding::warn(
                "tls.insecure",
                "certificate verification was overridden by --insecure",
            )
            .with_remedy(
                "the migration service will not skip verification: fix the certificate instead",
            ),
        );
    }
}

fn leaf_not_before_future(leaf: &tls::CertFacts, now: i64) -> bool {
    humantime::parse_rfc3339(&leaf.not_before)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|d| d.as_secs() as i64 > now)
}

/// Reads and judges the greeting. Returns the capabilities it carried (if
/// any) and whether it was PREAUTH; `None` when there is no usable greeting.
async fn greeting(
    cfg: &ProbeConfig,
    tls: &TlsClient,
    session: &mut Session,
    rec: &mut Recorder,
) -> Option<(Option<Vec<String>>, bool)> {
    let t = Instant::now();
    let raw = match session.read_response().await {
        Ok(r) => r,
        Err(e) => {
            let mut f = Finding::fail("imap.greeting", format!("no greeting: {e}"))
                .with_predicts(predicts::CONNECTION_TIMED_OUT)
                .with_duration(t.elapsed());
            let partial = e.evidence();
            if !partial.is_empty() {
                f = f.with_evidence(partial);
            }
            if matches!(e, SessionFault::Io(transport::IoFault::TimedOut { .. }))
                && !session.conn.is_tls()
                && port_speaks_tls(cfg, tls).await
            {
                f.message = format!(
                    "no greeting within {}: the port expects TLS first (implicit TLS, as on 993)",
                    humantime::format_duration(cfg.timeout)
                );
                f = f.with_remedy("use --tls implicit for this port, or the STARTTLS port (143)");
            } else {
                f = f.with_remedy(
                    "check that an IMAP server (not another service) listens on this port",
                );
            }
            rec.add(f);
            return None;
        }
    };
    rec.time("greeting", t.elapsed());
    rec.facts.greeting = Some(String::from_utf8_lossy(&raw.0).trim_end().to_string());
    if matches!(raw.0.first(), Some(0x15 | 0x16)) {
        rec.add(
            Finding::fail(
                "imap.greeting",
                "the server answered with TLS records: this port speaks implicit TLS",
            )
            .with_evidence(raw.0.clone())
            .with_remedy("use --tls implicit for this port"),
        );
        return None;
    }
    match grammar::parse_greeting(&raw.0, &session.grammar) {
        Ok((g, _)) => {
            let caps = match &g.code {
                Some(Code::Capability(c)) => Some(
                    c.iter()
                        .map(|x| String::from_utf8_lossy(x).into_owned())
                        .collect(),
                ),
                _ => None,
            };
            let text = String::from_utf8_lossy(g.text).into_owned();
            match g.kind {
                GreetingKind::Bye => {
                    rec.add(
                        Finding::fail("imap.greeting", format!("the server refuses the connection: BYE {text}"))
                            .with_evidence(raw.0.clone())
                            .with_predicts(predicts::CONNECTION_FAILED)
                            .with_remedy("the server's own words say why: often too many connections from this address, or maintenance"),
                    );
                    None
                }
                kind => {
                    let preauth = kind == GreetingKind::Preauth;
                    rec.add(
                        Finding::pass(
                            "imap.greeting",
                            format!(
                                "{}{}",
                                if preauth { "PREAUTH: " } else { "" },
                                Evidence(raw.0.clone()).display(200)
                            ),
                        )
                        .with_duration(t.elapsed()),
                    );
                    Some((caps, preauth))
                }
            }
        }
        Err(e) => {
            let deviation = match e {
                grammar::ParseError::Invalid(d) => d,
                grammar::ParseError::Incomplete { .. } => grammar::Deviation {
                    offset: raw.0.len(),
                    rule: "greeting",
                    expected: "CRLF".into(),
                    found: Vec::new(),
                },
            };
            let looks_ok = raw.0.len() > 4
                && (raw.0[..4].eq_ignore_ascii_case(b"* OK")
                    || raw.0[..4].eq_ignore_ascii_case(b"* PR"));
            rec.add(
                Finding::fail(
                    "imap.greeting",
                    format!(
                        "the greeting is not IMAP (rule {}, byte {}: expected {}):\n{}",
                        deviation.rule,
                        deviation.offset,
                        deviation.expected,
                        deviation.excerpt(&raw.0)
                    ),
                )
                .with_evidence(raw.0.clone())
                .with_rule("RFC 3501 §9 greeting")
                .with_predicts(predicts::COULD_NOT_PARSE)
                .with_remedy("check that an IMAP server (not another service or a proxy) answers on this port"),
            );
            looks_ok.then_some((None, false))
        }
    }
}

use crate::findings::Evidence;

/// Tries a TLS handshake on a fresh connection, to tell "waiting for a
/// ClientHello" from "silent".
async fn port_speaks_tls(cfg: &ProbeConfig, tls: &TlsClient) -> bool {
    let Ok(addrs) = transport::resolve(&cfg.host, cfg.port, cfg.timeout).await else {
        return false;
    };
    let Ok((tcp, peer)) = transport::connect(&addrs, cfg.timeout).await else {
        return false;
    };
    let mut conn = Connection::new(tcp, peer, cfg.timeout, Trace::off());
    let r = conn.start_tls(tls, &cfg.host).await;
    let speaks = match &r {
        Ok(()) => true,
        Err(f) => f.received.first() == Some(&0x16) || f.reason.contains("certificate"),
    };
    conn.shutdown().await;
    tls.reset_record();
    speaks
}

/// Runs CAPABILITY and returns the list.
async fn capability(session: &mut Session, rec: &mut Recorder) -> Option<Vec<String>> {
    match session.run(Command::new("CAPABILITY")).await {
        Ok(reply) if reply.is_ok() => Some(capabilities_in(&reply, &session.grammar)),
        Ok(reply) => {
            rec.add(
                Finding::fail(
                    "imap.capability",
                    format!("CAPABILITY refused: {}", reply.text),
                )
                .with_evidence(reply.tagged.0.clone()),
            );
            None
        }
        Err(e) => {
            rec.add(fault_finding("imap.capability", "CAPABILITY", &e));
            None
        }
    }
}

/// Capabilities from a reply: untagged CAPABILITY data, else the tagged code.
pub fn capabilities_in(reply: &Reply, opts: &grammar::Options) -> Vec<String> {
    let mut caps = Vec::new();
    for u in untagged_of(reply, opts) {
        if let Untagged::Capability(list) = u {
            caps.extend(list.iter().map(|c| String::from_utf8_lossy(c).into_owned()));
        }
    }
    if caps.is_empty() {
        if let Ok((grammar::Response::Tagged(t), _)) =
            grammar::parse_response(&reply.tagged.0, opts)
        {
            if let Some(Code::Capability(list)) = &t.status.code {
                caps.extend(list.iter().map(|c| String::from_utf8_lossy(c).into_owned()));
            }
        }
    }
    caps
}

/// A finding for a session fault during `what`.
pub fn fault_finding(id: &str, what: &str, e: &SessionFault) -> Finding {
    let mut f = Finding::fail(id, format!("{what}: {e}"));
    let ev = e.evidence();
    if !ev.is_empty() {
        f = f.with_evidence(ev);
    }
    if matches!(e, SessionFault::Io(transport::IoFault::TimedOut { .. })) {
        f = f.with_predicts(predicts::CONNECTION_TIMED_OUT);
    }
    f
}

fn capability_findings(caps: &[String], rec: &mut Recorder) {
    let rev = if has_cap(caps, "IMAP4rev2") {
        Some("IMAP4rev2")
    } else if has_cap(caps, "IMAP4rev1") {
        Some("IMAP4rev1")
    } else {
        None
    };
    let notable: Vec<&str> = NOTABLE_CAPABILITIES
        .iter()
        .copied()
        .filter(|c| has_cap(caps, c))
        .collect();
    let auths: Vec<&str> = caps
        .iter()
        .filter(|c| c.len() > 5 && c[..5].eq_ignore_ascii_case("AUTH="))
        .map(String::as_str)
        .collect();
    match rev {
        Some(rev) => rec.add(Finding::pass(
            "imap.capability",
            format!(
                "{rev}; {}{}{}",
                if notable.is_empty() {
                    "none of the notable extensions".to_string()
                } else {
                    notable.join(" ")
                },
                if auths.is_empty() {
                    String::new()
                } else {
                    format!("; {}", auths.join(" "))
                },
                if has_cap(caps, "LOGINDISABLED") {
                    "; LOGINDISABLED"
                } else {
                    ""
                }
            ),
        )),
        None => rec.add(
            Finding::fail(
                "imap.capability",
                format!(
                    "neither IMAP4rev1 nor IMAP4rev2 is advertised: {}",
                    caps.join(" ")
                ),
            )
            .with_rule("RFC 3501 §7.2.1: the capability list MUST include IMAP4rev1")
            .with_remedy(
                "the server is not an IMAP4rev1 server, or a proxy rewrites its capabilities",
            ),
        ),
    }
}

/// STARTTLS, the upgrade, and CAPABILITY again. The new capabilities,
/// or `None` when the upgrade did not happen.
async fn starttls(
    cfg: &ProbeConfig,
    tls: &TlsClient,
    session: &mut Session,
    caps: &[String],
    rec: &mut Recorder,
) -> Option<Vec<String>> {
    if !has_cap(caps, "STARTTLS") {
        rec.add(
            Finding::fail(
                "tls.starttls",
                format!(
                    "port {} does not offer STARTTLS: the session stays unencrypted",
                    cfg.port
                ),
            )
            .with_rule("RFC 3501 §6.2.1")
            .with_predicts(predicts::TLS_FAILED)
            .with_remedy("enable STARTTLS on this port, or use implicit TLS on 993"),
        );
        return None;
    }
    let t = Instant::now();
    let reply = match session.run(Command::new("STARTTLS")).await {
        Ok(r) => r,
        Err(e) => {
            rec.add(fault_finding("tls.starttls", "STARTTLS", &e));
            return None;
        }
    };
    if !reply.is_ok() {
        rec.add(
            Finding::fail("tls.starttls", format!("STARTTLS refused: {}", reply.text))
                .with_evidence(reply.tagged.0.clone())
                .with_predicts(predicts::TLS_FAILED),
        );
        return None;
    }
    // Anything already buffered after the OK was sent before our handshake:
    // a client that kept it would read it as if it came over TLS.
    tokio::task::yield_now().await;
    let injected = session.conn.take_buffered();
    if !injected.is_empty() {
        rec.add(injection_finding(injected));
    }
    let r = session.conn.start_tls(tls, &cfg.host).await;
    if let Err(f) = &r {
        if f.server_spoke_plaintext() {
            rec.add(injection_finding(f.received.clone()));
        }
    }
    rec.time("tls", t.elapsed());
    if !handshake_findings(cfg, tls, &session.conn, r, t.elapsed(), rec, "STARTTLS") {
        return None;
    }
    let after = capability(session, rec).await?;
    let added: Vec<&str> = after
        .iter()
        .filter(|c| !has_cap(caps, c))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = caps
        .iter()
        .filter(|c| !has_cap(&after, c))
        .map(String::as_str)
        .collect();
    let message = if added.is_empty() && removed.is_empty() {
        "capabilities are the same before and after TLS".to_string()
    } else {
        format!(
            "capabilities changed after TLS: added [{}], removed [{}]",
            added.join(" "),
            removed.join(" ")
        )
    };
    rec.add(Finding::pass("tls.starttls", message).with_duration(t.elapsed()));
    Some(after)
}

fn injection_finding(bytes: Vec<u8>) -> Finding {
    Finding::fail(
        "tls.starttls.injection",
        format!(
            "the server sent {} bytes after its STARTTLS OK and before the TLS handshake; they were discarded",
            bytes.len()
        ),
    )
    .with_evidence(bytes)
    .with_rule("RFC 3501 §6.2.1; RFC 7817 §3 (response injection)")
    .with_remedy("a man-in-the-middle or a broken proxy can inject responses here: check what sits between the client and the server")
}

/// Sends our ID and reports the server's.
async fn server_id(session: &mut Session, rec: &mut Recorder) {
    let cmd = Command::new(&format!(
        "ID (\"name\" \"imapprobe\" \"version\" \"{}\")",
        env!("CARGO_PKG_VERSION")
    ));
    match session.run(cmd).await {
        Ok(reply) if reply.is_ok() => {
            let mut map = BTreeMap::new();
            for u in untagged_of(&reply, &session.grammar) {
                if let Untagged::Id(Some(pairs)) = u {
                    for (k, v) in pairs {
                        map.insert(
                            String::from_utf8_lossy(&k).to_ascii_lowercase(),
                            v.map(|v| String::from_utf8_lossy(&v).into_owned())
                                .unwrap_or_default(),
                        );
                    }
                }
            }
            let who = match (map.get("name"), map.get("version")) {
                (Some(n), Some(v)) => format!("{n} {v}"),
                (Some(n), None) => n.clone(),
                _ => "the server does not say its name (ID NIL)".to_string(),
            };
            rec.add(Finding::pass("imap.id", who));
            rec.facts.server_id = Some(map);
        }
        Ok(reply) => rec.add(
            Finding::warn(
                "imap.id",
                format!("ID is advertised but refused: {}", reply.text),
            )
            .with_evidence(reply.tagged.0.clone())
            .with_rule("RFC 2971"),
        ),
        Err(e) => rec.add(fault_finding("imap.id", "ID", &e)),
    }
}

/// Logs in if credentials were given. True when the session is authenticated.
pub async fn log_in(cfg: &ProbeConfig, opened: &mut Opened, rec: &mut Recorder) -> bool {
    let Some(creds) = &cfg.credentials else {
        rec.add(Finding::skip(
            "auth.login",
            "no --user given: login not tested",
        ));
        return false;
    };
    if opened.preauth {
        rec.add(Finding::pass(
            "auth.login",
            "the server pre-authenticated the connection (PREAUTH)",
        ));
        return true;
    }
    if !opened.session.conn.is_tls() && !cfg.allow_plaintext_auth {
        rec.add(
            Finding::fail(
                "auth.plaintext",
                "credentials were not sent: the connection is not encrypted",
            )
            .with_remedy("use TLS (993 or STARTTLS); pass --allow-plaintext-auth to send them in clear anyway"),
        );
        return false;
    }
    let mech = match auth::choose(creds, &opened.caps, cfg.mechanism) {
        Ok(m) => m,
        Err(why) => {
            rec.add(
                Finding::fail("auth.mechanism", why)
                    .with_predicts(predicts::LOGIN_FAILED)
                    .with_remedy("pick a mechanism the server offers with --auth, or enable it on the server"),
            );
            return false;
        }
    };
    rec.facts.auth_mechanism = Some(mech.name().to_string());
    let t = Instant::now();
    let sasl_ir = has_cap(&opened.caps, "SASL-IR");
    let attempt = auth::login(
        &mut opened.session,
        creds,
        mech,
        &cfg.host,
        cfg.port,
        sasl_ir,
    )
    .await;
    rec.time("login", t.elapsed());
    let how = describe_login(creds, mech);
    match attempt.result {
        Ok(reply) if reply.is_ok() => {
            rec.add(
                Finding::pass("auth.login", format!("{how} in {}", ms(t.elapsed())))
                    .with_duration(t.elapsed()),
            );
            let mut caps = capabilities_in(&reply, &opened.session.grammar);
            if caps.is_empty() {
                if let Ok(r) = opened.session.run(Command::new("CAPABILITY")).await {
                    caps = capabilities_in(&r, &opened.session.grammar);
                }
            }
            if !caps.is_empty() {
                opened.caps = caps.clone();
                opened.session.literal_plus = has_cap(&caps, "LITERAL+");
                rec.facts.capabilities_after_login = caps;
            }
            true
        }
        Ok(reply) => {
            let causes = auth::likely_causes(reply.code.as_deref(), &reply.text);
            let mut message = format!(
                "{how} refused: {}{}",
                reply
                    .code
                    .as_ref()
                    .map(|c| format!("[{c}] "))
                    .unwrap_or_default(),
                reply.text
            );
            if let Some(e) = &attempt.sasl_error {
                message.push_str(&format!(" (SASL error: {e})"));
            }
            rec.add(
                Finding::fail("auth.login", message)
                    .with_evidence(reply.tagged.0.clone())
                    .with_predicts(predicts::LOGIN_FAILED)
                    .with_remedy(causes.join("; "))
                    .with_duration(t.elapsed()),
            );
            false
        }
        Err(e) => {
            rec.add(fault_finding("auth.login", &how, &e).with_predicts(predicts::LOGIN_FAILED));
            false
        }
    }
}

fn describe_login(creds: &Credentials, mech: auth::Mechanism) -> String {
    let verb = match mech {
        auth::Mechanism::Login => "LOGIN".to_string(),
        m => format!("AUTHENTICATE {}", m.name()),
    };
    match &creds.authz {
        Some(z) => format!("{verb} as {} for {z}", creds.user),
        None => format!("{verb} as {}", creds.user),
    }
}

/// LOGOUT: the server should answer BYE, then OK (RFC 3501 §6.1.3).
pub async fn log_out(session: &mut Session, rec: &mut Recorder) {
    match session.run(Command::new("LOGOUT")).await {
        Ok(reply) if reply.is_ok() => {
            let bye = reply.untagged.iter().any(|r| crate::session::is_bye(&r.0));
            if bye {
                rec.add(Finding::pass("imap.logout", "BYE, then OK"));
            } else {
                rec.add(
                    Finding::warn("imap.logout", "LOGOUT completed without an untagged BYE")
                        .with_evidence(reply.tagged.0.clone())
                        .with_rule(
                            "RFC 3501 §6.1.3: the server MUST send a BYE before the tagged OK",
                        ),
                );
            }
        }
        Ok(reply) => rec.add(
            Finding::warn(
                "imap.logout",
                format!("LOGOUT answered {:?}: {}", reply.status, reply.text),
            )
            .with_evidence(reply.tagged.0.clone()),
        ),
        // A server that just closes on LOGOUT loses nothing for a migration.
        Err(SessionFault::Io(transport::IoFault::Closed { .. })) => rec.add(
            Finding::warn(
                "imap.logout",
                "the server closed the connection without completing LOGOUT",
            )
            .with_rule("RFC 3501 §6.1.3"),
        ),
        Err(e) => rec.add(Finding {
            status: Status::Warn,
            ..fault_finding("imap.logout", "LOGOUT", &e)
        }),
    }
    session.conn.shutdown().await;
}

/// One finding per grammar deviation the session saw.
pub fn grammar_findings(session: &Session, rec: &mut Recorder) {
    for d in &session.deviations {
        let origin = crate::verdicts::Origin {
            command: Some(d.command.clone()),
            location: d.context.clone(),
            wire_offset: d.wire_offset,
        };
        rec.add(crate::verdicts::deviation_finding(
            &d.response,
            &d.deviation,
            &origin,
        ));
    }
}
