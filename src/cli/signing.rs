//! `hookbox verify` and `hookbox sign`: signatures by hand, for debugging integrations.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{load_source, usage_error};
use crate::verify::{self, Scheme, SchemeOptions, Secret, Verifier};

/// `hookbox verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Signature scheme (any `scheme` a source may name, except `hmac`).
    #[arg(long, value_parser = scheme_names())]
    scheme: String,
    /// Signing secret (repeat for several; any may match).
    #[arg(long, required = true)]
    secret: Vec<String>,
    /// File holding the exact request body (used byte for byte); `-` reads standard input.
    #[arg(long)]
    body_file: PathBuf,
    /// A request header, `Name: value` (repeatable; names are case-insensitive).
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The time to check timestamps against, unix seconds (default: now).
    #[arg(long)]
    now: Option<u64>,
    /// Largest accepted timestamp distance, seconds.
    #[arg(long, default_value_t = 300)]
    tolerance: u64,
    /// The URL the provider signs (Square's notification URL, Twilio's and HubSpot's request URL).
    #[arg(long)]
    url: Option<String>,
}

/// `hookbox sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Source name from the config file.
    #[arg(long)]
    source: String,
    /// File holding the request body; `-` reads standard input.
    #[arg(long)]
    body_file: PathBuf,
    /// Configuration file (secrets from `<SOURCE>_WEBHOOK_SECRET` win, as in `serve`).
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Event id for schemes that carry it in a header (default: a fresh random one).
    #[arg(long)]
    id: Option<String>,
}

/// The names `--scheme` accepts: every registered scheme but the generic one, which needs a
/// config table.
fn scheme_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(Scheme::names().filter(|n| *n != "hmac"))
}

fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s.split_once(':').ok_or("expected 'Name: value'")?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|e| e.to_string())?;
    Ok((name, value))
}

/// Runs `hookbox verify`: exit 0 valid, 1 invalid, 2 usage error. A valid handshake (Slack's
/// `url_verification`, Discord's PING, …) also prints the answer hookbox would send.
pub fn verify(args: VerifyArgs) -> ExitCode {
    let options = SchemeOptions {
        url: args.url,
        hmac: None,
    };
    let scheme = match Scheme::build(&args.scheme, &options) {
        Ok(scheme) => scheme,
        Err(e) if e.option == "notification_url" => {
            return usage_error(format!("--url: {}", e.reason))
        }
        Err(e) => return usage_error(format!("--scheme {}: {e}", args.scheme)),
    };
    let secrets: Vec<Secret> = args.secret.into_iter().map(Secret::new).collect();
    for secret in &secrets {
        if let Err(reason) = verify::check_secret(&scheme, secret) {
            return usage_error(format!("--secret: {reason}"));
        }
    }
    let body = match read_body(&args.body_file) {
        Ok(body) => body,
        Err(e) => return usage_error(format!("{}: {e}", args.body_file.display())),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in args.headers {
        headers.append(name, value);
    }
    let verifier = Verifier {
        scheme,
        secrets,
        tolerance: Duration::from_secs(args.tolerance),
    };
    match verifier.verify(
        &headers,
        &body,
        args.now.unwrap_or_else(crate::clock::now_secs),
    ) {
        Ok(()) => {
            println!("valid");
            // A handshake is answered, not stored: show what hookbox would send back.
            if let Some(answer) = verifier.answer(&headers, &body) {
                let text = String::from_utf8_lossy(&answer.body);
                println!("handshake: answered 200 {} {text}", answer.content_type);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}

/// The body from `path`, or from standard input for `-` (`… | hookbox sign --body-file -`).
fn read_body(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut body)?;
        Ok(body)
    } else {
        std::fs::read(path)
    }
}

/// Runs `hookbox sign`: prints `Name: value` lines, then, for schemes that sign inside the body,
/// a blank line and the body to send.
pub fn sign(args: SignArgs) -> ExitCode {
    let source = match load_source(&args.config, &args.source) {
        Ok((_, source)) => source,
        Err(code) => return code,
    };
    let body = match read_body(&args.body_file) {
        Ok(body) => body,
        Err(e) => return usage_error(format!("{}: {e}", args.body_file.display())),
    };
    let id = args
        .id
        .unwrap_or_else(|| format!("evt_{:032x}", rand::random::<u128>()));
    let Some(secret) = source.verifier.secrets.first() else {
        return usage_error("the source has no secret");
    };
    let now = crate::clock::now_secs();
    // Schemes that sign inside the body (Adyen, Mailgun, …) change it: it follows the headers.
    let signed_body = source.verifier.sign_body(secret, &body, now);
    for (name, value) in
        source
            .verifier
            .sign(secret, signed_body.as_deref().unwrap_or(&body), now, &id)
    {
        println!("{name}: {value}");
    }
    if source.verifier.needs_json_body() {
        println!("Content-Type: application/json");
    }
    if let Some(signed_body) = signed_body {
        println!();
        println!("{}", String::from_utf8_lossy(&signed_body));
    }
    ExitCode::SUCCESS
}
