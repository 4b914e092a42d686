//! TLS for hookbox's outgoing connections — the `forward` handler and the client tools — with
//! rustls on ring (no OpenSSL): whom to trust (the system's roots plus an optional private CA
//! file), an optional client certificate for mTLS, and a plain account of why a handshake
//! failed.
//!
//! The system's roots come from `rustls-native-certs` rather than a compiled-in bundle: an
//! operator who adds a company CA to the system store (or whose distribution revokes a root)
//! gets that in hookbox too, without a rebuild. A host without a system store (a scratch
//! container) trusts only `ca_file`, and a handshake says so by failing with "unknown issuer".

pub mod acme;
pub mod postgres;
pub mod server;

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

/// Which file a [`TlsError::File`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemRole {
    /// Extra trusted CA certificates.
    Ca,
    /// The client certificate chain.
    ClientCert,
    /// The client certificate's private key.
    ClientKey,
    /// The listener's certificate chain.
    ServerCert,
    /// The listener's private key.
    ServerKey,
}

/// Why a TLS client setting cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file is unreadable or does not hold what it should.
    #[error("{}: {reason}", path.display())]
    File {
        /// What the file is for.
        role: PemRole,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The client certificate and key do not make an identity.
    #[error("the client certificate and key cannot be used together: {0}")]
    Identity(#[source] rustls::Error),
    /// The crypto provider cannot make a configuration (not expected with ring).
    #[error("TLS setup: {0}")]
    Setup(#[source] rustls::Error),
    /// Only one of the client certificate and key was given.
    #[error("a client certificate needs both the certificate file and the key file")]
    HalfIdentity,
}

/// Where a TLS client's trust and identity come from.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles<'a> {
    /// PEM certificates trusted on top of the system's roots.
    pub ca_file: Option<&'a Path>,
    /// PEM client certificate chain (mTLS).
    pub client_cert_file: Option<&'a Path>,
    /// PEM private key of the client certificate.
    pub client_key_file: Option<&'a Path>,
}

/// A rustls client configuration trusting the system's roots and `files.ca_file`, presenting
/// the client certificate when one is given. Reads the files now, so a bad one is found at
/// start-up, not at the first delivery.
pub fn client_config(files: &TlsFiles<'_>) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots(files.ca_file)?);
    let config = match (files.client_cert_file, files.client_key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = read_certs(PemRole::ClientCert, cert)?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| file_error(PemRole::ClientKey, key, pem_reason(e, "private key")))?;
            (builder.with_client_auth_cert(chain, key_der)).map_err(TlsError::Identity)?
        }
        _ => return Err(TlsError::HalfIdentity),
    };
    Ok(Arc::new(config))
}

/// The system's roots plus the PEM certificates in `ca_file`.
pub fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        for cert in read_certs(PemRole::Ca, path)? {
            roots
                .add(cert)
                .map_err(|e| file_error(PemRole::Ca, path, e))?;
        }
    }
    Ok(roots)
}

/// The crypto hookbox's TLS uses: ring.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// An HTTP/1 connector that speaks plain HTTP to `http://` and TLS with `config` to `https://`.
pub fn connector(config: &ClientConfig) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

/// What went wrong in a TLS handshake, in an operator's words, if `error` (or one of its
/// sources) is a TLS failure.
pub fn handshake_failure(error: &(dyn StdError + 'static)) -> Option<String> {
    let tls = find_rustls_error(error)?;
    let what = match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => "the server's certificate has an unknown issuer \
                 (not signed by a trusted CA; a private CA belongs in ca_file)"
                .to_owned(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the server's certificate does not match the host name ({cert})")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired ({cert})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet ({cert})")
            }
            other => format!("the server's certificate is invalid: {other}"),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (set client_cert_file and client_key_file)"
                .to_owned()
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown),
        ) => format!("the server refused the client certificate ({alert:?})"),
        other => other.to_string(),
    };
    Some(format!("TLS handshake failed: {what}"))
}

fn find_rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // `io::Error::source` skips the error it wraps (which may be another `io::Error`).
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

fn read_certs(role: PemRole, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(role, path, pem_reason(e, "certificate")))?;
    if certs.is_empty() {
        return Err(file_error(role, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn pem_reason(error: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(e) => format!("cannot read it: {e}"),
        Error::NoItemsFound => format!("no PEM {what} in it"),
        other => format!("not valid PEM: {other}"),
    }
}

fn file_error(role: PemRole, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        role,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let err = |files: TlsFiles<'_>| client_config(&files).unwrap_err().to_string();
        let e = err(TlsFiles {
            ca_file: Some(&missing),
            ..TlsFiles::default()
        });
        assert!(e.contains("missing.pem: cannot read it"), "{e}");
        let e = err(TlsFiles {
            ca_file: Some(&garbage),
            ..TlsFiles::default()
        });
        assert!(e.contains("garbage.pem: no PEM certificate"), "{e}");
        let e = err(TlsFiles {
            client_cert_file: Some(&garbage),
            ..TlsFiles::default()
        });
        assert!(
            e.contains("both the certificate file and the key file"),
            "{e}"
        );
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, ca.cert.pem()).unwrap();
        let e = err(TlsFiles {
            client_cert_file: Some(&cert),
            client_key_file: Some(&garbage),
            ..TlsFiles::default()
        });
        assert!(e.contains("garbage.pem: no PEM private key"), "{e}");
        let config = client_config(&TlsFiles {
            ca_file: Some(&cert),
            ..TlsFiles::default()
        });
        assert!(config.is_ok());
    }

    #[test]
    fn handshake_failures_are_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let wrapped = std::io::Error::other(io);
        let text = handshake_failure(&wrapped).expect("a TLS failure");
        assert!(text.contains("unknown issuer"), "{text}");
        assert_eq!(handshake_failure(&std::io::Error::other("refused")), None);
    }
}
