//! The listeners hookbox serves on and what they share: which paths each serves (`admin.listen`
//! splits them), the certificate HTTPS uses (watched for changes), the rate-limit buckets.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::gate::{Buckets, Face};
use super::server::Listener;
use crate::config::Config;
use crate::tls::acme::AcmeSettings;
use crate::tls::server::{watch_files, ServerCerts};
use crate::tls::TlsError;

/// What the public edge keeps between requests.
#[derive(Default)]
pub struct Edge {
    /// Each source's rate-limit bucket.
    pub buckets: Buckets,
    /// The certificate the public listener serves, when it speaks HTTPS.
    pub certs: Option<Arc<ServerCerts>>,
    /// Bodies seen recently, for sources with `dedupe_on_body`.
    pub bodies: super::bodies::SeenBodies,
}

/// The listeners, ready to serve, and their shared state.
pub struct EdgeListeners {
    /// `server.listen`: everything, or only webhooks and health beside an admin listener.
    pub public: Listener,
    /// `admin.listen`: everything but webhooks.
    pub admin: Option<Listener>,
    /// Shared by both.
    pub state: Arc<Edge>,
}

impl Listener {
    /// The address it is bound to, for the start-up line.
    pub fn address(&self) -> String {
        (self.socket.local_addr()).map_or_else(|_| String::new(), |a| a.to_string())
    }
}

/// Sets up the listeners for `config`: loads the certificate (and keeps watching its files
/// until `shutdown`) when `[server.tls]` is set.
pub fn edge_listeners(
    config: &Config,
    public: TcpListener,
    admin: Option<TcpListener>,
    shutdown: &CancellationToken,
) -> Result<EdgeListeners, TlsError> {
    let mut state = Edge::default();
    let mut tls = None;
    if let Some(acme) = config.server.tls.as_ref().and_then(|t| t.acme.as_ref()) {
        let certs = Arc::new(ServerCerts::empty("acme".into()));
        tls = Some(certs.server_config(true)?);
        let settings = AcmeSettings {
            domains: acme.domains.clone(),
            contact: acme.contact.clone(),
            directory_url: acme.directory_url.clone(),
            directory_ca_file: acme.directory_ca_file.clone(),
            state_dir: config.storage.data_dir.join("acme"),
            renew_before: acme.renew_before,
            retry_after: acme.retry_after,
        };
        crate::tls::acme::load_stored(&certs, &settings.state_dir);
        tokio::spawn(crate::tls::acme::run(
            certs.clone(),
            settings,
            shutdown.clone(),
        ));
        state.certs = Some(certs);
    }
    if let Some((cert, key)) = config.server.tls.as_ref().and_then(|t| t.files()) {
        let certs = Arc::new(ServerCerts::from_files(cert, key)?);
        tls = Some(certs.server_config(false)?);
        let interval = config.server.tls.as_ref().map(|t| t.watch_interval);
        tokio::spawn(watch_files(
            certs.clone(),
            cert.clone(),
            key.clone(),
            interval.unwrap_or_default(),
            shutdown.clone(),
        ));
        state.certs = Some(certs);
    }
    let public_face = if admin.is_some() {
        Face::Public
    } else {
        Face::All
    };
    Ok(EdgeListeners {
        public: Listener {
            socket: public,
            face: public_face,
            tls,
        },
        // The private listener speaks plain HTTP: it is meant for loopback or a private
        // network, where a certificate for its name rarely exists.
        admin: admin.map(|socket| Listener {
            socket,
            face: Face::Admin,
            tls: None,
        }),
        state: Arc::new(state),
    })
}
