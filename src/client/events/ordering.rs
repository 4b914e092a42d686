//! `hookbox events ordering [SOURCE]`: the ordering keys that hold events back, as
//! `GET /admin/ordering` lists them — a dead head that blocks its key, or a head others wait
//! behind.

use http::Method;

use super::api::{Api, Failure};
use super::view::{clip, print_rows, stream, text, ERROR_WIDTH};

/// `hookbox events ordering`.
#[derive(Debug, clap::Args)]
pub struct OrderingArgs {
    /// Only this source's keys (each of its routes' keys, for a source with routes).
    source: Option<String>,
    /// Print the JSON the server sent.
    #[arg(long)]
    json: bool,
}

/// Prints one line per held key: its stream, key, whether the head is dead, the head (as
/// `show` takes it), its state, how many wait, and the head's last error.
pub async fn ordering(api: &Api, args: OrderingArgs) -> Result<(), Failure> {
    let params: Vec<(&str, String)> = args.source.map(|s| ("source", s)).into_iter().collect();
    let answer = api
        .page(Method::GET, "/admin/ordering", &params, None)
        .await?;
    if args.json {
        println!("{answer:#}");
        return Ok(());
    }
    let keys = answer["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            let head = &k["head"];
            let blocked = match k["blocked"].as_bool() {
                Some(true) => "yes",
                _ => "no",
            };
            vec![
                stream(k),
                text(&k["key"]),
                blocked.to_owned(),
                format!("{}/{}", stream(k), text(&head["eventId"])),
                text(&head["state"]),
                text(&k["waiting"]),
                clip(&text(&head["lastError"]), ERROR_WIDTH),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no ordering key holds events back");
    } else {
        let header = [
            "SOURCE",
            "KEY",
            "BLOCKED",
            "HEAD",
            "STATE",
            "WAITING",
            "LAST ERROR",
        ];
        print_rows(&header, &rows);
    }
    if answer["truncated"].as_bool() == Some(true) {
        eprintln!("(the store holds more keys than one listing reads; narrow it with SOURCE)");
    }
    Ok(())
}
