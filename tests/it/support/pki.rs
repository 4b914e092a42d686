//! A throwaway certificate authority for TLS tests: a CA written to a PEM file, server
//! configurations for a downstream (valid, for another name, expired, demanding a client
//! certificate) and client certificate files for hookbox.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose,
    IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// A CA and the files made from it, in a temporary folder.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// What a server certificate should look like.
#[derive(Clone, Copy, Default)]
pub struct ServerCert<'a> {
    /// Names it is valid for (default `localhost`).
    pub names: &'a [&'a str],
    /// Valid only in 2001.
    pub expired: bool,
    /// The server requires a client certificate issued by this CA.
    pub require_client: bool,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Pki {
    /// A new CA; its certificate is in [`Pki::ca_file`].
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hookbox test CA");
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA");
        Pki { dir, ca }
    }

    /// The CA certificate, PEM.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A file in the folder with `contents`.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    fn issue(
        &self,
        names: &[&str],
        expired: bool,
        usage: ExtendedKeyUsagePurpose,
    ) -> (String, KeyPair) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = date_time_ymd(2001, 1, 1);
            params.not_after = date_time_ymd(2001, 12, 31);
        }
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        (cert.pem(), key)
    }

    /// A server certificate for `names` and its key, PEM (for servers configured by file).
    pub fn server_pem(&self, names: &[&str]) -> (String, String) {
        let (pem, key) = self.issue(names, false, ExtendedKeyUsagePurpose::ServerAuth);
        (pem, key.serialize_pem())
    }

    /// A server configuration whose certificate is issued by the CA as `spec` says.
    pub fn server(&self, spec: ServerCert<'_>) -> Arc<ServerConfig> {
        let names = if spec.names.is_empty() {
            &["localhost"][..]
        } else {
            spec.names
        };
        let (pem, key) = self.issue(names, spec.expired, ExtendedKeyUsagePurpose::ServerAuth);
        let chain: Vec<CertificateDer<'static>> =
            vec![CertificateDer::from_pem_slice(pem.as_bytes()).expect("cert")];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if spec.require_client {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.der().clone()).expect("root");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(builder.with_single_cert(chain, key).expect("server config"))
    }

    /// A client certificate and its key, as (certificate file, key file).
    pub fn client_files(&self) -> (PathBuf, PathBuf) {
        let (pem, key) = self.issue(&["hookbox"], false, ExtendedKeyUsagePurpose::ClientAuth);
        (
            self.file("client.pem", &pem),
            self.file("client.key", &key.serialize_pem()),
        )
    }
}
