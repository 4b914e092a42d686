//! What the crash-cycle clients were told: which events are stored (202/200) and which requests
//! a kill cut (sent again later), plus the final status of every stored event.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use hookbox::config::Config;
use http::Method;
use serde_json::Value;

use super::LIMIT;
use crate::support::process::Hookbox;
use crate::support::target::eventually;
use crate::support::{get, try_send};

/// What the clients know.
#[derive(Debug, Default)]
pub struct Ledger {
    next: usize,
    /// Ids answered 202/200: durably stored.
    pub acked: BTreeSet<String>,
    /// Ids whose request failed or was cut: stored or not, they are sent again.
    pub uncertain: Vec<String>,
    /// Fresh ids answered `duplicate` (ids are unique, so this must stay 0).
    pub fresh_duplicates: usize,
    /// Re-sends answered `accepted`: the cut request had not been stored.
    pub resent_new: usize,
    /// Re-sends answered `duplicate`: the cut request had been stored, unacknowledged.
    pub resent_duplicate: usize,
    /// Requests cut or refused, by how.
    pub cut: BTreeMap<String, usize>,
}

/// One delivering client, sharing the ledger.
pub struct Client {
    config: Arc<Config>,
    ledger: Arc<Mutex<Ledger>>,
}

impl Client {
    /// A client signing with `config`'s `crash` source.
    pub fn new(config: Arc<Config>, ledger: Arc<Mutex<Ledger>>) -> Client {
        Client { config, ledger }
    }

    /// The next id to send, and whether it is a re-send: cut ones go first.
    pub fn next_id(&self) -> (String, bool) {
        let mut ledger = self.lock();
        if let Some(id) = ledger.uncertain.pop() {
            return (id, true);
        }
        ledger.next += 1;
        (format!("evt_{}", ledger.next), false)
    }

    /// Delivers `id` to the hookbox at `base` and records the answer; true when stored.
    pub async fn deliver(&self, base: &str, id: &str, resend: bool) -> bool {
        let body = format!(r#"{{"type":"order.created","id":"{id}"}}"#);
        let headers = super::signed(&self.config, id, body.as_bytes());
        let url = format!("{base}/webhooks/crash");
        let sent = try_send(Method::POST, &url, &headers, body.as_bytes());
        let outcome = match tokio::time::timeout(LIMIT, sent).await {
            Err(_) => Err("no answer in time".to_owned()),
            Ok(Err(_)) => Err("connection refused or cut".to_owned()),
            Ok(Ok(r)) if matches!(r.status.as_u16(), 200 | 202) => {
                Ok(r.json()["status"] == "accepted")
            }
            Ok(Ok(r)) => Err(format!("HTTP {}", r.status.as_u16())),
        };
        let mut ledger = self.lock();
        match outcome {
            Ok(new) => {
                match (resend, new) {
                    (false, false) => ledger.fresh_duplicates += 1,
                    (true, true) => ledger.resent_new += 1,
                    (true, false) => ledger.resent_duplicate += 1,
                    (false, true) => {}
                }
                ledger.acked.insert(id.to_owned());
                true
            }
            Err(how) => {
                *ledger.cut.entry(how).or_default() += 1;
                ledger.uncertain.push(id.to_owned());
                false
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The status resource of every id once final (bounded per id), fetched by a few tasks at once.
pub async fn final_statuses(hookbox: &Hookbox, ids: &BTreeSet<String>) -> HashMap<String, Value> {
    const FETCHERS: usize = 8;
    let ids: Arc<Vec<String>> = Arc::new(ids.iter().cloned().collect());
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..FETCHERS {
        let (ids, base) = (ids.clone(), hookbox.url("/events/crash/"));
        tasks.spawn(async move {
            let mut found = Vec::new();
            for id in ids.iter().skip(k).step_by(FETCHERS) {
                let url = format!("{base}{id}");
                let last = std::sync::Mutex::new(Value::Null);
                let what = format!("{id} to finish");
                let wait = eventually(&what, LIMIT, || async {
                    let reply = get(&url).await;
                    if reply.status == 404 {
                        return Some(serde_json::json!({"state": "missing"}));
                    }
                    let s = reply.json();
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = s.clone();
                    matches!(s["state"].as_str(), Some("succeeded" | "dead")).then_some(s)
                });
                let early = LIMIT - std::time::Duration::from_secs(1);
                let Ok(status) = tokio::time::timeout(early, wait).await else {
                    panic!(
                        "{id} did not finish; last status: {}",
                        last.lock().unwrap_or_else(|e| e.into_inner())
                    );
                };
                found.push((id.clone(), status));
            }
            found
        });
    }
    let mut statuses = HashMap::new();
    while let Some(found) = tasks.join_next().await {
        statuses.extend(found.expect("status fetcher"));
    }
    statuses
}
