//! Authentication: LOGIN, AUTHENTICATE PLAIN (with an authorization
//! identity for admin logins), XOAUTH2 and OAUTHBEARER (RFC 7628). Picks a
//! mechanism from the capabilities unless one is forced, and explains a
//! refusal from the server's response code and text.

use crate::secret::Secret;
use crate::session::{Command, Reply, Session, SessionFault};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// A way to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Mechanism {
    Login,
    Plain,
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Login => "LOGIN",
            Mechanism::Plain => "PLAIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
    fn is_oauth(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

/// Who logs in, and with what.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    /// Authorization identity: the mailbox an admin acts for (`--authz-user`).
    pub authz: Option<String>,
    pub secret: Secret,
    /// True for an OAuth bearer token, false for a password.
    pub is_token: bool,
}

/// Picks the mechanism: the forced one if given (it must be advertised,
/// except LOGIN, which is always part of IMAP4rev1), else what fits the
/// credentials and the server.
pub fn choose(
    creds: &Credentials,
    caps: &[String],
    forced: Option<Mechanism>,
) -> Result<Mechanism, String> {
    let has = |c: &str| caps.iter().any(|x| x.eq_ignore_ascii_case(c));
    let login_disabled = has("LOGINDISABLED");
    let usable = |m: Mechanism| match m {
        Mechanism::Login => !login_disabled,
        other => has(&format!("AUTH={}", other.name())),
    };
    if let Some(m) = forced {
        if m.is_oauth() != creds.is_token {
            return Err(format!(
                "{} needs {}",
                m.name(),
                if m.is_oauth() {
                    "a token (--token-env or --token-file)"
                } else {
                    "a password"
                }
            ));
        }
        if m == Mechanism::Login && creds.authz.is_some() {
            return Err("LOGIN cannot carry an authorization identity: use --auth plain, or Dovecot's user*master form as the user name".into());
        }
        return if usable(m) {
            Ok(m)
        } else if m == Mechanism::Login {
            Err(
                "the server advertises LOGINDISABLED: LOGIN is not allowed on this connection"
                    .into(),
            )
        } else {
            Err(format!("the server does not advertise AUTH={}", m.name()))
        };
    }
    let order: &[Mechanism] = if creds.is_token {
        &[Mechanism::XOAuth2, Mechanism::OAuthBearer]
    } else if creds.authz.is_some() {
        &[Mechanism::Plain]
    } else {
        // LOGIN first: it is what IMAP migration services send.
        &[Mechanism::Login, Mechanism::Plain]
    };
    order.iter().copied().find(|&m| usable(m)).ok_or_else(|| {
        if creds.is_token {
            "the server advertises neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER".to_string()
        } else if creds.authz.is_some() {
            "an authorization identity needs AUTH=PLAIN, which the server does not advertise".to_string()
        } else {
            "LOGINDISABLED is advertised and AUTH=PLAIN is not: the server accepts no password login on this connection".to_string()
        }
    })
}

/// `authzid NUL authcid NUL passwd` (RFC 4616), base64.
fn plain_payload(creds: &Credentials) -> String {
    let mut raw = Vec::new();
    raw.extend_from_slice(creds.authz.as_deref().unwrap_or("").as_bytes());
    raw.push(0);
    raw.extend_from_slice(creds.user.as_bytes());
    raw.push(0);
    raw.extend_from_slice(creds.secret.expose().as_bytes());
    B64.encode(raw)
}

/// `user=U ^A auth=Bearer T ^A ^A` (Google's and Microsoft's XOAUTH2), base64.
fn xoauth2_payload(creds: &Credentials) -> String {
    B64.encode(format!(
        "user={}\x01auth=Bearer {}\x01\x01",
        creds.user,
        creds.secret.expose()
    ))
}

/// RFC 7628 §3.1 client response: GS2 header with the authzid, then host,
/// port and the bearer token.
fn oauthbearer_payload(creds: &Credentials, host: &str, port: u16) -> String {
    let authz = creds.authz.as_deref().unwrap_or(&creds.user);
    let gs2_user = authz.replace('=', "=3D").replace(',', "=2C");
    B64.encode(format!(
        "n,a={gs2_user},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01",
        creds.secret.expose()
    ))
}

/// What a login attempt produced.
pub struct Attempt {
    pub mechanism: Mechanism,
    pub result: Result<Reply, SessionFault>,
    /// A decoded SASL error challenge (OAuth servers send JSON there).
    pub sasl_error: Option<String>,
}

/// Logs in with `mech`.
pub async fn login(
    session: &mut Session,
    creds: &Credentials,
    mech: Mechanism,
    host: &str,
    port: u16,
    sasl_ir: bool,
) -> Attempt {
    let mut sasl_error = None;
    let result = match mech {
        Mechanism::Login => {
            let cmd = Command::new("LOGIN")
                .string(creds.user.as_bytes())
                .secret(&creds.secret);
            session.run(cmd).await
        }
        Mechanism::Plain => {
            let payload = plain_payload(creds);
            if sasl_ir {
                session
                    .authenticate("PLAIN", Some(&payload), |_| String::new())
                    .await
            } else {
                let mut sent = false;
                session
                    .authenticate("PLAIN", None, |_| {
                        if sent {
                            "*".to_string() // cancel: the server asked twice
                        } else {
                            sent = true;
                            payload.clone()
                        }
                    })
                    .await
            }
        }
        Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
            let payload = if mech == Mechanism::XOAuth2 {
                xoauth2_payload(creds)
            } else {
                oauthbearer_payload(creds, host, port)
            };
            // An OAuth failure comes as a challenge with a JSON error; the
            // client answers it (empty line, or ^A for OAUTHBEARER) and the
            // server then sends NO.
            let ack = if mech == Mechanism::XOAuth2 {
                String::new()
            } else {
                B64.encode([1u8])
            };
            let mut sent = sasl_ir;
            let initial = if sasl_ir {
                Some(payload.as_str())
            } else {
                None
            };
            let r = session
                .authenticate(mech.name(), initial, |challenge| {
                    if !sent {
                        sent = true;
                        return payload.clone();
                    }
                    if let Ok(json) = B64.decode(challenge) {
                        sasl_error = Some(String::from_utf8_lossy(&json).into_owned());
                    }
                    ack.clone()
                })
                .await;
            r
        }
    };
    Attempt {
        mechanism: mech,
        result,
        sasl_error,
    }
}

/// Likely causes of a refused login, from the response code (RFC 5530)
/// and well-known server texts.
pub fn likely_causes(code: Option<&str>, text: &str) -> Vec<&'static str> {
    let mut causes = Vec::new();
    let t = text.to_ascii_lowercase();
    match code.map(|c| c.to_ascii_uppercase()).as_deref() {
        Some("AUTHENTICATIONFAILED") => causes.push("wrong user name or password (check the migration CSV: UserName is the login name, not always the address)"),
        Some("AUTHORIZATIONFAILED") => causes.push("the admin account is not allowed to act for this user (master-user or proxy rights missing)"),
        Some("UNAVAILABLE") => causes.push("the server's authentication back end is down; retry later"),
        Some("PRIVACYREQUIRED") => causes.push("the server wants TLS before credentials: use port 993 or STARTTLS"),
        Some("EXPIRED") => causes.push("the password or account has expired"),
        Some("CONTACTADMIN") => causes.push("the account is locked or needs an administrator"),
        Some("ALERT") if t.contains("application-specific password") || t.contains("app password") => {
            causes.push("Gmail: an app password (2-Step Verification) or OAuth (XOAUTH2) is required")
        }
        _ => {}
    }
    if t.contains("web login required") || t.contains("webloginrequired") {
        causes.push("Gmail: sign in through the web once, or use OAuth (XOAUTH2)");
    }
    if t.contains("imap") && (t.contains("disabled") || t.contains("not enabled")) {
        causes.push("IMAP access is disabled for this user");
    }
    if causes.is_empty() {
        causes.push("wrong credentials, IMAP disabled for the user, or an admin login in the wrong form (user*master or --authz-user)");
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(authz: Option<&str>, token: bool) -> Credentials {
        Credentials {
            user: "alice".into(),
            authz: authz.map(str::to_string),
            secret: Secret::new("pw"),
            is_token: token,
        }
    }
    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_payload_carries_authzid() {
        let p = B64
            .decode(plain_payload(&creds(Some("bob"), false)))
            .unwrap();
        assert_eq!(p, b"bob\0alice\0pw");
        let p = B64.decode(plain_payload(&creds(None, false))).unwrap();
        assert_eq!(p, b"\0alice\0pw");
    }

    #[test]
    fn oauth_payloads_follow_their_formats() {
        let x = B64.decode(xoauth2_payload(&creds(None, true))).unwrap();
        assert_eq!(x, b"user=alice\x01auth=Bearer pw\x01\x01");
        let o = B64
            .decode(oauthbearer_payload(
                &creds(None, true),
                "imap.example.org",
                993,
            ))
            .unwrap();
        assert_eq!(
            o,
            b"n,a=alice,\x01host=imap.example.org\x01port=993\x01auth=Bearer pw\x01\x01"
        );
    }

    #[test]
    fn mechanism_choice() {
        let c = caps(&["IMAP4rev1", "AUTH=PLAIN"]);
        assert_eq!(choose(&creds(None, false), &c, None), Ok(Mechanism::Login));
        assert_eq!(
            choose(&creds(Some("bob"), false), &c, None),
            Ok(Mechanism::Plain)
        );
        let disabled = caps(&["IMAP4rev1", "LOGINDISABLED", "AUTH=PLAIN"]);
        assert_eq!(
            choose(&creds(None, false), &disabled, None),
            Ok(Mechanism::Plain)
        );
        assert!(choose(
            &creds(None, false),
            &caps(&["IMAP4rev1", "LOGINDISABLED"]),
            None
        )
        .is_err());
        assert!(choose(&creds(None, false), &disabled, Some(Mechanism::Login)).is_err());
        assert!(choose(&creds(Some("bob"), false), &c, Some(Mechanism::Login)).is_err());
        let oauth = caps(&["IMAP4rev1", "AUTH=OAUTHBEARER"]);
        assert_eq!(
            choose(&creds(None, true), &oauth, None),
            Ok(Mechanism::OAuthBearer)
        );
        assert!(choose(&creds(None, true), &c, None).is_err());
        assert!(choose(&creds(None, false), &oauth, Some(Mechanism::OAuthBearer)).is_err());
    }
}
