//! `[server.tls.acme]` against Debian's pebble (Let's Encrypt's test CA) with
//! pebble-challtestsrv as its DNS: hookbox obtains a certificate by TLS-ALPN-01 on its own
//! listener (pebble really validates it), serves it (a real client verifies the chain against
//! pebble's root), renews it when renewal is due, keeps serving the last one while pebble is
//! down, and serves the stored one right after a restart.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::net::{TcpListener, TcpStream};

use super::tls_files::connect_as;
use crate::support::pki::Pki;
use crate::support::{config_in, get, TestServer, BASE_CONFIG};
use crate::tls::toml_path;

/// A child process ended when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free now (TCP and UDP), for servers that take their port from a flag.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

async fn until_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// pebble's root certificate, from its management interface (HTTPS with the test CA's cert).
async fn pebble_root(management: u16, pki: &Pki) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], management));
    let (tls, _) = connect_as(addr, &pki.ca_file(), "localhost").await;
    let io = hyper_util::rt::TokioIo::new(tls);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = http::Request::get("/roots/0")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let res = sender.send_request(req).await.expect("roots/0");
    let body = res.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(body.to_vec()).expect("PEM")
}

#[tokio::test]
#[ignore = "needs pebble and pebble-challtestsrv (apt-get install pebble)"]
async fn a_certificate_from_pebble_is_served_renewed_and_kept_while_pebble_is_down() {
    let pki = Pki::new();
    let (cert, key) = pki.server_pem(&["localhost", "127.0.0.1"]);
    let (dns, challtest_mgmt) = (free_port(), free_port());
    let (acme, management, hookbox) = (free_port(), free_port(), free_port());
    let _challtestsrv = Running(
        Command::new("pebble-challtestsrv")
            .args(["-management", &format!("127.0.0.1:{challtest_mgmt}")])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv"),
    );
    let pebble_config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{acme}"),
        "managementListenAddress": format!("127.0.0.1:{management}"),
        "certificate": pki.file("pebble.pem", &cert),
        "privateKey": pki.file("pebble.key", &key),
        "httpPort": free_port(),
        // pebble validates TLS-ALPN-01 on hookbox's own HTTPS port.
        "tlsPort": hookbox,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    }});
    let config_file = pki.file("pebble.json", &pebble_config.to_string());
    let mut pebble = Some(Running(
        Command::new("pebble")
            .arg("-config")
            .arg(&config_file)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble"),
    ));
    until_listening(acme, "pebble").await;
    until_listening(management, "pebble's management interface").await;
    let root = pki.file("pebble-root.pem", &pebble_root(management, &pki).await);

    // Renewal is always due (the window is longer than any lifetime), so hookbox orders again
    // `retry_after` after each certificate.
    let toml = format!(
        "{BASE_CONFIG}\n[server.tls.acme]\ndomains = [\"hookbox.test\"]\n\
         contact = [\"mailto:ops@hookbox.test\"]\ndirectory_url = \"https://127.0.0.1:{acme}/dir\"\n\
         directory_ca_file = {}\nrenew_before = \"100000d\"\nretry_after = \"1s\"\n",
        toml_path(&pki.ca_file()),
    );
    let temp = tempfile::tempdir().expect("temp dir");
    let mut config = config_in(&toml, temp.path());
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], hookbox));
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let tls_url = format!("http://{}/admin/tls", admin.local_addr().expect("addr"));
    let server = TestServer::start_listening(config, Some(admin)).await;
    let served = || async {
        let (_, leaf) = connect_as(server.addr, &root, "hookbox.test").await;
        leaf
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if get(&tls_url).await.json()["certificates"][0]["notAfter"].is_i64() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no certificate after 60 s: {}",
            get(&tls_url).await.json()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = served().await;
    let state = get(&tls_url).await.json();
    assert_eq!(
        state["certificates"][0]["names"],
        serde_json::json!(["hookbox.test"]),
        "{state}"
    );
    assert!(temp.path().join("acme/account.json").exists());
    assert!(temp.path().join("acme/cert.pem").exists());

    let deadline = Instant::now() + Duration::from_secs(60);
    while served().await == first {
        assert!(Instant::now() < deadline, "not renewed after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    drop(pebble.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = get(&tls_url).await.json();
        if state["certificates"][0]["lastReloadOk"] == false {
            let error = state["certificates"][0]["lastError"]
                .as_str()
                .unwrap_or_default();
            assert!(error.contains("ACME order failed"), "{error}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a failing renewal is not reported: {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Still served, and still verifying against pebble's root.
    let kept = served().await;
    server.stop().await;

    // A restart serves the stored certificate at once, with the CA still down.
    let mut config = config_in(&toml, temp.path());
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], hookbox));
    let server = TestServer::start_listening(config, None).await;
    let (_, restored) = connect_as(server.addr, &root, "hookbox.test").await;
    assert_eq!(restored, kept, "the stored certificate after a restart");
    server.stop().await;
}
