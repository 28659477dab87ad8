//! Which failures are worth another try, and how long to wait first.
//!
//! Transient, as a migration service counts them: no answer in time, a
//! connection closed or reset, a BYE, and a server that says it is busy
//! (`[UNAVAILABLE]`, `[INUSE]`, "too many connections", "try again later",
//! throttling). Permanent: a refused login (`[AUTHENTICATIONFAILED]`), a
//! certificate the client does not trust, a closed port — the next try
//! would say the same.

use crate::findings::Status;
use crate::report::Report;
use std::time::Duration;

/// Words of a server or of our transport that mean "not now".
const TRANSIENT_MARKERS: &[&str] = &[
    "no answer within",
    "timed out",
    "closed the connection",
    "closed the session",
    "connection broken",
    "connection reset",
    "refuses the connection: bye",
    "[unavailable]",
    "[inuse]",
    "too many connections",
    "too many simultaneous",
    "try again",
    "throttl",
    "rate limit",
    "temporarily",
    "server busy",
    "overloaded",
];

/// Checks that fail the same way on every try, whatever their words.
const PERMANENT_MARKERS: &[&str] = &["[authenticationfailed]", "[authorizationfailed]"];

/// Finding sections a connection-level fault shows up in.
const CONNECTION_SECTIONS: &[&str] = &["connect", "tls", "imap", "auth"];

/// Why the run failed transiently (the first such failure's words), or
/// `None` when it passed, warned, or failed for good.
pub fn transient(r: &Report) -> Option<String> {
    let fails: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .collect();
    if fails.is_empty() {
        return None;
    }
    let text = |f: &crate::findings::Finding| f.message.to_lowercase();
    if fails
        .iter()
        .any(|f| PERMANENT_MARKERS.iter().any(|m| text(f).contains(m)))
    {
        return None;
    }
    fails
        .iter()
        .filter(|f| CONNECTION_SECTIONS.contains(&f.section()))
        .find(|f| TRANSIENT_MARKERS.iter().any(|m| text(f).contains(m)))
        .map(|f| format!("{}: {}", f.id, f.message))
}

/// The wait before retry `n` (1 for the first): `base` doubled each time,
/// at most a minute, spread by ±25 % so that workers that failed together
/// do not come back together.
pub fn backoff(base: Duration, n: u32, seed: u64) -> Duration {
    let exp = base.saturating_mul(1u32 << (n.saturating_sub(1)).min(16));
    let capped = exp
        .min(Duration::from_secs(60))
        .max(base.min(Duration::from_secs(60)));
    // splitmix64: enough spread for jitter, no dependency.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let factor = 0.75 + (z % 1000) as f64 / 2000.0;
    capped.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Finding;
    use crate::report::Subject;

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(
            "test-server",
            Subject::default(),
            String::new(),
            Duration::ZERO,
            findings,
        )
    }

    #[test]
    fn timeouts_bye_and_busy_servers_are_transient() {
        for msg in [
            "LOGIN as alice: no answer within 1s",
            "the server refuses the connection: BYE Too many connections from your IP",
            "LOGIN as alice refused: [UNAVAILABLE] Temporary authentication failure",
            "LOGIN as bob refused: Too many login attempts, try again later",
        ] {
            let id = if msg.contains("BYE") {
                "imap.greeting"
            } else {
                "auth.login"
            };
            assert!(
                transient(&report(vec![Finding::fail(id, msg)])).is_some(),
                "{msg}"
            );
        }
    }

    #[test]
    fn refusals_and_passes_are_not() {
        assert!(transient(&report(vec![Finding::fail(
            "auth.login",
            "LOGIN as alice refused: [AUTHENTICATIONFAILED] Authentication failed."
        )]))
        .is_none());
        assert!(transient(&report(vec![Finding::fail(
            "connect.tcp",
            "connection to 127.0.0.1:1 refused"
        )]))
        .is_none());
        assert!(transient(&report(vec![Finding::pass("auth.login", "ok")])).is_none());
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let base = Duration::from_secs(1);
        for seed in 0..50 {
            let b1 = backoff(base, 1, seed);
            let b3 = backoff(base, 3, seed);
            assert!(b1 >= Duration::from_millis(750) && b1 <= Duration::from_millis(1250));
            assert!(b3 >= Duration::from_secs(3) && b3 <= Duration::from_secs(5));
            assert!(backoff(base, 30, seed) <= Duration::from_secs(75));
        }
    }
}
