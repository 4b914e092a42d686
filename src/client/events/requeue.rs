//! `hookbox events requeue` and `discard`: what they will touch is read first (the admin API's
//! dry run), shown, and confirmed on a terminal (`--yes` for scripts, `--dry-run` to only
//! look). A requeue of an event with routes takes its dead routes; a succeeded route is
//! delivered again only when named (`source:route`) or with `--include-succeeded`.

use http::Method;
use serde_json::Value;

use super::api::{Api, Failure};
use super::confirm::{described, print_targets, ConfirmArgs};
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
    /// Also deliver again the routes of the event that already succeeded.
    #[arg(long, conflicts_with = "dead")]
    include_succeeded: bool,
    /// Requeue every dead event (of SOURCE, or of every source with --all-sources) received in
    /// the range.
    #[arg(long)]
    dead: bool,
    /// With --dead and no SOURCE: every source's dead events.
    #[arg(long, requires = "dead", conflicts_with = "source")]
    all_sources: bool,
    /// With --dead: only this event type (`invoice.*` for a prefix).
    #[arg(long = "type", requires = "dead")]
    event_type: Option<String>,
    /// With --dead: only the deliveries of routes of this name.
    #[arg(long, requires = "dead")]
    route: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    confirm: ConfirmArgs,
}

/// `hookbox events discard`.
#[derive(Debug, clap::Args)]
pub struct DiscardArgs {
    /// Source name, or `source:route` for one route's delivery.
    source: String,
    /// Event id.
    id: String,
    #[command(flatten)]
    confirm: ConfirmArgs,
}

/// Requeues what `args` names, after showing it, and prints what was requeued.
pub async fn requeue(api: &Api, args: RequeueArgs) -> Result<(), Failure> {
    if args.dead {
        return requeue_dead(api, args).await;
    }
    let (Some(source), Some(id)) = (&args.source, &args.id) else {
        return Err(Failure::Usage(
            "requeue needs SOURCE and ID, or --dead for every dead event in a range".into(),
        ));
    };
    if args.range.since.is_some() || args.range.until.is_some() {
        return Err(Failure::Usage("--since and --until need --dead".into()));
    }
    let path = format!("/admin{}/requeue", event_location(source, id));
    let params: Vec<(&str, String)> = match args.include_succeeded {
        true => vec![("include", "succeeded".into())],
        false => Vec::new(),
    };
    let question = |n: usize| format!("Deliver {} again?", deliveries(n));
    one(api, &path, &params, args.confirm, question, "requeued").await
}

/// Discards the dead delivery (or dead routes) `args` names, after showing it.
pub async fn discard(api: &Api, args: DiscardArgs) -> Result<(), Failure> {
    let path = format!("/admin{}", event_location(&args.source, &args.id));
    let question = |n: usize| {
        format!(
            "Discard {}? Its body is deleted; the id stays known.",
            deliveries(n)
        )
    };
    one(api, &path, &[], args.confirm, question, "discarded").await
}

/// One event's action at `path` (`POST …/requeue` or `DELETE`): the dry run, the question,
/// then the action, printing `<done> <stream>/<id> (was <state>)` per delivery taken.
async fn one(
    api: &Api,
    path: &str,
    params: &[(&str, String)],
    confirm: ConfirmArgs,
    question: impl Fn(usize) -> String,
    done: &str,
) -> Result<(), Failure> {
    let method = match done {
        "discarded" => Method::DELETE,
        _ => Method::POST,
    };
    let mut look = params.to_vec();
    look.push(("dry_run", "true".into()));
    let preview = api.page(method.clone(), path, &look, None).await?;
    let targets = list(&preview["targets"]);
    if confirm.dry_run() {
        print_targets(&format!("would be {done} ({}):", targets.len()), &targets);
        return Ok(());
    }
    if !confirm.ask_about(&targets, &question(targets.len()))? {
        println!("nothing {done}");
        return Ok(());
    }
    let answer = api.page(method, path, params, None).await?;
    for t in list(&answer["targets"]) {
        println!("{done} {}", described(&t));
    }
    Ok(())
}

/// `requeue --dead`: shows how many dead events the range holds, asks, then requeues them
/// page by page, printing each.
async fn requeue_dead(api: &Api, args: RequeueArgs) -> Result<(), Failure> {
    if args.source.is_none() && !args.all_sources {
        return Err(Failure::Usage(
            "requeue --dead needs a SOURCE, or --all-sources to take every source's dead events"
                .into(),
        ));
    }
    let mut params = range_params(&args.range)?;
    params.extend(args.source.map(|s| ("source", s)));
    params.extend(args.route.map(|r| ("route", r)));
    params.extend(args.event_type.map(|t| ("type", t)));
    let mut look = params.clone();
    look.push(("dry_run", "true".into()));
    let (mut found, mut cursor) = (Vec::new(), None);
    loop {
        let page = (api.page(Method::POST, "/admin/requeue", &look, cursor.take())).await?;
        found.extend(list(&page["targets"]));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    if args.confirm.dry_run() {
        print_targets(&format!("would be requeued ({}):", found.len()), &found);
        return Ok(());
    }
    if found.is_empty() {
        println!("requeued 0 dead events");
        return Ok(());
    }
    let question = format!("Requeue {} dead event(s)?", found.len());
    if !args.confirm.ask_about(&found, &question)? {
        println!("nothing requeued");
        return Ok(());
    }
    let mut total = 0;
    loop {
        let done = (api.page(Method::POST, "/admin/requeue", &params, cursor.take())).await?;
        for t in list(&done["targets"]) {
            println!("requeued {}", described(&t));
            total += 1;
        }
        match done["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    println!("requeued {total} dead events");
    Ok(())
}

fn list(targets: &Value) -> Vec<Value> {
    targets.as_array().cloned().unwrap_or_default()
}

fn deliveries(n: usize) -> String {
    match n {
        1 => "1 delivery".into(),
        n => format!("{n} deliveries"),
    }
}
