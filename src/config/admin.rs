//! `[admin]`: the admin tokens, each with a name and a role; status-resource access; how long
//! the audit log is kept.
//!
//! A token's secret comes from `HOOKBOX_ADMIN_TOKEN_<NAME>`, from the file that
//! `HOOKBOX_ADMIN_TOKEN_<NAME>_FILE` names (a mounted secret; surrounding whitespace dropped), or
//! from the config file, in that order (`<NAME>` upper-cased, `-` as `_`). The single
//! `admin.token` (`HOOKBOX_ADMIN_TOKEN`, `HOOKBOX_ADMIN_TOKEN_FILE`) is an `operate` token named
//! `admin`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::key::{valid_name, DEVELOPMENT_SECRET_MARKER};
use crate::verify::Secret;

/// The name the single `admin.token` has in the audit log.
pub const LEGACY_TOKEN_NAME: &str = "admin";
/// The name the command line's actions (`migrate`, `compact`) have in the audit log.
pub const CLI_TOKEN_NAME: &str = "cli";
const ENV_PREFIX: &str = "HOOKBOX_ADMIN_TOKEN";

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything: lists, events, payloads, counts, the audit log, the console.
    Read,
    /// Also act: requeue, discard, bulk and batch actions.
    Operate,
}

impl Role {
    /// `read` or `operate`, as configured and as the audit log shows it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Operate => "operate",
        }
    }
}

/// One admin token, validated. `Debug` redacts the secret.
#[derive(Debug, Clone)]
pub struct AdminToken {
    /// Its name, shown in the audit log.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The bearer token itself.
    pub secret: Secret,
}

/// `[admin]`, validated: who may use the admin API and read status resources.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The single `admin.token` (`HOOKBOX_ADMIN_TOKEN`): an `operate` token named `admin`; the
    /// bundled clients (`replay`, `bench`) use it.
    pub token: Option<Secret>,
    /// Each `[[admin.tokens]]`. Without these and `token` the admin API is disabled.
    pub tokens: Vec<AdminToken>,
    /// Let anyone who knows an event's `Location` read its status without a token.
    pub public_status: bool,
    /// How long audit records are kept.
    pub audit_retention: Duration,
    /// A second, private listener for the admin API, the console, metrics, status resources
    /// and the OpenAPI document; the public one then serves only webhooks and health.
    pub listen: Option<SocketAddr>,
}

/// Audit records are kept a year unless configured otherwise.
const AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token: None,
            tokens: Vec::new(),
            public_status: false,
            audit_retention: AUDIT_RETENTION,
            listen: None,
        }
    }
}

impl AdminConfig {
    /// Every token as (name, role, secret): `token` as `admin` first, then the named ones.
    pub fn all_tokens(&self) -> impl Iterator<Item = (&str, Role, &Secret)> {
        let legacy = (self.token.iter()).map(|s| (LEGACY_TOKEN_NAME, Role::Operate, s));
        legacy.chain((self.tokens.iter()).map(|t| (t.name.as_str(), t.role, &t.secret)))
    }

    /// True while any token is the shipped development one.
    pub fn uses_development_token(&self) -> bool {
        self.all_tokens()
            .any(|(_, _, secret)| secret.expose().contains(DEVELOPMENT_SECRET_MARKER))
    }

    /// Whether any token is configured (else the admin API and the console are disabled).
    pub fn enabled(&self) -> bool {
        self.all_tokens().next().is_some()
    }
}

/// `[admin]` as written in the file.
#[derive(Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawAdmin {
    token: Option<Secret>,
    public_status: bool,
    tokens: Vec<RawToken>,
    #[serde(
        deserialize_with = "humantime_serde::deserialize",
        serialize_with = "super::effective::duration"
    )]
    audit_retention: Duration,
    #[serde(deserialize_with = "listen_address")]
    listen: Option<SocketAddr>,
}

impl Default for RawAdmin {
    fn default() -> Self {
        RawAdmin {
            token: None,
            public_status: false,
            tokens: Vec::new(),
            audit_retention: AUDIT_RETENTION,
            listen: None,
        }
    }
}

impl RawAdmin {
    /// Whether `admin.listen` is `addr` (port 0, "any free port", never collides).
    pub(super) fn listen_is(&self, addr: SocketAddr) -> bool {
        self.listen == Some(addr) && addr.port() != 0
    }
}

/// One `[[admin.tokens]]` entry.
#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    name: String,
    role: Role,
    #[serde(default)]
    token: Option<Secret>,
}

/// What is wrong with `[admin]`: (where, reason).
pub(super) enum AdminError {
    /// A key of the file, e.g. `admin.tokens[1].name`.
    Key(String, String),
    /// An environment variable, e.g. `HOOKBOX_ADMIN_TOKEN_OPS_FILE`.
    Var(String, String),
}

/// Validates `[admin]` with the secrets `env` holds.
pub(super) fn build_admin(
    raw: RawAdmin,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AdminConfig, AdminError> {
    let invalid = AdminError::Key;
    // The variables read so far: one serving two tokens would be ambiguous.
    let mut read: Vec<String> = vec![ENV_PREFIX.into(), format!("{ENV_PREFIX}_FILE")];
    let legacy = secret(ENV_PREFIX, raw.token, "admin.token".into(), env)?;
    let mut tokens: Vec<AdminToken> = Vec::new();
    for (i, t) in raw.tokens.into_iter().enumerate() {
        let key = |field: &str| format!("admin.tokens[{i}].{field}");
        let name = t.name;
        if !valid_name(&name) {
            let reason = "token names use only a-z, 0-9, '_' and '-' (at most 64)";
            return Err(invalid(key("name"), reason.into()));
        }
        if name == CLI_TOKEN_NAME {
            let reason = "`cli` names the command line's actions in the audit log";
            return Err(invalid(key("name"), reason.into()));
        }
        let legacy_name = legacy.is_some() && name == LEGACY_TOKEN_NAME;
        if legacy_name || tokens.iter().any(|o| o.name == name) {
            let reason = format!("the name {name:?} is used by another token");
            return Err(invalid(key("name"), reason));
        }
        let var = env_var(&name);
        let own = [var.clone(), format!("{var}_FILE")];
        if read.iter().any(|r| own.contains(r)) {
            let reason = format!("its variable {var} (or {var}_FILE) is another token's too");
            return Err(invalid(key("name"), reason));
        }
        read.extend(own);
        let Some(secret) = secret(&var, t.token, key("token"), env)? else {
            let reason = format!("no secret for token {name}: set {var} or {var}_FILE");
            return Err(invalid(key("token"), reason));
        };
        let legacy_twin = (legacy.as_ref())
            .filter(|s| **s == secret)
            .map(|_| LEGACY_TOKEN_NAME);
        let twin = legacy_twin.or_else(|| {
            let named = tokens.iter().find(|o| o.secret == secret);
            named.map(|o| o.name.as_str())
        });
        if let Some(twin) = twin {
            let reason = format!("token {name} has the same secret as token {twin}");
            return Err(invalid(key("token"), reason));
        }
        tokens.push(AdminToken {
            name,
            role: t.role,
            secret,
        });
    }
    Ok(AdminConfig {
        token: legacy,
        tokens,
        public_status: raw.public_status,
        audit_retention: raw.audit_retention,
        listen: raw.listen,
    })
}

fn listen_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    (super::resolve_listen(&text).map(Some)).map_err(serde::de::Error::custom)
}

/// `HOOKBOX_ADMIN_TOKEN_<NAME>` for the token `name`.
fn env_var(name: &str) -> String {
    format!(
        "{ENV_PREFIX}_{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// The usable secret from `var` (or its `_FILE`), else the file's (at `key`), if any.
fn secret(
    var: &str,
    in_file: Option<Secret>,
    key: String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, AdminError> {
    match secret_from_env(var, env)? {
        Some((secret, var)) => usable(secret, |reason| AdminError::Var(var, reason)).map(Some),
        None => (in_file.map(|secret| usable(secret, |reason| AdminError::Key(key, reason))))
            .transpose(),
    }
}

/// `secret`, if it can work as a bearer token; else the error `wrong` makes of why not.
fn usable(secret: Secret, wrong: impl FnOnce(String) -> AdminError) -> Result<Secret, AdminError> {
    match token_problem(secret.expose()) {
        Some(reason) => Err(wrong(reason.into())),
        None => Ok(secret),
    }
}

/// The secret in `var`, or in the file `<var>_FILE` names, with the variable it came from.
fn secret_from_env(
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Secret, String)>, AdminError> {
    let file_var = format!("{var}_FILE");
    match (env(var), env(&file_var)) {
        (Some(_), Some(_)) => {
            let reason = format!("set {var} or {var}_FILE, not both");
            Err(AdminError::Var(file_var, reason))
        }
        (Some(secret), None) => Ok(Some((Secret::new(secret), var.to_owned()))),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some((Secret::new(text.trim()), file_var))),
            Err(e) => Err(AdminError::Var(
                file_var,
                format!("cannot read {path}: {e}"),
            )),
        },
        (None, None) => Ok(None),
    }
}

/// Why `token` cannot work as an admin token, if it cannot: it travels as
/// `Authorization: Bearer <token>`, where surrounding spaces are dropped and none may be inside.
fn token_problem(token: &str) -> Option<&'static str> {
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("must not contain spaces or control characters (it is sent as a bearer token)")
    } else if token.chars().count() < 16 {
        Some("must be at least 16 characters")
    } else {
        None
    }
}
