//! TLS to PostgreSQL as `sslmode` in the database URL asks, with libpq's meanings:
//!
//! | `sslmode` | TLS | The server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | not checked |
//! | `require` | always | not checked |
//! | `verify-ca` | always | signed by a trusted CA (any host name) |
//! | `verify-full` | always | signed by a trusted CA and naming the host |
//!
//! Trusted are the system's roots plus `storage.database_ca_file`. tokio-postgres itself knows
//! only `disable`, `prefer` and `require`, so the mode is taken out of the URL here and the two
//! `verify-*` modes become `require` with a verifying TLS configuration.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{provider, roots, TlsError};

/// The `sslmode` of a database URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS always, without checking the certificate.
    Require,
    /// TLS always; the certificate must come from a trusted CA.
    VerifyCa,
    /// TLS always; the certificate must come from a trusted CA and name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                ))
            }
        })
    }

    /// What tokio-postgres is told: whether to try TLS at all and whether to insist.
    pub fn for_driver(self) -> PgSslMode {
        match self {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        }
    }
}

/// `url` without its `sslmode` (URL query or `key=value` form), and that mode (default
/// `prefer`). The error never quotes the URL, which may hold a password.
pub fn split_sslmode(url: &str) -> Result<(String, SslMode), String> {
    let Some(start) = find_key(url) else {
        return Ok((url.to_owned(), SslMode::default()));
    };
    let value_start = start + "sslmode=".len();
    let value_len = url[value_start..]
        .find(|c: char| c == '&' || c.is_whitespace())
        .unwrap_or(url.len() - value_start);
    let mode = SslMode::parse(&url[value_start..value_start + value_len])?;
    let mut rest = url[..start].to_owned();
    let tail = &url[value_start + value_len..];
    // Drop the separator that went with the pair.
    let tail = (tail.strip_prefix('&').or_else(|| tail.strip_prefix(' '))).unwrap_or(tail);
    if tail.is_empty() {
        rest = rest.trim_end_matches(['?', '&', ' ']).to_owned();
    }
    rest.push_str(tail);
    if find_key(&rest).is_some() {
        return Err("sslmode is given twice".into());
    }
    Ok((rest, mode))
}

/// Where `sslmode=` starts as a parameter of its own (after `?`, `&`, a space or at the start).
fn find_key(url: &str) -> Option<usize> {
    url.match_indices("sslmode=")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || matches!(url.as_bytes()[i - 1], b'?' | b'&' | b' '))
}

/// The TLS connector for `mode`, trusting the system's roots and `ca_file`.
pub fn connector(mode: SslMode, ca_file: Option<&Path>) -> Result<MakeRustlsConnect, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?;
    let config = match mode {
        SslMode::VerifyFull => builder.with_root_certificates(roots(ca_file)?),
        SslMode::VerifyCa => {
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(ca_file)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| TlsError::Setup(rustls::Error::General(e.to_string())))?;
            let verifier = PgVerifier {
                provider,
                webpki: Some(webpki),
            };
            (builder.dangerous()).with_custom_certificate_verifier(Arc::new(verifier))
        }
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            let verifier = PgVerifier {
                provider,
                webpki: None,
            };
            (builder.dangerous()).with_custom_certificate_verifier(Arc::new(verifier))
        }
    }
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `verify-ca` (with `webpki`): the chain must lead to a trusted root, whatever host name it
/// is for. `prefer` and `require` (without): the certificate is not checked — encryption
/// against a passive listener only, as in libpq. The handshake's signatures are checked always.
#[derive(Debug)]
struct PgVerifier {
    provider: Arc<CryptoProvider>,
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for PgVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        (self.provider.signature_verification_algorithms).supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_out_of_urls_and_key_value_strings() {
        let split = |url: &str| split_sslmode(url).unwrap();
        assert_eq!(
            split("postgres://u@h/db"),
            ("postgres://u@h/db".into(), SslMode::Prefer)
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-full"),
            ("postgres://u@h/db".into(), SslMode::VerifyFull)
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-ca&application_name=x"),
            (
                "postgres://u@h/db?application_name=x".into(),
                SslMode::VerifyCa
            )
        );
        assert_eq!(
            split("postgres://u@h/db?application_name=x&sslmode=disable"),
            (
                "postgres://u@h/db?application_name=x".into(),
                SslMode::Disable
            )
        );
        assert_eq!(
            split("host=h sslmode=require dbname=d"),
            ("host=h dbname=d".into(), SslMode::Require)
        );
        assert_eq!(
            split("postgres://u@h/db?x_sslmode=y"),
            ("postgres://u@h/db?x_sslmode=y".into(), SslMode::Prefer)
        );
        let bad = split_sslmode("postgres://u:s3cret@h/db?sslmode=allow").unwrap_err();
        assert!(
            bad.contains("\"allow\"") && !bad.contains("s3cret"),
            "{bad}"
        );
        assert!(split_sslmode("postgres://h/d?sslmode=require&sslmode=disable").is_err());
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let (rest, _) = split(&format!("postgres://u@h/db?sslmode={mode}"));
            assert!(rest.parse::<tokio_postgres::Config>().is_ok(), "{mode}");
        }
    }
}
