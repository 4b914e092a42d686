//! Query strings of the admin API, parsed strictly: an unknown, repeated or invalid parameter
//! is a 400 naming it, so a typo never silently widens a listing or a bulk requeue.

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use percent_encoding::percent_decode_str;

use super::problem::{Problem, Reason};
use crate::store::{BodySearch, Cursor, EventFilter, State, TypeMatch, UnknownState, Where};

/// Default page size of `GET /admin/events`.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size of `GET /admin/events`.
pub const MAX_LIMIT: usize = 1000;

/// A parameter that is unknown, repeated or not valid, and what is wrong with it (a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Problem {
        Problem::new(Reason::InvalidQuery, e.0)
    }
}

/// Parameters that may be given more than once (each occurrence adds a condition).
const REPEATABLE: &[&str] = &["where"];

/// The parameters of one request; an empty value counts as absent.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>, Vec<(String, String)>);

impl Params {
    /// Parses `query`, accepting only the names in `allowed`.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, QueryError> {
        let (mut params, mut repeated) = (HashMap::new(), Vec::new());
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name)?, decode(value)?);
            if !allowed.contains(&name.as_str()) {
                return Err(QueryError(format!(
                    "unknown parameter {name:?}; this route accepts {}",
                    allowed.join(", ")
                )));
            }
            if REPEATABLE.contains(&name.as_str()) {
                repeated.push((name, value));
                continue;
            }
            if params.insert(name.clone(), value).is_some() {
                return Err(QueryError(format!(
                    "parameter {name:?} is given more than once"
                )));
            }
        }
        params.retain(|_, v| !v.is_empty());
        repeated.retain(|(_, v)| !v.is_empty());
        Ok(Params(params, repeated))
    }

    /// The value of `name`, if present and not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Every value of the repeatable parameter `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        (self.1.iter())
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The filter named by `source`, `route`, `state`, `since`, `until`, `type`, `where` and
    /// `contains` (those present).
    pub fn filter(&self) -> Result<EventFilter, QueryError> {
        let filter = EventFilter {
            source: self.0.get("source").cloned(),
            route: self.0.get("route").cloned(),
            state: self.0.get("state").map(|s| state(s)).transpose()?,
            since: self.time("since")?,
            until: self.time("until")?,
            event_type: self.0.get("type").map(|t| TypeMatch::parse(t)),
            origin: self.0.get("origin").map(|o| origin(o)).transpose()?,
            body: BodySearch {
                wheres: (self.all("where"))
                    .map(|w| Where::parse(w).map_err(|e| QueryError(e.into())))
                    .collect::<Result<_, _>>()?,
                contains: self.0.get("contains").cloned(),
            },
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since >= until {
                return Err(QueryError("since must be earlier than until".into()));
            }
        }
        Ok(filter)
    }

    /// `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
    pub fn limit(&self) -> Result<usize, QueryError> {
        let Some(text) = self.0.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(QueryError(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}"
            ))),
        }
    }

    /// A yes/no parameter (`true`/`false`, `1`/`0`): `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, QueryError> {
        match self.0.get(name).map(String::as_str) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(QueryError(format!("{name} must be true or false"))),
        }
    }

    /// `cursor`, as returned in a previous answer's `nextCursor`.
    pub fn cursor(&self) -> Result<Option<Cursor>, QueryError> {
        self.0
            .get("cursor")
            .map(|c| {
                Cursor::parse(c)
                    .filter(issued)
                    .ok_or_else(|| QueryError("cursor is not one hookbox issued".into()))
            })
            .transpose()
    }

    /// A time parameter: unix milliseconds, or RFC 3339 in UTC (`2024-05-01T12:00:00Z`).
    pub fn time(&self, name: &str) -> Result<Option<u64>, QueryError> {
        let Some(text) = self.0.get(name) else {
            return Ok(None);
        };
        parse_time(text).map(Some).ok_or_else(|| {
            QueryError(format!(
                "{name} must be unix milliseconds or an RFC 3339 UTC time"
            ))
        })
    }
}

/// Whether `cursor` points where a cursor hookbox hands out can: at an event of a validly
/// named source with a non-empty id. Decoding alone accepts e.g. all-zero bytes, which would
/// silently list nothing.
fn issued(cursor: &Cursor) -> bool {
    cursor.position().is_some_and(|(_, source, id)| {
        !source.is_empty()
            && !id.is_empty()
            && source
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    })
}

/// `origin`: `webhook` or `reconciled`.
fn origin(text: &str) -> Result<&'static str, QueryError> {
    use crate::event::origin::{RECONCILED, WEBHOOK};
    [WEBHOOK, RECONCILED]
        .into_iter()
        .find(|o| *o == text)
        .ok_or_else(|| QueryError("origin must be webhook or reconciled".into()))
}

/// Unix milliseconds, or an RFC 3339 UTC time (`2024-05-01T12:00:00Z`, fractions allowed).
pub fn parse_time(text: &str) -> Option<u64> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let time = humantime::parse_rfc3339_weak(text).ok()?;
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

fn state(text: &str) -> Result<State, QueryError> {
    text.parse()
        .map_err(|e: UnknownState| QueryError(e.to_string()))
}

/// Form-style decoding: `+` is a space, then percent-decoding as UTF-8.
fn decode(text: &str) -> Result<String, QueryError> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| QueryError("the query string is not valid percent-encoded UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[&str] = &["source", "state", "since", "until", "limit", "cursor"];

    #[test]
    fn parses_a_full_listing_query() {
        let p = Params::parse(
            Some("source=my%20src&state=dead&since=1000&until=2024-05-01T00:00:00Z&limit=7"),
            LIST,
        )
        .expect("valid");
        let f = p.filter().expect("filter");
        assert_eq!(f.source.as_deref(), Some("my src"));
        assert_eq!(f.state, Some(State::Dead));
        assert_eq!(f.since, Some(1000));
        assert_eq!(f.until, Some(1_714_521_600_000));
        assert_eq!(p.limit(), Ok(7));
        assert_eq!(p.cursor(), Ok(None));
    }

    #[test]
    fn where_repeats_and_contains_searches_bodies() {
        let allowed = &["where", "contains"];
        let q = "where=%2Fdata%2Fobject%2Fcustomer%3Dcus_Z&where=/livemode=false&contains=a+b";
        let f = Params::parse(Some(q), allowed).expect("valid").filter();
        let body = f.expect("filter").body;
        assert_eq!(body.wheres.len(), 2);
        assert_eq!(body.wheres[0].pointer, "/data/object/customer");
        assert_eq!(body.wheres[0].value, "cus_Z");
        assert_eq!(body.contains.as_deref(), Some("a b"));
        let bad = Params::parse(Some("where=data=x"), allowed).expect("parses");
        assert!(bad.filter().is_err());
        assert!(Params::parse(Some("contains=a&contains=b"), allowed).is_err());
    }

    #[test]
    fn only_cursors_hookbox_could_issue_are_accepted() {
        let issued = Cursor::new(42, "stripe", "evt_1").encode();
        let p = Params::parse(Some(&format!("cursor={issued}")), LIST).expect("valid");
        assert!(matches!(p.cursor(), Ok(Some(_))));
        for garbage in [
            "AAAAAAAAAAAAAAAA".to_owned(),
            Cursor::new(1, "", "x").encode(),
            Cursor::new(1, "Bad Name", "x").encode(),
            Cursor::new(1, "stripe", "").encode(),
        ] {
            let p = Params::parse(Some(&format!("cursor={garbage}")), LIST).expect("parses");
            assert!(p.cursor().is_err(), "{garbage}");
        }
    }

    #[test]
    fn empty_values_are_absent_and_defaults_apply() {
        let p = Params::parse(Some("source=&state=&limit="), LIST).expect("valid");
        assert_eq!(p.filter(), Ok(EventFilter::default()));
        assert_eq!(p.limit(), Ok(DEFAULT_LIMIT));
        assert!(Params::parse(None, LIST).is_ok());
    }

    #[test]
    fn rejects_unknown_repeated_and_invalid_values() {
        assert!(Params::parse(Some("sate=dead"), LIST).is_err());
        assert!(Params::parse(Some("state=dead&state=queued"), LIST).is_err());
        assert!(Params::parse(Some("cursor=x"), &["source"]).is_err());
        let bad = |q: &str| Params::parse(Some(q), LIST).expect("parses");
        assert!(bad("state=failed").filter().is_err());
        assert!(bad("since=yesterday").filter().is_err());
        assert!(bad("since=5&until=5").filter().is_err());
        assert!(bad("limit=0").limit().is_err());
        assert!(bad("limit=1001").limit().is_err());
        assert!(bad("limit=-1").limit().is_err());
        assert!(bad("cursor=AAAA").cursor().is_err());
    }

    #[test]
    fn times_are_unix_ms_or_rfc3339_utc() {
        assert_eq!(parse_time("0"), Some(0));
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_time("2024-05-01T12:00:00+02:00"), None);
        assert_eq!(parse_time(""), None);
    }
}
