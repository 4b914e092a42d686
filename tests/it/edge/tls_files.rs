//! HTTPS from `[server.tls]` certificate files: a real rustls client verifies the chain against
//! the test CA; a certificate replaced on disk reaches new connections within seconds while a
//! request in flight on the old one completes.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::support::pki::Pki;
use crate::support::raw::{parse_responses, signed_request, stripe_event, unique_id, READ_LIMIT};
use crate::support::{config_in, get, unix_now, TestServer, BASE_CONFIG};
use crate::tls::toml_path;

/// A TLS connection to `addr` as `localhost`, trusting only `ca`; and the leaf it was shown.
pub async fn connect(addr: SocketAddr, ca: &Path) -> (TlsStream<TcpStream>, Vec<u8>) {
    connect_as(addr, ca, "localhost").await
}

/// [`connect`] asking for the name `name` (SNI) and verifying the certificate for it.
pub async fn connect_as(
    addr: SocketAddr,
    ca: &Path,
    name: &str,
) -> (TlsStream<TcpStream>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(cert.expect("CA cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from(name.to_owned()).expect("name");
    let tls = (TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .expect("TLS handshake verified against the test CA");
    let leaf = tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec();
    (tls, leaf)
}

/// Everything the server sends until it closes (or [`READ_LIMIT`] passes).
pub async fn read_all(tls: &mut TlsStream<TcpStream>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(READ_LIMIT, async {
        while let Ok(n) = tls.read(&mut buf).await {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    out
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("PEM")
        .to_vec()
}

/// Writes `contents` to `path` as a new file moved into place, as deployment tools do.
fn replace(path: &Path, contents: &str) {
    let next = path.with_extension("new");
    std::fs::write(&next, contents).expect("write");
    std::fs::rename(&next, path).expect("rename");
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_serves_new_connections_and_spares_open_ones() {
    let pki = Pki::new();
    let (cert1, key1) = pki.server_pem(&["localhost"]);
    let cert_file = pki.file("server.pem", &cert1);
    let key_file = pki.file("server.key", &key1);
    let toml = format!(
        "{BASE_CONFIG}\n[server.tls]\ncert_file = {}\nkey_file = {}\nwatch_interval = \"100ms\"\n",
        toml_path(&cert_file),
        toml_path(&key_file),
    );
    let temp = tempfile::tempdir().expect("temp dir");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let admin_url = format!("http://{}", admin.local_addr().expect("addr"));
    let server = TestServer::start_listening(config_in(&toml, temp.path()), Some(admin)).await;
    let tls_state = || async { get(&format!("{admin_url}/admin/tls")).await.json() };
    let state = tls_state().await;
    assert_eq!(state["https"], true, "{state}");
    assert_eq!(
        state["certificates"][0]["names"],
        serde_json::json!(["localhost"])
    );
    assert!(state["certificates"][0]["notAfter"].as_i64().unwrap_or(0) > unix_now() as i64);
    let metrics = get(&format!("{admin_url}/metrics")).await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.contains("hookbox_tls_certificate_not_after_seconds{"),
        "{text}"
    );
    let request = |id: &str| {
        signed_request(
            &server,
            "stripe",
            &stripe_event(id),
            "",
            "Connection: close\r\n",
        )
    };

    let (mut tls, leaf) = connect(server.addr, &pki.ca_file()).await;
    assert_eq!(leaf, der(&cert1));
    tls.write_all(&request(&unique_id("tls")))
        .await
        .expect("write");
    let responses = parse_responses(&read_all(&mut tls).await);
    assert_eq!(responses.first().map(|r| r.status), Some(202));

    // A request in flight: its head and half its body sent on the old certificate.
    let in_flight = request(&unique_id("tls"));
    let (mut open, _) = connect(server.addr, &pki.ca_file()).await;
    let half = in_flight.len() - 10;
    open.write_all(&in_flight[..half])
        .await
        .expect("write half");

    let (cert2, key2) = pki.server_pem(&["localhost"]);
    replace(&key_file, &key2);
    replace(&cert_file, &cert2);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, leaf) = connect(server.addr, &pki.ca_file()).await;
        if leaf == der(&cert2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    open.write_all(&in_flight[half..])
        .await
        .expect("write the rest");
    let responses = parse_responses(&read_all(&mut open).await);
    assert_eq!(
        responses.first().map(|r| r.status),
        Some(202),
        "in-flight request"
    );

    // A broken replacement is reported and the last good certificate keeps serving.
    replace(&cert_file, "not a certificate\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let state = tls_state().await;
        if state["certificates"][0]["lastReloadOk"] == false {
            break state;
        }
        assert!(
            Instant::now() < deadline,
            "a failed reload is not reported: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let error = state["certificates"][0]["lastError"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("server.pem"), "{error}");
    let (_, leaf) = connect(server.addr, &pki.ca_file()).await;
    assert_eq!(leaf, der(&cert2));
    server.stop().await;
}

#[tokio::test]
async fn a_key_that_does_not_match_is_refused_naming_the_file() {
    let pki = Pki::new();
    let (cert, _) = pki.server_pem(&["localhost"]);
    let (_, other_key) = pki.server_pem(&["localhost"]);
    let toml = format!(
        "{BASE_CONFIG}\n[server.tls]\ncert_file = {}\nkey_file = {}\n",
        toml_path(&pki.file("c.pem", &cert)),
        toml_path(&pki.file("k.pem", &other_key)),
    );
    let e = hookbox::config::load_str(&toml, "t.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("server.tls.key_file") && e.contains("k.pem"),
        "{e}"
    );
    let half = format!("{BASE_CONFIG}\n[server.tls]\ncert_file = \"c.pem\"\n");
    let e = hookbox::config::load_str(&half, "t.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("server.tls.key_file"), "{e}");
}
