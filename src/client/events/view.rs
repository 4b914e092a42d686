//! How `hookbox events` prints what the admin API returns: a table of events, or one event's
//! status and history.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

/// Longest last-error excerpt shown in a table row.
pub(super) const ERROR_WIDTH: usize = 60;

/// Prints listing items as an aligned table, one event a line; a route's delivery shows its
/// source as `source:route`, the name `show` and `requeue` take for it.
pub fn print_table(items: &[Value]) {
    let header = [
        "RECEIVED",
        "SOURCE",
        "ID",
        "STATE",
        "ATTEMPTS",
        "TYPE",
        "LAST ERROR",
    ];
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![
                time(&e["receivedAt"]),
                stream(e),
                text(&e["eventId"]),
                text(&e["state"]),
                text(&e["attemptCount"]),
                text(&e["eventType"]),
                clip(&text(&e["lastError"]), ERROR_WIDTH),
            ]
        })
        .collect();
    print_rows(&header, &rows);
}

/// Prints `header` and `rows` as columns two spaces apart, each as wide as its widest cell.
pub(super) fn print_rows(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}

/// `webhook`, or `reconciled (GET /v1/events)` for an event fetched from the provider's API.
fn origin(e: &Value) -> String {
    match e["reconciledFrom"].as_str() {
        Some(from) => format!("{} ({from})", text(&e["origin"])),
        None => text(&e["origin"]),
    }
}

/// Prints one status resource as `label: value` lines, then its attempts and requeues; for a
/// routed event, then each route's state, attempts and last error, with its own history.
pub fn print_event(e: &Value) {
    let fields = [
        ("source", text(&e["source"])),
        ("route", text(&e["route"])),
        ("id", text(&e["eventId"])),
        ("type", text(&e["eventType"])),
        ("origin", origin(e)),
        ("state", text(&e["state"])),
        ("held", text(&e["hold"]["text"])),
        ("head", held_behind(&e["hold"])),
        ("received", time(&e["receivedAt"])),
        ("attempts", text(&e["attemptCount"])),
        // A held event's own next-attempt time (past, for an open circuit) is not when it
        // goes: the `held` line says what it waits for instead.
        (
            "next attempt",
            match e["hold"].is_null() {
                true => time(&e["nextAttemptAt"]),
                false => String::new(),
            },
        ),
        ("lease until", time(&e["leaseUntil"])),
        ("finished", time(&e["finishedAt"])),
        ("last error", text(&e["lastError"])),
    ];
    for (label, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        println!("{:13} {value}", format!("{label}:"));
    }
    if e["bodyPurged"] == Value::Bool(true) {
        println!("{:13} purged by retention", "body:");
    }
    for (_, line) in history(e) {
        println!("  {line}");
    }
    let routes = e["routes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !routes.is_empty() {
        println!("routes:");
    }
    for line in route_lines(routes) {
        println!("  {line}");
    }
}

/// `source` or `source:route`: the stream a listing item or status belongs to.
pub(super) fn stream(e: &Value) -> String {
    match e["route"].as_str() {
        Some(route) => format!("{}:{route}", text(&e["source"])),
        None => text(&e["source"]),
    }
}

/// One line per route of a routed status (name, state, attempts, last error), each followed
/// by its history, indented.
fn route_lines(routes: &[Value]) -> Vec<String> {
    let width = routes
        .iter()
        .map(|r| text(&r["route"]).chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for r in routes {
        let state = match r["discarded"] == Value::Bool(true) {
            true => "discarded".to_owned(),
            false => text(&r["state"]),
        };
        let n = r["attemptCount"].as_u64().unwrap_or(0);
        let mut line = format!(
            "{:width$}  {state:9}  {n} {}",
            text(&r["route"]),
            if n == 1 { "attempt" } else { "attempts" },
        );
        if !r["lastError"].is_null() {
            line.push_str(&format!(
                ", last error {}",
                clip(&text(&r["lastError"]), 200)
            ));
        }
        lines.push(line);
        if let Some(held) = r["hold"]["text"].as_str() {
            let head = held_behind(&r["hold"]);
            lines.push(match head.is_empty() {
                true => format!("  held: {held}"),
                false => format!("  held: {held}; head {head}"),
            });
        }
        lines.extend(history(r).into_iter().map(|(_, l)| format!("  {l}")));
    }
    lines
}

/// The ordering head a `hold` names, as `source[:route]/id` (what `show` takes, space for
/// slash); empty when the hold is not an ordering one.
fn held_behind(hold: &Value) -> String {
    let head = &hold["head"];
    match head["eventId"].as_str() {
        Some(id) => format!("{}/{id}", stream(head)),
        None => String::new(),
    }
}

/// The attempts and requeues of a status resource as one list of lines, oldest first.
fn history(e: &Value) -> Vec<(u64, String)> {
    let mut lines = Vec::new();
    for a in e["attempts"].as_array().into_iter().flatten() {
        let mut line = format!(
            "attempt {} at {}: {} ({} ms)",
            text(&a["number"]),
            time(&a["startedAt"]),
            text(&a["outcome"]),
            text(&a["durationMs"]),
        );
        for (label, key) in [
            ("status", "status"),
            ("exit", "exitCode"),
            ("error", "error"),
        ] {
            if !a[key].is_null() {
                line.push_str(&format!(", {label} {}", clip(&text(&a[key]), 200)));
            }
        }
        lines.push((a["startedAt"].as_u64().unwrap_or(0), line));
    }
    for r in e["requeues"].as_array().into_iter().flatten() {
        let n = r["previousAttempts"].as_u64().unwrap_or(0);
        let line = format!(
            "requeued at {} (was {} after {n} {})",
            time(&r["at"]),
            text(&r["previousState"]),
            if n == 1 { "attempt" } else { "attempts" },
        );
        lines.push((r["at"].as_u64().unwrap_or(0), line));
    }
    // Stable: an attempt and a requeue in the same millisecond keep attempts first.
    lines.sort_by_key(|(at, _)| *at);
    lines
}

/// A JSON value as plain text; empty for null.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Unix milliseconds as RFC 3339 UTC; empty for null.
fn time(v: &Value) -> String {
    match v.as_u64() {
        Some(ms) => {
            humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
        }
        None => text(v),
    }
}

/// The first line of `s`, cut to `max` characters with an ellipsis.
pub(super) fn clip(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if line.len() < s.len() => format!("{line}…"),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_to_one_line_and_a_width() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("one\ntwo", 10), "one…");
        assert_eq!(clip("", 3), "");
    }

    #[test]
    fn the_history_is_one_chronological_list() {
        let e = serde_json::json!({
            "attempts": [
                {"number": 1, "startedAt": 1000, "durationMs": 5, "outcome": "permanent", "exitCode": 3},
                {"number": 2, "startedAt": 3000, "durationMs": 5, "outcome": "success"}
            ],
            "requeues": [{"at": 2000, "previousState": "dead", "previousAttempts": 1}]
        });
        let lines: Vec<String> = history(&e).into_iter().map(|(_, l)| l).collect();
        assert_eq!(
            lines,
            [
                "attempt 1 at 1970-01-01T00:00:01.000Z: permanent (5 ms), exit 3",
                "requeued at 1970-01-01T00:00:02.000Z (was dead after 1 attempt)",
                "attempt 2 at 1970-01-01T00:00:03.000Z: success (5 ms)",
            ]
        );
    }

    #[test]
    fn a_routed_event_lists_each_route_with_its_history() {
        let e = serde_json::json!({"routes": [
            {"route": "billing", "state": "dead", "attemptCount": 2, "lastError": "HTTP 500\nbody",
             "attempts": [{"number": 2, "startedAt": 1000, "durationMs": 5, "outcome": "permanent", "status": 500}]},
            {"route": "audit", "state": "succeeded", "attemptCount": 1, "lastError": null},
            {"route": "refunds", "state": "skipped", "attemptCount": 0}
        ]});
        let routes = e["routes"].as_array().expect("routes");
        assert_eq!(
            route_lines(routes),
            [
                "billing  dead       2 attempts, last error HTTP 500…",
                "  attempt 2 at 1970-01-01T00:00:01.000Z: permanent (5 ms), status 500",
                "audit    succeeded  1 attempt",
                "refunds  skipped    0 attempts",
            ]
        );
        let held = serde_json::json!([{"route": "billing", "state": "queued", "attemptCount": 0,
            "hold": {"reason": "ordering", "text": "waiting behind e1 (dead), the head of ordering key K",
                     "head": {"source": "app", "route": "billing", "eventId": "e1"}}}]);
        assert_eq!(
            route_lines(held.as_array().expect("routes")),
            [
                "billing  queued     0 attempts",
                "  held: waiting behind e1 (dead), the head of ordering key K; head app:billing/e1",
            ]
        );
        let item = serde_json::json!({"source": "app", "route": "billing"});
        assert_eq!(stream(&item), "app:billing");
        assert_eq!(
            stream(&serde_json::json!({"source": "stripe", "route": null})),
            "stripe"
        );
    }

    #[test]
    fn renders_times_and_nulls() {
        assert_eq!(time(&Value::from(1500u64)), "1970-01-01T00:00:01.500Z");
        assert_eq!(time(&Value::Null), "");
        assert_eq!(text(&Value::from("x")), "x");
        assert_eq!(text(&Value::from(3)), "3");
    }
}
