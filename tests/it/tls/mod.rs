//! Forwarding over HTTPS to a real loopback application whose certificates a throwaway CA
//! made in the test: trust through `ca_file`, the failures an operator must be able to tell
//! apart (unknown issuer, name mismatch, expiry, a missing client certificate), mTLS, and
//! config errors that name the file and key. [`cli`]: the client tools over HTTPS.

mod cli;

use crate::support::flow::{config, deliver, forward, forward_verifier, outcomes, settled, FAST};
use crate::support::pki::{Pki, ServerCert};
use crate::support::target::Target;
use crate::support::{get, unix_now, TestServer};

use serde_json::Value;

/// A TOML string holding `path`.
pub(super) fn toml_path(path: &std::path::Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

/// Delivers one event to a forward to `target` with `extra` handler lines; waits until it
/// settles and returns its status.
async fn forward_one(target: &Target, extra: &str) -> Value {
    let server = TestServer::start(&config(FAST, &forward(target, extra))).await;
    deliver(&server, "evt_tls", r#"{"type":"t"}"#, &[]).await;
    let status = settled(&server, "evt_tls").await;
    server.stop().await;
    status
}

/// Asserts that every attempt failed transiently and the last error contains `needle`.
fn failed_transiently_with(status: &Value, needle: &str) {
    assert_eq!(status["state"], "dead", "{status}");
    assert!(
        outcomes(status).iter().all(|o| *o == "transient"),
        "{status}"
    );
    let error = status["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("TLS handshake failed") && error.contains(needle),
        "{error}"
    );
}

#[tokio::test]
async fn forwards_over_https_to_a_target_signed_by_the_ca_file() {
    let pki = Pki::new();
    let target = Target::start_tls(pki.server(ServerCert::default())).await;
    let extra = format!("ca_file = {}", toml_path(&pki.ca_file()));
    let server = TestServer::start(&config(FAST, &forward(&target, &extra))).await;
    deliver(&server, "evt_tls", r#"{"type":"t"}"#, &[]).await;
    let status = settled(&server, "evt_tls").await;
    assert_eq!(status["state"], "succeeded", "{status}");
    let seen = target.requests_for("app:evt_tls");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        forward_verifier().verify(&seen[0].headers, &seen[0].body, unix_now()),
        Ok(())
    );
    // The destination names its scheme: the breaker of https://h:p is not that of http://h:p.
    let metrics = String::from_utf8(get(&server.url("/metrics")).await.body.to_vec()).unwrap();
    let dest = format!("https://localhost:{}", target.addr.port());
    assert!(
        metrics.contains(&format!("destination=\"{dest}\"")),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_the_ca_file_the_issuer_is_unknown_and_the_attempt_transient() {
    let pki = Pki::new();
    let target = Target::start_tls(pki.server(ServerCert::default())).await;
    let status = forward_one(&target, "").await;
    failed_transiently_with(&status, "unknown issuer");
    assert!(target.inspect(|seen| seen.is_empty()));
    assert!(target.handshake_failures() > 0);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_name_mismatch() {
    let pki = Pki::new();
    let cert = ServerCert {
        names: &["other.test"],
        ..ServerCert::default()
    };
    let target = Target::start_tls(pki.server(cert)).await;
    let extra = format!("ca_file = {}", toml_path(&pki.ca_file()));
    let status = forward_one(&target, &extra).await;
    failed_transiently_with(&status, "does not match the host name");
}

#[tokio::test]
async fn an_expired_certificate_says_expired() {
    let pki = Pki::new();
    let cert = ServerCert {
        expired: true,
        ..ServerCert::default()
    };
    let target = Target::start_tls(pki.server(cert)).await;
    let extra = format!("ca_file = {}", toml_path(&pki.ca_file()));
    let status = forward_one(&target, &extra).await;
    failed_transiently_with(&status, "has expired");
}

#[tokio::test]
async fn a_target_that_requires_a_client_certificate_gets_hookbox_s() {
    let pki = Pki::new();
    let cert = ServerCert {
        require_client: true,
        ..ServerCert::default()
    };
    let target = Target::start_tls(pki.server(cert)).await;
    let ca = format!("ca_file = {}", toml_path(&pki.ca_file()));
    let without = forward_one(&target, &ca).await;
    failed_transiently_with(&without, "requires a client certificate");

    let (cert, key) = pki.client_files();
    let extra = format!(
        "{ca}\nclient_cert_file = {}\nclient_key_file = {}",
        toml_path(&cert),
        toml_path(&key)
    );
    let with = forward_one(&target, &extra).await;
    assert_eq!(with["state"], "succeeded", "{with}");
    assert_eq!(target.requests_for("app:evt_tls").len(), 1);
}

#[test]
fn bad_tls_files_are_config_errors_naming_file_key_and_reason() {
    let pki = Pki::new();
    let garbage = pki.file("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n");
    let missing = pki.ca_file().with_file_name("missing.pem");
    let (cert, _) = pki.client_files();
    let url =
        "url = \"https://localhost:9/hook\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"";
    let cases = [
        (
            format!("ca_file = {}", toml_path(&missing)),
            "handler.ca_file",
            "missing.pem: cannot read it",
        ),
        (
            format!("ca_file = {}", toml_path(&garbage)),
            "handler.ca_file",
            "garbage.pem: not valid PEM",
        ),
        (
            format!(
                "client_cert_file = {}\nclient_key_file = {}",
                toml_path(&cert),
                toml_path(&cert)
            ),
            "handler.client_key_file",
            "client.pem: no PEM private key",
        ),
        (
            format!("client_cert_file = {}", toml_path(&cert)),
            "handler.client_key_file",
            "both the certificate file and the key file",
        ),
    ];
    for (lines, key, reason) in cases {
        let toml = config("", &format!("type = \"forward\"\n{url}\n{lines}"));
        let error = hookbox::config::load_str(&toml, "test.toml", &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("test.toml: sources.app.") && error.contains(key),
            "{error}"
        );
        assert!(error.contains(reason), "{error}");
    }
    let toml = config(
        "",
        &format!(
            "type = \"forward\"\nurl = \"http://localhost:9/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nca_file = {}",
            toml_path(&pki.ca_file())
        ),
    );
    let error = hookbox::config::load_str(&toml, "test.toml", &|_| None).err();
    assert!(
        error.is_some_and(|e| e.to_string().contains("must be https://")),
        "TLS files with an http:// URL"
    );
}
