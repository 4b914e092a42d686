//! Validating a source's signature scheme (`scheme`, `notification_url`, `[hmac]`) into a
//! [`Scheme`], and the provider headers each scheme keeps by default.

use super::load::{err, KeyError};
use super::source::{HmacConfig, SourceConfig};
use crate::verify::{HmacScheme, IdLocation, Scheme};

/// Provider headers worth keeping with every event of a scheme (event type, shop, …).
pub(super) fn default_kept(scheme: &Scheme) -> &'static [&'static str] {
    match scheme {
        Scheme::Github => &["x-github-event", "x-github-delivery", "x-github-hook-id"],
        Scheme::Shopify => &[
            "x-shopify-topic",
            "x-shopify-shop-domain",
            "x-shopify-webhook-id",
        ],
        Scheme::Standard => &["webhook-id", "svix-id"],
        _ => &[],
    }
}

pub(super) fn build_scheme(cfg: &SourceConfig) -> Result<Scheme, KeyError> {
    let scheme = match cfg.scheme.as_str() {
        "stripe" => Scheme::Stripe,
        "github" => Scheme::Github,
        "standard" => Scheme::Standard,
        "shopify" => Scheme::Shopify,
        "slack" => Scheme::Slack,
        "paddle" => Scheme::Paddle,
        "square" => match &cfg.notification_url {
            Some(url) if !url.is_empty() => Scheme::Square {
                notification_url: url.clone(),
            },
            _ => return err("notification_url", "required for scheme \"square\""),
        },
        "hmac" => match &cfg.hmac {
            Some(h) => Scheme::Hmac(build_hmac(h)?),
            None => return err("hmac", "a [hmac] table is required for scheme \"hmac\""),
        },
        other => {
            return err(
                "scheme",
                format!("unknown scheme {other:?} (expected stripe, github, standard, shopify, slack, paddle, square or hmac)"),
            )
        }
    };
    if cfg.scheme != "square" && cfg.notification_url.is_some() {
        return err("notification_url", "only used with scheme \"square\"");
    }
    if cfg.scheme != "hmac" && cfg.hmac.is_some() {
        return err("hmac", "only used with scheme \"hmac\"");
    }
    Ok(scheme)
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
