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
    // One line for all of them: a development config would otherwise open with a screenful.
    let insecure: Vec<&str> = (config.sources.iter())
        .filter(|s| s.uses_development_secret)
        .map(|s| s.name.as_str())
        .collect();
    if let Some(first) = insecure.first() {
        let env = first.to_ascii_uppercase().replace('-', "_");
        out.push(Warning {
            source: None,
            text: format!(
                "sources with a shipped development or published test secret (anyone can sign \
                 for them): {}; set <SOURCE>_WEBHOOK_SECRET for each, e.g. {env}_WEBHOOK_SECRET",
                insecure.join(", "),
            ),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_secrets_are_one_line_naming_every_source() {
        let text = super::super::examples::shipped_with_examples();
        let config = super::super::load_str(&text, "all.toml", &|_| None).expect("valid");
        let secrets: Vec<Warning> = (warnings(&config).into_iter())
            .filter(|w| w.text.contains("WEBHOOK_SECRET"))
            .collect();
        assert_eq!(secrets.len(), 1, "{secrets:?}");
        for source in &config.sources {
            assert!(secrets[0].text.contains(&source.name), "{}", source.name);
        }
        // A real secret everywhere: no warning.
        let env = |name: &str| name.ends_with("_WEBHOOK_SECRET").then(|| "x".repeat(40));
        let shipped = include_str!("../../config.toml");
        let config = super::super::load_str(shipped, "config.toml", &env).expect("valid");
        assert!(!warnings(&config)
            .iter()
            .any(|w| w.text.contains("WEBHOOK_SECRET")));
    }
}
