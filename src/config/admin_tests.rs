//! `[admin]`: named tokens with roles, their secrets from the environment or a file, and errors
//! that name the file, the key or the variable.

use super::tests::{invalid_key, load_with, GITHUB};
use super::*;

const READ: &str = "read-token-0123456789";
const OPERATE: &str = "operate-token-0123456789";

fn tokens(config: &Config) -> Vec<(&str, Role, &str)> {
    let all = config.admin.all_tokens();
    all.map(|(name, role, secret)| (name, role, secret.expose()))
        .collect()
}

fn with_tokens(entries: &str) -> String {
    format!("[admin]\ntoken = \"legacy-token-0123456789\"\n{entries}\n{GITHUB}")
}

fn env_error(result: Result<Config, ConfigError>) -> String {
    match result {
        Err(ConfigError::Env { var, .. }) => var,
        other => panic!("expected an environment error, got {other:?}"),
    }
}

#[test]
fn named_tokens_take_their_secrets_from_the_environment_a_file_or_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("oncall");
    std::fs::write(&file, format!("{OPERATE}\n")).expect("write");
    let text = with_tokens(
        "[[admin.tokens]]\nname = \"dashboard\"\nrole = \"read\"\n\
         [[admin.tokens]]\nname = \"on-call\"\nrole = \"operate\"\n\
         [[admin.tokens]]\nname = \"ci\"\nrole = \"read\"\ntoken = \"inline-token-0123456789\"\n",
    );
    let path = file.display().to_string();
    let env = [
        ("HOOKBOX_ADMIN_TOKEN_DASHBOARD", READ),
        ("HOOKBOX_ADMIN_TOKEN_ON_CALL_FILE", path.as_str()),
    ];
    let config = load_with(&text, &env).expect("valid");
    assert_eq!(
        tokens(&config),
        [
            ("admin", Role::Operate, "legacy-token-0123456789"),
            ("dashboard", Role::Read, READ),
            ("on-call", Role::Operate, OPERATE),
            ("ci", Role::Read, "inline-token-0123456789"),
        ]
    );
    assert_eq!(
        config.admin.token.as_ref().map(|t| t.expose()),
        Some("legacy-token-0123456789")
    );
    assert_eq!(
        config.admin.audit_retention,
        std::time::Duration::from_secs(365 * 86400)
    );
    let shown = format!("{:?}", config.admin);
    for secret in [READ, OPERATE, "inline-token", "legacy-token"] {
        assert!(!shown.contains(secret), "Debug shows a secret: {shown}");
    }
    // The environment replaces the file's secret; HOOKBOX_ADMIN_TOKEN_FILE serves `admin`.
    std::fs::write(&file, OPERATE).expect("write");
    let env = [
        ("HOOKBOX_ADMIN_TOKEN_FILE", path.as_str()),
        ("HOOKBOX_ADMIN_TOKEN_DASHBOARD", READ),
        ("HOOKBOX_ADMIN_TOKEN_ON_CALL", "another-token-0123456789"),
        ("HOOKBOX_ADMIN_TOKEN_CI", "env-token-0123456789"),
    ];
    let config = load_with(&text, &env).expect("valid");
    let found = tokens(&config);
    assert_eq!(found[0], ("admin", Role::Operate, OPERATE));
    assert_eq!(found[3], ("ci", Role::Read, "env-token-0123456789"));
}

#[test]
fn only_named_tokens_enable_the_admin_api_and_retention_is_configurable() {
    let text = format!(
        "[admin]\naudit_retention = \"30d\"\n[[admin.tokens]]\nname = \"admin\"\nrole = \"read\"\n{GITHUB}"
    );
    let config = load_with(&text, &[("HOOKBOX_ADMIN_TOKEN_ADMIN", READ)]).expect("valid");
    assert!(config.admin.enabled() && config.admin.token.is_none());
    assert_eq!(tokens(&config), [("admin", Role::Read, READ)]);
    assert_eq!(
        config.admin.audit_retention,
        std::time::Duration::from_secs(30 * 86400)
    );
    assert!(!load_with(GITHUB, &[]).expect("valid").admin.enabled());
}

#[test]
fn bad_tokens_are_refused_naming_the_key_or_the_variable() {
    let entry = |name: &str, role: &str| {
        format!("[[admin.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\n")
    };
    let env = [
        ("HOOKBOX_ADMIN_TOKEN_OPS", OPERATE),
        ("HOOKBOX_ADMIN_TOKEN_OPS2", READ),
    ];
    let twice = with_tokens(&(entry("ops", "read") + &entry("ops", "operate")));
    assert_eq!(invalid_key(load_with(&twice, &env)), "admin.tokens[1].name");
    let legacy_name = with_tokens(&entry("admin", "read"));
    let env_admin = [("HOOKBOX_ADMIN_TOKEN_ADMIN", READ)];
    assert_eq!(
        invalid_key(load_with(&legacy_name, &env_admin)),
        "admin.tokens[0].name"
    );
    for name in ["Ops", "cli", "a:b", ""] {
        let text = with_tokens(&entry(name, "read"));
        assert_eq!(
            invalid_key(load_with(&text, &env)),
            "admin.tokens[0].name",
            "{name}"
        );
    }
    // `ops-2` and `ops_2`, or `x` and `x_file`, would read the same variable.
    for (a, b) in [("ops-2", "ops_2"), ("x_file", "x"), ("x", "x_file")] {
        let first = entry(a, "read") + "token = \"first-token-0123456789\"\n";
        let clash = with_tokens(&(first + &entry(b, "read")));
        assert_eq!(
            invalid_key(load_with(&clash, &env)),
            "admin.tokens[1].name",
            "{a} {b}"
        );
    }
    let file = with_tokens(&entry("file", "read"));
    assert_eq!(invalid_key(load_with(&file, &env)), "admin.tokens[0].name");

    let role = with_tokens(&entry("ops", "admin"));
    match load_with(&role, &env) {
        Err(e @ ConfigError::Parse { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("t.toml") && text.contains("role"),
                "{text}"
            );
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    let missing = with_tokens(&entry("nobody", "read"));
    let err = load_with(&missing, &env).expect_err("no secret");
    assert!(
        err.to_string().contains("HOOKBOX_ADMIN_TOKEN_NOBODY"),
        "{err}"
    );
    assert_eq!(invalid_key(Err(err)), "admin.tokens[0].token");
    let short = with_tokens(&entry("ops", "read"));
    let env_short = [("HOOKBOX_ADMIN_TOKEN_OPS", "short")];
    assert_eq!(
        env_error(load_with(&short, &env_short)),
        "HOOKBOX_ADMIN_TOKEN_OPS"
    );
    let inline_short = with_tokens(&(entry("x", "read") + "token = \"short\"\n"));
    assert_eq!(
        invalid_key(load_with(&inline_short, &[])),
        "admin.tokens[0].token"
    );
    let both = [
        ("HOOKBOX_ADMIN_TOKEN_OPS", READ),
        ("HOOKBOX_ADMIN_TOKEN_OPS_FILE", "/x"),
    ];
    assert_eq!(
        env_error(load_with(&short, &both)),
        "HOOKBOX_ADMIN_TOKEN_OPS_FILE"
    );
    let unreadable = [("HOOKBOX_ADMIN_TOKEN_OPS_FILE", "/nonexistent/hookbox-token")];
    assert_eq!(
        env_error(load_with(&short, &unreadable)),
        "HOOKBOX_ADMIN_TOKEN_OPS_FILE"
    );
    let same = with_tokens(&(entry("ops", "read") + &entry("ops2", "operate")));
    let env_same = [
        ("HOOKBOX_ADMIN_TOKEN_OPS", READ),
        ("HOOKBOX_ADMIN_TOKEN_OPS2", READ),
    ];
    assert_eq!(
        invalid_key(load_with(&same, &env_same)),
        "admin.tokens[1].token"
    );
}

#[test]
fn the_commented_tokens_in_config_toml_load_when_uncommented() {
    let shipped = include_str!("../../config.toml");
    let uncommented: String = shipped
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.starts_with("[[admin.tokens]]") || rest.starts_with("  ") => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(uncommented, shipped, "the example is still there");
    let env = [
        ("HOOKBOX_ADMIN_TOKEN_DASHBOARD", READ),
        ("HOOKBOX_ADMIN_TOKEN_ON_CALL", OPERATE),
    ];
    let config = load_with(&uncommented, &env).expect("the example is valid");
    let names: Vec<_> = tokens(&config).iter().map(|t| (t.0, t.1)).collect();
    assert_eq!(
        names,
        [
            ("admin", Role::Operate),
            ("dashboard", Role::Read),
            ("on-call", Role::Operate)
        ]
    );
}
