//! What a loaded config does that works but is probably a mistake: the warnings `serve` logs at
//! start and `hookbox config check` prints, from one list so the two never disagree.

use super::Config;

/// One start-up warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The source it is about, if any (logged as the `source` field).
    pub source: Option<String>,
    /// The sentence, without the source's name.
    pub text: String,
}

impl Warning {
    fn about(source: &str, text: String) -> Warning {
        Warning {
            source: Some(source.to_owned()),
            text,
        }
    }

    fn general(text: &str) -> Warning {
        Warning {
            source: None,
            text: text.to_owned(),
        }
    }
}

/// The warnings `config` deserves at start, in the order `serve` logs them.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    for source in config.sources.iter().filter(|s| s.uses_development_secret) {
        out.push(Warning::about(
            &source.name,
            format!(
                "source is using the shipped development secret; set {}_WEBHOOK_SECRET",
                source.name.to_ascii_uppercase().replace('-', "_")
            ),
        ));
    }
    if config.sources.is_empty() {
        out.push(Warning::general(
            "no sources are configured: every POST /webhooks/<source> gets 404",
        ));
    }
    for source in config
        .sources
        .iter()
        .filter(|s| s.verifier.tolerance.is_zero())
    {
        out.push(Warning::about(
            &source.name,
            "tolerance is 0: where the scheme signs a timestamp it must match this clock to the \
             second, so most deliveries will be rejected"
                .to_owned(),
        ));
    }
    if config.admin.uses_development_token() {
        out.push(Warning::general(
            "the admin token is the shipped development one; set HOOKBOX_ADMIN_TOKEN",
        ));
    }
    out
}
