//! Test certificates made in-process with rcgen: a small CA and a leaf
//! signed by it (what a sane server presents), plus the odd ones real
//! servers present (self-signed CA:TRUE, expired, wrong host name).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use std::path::{Path, PathBuf};

/// PEM text of a server identity and of the CA a client must trust for it.
#[derive(Clone)]
pub struct TestPki {
    /// Leaf certificate followed by the CA certificate (the chain a server serves).
    pub chain_pem: String,
    /// Private key of the leaf, PKCS#8 PEM.
    pub key_pem: String,
    /// The CA certificate alone (what `--ca-file` gets).
    pub ca_pem: String,
}

/// What kind of server certificate to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// Leaf `CA:FALSE`, EKU serverAuth, SAN localhost/127.0.0.1/::1, signed by a test CA.
    Good,
    /// Like `Good` but valid from 2020-01-01 to 2021-01-01.
    Expired,
    /// Like `Good` but expiring five days from now.
    ExpiresSoon,
    /// Like `Good` but only for `mail.example.invalid`.
    WrongHost,
    /// A self-signed certificate with `CA:TRUE` (what `openssl req -x509` makes).
    SelfSignedCa,
}

impl TestPki {
    pub fn new(kind: CertKind) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "imapprobe test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");

        let leaf_key = KeyPair::generate().expect("leaf key");
        let names = match kind {
            CertKind::WrongHost => vec!["mail.example.invalid".to_string()],
            _ => vec!["localhost".to_string()],
        };
        let mut leaf = CertificateParams::new(names.clone()).expect("leaf params");
        leaf.distinguished_name
            .push(DnType::CommonName, names[0].clone());
        if kind != CertKind::WrongHost {
            leaf.subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
            leaf.subject_alt_names
                .push(SanType::IpAddress("::1".parse().unwrap()));
        }
        // Real certificates live for months, not millennia (rcgen's default):
        // a report that shows "90 days left" is what an admin expects to see.
        let now = time::OffsetDateTime::now_utc();
        leaf.not_before = now - time::Duration::days(1);
        leaf.not_after = now + time::Duration::days(90);
        if kind == CertKind::ExpiresSoon {
            leaf.not_after = now + time::Duration::days(5) + time::Duration::hours(1);
        }
        if kind == CertKind::Expired {
            leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
            leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        if kind == CertKind::SelfSignedCa {
            leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let cert = leaf.self_signed(&leaf_key).expect("self-signed");
            return TestPki {
                chain_pem: cert.pem(),
                key_pem: leaf_key.serialize_pem(),
                ca_pem: cert.pem(),
            };
        }
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .expect("leaf cert");
        TestPki {
            chain_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
            key_pem: leaf_key.serialize_pem(),
            ca_pem: ca_cert.pem(),
        }
    }

    /// Writes `server.pem`, `server.key` and `ca.pem` into `dir`; returns their paths.
    pub fn write_to(&self, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        let ca = dir.join("ca.pem");
        std::fs::write(&cert, &self.chain_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        std::fs::write(&ca, &self.ca_pem).expect("write ca");
        (cert, key, ca)
    }

    /// A rustls server configuration serving this identity (for scripted servers).
    pub fn rustls_server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls_pemfile::certs(&mut self.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("parse chain");
        let key = rustls_pemfile::private_key(&mut self.key_pem.as_bytes())
            .expect("parse key")
            .expect("a key");
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        std::sync::Arc::new(config)
    }
}
