//! `[alerts]`: the shipped (commented) example loads, targets become signed routes of the
//! alert source, and each mistake is refused naming its key.

use super::alerts::RawAlerts;
use super::tests::{invalid_key, load_with, GITHUB};
use super::*;

/// The shipped config with its commented `[alerts]` example switched on.
fn shipped_with_alerts() -> String {
    let text = include_str!("../../config.toml");
    let at = text.find("# [alerts]").expect("the alerts example");
    let (head, example) = text.split_at(at);
    let example: String = (example.lines())
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{head}{example}")
}

#[test]
fn the_shipped_alerts_example_loads() {
    let config = load_with(&shipped_with_alerts(), &[]).expect("valid");
    let alerts = &config.alerts;
    assert_eq!(alerts.targets.len(), 1);
    assert_eq!(alerts.rules.len(), 5);
    let route = config
        .route("hookbox.alerts:ops")
        .expect("the target's route");
    let HandlerConfig::Forward(f) = &route.handler else {
        panic!("a forward route");
    };
    assert_eq!(f.signing, Signing::Standard);
    assert!(f.signer.is_some() && f.tls.is_some());
    assert!(
        config.source(ALERT_SOURCE).is_none(),
        "no one can post to it"
    );
}

#[test]
fn alert_mistakes_are_refused_naming_the_key() {
    let target = "[[alerts.notify]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/\"\n\
                  secret = \"whsec_YWxlcnQtc2VjcmV0LWZvci10aGUtdGVzdHM=\"\n";
    let rule = |lines: &str| format!("{GITHUB}{target}[[alerts.rules]]\n{lines}\n");
    let cases = [
        (rule("when = \"dead\"\nnotify = [\"pager\"]"), "alerts.rules[0].notify"),
        (rule("when = \"dead\"\nnotify = []"), "alerts.rules[0].notify"),
        (rule("when = \"silence\"\nnotify = [\"ops\"]"), "alerts.rules[0].threshold"),
        (rule("when = \"dead\"\nthreshold = \"1m\"\nnotify = [\"ops\"]"), "alerts.rules[0].threshold"),
        (rule("when = \"dead\"\nsource = \"nope\"\nnotify = [\"ops\"]"), "alerts.rules[0].source"),
        (rule("when = \"dead\"\nsource = \"gh\"\nroute = \"x\"\nnotify = [\"ops\"]"), "alerts.rules[0].route"),
        (rule("when = \"storage\"\nsource = \"gh\"\nnotify = [\"ops\"]"), "alerts.rules[0].source"),
        (rule("when = \"dead\"\nwindow = \"1ms\"\nnotify = [\"ops\"]"), "alerts.rules[0].window"),
        (
            rule("when = \"dead\"\nnotify = [\"ops\"]\n[[alerts.rules]]\nwhen = \"dead\"\nnotify = [\"ops\"]"),
            "alerts.rules[1].name",
        ),
        (format!("{GITHUB}{}", target.replace("http://127.0.0.1:9/", "ftp://x")), "alerts.notify[0].url"),
        (format!("{GITHUB}{}", target.replace("secret = ", "format = \"slack\"\nsecret = ")), "alerts.notify[0].secret"),
        (format!("{GITHUB}[[alerts.notify]]\nname = \"ops\"\nurl = \"http://x/\"\n"), "alerts.notify[0].secret"),
        (format!("{GITHUB}{target}{target}"), "alerts.notify[1].name"),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(load_with(&text, &[])), key, "{text}");
    }
    let slack = format!(
        "{GITHUB}[[alerts.notify]]\nname = \"chat\"\nurl = \"http://x/\"\nformat = \"slack\"\n"
    );
    let config = load_with(&slack, &[]).expect("a slack target needs no secret");
    assert_eq!(config.alerts.targets[0].format, Format::Slack);
    let env = [(
        "ALERTS_OPS_SECRET",
        "whsec_YWxlcnQtc2VjcmV0LWZvci10aGUtdGVzdHM=",
    )];
    let text = format!("{GITHUB}[[alerts.notify]]\nname = \"ops\"\nurl = \"http://x/\"\n");
    load_with(&text, &env).expect("the secret from the environment");
}

#[test]
fn the_written_alerts_serialize_without_secrets() {
    let raw: RawAlerts = toml::from_str(
        "[[notify]]\nname = \"chat\"\nurl = \"https://u:p@hooks.slack.com/services/T0/B0/XXXX\"\n\
         format = \"slack\"\n[[notify]]\nname = \"ops\"\nurl = \"http://ops:8080/a\"\n\
         secret = \"whsec_c2VjcmV0\"\n[[rules]]\nwhen = \"silence\"\nthreshold = \"6h\"\nnotify = [\"chat\"]\n",
    )
    .expect("valid");
    let text = toml::to_string(&raw).expect("serializes");
    assert!(
        text.contains("url = \"https://hooks.slack.com/…\""),
        "{text}"
    );
    assert!(text.contains("url = \"http://ops:8080/…\""), "{text}");
    assert!(text.contains("threshold = \"6h\""), "{text}");
    assert!(
        !text.contains("XXXX") && !text.contains("whsec") && !text.contains("u:p"),
        "{text}"
    );
}
