//! `hookbox events list|show|requeue|discard|counts|summary|ordering|destinations`: drive the admin API of a running hookbox. The token
//! comes from `HOOKBOX_ADMIN_TOKEN` (never a flag, so it stays out of shell history and `ps`).

mod api;
mod audit;
mod confirm;
mod destinations;
mod ordering;
mod overview;
mod reconcile;
mod requeue;
mod view;

pub use self::reconcile::{run_now as reconcile_now, ReconcileNowArgs};

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use serde_json::{json, Value};

use self::api::{reply_json, Api, Failure};
use self::view::{print_event, print_table};
use crate::http::event_location;
use crate::store::State;

/// `hookbox events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Base URL of the running hookbox (http:// or https://).
    #[arg(
        long,
        global = true,
        env = "HOOKBOX_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// PEM file of a CA to trust for an https:// URL, on top of the system's roots.
    #[arg(long, global = true, value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: EventsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EventsCommand {
    /// List events, newest first.
    List(ListArgs),
    /// Show one event's status and history (or, with --payload, its stored body); for a
    /// source with routes, each route's state.
    Show {
        /// Source name, or `source:route` for one route's delivery.
        source: String,
        /// Event id.
        id: String,
        /// Print the stored body instead, byte for byte.
        #[arg(long)]
        payload: bool,
        /// Print the JSON the server sent.
        #[arg(long, conflicts_with = "payload")]
        json: bool,
    },
    /// Requeue one event now (its dead routes; a succeeded route only when named or with
    /// --include-succeeded), or with --dead every dead event in a range. Shows what it will
    /// take and asks first (--yes for scripts, --dry-run to only look).
    Requeue(requeue::RequeueArgs),
    /// Discard one dead event (or an event's dead routes): its body goes, its id stays known
    /// so it is never processed. Shows what it will take and asks first.
    Discard(requeue::DiscardArgs),
    /// Count events per state.
    Counts(overview::CountsArgs),
    /// The audit log: who requeued, discarded, migrated or compacted what, newest first.
    Audit(audit::AuditArgs),
    /// Each source's last hour: accepted, succeeded and dead per 5 minutes, queue depth.
    Summary {
        /// Print the JSON the server sent.
        #[arg(long)]
        json: bool,
    },
    /// Ordering keys that hold events back: the head, its state, how many wait behind it.
    Ordering(ordering::OrderingArgs),
    /// Forward destinations: circuit state, failures in a row, next probe, load, last error.
    Destinations(destinations::DestinationsArgs),
    /// Reconciliation with the providers' APIs: each source's last pass, outcome, cursor and
    /// error.
    Reconcile(reconcile::ReconcileArgs),
}

/// Filters shared by `list` and `requeue --dead`. Times: unix ms, RFC 3339 UTC, or a duration
/// such as `2h` meaning that long ago.
#[derive(Debug, clap::Args)]
pub(super) struct RangeArgs {
    /// Events received at or after this time: unix ms, RFC 3339 UTC, or a duration such as
    /// `2h` meaning that long ago.
    #[arg(long)]
    since: Option<String>,
    /// Events received before this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only the deliveries of routes of this name.
    #[arg(long)]
    route: Option<String>,
    /// Only this state: queued, processing, succeeded, dead or skipped.
    #[arg(long)]
    state: Option<State>,
    /// Only this event type; `invoice.*` for every type starting `invoice.`.
    #[arg(long = "type")]
    event_type: Option<String>,
    /// Only events that came this way: webhook, or reconciled (fetched from the provider's API).
    #[arg(long, value_parser = ["webhook", "reconciled"])]
    origin: Option<String>,
    /// Only the event(s) with this id (one lookup per source).
    #[arg(long, conflicts_with_all = ["cursor", "all", "where_", "contains"])]
    id: Option<String>,
    /// Only events whose JSON body has VALUE at this JSON pointer, e.g.
    /// `/data/object/customer=cus_Z` (repeat: all must match).
    #[arg(long = "where", value_name = "POINTER=VALUE")]
    where_: Vec<String>,
    /// Only events whose raw body contains this text.
    #[arg(long, value_name = "TEXT")]
    contains: Option<String>,
    #[command(flatten)]
    range: RangeArgs,
    /// Events per page (1–1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Start after this cursor (from a previous page).
    #[arg(long, conflicts_with = "all")]
    cursor: Option<String>,
    /// Follow cursors until the last page.
    #[arg(long)]
    all: bool,
    /// Print JSON (`{"items": [...]}`, plus `nextCursor` when more remain).
    #[arg(long)]
    json: bool,
}

/// Runs `hookbox events …`: exit 0 on success, 1 when hookbox refused or could not be
/// reached, 2 on a usage error.
pub fn run(args: EventsArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(Failure::Server(format!("cannot start the runtime: {e}"))),
    };
    match runtime.block_on(execute(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

pub(super) fn fail(failure: Failure) -> ExitCode {
    let (message, code) = match failure {
        Failure::Usage(m) => (m, 2),
        Failure::Server(m) => (m, 1),
    };
    eprintln!("hookbox: {message}");
    ExitCode::from(code)
}

async fn execute(args: EventsArgs) -> Result<(), Failure> {
    let api = Api::new(&args.server, args.ca_file.as_deref())?;
    match args.command {
        EventsCommand::List(list) => list_events(&api, list).await,
        EventsCommand::Show {
            source,
            id,
            payload: true,
            ..
        } => {
            let path = format!("/admin{}/payload", event_location(&source, &id));
            let reply = api.call(Method::GET, &path).await?;
            std::io::stdout()
                .write_all(&reply.body)
                .map_err(|e| Failure::Server(format!("cannot write the payload: {e}")))
        }
        EventsCommand::Show {
            source, id, json, ..
        } => {
            let reply = api.call(Method::GET, &event_location(&source, &id)).await?;
            let event = reply_json(&reply)?;
            match json {
                true => println!("{event:#}"),
                false => print_event(&event),
            }
            Ok(())
        }
        EventsCommand::Requeue(args) => requeue::requeue(&api, args).await,
        EventsCommand::Discard(args) => requeue::discard(&api, args).await,
        EventsCommand::Counts(args) => overview::counts(&api, args).await,
        EventsCommand::Summary { json } => overview::summary(&api, json).await,
        EventsCommand::Ordering(args) => ordering::ordering(&api, args).await,
        EventsCommand::Destinations(args) => destinations::destinations(&api, args).await,
        EventsCommand::Audit(args) => audit::audit(&api, args).await,
        EventsCommand::Reconcile(args) => reconcile::reconcile(&api, args).await,
    }
}

async fn list_events(api: &Api, args: ListArgs) -> Result<(), Failure> {
    let mut params = vec![("limit", args.limit.to_string())];
    params.extend(args.source.map(|s| ("source", s)));
    params.extend(args.route.map(|r| ("route", r)));
    params.extend(args.state.map(|s| ("state", s.to_string())));
    params.extend(args.event_type.map(|t| ("type", t)));
    params.extend(args.origin.map(|o| ("origin", o)));
    params.extend(args.id.map(|i| ("id", i)));
    params.extend(args.where_.into_iter().map(|w| ("where", w)));
    params.extend(args.contains.map(|c| ("contains", c)));
    params.extend(range_params(&args.range)?);
    let mut cursor = args.cursor;
    let mut items = Vec::new();
    let next = loop {
        let page = api
            .page(Method::GET, "/admin/events", &params, cursor.take())
            .await?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        let next = page["nextCursor"].as_str().map(str::to_owned);
        match next {
            Some(next) if args.all => cursor = Some(next),
            next => break next,
        }
    };
    if args.json {
        let mut out = json!({ "items": items });
        if let Some(next) = &next {
            out["nextCursor"] = Value::String(next.clone());
        }
        println!("{out:#}");
    } else {
        print_table(&items);
        if let Some(next) = next {
            eprintln!("more events: --cursor {next} (or --all)");
        }
    }
    Ok(())
}

/// `since`/`until` as the server takes them; a duration (`2h`) means that long ago.
pub(super) fn range_params(range: &RangeArgs) -> Result<Vec<(&'static str, String)>, Failure> {
    let mut params = Vec::new();
    for (name, value) in [("since", &range.since), ("until", &range.until)] {
        if let Some(value) = value {
            params.push((name, absolute_time(value).map_err(Failure::Usage)?));
        }
    }
    Ok(params)
}

pub(super) fn absolute_time(value: &str) -> Result<String, String> {
    let Ok(ago) = humantime::parse_duration(value) else {
        return Ok(value.to_owned()); // unix ms or RFC 3339: the server checks it
    };
    let at = SystemTime::now()
        .checked_sub(ago)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .ok_or_else(|| format!("{value:?} reaches back before 1970"))?;
    Ok(at.as_millis().to_string())
}
