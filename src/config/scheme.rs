//! Validating a source's signature scheme (`scheme`, `notification_url`, `[hmac]`) into a
//! [`Scheme`] through the provider registry.

use super::key::{err, KeyError};
use super::source::{HmacConfig, SourceConfig};
use crate::verify::{HmacScheme, IdLocation, Scheme, SchemeOptions};

pub(super) fn build_scheme(cfg: &SourceConfig) -> Result<Scheme, KeyError> {
    let hmac = cfg.hmac.as_ref().map(build_hmac).transpose()?;
    let options = SchemeOptions {
        url: cfg.notification_url.clone(),
        hmac,
    };
    Scheme::build(&cfg.scheme, &options).or_else(|e| err(e.option, e.reason))
}

fn build_hmac(h: &HmacConfig) -> Result<HmacScheme, KeyError> {
    let id = match (&h.id_header, &h.id_pointer) {
        (Some(header), None) => IdLocation::Header(header.to_ascii_lowercase()),
        (None, Some(ptr)) => IdLocation::JsonPointer(ptr.clone()),
        _ => return err("hmac", "set exactly one of id_header and id_pointer"),
    };
    let scheme = HmacScheme {
        header: h.header.to_ascii_lowercase(),
        prefix: h.prefix.clone(),
        encoding: h.encoding,
        algorithm: h.algorithm,
        signed: h.signed.clone(),
        timestamp_header: h.timestamp_header.as_ref().map(|t| t.to_ascii_lowercase()),
        id,
    };
    scheme.validate().or_else(|reason| err("hmac", reason))?;
    Ok(scheme)
}
