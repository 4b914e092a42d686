//! TLS for hookbox's own listener: a certificate chain and key from PEM files, served through a
//! resolver whose certificate can be swapped while serving. A swap affects only handshakes
//! that start after it; connections already open keep the keys they agreed on, so a request
//! in flight on the old certificate completes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio_util::sync::CancellationToken;

use super::{file_error, pem_reason, provider, read_certs, PemRole, TlsError};

/// A certificate in use, with what an operator wants to know about it.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Its subject alternative names (DNS names and addresses).
    pub names: Vec<String>,
    /// End of its validity, Unix seconds.
    pub not_after: i64,
    /// When it was put in use, Unix seconds.
    pub loaded_at: i64,
}

/// What `/admin/tls` shows: where certificates come from, the one in use, the last failure.
#[derive(Debug, Clone)]
pub struct CertStatus {
    /// The certificate file, or `acme`.
    pub origin: String,
    /// The certificate in use; `None` until ACME has issued one.
    pub current: Option<CertInfo>,
    /// Why the last reload or renewal failed, if it did (the certificate above still serves).
    pub last_error: Option<String>,
}

/// The ALPN protocol of TLS-ALPN-01 validation handshakes (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificate the listener serves, replaceable while serving, plus the TLS-ALPN-01
/// challenge certificates of an ACME order in progress.
pub struct ServerCerts {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    status: Mutex<CertStatus>,
}

impl std::fmt::Debug for ServerCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCerts")
            .field("status", &self.status())
            .finish()
    }
}

impl ResolvesServerCert for ServerCerts {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let validation = hello
            .alpn()
            .is_some_and(|mut p| p.any(|p| p == ACME_TLS_ALPN));
        if validation {
            let name = hello.server_name()?.to_ascii_lowercase();
            let challenges = self.challenges.lock().unwrap_or_else(|e| e.into_inner());
            return challenges.get(&name).cloned();
        }
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ServerCerts {
    /// Serves the chain in `cert_file` with the key in `key_file`, read now.
    pub fn from_files(cert_file: &Path, key_file: &Path) -> Result<ServerCerts, TlsError> {
        let (key, info) = load_files(cert_file, key_file)?;
        let certs = ServerCerts::empty(cert_file.display().to_string());
        certs.replace(key, info);
        Ok(certs)
    }

    /// No certificate yet (ACME before its first order); `origin` names where they will come from.
    pub fn empty(origin: String) -> ServerCerts {
        ServerCerts {
            current: RwLock::new(None),
            challenges: Mutex::new(HashMap::new()),
            status: Mutex::new(CertStatus {
                origin,
                current: None,
                last_error: None,
            }),
        }
    }

    /// What is served now.
    pub fn status(&self) -> CertStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `key` to every handshake from now on.
    pub fn replace(&self, key: CertifiedKey, info: CertInfo) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(key));
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.current = Some(info);
        status.last_error = None;
    }

    /// Notes that a reload or renewal failed; the certificate in use stays.
    pub fn reload_failed(&self, error: String) {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_error = Some(error);
    }

    /// Answers TLS-ALPN-01 validation handshakes for `domain` with `key` (`None`: stop).
    pub fn set_challenge(&self, domain: &str, key: Option<CertifiedKey>) {
        let mut challenges = self.challenges.lock().unwrap_or_else(|e| e.into_inner());
        match key {
            Some(key) => challenges.insert(domain.to_ascii_lowercase(), Arc::new(key)),
            None => challenges.remove(&domain.to_ascii_lowercase()),
        };
    }

    /// A rustls server configuration serving these certificates: TLS 1.2 and 1.3 with ring's
    /// default suites (AEAD with forward secrecy only), HTTP/1.1 by ALPN (and TLS-ALPN-01
    /// validation when `acme`).
    pub fn server_config(self: &Arc<Self>, acme: bool) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        if acme {
            config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
        }
        Ok(Arc::new(config))
    }
}

/// Reads a chain and its key, checking that they belong together.
pub fn load_files(cert_file: &Path, key_file: &Path) -> Result<(CertifiedKey, CertInfo), TlsError> {
    let chain = read_certs(PemRole::ServerCert, cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| file_error(PemRole::ServerKey, key_file, pem_reason(e, "private key")))?;
    let info =
        describe(&chain[0]).map_err(|reason| file_error(PemRole::ServerCert, cert_file, reason))?;
    let certified = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
        file_error(
            PemRole::ServerKey,
            key_file,
            format!("{e} (for {})", cert_file.display()),
        )
    })?;
    Ok((certified, info))
}

/// Names and expiry of a leaf certificate.
pub fn describe(leaf: &CertificateDer<'_>) -> Result<CertInfo, String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| format!("the first certificate cannot be read: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(ip) => names.push(format!("{ip:?}")),
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        names,
        not_after: cert.validity().not_after.timestamp(),
        loaded_at: unix_now(),
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What identifies a version of the two files: their modification times and sizes.
fn stamp(files: &[&Path]) -> Vec<Option<(SystemTime, u64)>> {
    (files.iter())
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// Re-reads the files into `certs` when they change (checked every `interval`) and on SIGHUP,
/// until `stop`. A pair that does not load is reported and the certificate in use stays.
pub async fn watch_files(
    certs: Arc<ServerCerts>,
    cert_file: PathBuf,
    key_file: PathBuf,
    interval: Duration,
    stop: CancellationToken,
) {
    let files = [cert_file.as_path(), key_file.as_path()];
    let mut seen = stamp(&files);
    let mut hangups = hangups();
    loop {
        let forced = tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => false,
            () = next_hangup(&mut hangups) => true,
        };
        let now = stamp(&files);
        if now == seen && !forced {
            continue;
        }
        seen = now;
        match load_files(&cert_file, &key_file) {
            Ok((key, info)) => {
                tracing::info!(
                    file = %cert_file.display(),
                    not_after = info.not_after,
                    "TLS certificate reloaded; new connections use it"
                );
                certs.replace(key, info);
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate reload failed; the old one still serves");
                certs.reload_failed(e.to_string());
            }
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::hangup()).ok()
    }
}

async fn next_hangup(hangups: &mut Hangups) {
    #[cfg(unix)]
    if let Some(signal) = hangups {
        if signal.recv().await.is_some() {
            return;
        }
    }
    #[cfg(not(unix))]
    let _ = hangups;
    std::future::pending::<()>().await
}
