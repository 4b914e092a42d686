//! `[[sources.<name>.routes]]`: the destinations of one source's events, each with its handler,
//! filter, concurrency and ordering. A source without routes is one route with its own
//! `handler`, named after the source.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::handler::build_handler;
use super::key::{err, KeyError};
use super::source::{HandlerConfig, Signing, SourceConfig};
use super::{Route, WorkerConfig};
use crate::event::{stream_name, RouteFilter, TypeMatch};
use crate::ordering::OnDead;

/// One `[[sources.<name>.routes]]` table as written in the file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The route's name: a-z, 0-9, `_` and `-`, unique within its source.
    pub name: String,
    /// What the worker does with the events this route takes (default `log`).
    #[serde(default)]
    pub handler: HandlerConfig,
    /// Event types taken (`payment_intent.*` for a dotted prefix); empty: every type.
    #[serde(default)]
    pub types: Vec<String>,
    /// JSON pointer → value the body must have, all of them; empty: any body.
    #[serde(default, rename = "match")]
    pub equals: BTreeMap<String, serde_json::Value>,
    /// Most events of this route processed at once.
    pub concurrency: Option<usize>,
    /// Runs this route's events with the same key one at a time, in arrival order.
    pub ordering_key: Option<String>,
    /// With `ordering_key`: `block` (default) or `skip`.
    pub on_dead: Option<OnDead>,
}

/// The settings a source gives each of its routes.
pub(super) struct RouteContext<'a> {
    pub source: &'a str,
    pub env_prefix: &'a str,
    pub keep_headers: &'a [String],
    pub signature_headers: &'a [String],
    pub worker: &'a WorkerConfig,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Whether any of `cfg`'s handlers passes the provider's signature on (so it must be kept).
pub(super) fn passes_original_signature(cfg: &SourceConfig) -> bool {
    let original = |h: &HandlerConfig| matches!(h, HandlerConfig::Forward(f) if f.signing == Signing::Original);
    cfg.handler.as_ref().is_some_and(original) || cfg.routes.iter().any(|r| original(&r.handler))
}

/// The routes of the source `cfg`: its `[[routes]]`, or the one route its own `handler` makes.
pub(super) fn build_routes(cfg: &SourceConfig, ctx: &RouteContext) -> Result<Vec<Route>, KeyError> {
    if cfg.routes.is_empty() {
        let handler = cfg.handler.clone().unwrap_or_default();
        let route = build_route(
            None,
            &handler,
            cfg.concurrency,
            super::ordering::build_ordering(cfg.ordering_key.as_deref(), cfg.on_dead)?,
            RouteFilter::default(),
            ctx,
            ctx.env_prefix,
        )?;
        return Ok(vec![route]);
    }
    let source_level = [
        ("handler", cfg.handler.is_some()),
        ("concurrency", cfg.concurrency.is_some()),
        ("ordering_key", cfg.ordering_key.is_some()),
        ("on_dead", cfg.on_dead.is_some()),
    ];
    if let Some((key, _)) = source_level.iter().find(|(_, set)| *set) {
        return err(
            key,
            "a source with routes takes this from each route: move it into [[routes]]",
        );
    }
    let mut routes: Vec<Route> = Vec::with_capacity(cfg.routes.len());
    for (i, r) in cfg.routes.iter().enumerate() {
        let at = |key: &str| format!("routes[{i}].{key}");
        let in_route = |(key, reason): KeyError| (at(&key), reason);
        if !super::key::valid_name(&r.name) {
            return err(
                &at("name"),
                "route names use only a-z, 0-9, '_' and '-' (at most 64)",
            );
        }
        if routes
            .iter()
            .any(|other| other.name.as_deref() == Some(&r.name))
        {
            return err(
                &at("name"),
                format!("another route is also called {:?}", r.name),
            );
        }
        let filter = build_filter(r).map_err(in_route)?;
        let ordering = super::ordering::build_ordering(r.ordering_key.as_deref(), r.on_dead)
            .map_err(in_route)?;
        let prefix = format!(
            "{}_{}",
            ctx.env_prefix,
            r.name.to_ascii_uppercase().replace('-', "_")
        );
        let route = build_route(
            Some(&r.name),
            &r.handler,
            r.concurrency,
            ordering,
            filter,
            ctx,
            &prefix,
        )
        .map_err(in_route)?;
        routes.push(route);
    }
    Ok(routes)
}

fn build_route(
    name: Option<&str>,
    handler: &HandlerConfig,
    concurrency: Option<usize>,
    ordering: Option<crate::ordering::Ordering>,
    filter: RouteFilter,
    ctx: &RouteContext,
    env_prefix: &str,
) -> Result<Route, KeyError> {
    // Programs are processes: a command route runs at most a few at once unless told more.
    let default_concurrency = match handler {
        HandlerConfig::Command(_) => ctx.worker.concurrency.min(super::COMMANDS_AT_ONCE),
        _ => ctx.worker.concurrency,
    };
    let concurrency = concurrency.unwrap_or(default_concurrency);
    if concurrency == 0 {
        return err("concurrency", "must be at least 1");
    }
    let handler = build_handler(
        handler,
        env_prefix,
        ctx.keep_headers,
        ctx.signature_headers,
        ctx.env,
    )?;
    Ok(Route {
        name: name.map(str::to_owned),
        stream: match name {
            Some(name) => stream_name(ctx.source, name),
            None => ctx.source.to_owned(),
        },
        handler,
        concurrency,
        ordering,
        filter,
    })
}

fn build_filter(r: &RouteConfig) -> Result<RouteFilter, KeyError> {
    if let Some(t) = r.types.iter().find(|t| t.trim().is_empty()) {
        return err("types", format!("{t:?} is not an event type"));
    }
    if let Some(p) = r.equals.keys().find(|p| !p.starts_with('/')) {
        return err(
            "match",
            format!("{p:?} is not a JSON pointer (write it like \"/data/object/livemode\")"),
        );
    }
    Ok(RouteFilter {
        types: r.types.iter().map(|t| TypeMatch::parse(t)).collect(),
        equals: r.equals.clone().into_iter().collect(),
    })
}
