//! `[[sources.<name>.routes]]`: what a routed source loads as, and the errors that name the
//! route's key.

use super::tests::{invalid_key, load_with, GITHUB};
use super::HandlerConfig;
use crate::event::TypeMatch;

const FORWARD: &str = "handler = { type = \"forward\", url = \"http://127.0.0.1:9/x\", secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\" }\n";

fn routed(routes: &str) -> String {
    format!("{GITHUB}{routes}")
}

#[test]
fn routes_load_with_their_streams_filters_and_handlers() {
    let text = routed(&format!(
        "[[sources.gh.routes]]\nname = \"ci\"\ntypes = [\"workflow_run\", \"check_suite.*\"]\n\
         match = {{ \"/repository/private\" = false }}\nconcurrency = 2\n{FORWARD}\
         [[sources.gh.routes]]\nname = \"audit-log\"\n"
    ));
    let config = load_with(&text, &[]).expect("valid");
    let gh = config.source("gh").expect("gh");
    assert!(gh.routed);
    let streams: Vec<&str> = gh.routes.iter().map(|r| r.stream.as_str()).collect();
    assert_eq!(streams, ["gh:ci", "gh:audit-log"]);
    let ci = config.route("gh:ci").expect("by stream");
    assert_eq!(ci.name.as_deref(), Some("ci"));
    assert_eq!(ci.concurrency, 2);
    assert!(matches!(ci.handler, HandlerConfig::Forward(_)));
    assert_eq!(ci.filter.types[1], TypeMatch::Prefix("check_suite.".into()));
    assert_eq!(
        ci.filter.equals,
        [("/repository/private".into(), false.into())]
    );
    let audit = config.route("gh:audit-log").expect("audit");
    assert!(matches!(audit.handler, HandlerConfig::Log));
    assert_eq!(audit.filter, Default::default());
    assert!(config.route("gh").is_none() && config.route("gh:other").is_none());

    // Without routes a source is one route under its own name.
    let plain = load_with(GITHUB, &[]).expect("valid");
    assert!(!plain.sources[0].routed);
    assert_eq!(plain.route("gh").map(|r| r.name.clone()), Some(None));
}

#[test]
fn route_mistakes_name_the_route_and_key() {
    let cases = [
        (
            "[sources.gh.handler]\ntype = \"log\"\n[[sources.gh.routes]]\nname = \"a\"\n",
            "sources.gh.handler",
        ),
        ("[[sources.gh.routes]]\nname = \"A:b\"\n", "sources.gh.routes[0].name"),
        (
            "[[sources.gh.routes]]\nname = \"a\"\n[[sources.gh.routes]]\nname = \"a\"\n",
            "sources.gh.routes[1].name",
        ),
        (
            "[[sources.gh.routes]]\nname = \"a\"\nmatch = { \"data.id\" = 1 }\n",
            "sources.gh.routes[0].match",
        ),
        (
            "[[sources.gh.routes]]\nname = \"a\"\ntypes = [\"\"]\n",
            "sources.gh.routes[0].types",
        ),
        (
            "[[sources.gh.routes]]\nname = \"a\"\nhandler = { type = \"forward\", url = \"ftp://x\" }\n",
            "sources.gh.routes[0].handler.secret",
        ),
        (
            "[[sources.gh.routes]]\nname = \"a\"\non_dead = \"skip\"\n",
            "sources.gh.routes[0].on_dead",
        ),
    ];
    for (routes, key) in cases {
        assert_eq!(
            invalid_key(load_with(&routed(routes), &[])),
            key,
            "{routes}"
        );
    }
    // The forward secret of a route comes from <SOURCE>_<ROUTE>_FORWARD_SECRET.
    let no_secret = "[[sources.gh.routes]]\nname = \"ci-x\"\nhandler = { type = \"forward\", url = \"http://127.0.0.1:9/x\" }\n";
    let env = [(
        "GH_CI_X_FORWARD_SECRET",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )];
    assert!(load_with(&routed(no_secret), &env).is_ok());
    let ordered = "[[sources.gh.routes]]\nname = \"a\"\nordering_key = \"/id\"\n";
    let sled = format!("[storage]\nbackend = \"sled\"\n{}", routed(ordered));
    assert_eq!(
        invalid_key(load_with(&sled, &[])),
        "sources.gh.routes[0].ordering_key"
    );
}

#[test]
fn the_commented_routes_in_config_toml_load_when_uncommented() {
    let shipped = include_str!("../../config.toml");
    let uncommented: String = shipped
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if line_is_route_example(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(uncommented, shipped, "the example is still there");
    let config = load_with(&uncommented, &[]).expect("the example is valid");
    let stripe = config.source("stripe").expect("stripe");
    let names: Vec<_> = stripe.routes.iter().map(|r| r.name.as_deref()).collect();
    assert_eq!(names, [Some("billing"), Some("audit")]);
}

fn line_is_route_example(line: &str) -> bool {
    let keys = [
        "[[sources.stripe.routes]]",
        "name =",
        "types =",
        "match =",
        "ordering_key =",
        "handler =",
    ];
    keys.iter().any(|k| line.starts_with(k))
}
