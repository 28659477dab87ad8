//! TLS set-up in one small place: a rustls client configuration built once
//! from the platform's roots (plus `--ca-file`), and a verifier that records
//! what it saw. Verification always runs; `--insecure` only stops its
//! verdict from aborting the handshake, so the report can still say what
//! was wrong with the certificate.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What the user asked of TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
}

/// What the verifier saw during a handshake, kept even when it fails.
#[derive(Debug, Clone, Default)]
pub struct VerifyRecord {
    /// End entity first, then what the server sent after it.
    pub chain: Vec<Vec<u8>>,
    /// `None` before the verifier ran; `Some(Ok)` when the chain is trusted
    /// for the host name; otherwise rustls' reason.
    pub result: Option<Result<(), String>>,
    pub trust_anchors: usize,
    /// The chain's facts, parsed when the verifier first saw this chain
    /// (or taken from an earlier handshake that presented the same one).
    pub facts: Option<Arc<Vec<CertFacts>>>,
}

/// How long a chain's verdict is reused for handshakes that present the
/// very same certificates for the same name.
const CHAIN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Chains remembered at once (a batch talks to one server; a few spare
/// for a load balancer whose nodes present different certificates).
const CHAIN_CACHE_ENTRIES: usize = 8;

/// Verdicts on certificate chains already verified in this run, shared by
/// a client and the clients [`TlsClient::fork`] makes. A batch of a thousand logins to
/// one server meets one chain a thousand times; path building and the CA's
/// signature over the leaf are checked once a minute instead, and the
/// chain is parsed for its facts once. What is never skipped: each
/// handshake's own CertificateVerify, the server's proof that it holds the
/// leaf's private key (rustls checks it through
/// [`ServerCertVerifier::verify_tls13_signature`], which does not look here).
#[derive(Debug, Default)]
struct ChainCache {
    entries: Mutex<Vec<CachedChain>>,
}

/// What webpki said of a chain for a name.
type ChainVerdict = Result<(), rustls::Error>;

#[derive(Debug)]
struct CachedChain {
    chain: Vec<Vec<u8>>,
    server_name: String,
    verdict: ChainVerdict,
    facts: Arc<Vec<CertFacts>>,
    at: std::time::Instant,
}

impl ChainCache {
    fn get(
        &self,
        chain: &[Vec<u8>],
        server_name: &str,
    ) -> Option<(ChainVerdict, Arc<Vec<CertFacts>>)> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .find(|e| {
                e.at.elapsed() < CHAIN_CACHE_TTL && e.server_name == server_name && e.chain == chain
            })
            .map(|e| (e.verdict.clone(), e.facts.clone()))
    }

    fn put(&self, entry: CachedChain) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|e| {
                e.at.elapsed() < CHAIN_CACHE_TTL
                    && !(e.server_name == entry.server_name && e.chain == entry.chain)
            });
            if entries.len() >= CHAIN_CACHE_ENTRIES {
                entries.remove(0);
            }
            entries.push(entry);
        }
    }
}

/// A client configuration and the record its verifier fills in. Built on
/// first use: loading the platform's roots reads hundreds of files, which a
/// run that never gets to TLS (a closed port, `--tls none`) should not pay.
pub struct TlsClient {
    settings: TlsSettings,
    /// Certificates from `--ca-file`, read and checked up front so that a bad
    /// file is a usage error before any connection.
    extra_roots: Vec<CertificateDer<'static>>,
    built: std::sync::OnceLock<Built>,
    /// Chains verified by this client and its forks.
    chains: Arc<ChainCache>,
    pub insecure: bool,
}

struct Built {
    config: Arc<rustls::ClientConfig>,
    record: Arc<Mutex<VerifyRecord>>,
    /// Kept so that [`TlsClient::fork`] reuses the roots instead of loading them again.
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
pub enum TlsSetupError {
    CaFile { path: PathBuf, reason: String },
}

impl std::fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsSetupError::CaFile { path, reason } => {
                write!(f, "cannot use CA file {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for TlsSetupError {}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    insecure: bool,
    record: Arc<Mutex<VerifyRecord>>,
    chains: Arc<ChainCache>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain: Vec<Vec<u8>> = std::iter::once(end_entity)
            .chain(intermediates.iter())
            .map(|c| c.as_ref().to_vec())
            .collect();
        let name = server_name.to_str();
        let (verdict, facts) = match self.chains.get(&chain, &name) {
            Some(hit) => hit,
            None => {
                let verdict = match &self.inner {
                    Some(v) => v
                        .verify_server_cert(
                            end_entity,
                            intermediates,
                            server_name,
                            ocsp_response,
                            now,
                        )
                        .map(|_| ()),
                    None => Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::UnknownIssuer,
                    )),
                };
                let facts = Arc::new(chain.iter().filter_map(|c| cert_facts(c)).collect());
                self.chains.put(CachedChain {
                    chain: chain.clone(),
                    server_name: name.to_string(),
                    verdict: verdict.clone(),
                    facts: Arc::clone(&facts),
                    at: std::time::Instant::now(),
                });
                (verdict, facts)
            }
        };
        if let Ok(mut rec) = self.record.lock() {
            rec.chain = chain;
            rec.facts = Some(facts);
            rec.result = Some(verdict.clone().map_err(|e| describe_rustls_error(&e)));
        }
        match verdict {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl TlsClient {
    /// Reads `--ca-file`; the rest is built on first use.
    pub fn new(settings: &TlsSettings) -> Result<TlsClient, TlsSetupError> {
        let mut extra_roots = Vec::new();
        if let Some(path) = &settings.ca_file {
            let bad = |reason: String| TlsSetupError::CaFile {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.kind().to_string()))?;
            extra_roots = rustls_pemfile::certs(&mut pem.as_slice())
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if extra_roots.is_empty() {
                return Err(bad("no PEM certificate in it".into()));
            }
            let mut check = RootCertStore::empty();
            for c in &extra_roots {
                check.add(c.clone()).map_err(|e| bad(e.to_string()))?;
            }
        }
        Ok(TlsClient {
            settings: settings.clone(),
            extra_roots,
            built: std::sync::OnceLock::new(),
            chains: Arc::new(ChainCache::default()),
            insecure: settings.insecure,
        })
    }

    fn built(&self) -> &Built {
        self.built.get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            for c in &self.extra_roots {
                // Checked in new(); a failure here cannot happen.
                let _ = roots.add(c.clone());
            }
            let record = Arc::new(Mutex::new(VerifyRecord {
                trust_anchors: roots.len(),
                ..VerifyRecord::default()
            }));
            // No roots at all (no ca-certificates, no --ca-file): every chain
            // is then reported as untrusted rather than failing set-up.
            let inner = if roots.is_empty() {
                None
            } else {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .ok()
            };
            let config = client_config(
                provider.clone(),
                inner.clone(),
                self.settings.insecure,
                record.clone(),
                self.chains.clone(),
            );
            Built {
                config: Arc::new(config),
                record,
                inner,
                provider,
            }
        })
    }

    /// A client for one of many concurrent connections (`batch`): the same
    /// settings and roots, loaded once, but its own verification record, so
    /// that handshakes running side by side do not overwrite each other's,
    /// and no session resumption, so that every connection makes the full
    /// handshake a migration service's fresh one would. Forks share the
    /// [`ChainCache`]: a chain already verified for the same name is not
    /// verified again within a minute, though every handshake still checks
    /// the server's signature over it.
    pub fn fork(&self) -> TlsClient {
        let b = self.built();
        let trust_anchors = b.record.lock().map(|r| r.trust_anchors).unwrap_or(0);
        let record = Arc::new(Mutex::new(VerifyRecord {
            trust_anchors,
            ..VerifyRecord::default()
        }));
        let mut config = client_config(
            b.provider.clone(),
            b.inner.clone(),
            self.settings.insecure,
            record.clone(),
            self.chains.clone(),
        );
        config.resumption = rustls::client::Resumption::disabled();
        let forked = TlsClient {
            settings: self.settings.clone(),
            extra_roots: self.extra_roots.clone(),
            built: std::sync::OnceLock::new(),
            chains: self.chains.clone(),
            insecure: self.insecure,
        };
        let _ = forked.built.set(Built {
            config: Arc::new(config),
            record,
            inner: b.inner.clone(),
            provider: b.provider.clone(),
        });
        forked
    }

    /// The rustls client configuration (built on first call).
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.built().config.clone()
    }

    /// Forgets what the previous handshake recorded.
    pub fn reset_record(&self) {
        if let Ok(mut r) = self.built().record.lock() {
            r.chain.clear();
            r.result = None;
            r.facts = None;
        }
    }

    pub fn record(&self) -> VerifyRecord {
        self.built()
            .record
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

/// The rustls configuration around a [`RecordingVerifier`].
fn client_config(
    provider: Arc<CryptoProvider>,
    inner: Option<Arc<WebPkiServerVerifier>>,
    insecure: bool,
    record: Arc<Mutex<VerifyRecord>>,
    chains: Arc<ChainCache>,
) -> rustls::ClientConfig {
    let verifier = Arc::new(RecordingVerifier {
        inner,
        provider: provider.clone(),
        insecure,
        record,
        chains,
    });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

/// Words an admin can act on for the errors rustls reports.
pub fn describe_rustls_error(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "certificate is not trusted: its issuer is not a known certificate authority (unknown issuer)".into(),
            C::Expired | C::ExpiredContext { .. } => "certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "certificate is not valid yet".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "certificate is not valid for this host name".into()
            }
            C::Revoked => "certificate has been revoked".into(),
            C::BadSignature => "certificate signature is invalid".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "certificate is not for server authentication (extended key usage)".into()
            }
            C::Other(o) if o.to_string().contains("CaUsedAsEndEntity") => {
                "the server presents a CA certificate (basicConstraints CA:TRUE) as its own: self-signed certificates made with `openssl req -x509` are refused by strict clients".into()
            }
            other => format!("certificate rejected: {other:?}"),
        },
        rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion) => {
            "the server refused every TLS version offered (1.2 and 1.3) with a protocol_version alert: it likely speaks only TLS 1.0 or 1.1, which migration services refuse too".into()
        }
        rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)
        | rustls::Error::AlertReceived(rustls::AlertDescription::InsufficientSecurity) => {
            "the server ended the handshake with a handshake_failure alert: no cipher suite or key exchange in common with a modern client (TLS 1.2 or 1.3, ECDHE, AES-GCM or ChaCha20-Poly1305)".into()
        }
        rustls::Error::AlertReceived(alert) => format!("the server sent TLS alert {alert:?}"),
        rustls::Error::PeerIncompatible(p) => format!("no TLS version or cipher in common ({p:?})"),
        rustls::Error::InvalidMessage(m) => format!("the server sent something that is not TLS ({m:?})"),
        other => other.to_string(),
    }
}

/// Facts about one certificate of the chain.
#[derive(Debug, Clone, Serialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub not_after_unix: i64,
    pub is_ca: bool,
    pub self_signed: bool,
}

/// What the handshake established.
#[derive(Debug, Clone, Serialize)]
pub struct TlsFacts {
    pub version: String,
    pub cipher_suite: String,
    pub chain: Vec<CertFacts>,
    /// "trusted" or the reason the chain was refused.
    pub verification: String,
    pub trusted: bool,
    pub host_matches: Option<bool>,
    pub days_left: Option<i64>,
    pub insecure: bool,
}

/// Parses a DER certificate with x509-parser.
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                GeneralName::IPAddress(ip) => {
                    let text = match ip.len() {
                        4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                        16 => {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(ip);
                            std::net::Ipv6Addr::from(b).to_string()
                        }
                        _ => format!("{ip:?}"),
                    };
                    sans.push(format!("IP:{text}"))
                }
                _ => {}
            }
        }
    }
    let v = cert.validity();
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: unix_to_rfc3339(v.not_before.timestamp()),
        not_after: unix_to_rfc3339(v.not_after.timestamp()),
        not_after_unix: v.not_after.timestamp(),
        is_ca: cert.is_ca(),
        self_signed: cert.subject() == cert.issuer(),
    })
}

fn unix_to_rfc3339(t: i64) -> String {
    if t < 0 {
        return format!("@{t}");
    }
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64),
    )
    .to_string()
}

/// Whether `host` is covered by the certificate's subject alternative names
/// (RFC 6125: a wildcard stands for exactly one left-most label).
pub fn host_matches(host: &str, sans: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        return sans.iter().any(|s| {
            s.strip_prefix("IP:")
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
                == Some(ip)
        });
    }
    sans.iter()
        .filter_map(|s| s.strip_prefix("DNS:"))
        .any(|pat| {
            let pat = pat.trim_end_matches('.').to_ascii_lowercase();
            match pat.strip_prefix("*.") {
                Some(rest) => host
                    .split_once('.')
                    .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
                None => pat == host,
            }
        })
}

/// Days from now until `not_after_unix`, rounded down (negative when past).
pub fn days_left(not_after_unix: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (not_after_unix - now).div_euclid(86_400)
}

/// The facts of a finished handshake.
pub fn facts_after_handshake(
    conn: &rustls::ClientConnection,
    record: &VerifyRecord,
    host: &str,
    insecure: bool,
) -> TlsFacts {
    let chain: Vec<CertFacts> = record.facts.as_deref().cloned().unwrap_or_default();
    let leaf = chain.first();
    TlsFacts {
        version: conn
            .protocol_version()
            .map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        verification: match &record.result {
            Some(Ok(())) => "trusted".into(),
            Some(Err(e)) => e.clone(),
            None => "not verified".into(),
        },
        trusted: matches!(record.result, Some(Ok(()))),
        host_matches: leaf.map(|l| host_matches(host, &l.sans)),
        days_left: leaf.map(|l| days_left(l.not_after_unix)),
        chain,
        insecure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_verdict_is_reused_only_for_the_same_chain_and_name() {
        let cache = ChainCache::default();
        let chain = vec![b"leaf".to_vec(), b"ca".to_vec()];
        let entry = |name: &str, at: std::time::Instant| CachedChain {
            chain: chain.clone(),
            server_name: name.into(),
            verdict: Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            )),
            facts: Arc::new(Vec::new()),
            at,
        };
        cache.put(entry("mail.example.org", std::time::Instant::now()));
        let (verdict, _) = cache.get(&chain, "mail.example.org").unwrap();
        assert!(verdict.is_err());
        assert!(cache.get(&chain, "other.example.org").is_none());
        assert!(cache.get(&chain[..1], "mail.example.org").is_none());
        assert!(cache
            .get(&[b"leaf2".to_vec()], "mail.example.org")
            .is_none());
        // An entry older than the TTL is not used, and is dropped on the next put.
        if let Some(old) = std::time::Instant::now().checked_sub(CHAIN_CACHE_TTL * 2) {
            let stale = ChainCache::default();
            stale.put(entry("mail.example.org", old));
            assert!(stale.get(&chain, "mail.example.org").is_none());
        }
        for i in 0..(CHAIN_CACHE_ENTRIES * 2) {
            cache.put(entry(&format!("h{i}"), std::time::Instant::now()));
        }
        assert_eq!(cache.entries.lock().unwrap().len(), CHAIN_CACHE_ENTRIES);
    }

    fn sans(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcard_covers_one_label_only() {
        let s = sans(&["DNS:*.example.org"]);
        assert!(host_matches("imap.example.org", &s));
        assert!(host_matches("IMAP.Example.org.", &s));
        assert!(!host_matches("example.org", &s));
        assert!(!host_matches("a.b.example.org", &s));
    }

    #[test]
    fn ip_hosts_need_ip_sans() {
        let s = sans(&["DNS:localhost", "IP:127.0.0.1", "IP:::1"]);
        assert!(host_matches("127.0.0.1", &s));
        assert!(host_matches("::1", &s));
        assert!(host_matches("[::1]", &s));
        assert!(!host_matches("127.0.0.2", &s));
        assert!(!host_matches("127.0.0.1", &sans(&["DNS:127.0.0.1"])));
    }
}
