//! Validating `[sources.<name>.handler]`: secrets from the environment, URLs, programs and the
//! environment a command may see.

use super::key::{err, KeyError};
use std::sync::Arc;

use super::source::{CommandConfig, ForwardConfig, HandlerConfig, Signing};
use crate::tls::{self, PemRole, TlsError, TlsFiles};
use crate::verify::{self, Scheme, SchemeOptions, Secret};

/// The handler of the source whose variables start with `env_prefix`, which keeps
/// `keep_headers` and whose provider signs with `signature_headers`, validated, with its forward
/// secret taken from the environment when set there.
pub(super) fn build_handler(
    handler: &HandlerConfig,
    env_prefix: &str,
    keep_headers: &[String],
    signature_headers: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HandlerConfig, KeyError> {
    let mut handler = handler.clone();
    match &mut handler {
        HandlerConfig::Log => {}
        HandlerConfig::Forward(f) => {
            if let Some(s) = env(&format!("{env_prefix}_FORWARD_SECRET")) {
                f.secret = Some(Secret::new(s));
            }
            if let Some(name) = f.signing.scheme_name() {
                let Some(secret) = &f.secret else {
                    return err(
                        "handler.secret",
                        format!("required for forward (or set {env_prefix}_FORWARD_SECRET)"),
                    );
                };
                let scheme = Scheme::build(name, &SchemeOptions::default())
                    .or_else(|e| err("handler.signing", e.to_string()))?;
                verify::check_secret(&scheme, secret).or_else(|r| err("handler.secret", r))?;
                f.signer = Some(scheme);
            }
            if f.signing == Signing::Original {
                if signature_headers.is_empty() {
                    return err(
                        "handler.signing",
                        "\"original\": this source's scheme signs inside the body, which is \
                         forwarded as it is; use \"none\"",
                    );
                }
                f.original_headers = signature_headers.to_vec();
            }
            match f.url.parse::<http::Uri>() {
                Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => {
                    f.tls = Some(build_tls(f)?);
                }
                Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => {
                    let tls_files = [&f.ca_file, &f.client_cert_file, &f.client_key_file];
                    if tls_files.iter().any(|file| file.is_some()) {
                        return err("handler.url", "must be https:// when TLS files are set");
                    }
                }
                _ => return err("handler.url", "must be an absolute http:// or https:// URL"),
            }
            check_pass_headers(&f.pass_headers, keep_headers)?;
        }
        HandlerConfig::Command(c) => check_command(c)?,
    }
    Ok(handler)
}

/// The TLS client of an `https://` forward, its files read and checked now.
fn build_tls(f: &ForwardConfig) -> Result<Arc<rustls::ClientConfig>, KeyError> {
    let files = TlsFiles {
        ca_file: f.ca_file.as_deref(),
        client_cert_file: f.client_cert_file.as_deref(),
        client_key_file: f.client_key_file.as_deref(),
    };
    tls::client_config(&files).or_else(|e| {
        let key = match &e {
            TlsError::File {
                role: PemRole::Ca, ..
            } => "handler.ca_file",
            TlsError::File {
                role: PemRole::ClientCert,
                ..
            } => "handler.client_cert_file",
            _ => "handler.client_key_file",
        };
        err(key, e.to_string())
    })
}

/// Only stored headers can be passed on, and hookbox's own (`webhook-*`, `hookbox-*`) are
/// always its own: naming anything else would forward nothing, silently.
fn check_pass_headers(pass: &[String], keep_headers: &[String]) -> Result<(), KeyError> {
    for name in pass {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("webhook-") || lower.starts_with("hookbox-") {
            return err(
                "handler.pass_headers",
                format!("{name:?} is set by hookbox on every forwarded request"),
            );
        }
        if !keep_headers.contains(&lower) {
            return err(
                "handler.pass_headers",
                format!("{name:?} is not kept with the event; add it to keep_headers"),
            );
        }
    }
    Ok(())
}

fn check_command(c: &CommandConfig) -> Result<(), KeyError> {
    if c.program.as_os_str().is_empty() {
        return err("handler.program", "must not be empty");
    }
    for (name, value) in &c.env {
        if !is_variable_name(name) {
            return err("handler.env", format!("{name:?} is not a variable name"));
        }
        if value.contains('\0') {
            return err("handler.env", format!("the value of {name} contains NUL"));
        }
    }
    for name in &c.pass_env {
        if !is_variable_name(name) {
            return err(
                "handler.pass_env",
                format!("{name:?} is not a variable name"),
            );
        }
    }
    Ok(())
}

/// Something `execve` can carry as a name: not empty, no `=`, no NUL.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}
