//! `hookbox events requeue`: one event now — for a source with routes, every route that
//! delivered or gave up, or one route as `source:route` — or with `--dead` every dead event in a
//! range.

use http::Method;
use serde_json::Value;

use super::api::{reply_json, Api, Failure};
use super::{range_params, RangeArgs};
use crate::http::event_location;

/// `hookbox events requeue`.
#[derive(Debug, clap::Args)]
pub struct RequeueArgs {
    /// Source of the event, or `source:route` for one route's delivery (with --dead: an
    /// optional filter).
    source: Option<String>,
    /// Id of the event to requeue.
    #[arg(conflicts_with = "dead")]
    id: Option<String>,
    /// Requeue every dead event (of SOURCE, if given) received in the range.
    #[arg(long)]
    dead: bool,
    /// With --dead: only this event type (`invoice.*` for a prefix).
    #[arg(long = "type", requires = "dead")]
    event_type: Option<String>,
    /// With --dead: only the deliveries of routes of this name.
    #[arg(long, requires = "dead")]
    route: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
}

/// Requeues what `args` names and prints what was requeued.
pub async fn requeue(api: &Api, args: RequeueArgs) -> Result<(), Failure> {
    if !args.dead {
        let (Some(source), Some(id)) = (&args.source, &args.id) else {
            return Err(Failure::Usage(
                "requeue needs SOURCE and ID, or --dead for every dead event in a range".into(),
            ));
        };
        if args.range.since.is_some() || args.range.until.is_some() {
            return Err(Failure::Usage("--since and --until need --dead".into()));
        }
        let path = format!("/admin{}", event_location(source, id));
        // Read first: for a routed event, which routes the requeue took shows in the change.
        let before = reply_json(&api.call(Method::GET, &path).await?)?;
        let requeue = format!("{path}/requeue");
        let event = reply_json(&api.call(Method::POST, &requeue).await?)?;
        match requeued_routes(&before, &event) {
            Some(routes) => println!("requeued {source}/{id} (routes: {routes})"),
            None => println!("requeued {source}/{id} (was {})", previous_state(&event)),
        }
        return Ok(());
    }
    let mut params = range_params(&args.range)?;
    params.extend(args.source.map(|s| ("source", s)));
    params.extend(args.route.map(|r| ("route", r)));
    params.extend(args.event_type.map(|t| ("type", t)));
    let mut total = 0;
    let mut cursor = None;
    loop {
        let done = api
            .page(Method::POST, "/admin/requeue", &params, cursor.take())
            .await?;
        total += done["requeued"].as_u64().unwrap_or(0);
        match done["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    println!("requeued {total} dead events");
    Ok(())
}

/// The state a status resource left at its latest requeue.
fn previous_state(status: &Value) -> &str {
    status["requeues"]
        .as_array()
        .and_then(|r| r.last())
        .and_then(|r| r["previousState"].as_str())
        .unwrap_or("final")
}

/// The routes a requeue of a routed event took (`billing (was dead), audit (was succeeded)`):
/// those whose newest requeue differs between the status `before` and `after` it; `None` for
/// an event without routes.
fn requeued_routes(before: &Value, after: &Value) -> Option<String> {
    let routes = after["routes"].as_array()?;
    let newest = |status: &Value, route: &Value| {
        let mut routes = status["routes"].as_array().into_iter().flatten();
        let same = routes.find(|r| r["route"] == route["route"]);
        same.and_then(|r| r["requeues"].as_array()?.last().cloned())
    };
    let names: Vec<String> = (routes.iter())
        .filter(|r| newest(before, r) != newest(after, r))
        .map(|r| {
            let name = r["route"].as_str().unwrap_or("?");
            format!("{name} (was {})", previous_state(r))
        })
        .collect();
    Some(names.join(", "))
}
