//! Certificates from an ACME CA (Let's Encrypt) with instant-acme, validated by TLS-ALPN-01 on
//! the HTTPS listener itself: no second port (HTTP-01 needs :80 open and served), no DNS API
//! (DNS-01). The account and the certificate are kept in the state folder, so a restart serves
//! the last certificate at once and orders only when renewal is due. A failed order is retried
//! with backoff while the old certificate keeps serving.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    HttpClient, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

use super::server::{describe, load_files, ServerCerts};
use super::{provider, TlsFiles};

/// What the ACME task needs.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// Names the certificate covers.
    pub domains: Vec<String>,
    /// `mailto:` contacts for the account.
    pub contact: Vec<String>,
    /// The CA's directory URL.
    pub directory_url: String,
    /// PEM certificates trusted for the directory's HTTPS (a test CA such as pebble).
    pub directory_ca_file: Option<PathBuf>,
    /// Where the account and the certificate are kept.
    pub state_dir: PathBuf,
    /// Renew when the certificate has less than this left.
    pub renew_before: Duration,
    /// First wait after a failed order (doubled each time, up to a day); also the least time
    /// between two orders.
    pub retry_after: Duration,
}

/// Longest wait between two attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// Serves the certificate a previous run stored in `state_dir`, if there is a usable one: called
/// before the listener serves, so a restart never answers a handshake without a certificate.
pub fn load_stored(certs: &ServerCerts, state_dir: &Path) {
    let (cert_file, key_file) = (state_dir.join("cert.pem"), state_dir.join("key.pem"));
    if cert_file.exists() {
        match load_files(&cert_file, &key_file) {
            Ok((key, info)) => certs.replace(key, info),
            Err(e) => tracing::warn!(error = %e, "ACME: the stored certificate cannot be used"),
        }
    }
}

/// Keeps `certs` holding a valid certificate for `s.domains` until `stop`.
pub async fn run(certs: Arc<ServerCerts>, s: AcmeSettings, stop: CancellationToken) {
    let mut backoff = s.retry_after;
    loop {
        let wait = match certs.status().current {
            None => Duration::ZERO,
            Some(info) => {
                let left = info.not_after - unix_now();
                let due_in = left - s.renew_before.as_secs() as i64;
                Duration::from_secs(due_in.max(0) as u64)
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let ordered = tokio::select! {
            () = stop.cancelled() => return,
            ordered = order(&certs, &s) => ordered,
        };
        let pause = match ordered {
            Ok(()) => {
                backoff = s.retry_after;
                s.retry_after
            }
            Err(e) => {
                tracing::error!(error = %e, retry_in = ?backoff, "ACME: ordering a certificate failed; the current one keeps serving");
                certs.reload_failed(format!("ACME order failed: {e}"));
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// One order: account, TLS-ALPN-01 for each name, finalize, store, serve.
async fn order(certs: &ServerCerts, s: &AcmeSettings) -> Result<(), Failure> {
    std::fs::create_dir_all(&s.state_dir)?;
    let account = account(s).await?;
    let identifiers: Vec<Identifier> = s.domains.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let mut pending = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut challenge = (authz.challenge(ChallengeType::TlsAlpn01))
            .ok_or("the CA offers no tls-alpn-01 challenge")?;
        let domain = challenge.identifier().to_string();
        let digest = challenge.key_authorization().digest();
        certs.set_challenge(&domain, Some(challenge_cert(&domain, digest.as_ref())?));
        pending.push(domain);
        challenge.set_ready().await?;
    }
    let retries = RetryPolicy::default().timeout(Duration::from_secs(90));
    let status = order.poll_ready(&retries).await;
    for domain in &pending {
        certs.set_challenge(domain, None);
    }
    match status? {
        OrderStatus::Ready => {}
        other => return Err(format!("the order ended {other:?}, not ready").into()),
    }
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&retries).await?;
    let chain =
        (CertificateDer::pem_slice_iter(chain_pem.as_bytes())).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let info = describe(chain.first().ok_or("the CA sent no certificate")?)?;
    let certified = CertifiedKey::from_der(chain, key, &provider())?;
    write_private(&s.state_dir.join("key.pem"), &key_pem)?;
    write_private(&s.state_dir.join("cert.pem"), &chain_pem)?;
    tracing::info!(domains = ?s.domains, not_after = info.not_after, "ACME: certificate issued; new connections use it");
    certs.replace(certified, info);
    Ok(())
}

/// The stored account, or a new one (stored).
async fn account(s: &AcmeSettings) -> Result<Account, Failure> {
    let path = s.state_dir.join("account.json");
    let http = AcmeHttp::new(s.directory_ca_file.as_deref())?;
    let builder = Account::builder_with_http(Box::new(http));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let credentials: AccountCredentials = serde_json::from_str(&text)?;
        return Ok(builder.from_credentials(credentials).await?);
    }
    let contact: Vec<&str> = s.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = builder.create(&new, s.directory_url.clone(), None).await?;
    write_private(&path, &serde_json::to_string(&credentials)?)?;
    Ok(account)
}

/// The self-signed certificate RFC 8737 asks for: the name, and the key authorization's
/// digest in the critical `acmeIdentifier` extension.
fn challenge_cert(domain: &str, digest: &[u8]) -> Result<CertifiedKey, Failure> {
    let mut params = CertificateParams::new(vec![domain.to_owned()])?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `CertifiedKey::from_der`: its key check parses the certificate with webpki, which
    // refuses the critical acmeIdentifier extension.
    let signing = provider().key_provider.load_private_key(der)?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
}

/// Writes `text` to `path` readable by the owner only, replacing it in one step.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let next = path.with_extension("new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&next)?, text.as_bytes())?;
    std::fs::rename(&next, path)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// instant-acme's HTTP through hookbox's own client TLS (system roots plus the optional CA
/// file), HTTP/1.1.
struct AcmeHttp(Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>);

impl AcmeHttp {
    fn new(ca_file: Option<&Path>) -> Result<AcmeHttp, Failure> {
        let files = TlsFiles {
            ca_file,
            ..TlsFiles::default()
        };
        let config = super::client_config(&files)?;
        let client =
            Client::builder(hyper_util::rt::TokioExecutor::new()).build(super::connector(&config));
        Ok(AcmeHttp(client))
    }
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let fut = self.0.request(req);
        Box::pin(async move {
            match fut.await {
                Ok(res) => Ok(BytesResponse::from(res)),
                Err(e) => Err(instant_acme::Error::Other(Box::new(e))),
            }
        })
    }
}
